package sqlite

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlstore"
)

// TestIsUnavailable: SQLITE_BUSY (a real one: a write while another
// connection holds the lock, with no busy timeout) is unavailable, and the
// store wraps it as code unavailable; a file that is not a database, a
// constraint violation and other errors are not.
func TestIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chusme.db")
	db := mustOpen(t, path)
	holder, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999999, 0)`)
	if busy == nil {
		t.Fatal("a write under another connection's lock succeeded")
	}
	if !isUnavailable(busy) {
		t.Errorf("SQLITE_BUSY (%v) is not unavailable", busy)
	}
	if err := sqlstore.Wrap(db.Store, "create invite", busy); chusme.ErrorCode(err) != chusme.CodeUnavailable || !errors.Is(err, busy) {
		t.Errorf("the store's SQLITE_BUSY: %v (code %q), want code unavailable with the cause in the chain", err, chusme.ErrorCode(err))
	}
	tx.Rollback()

	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not an SQLite database, just some bytes of text to fill a header....."), 0o600); err != nil {
		t.Fatal(err)
	}
	bad, err := sql.Open("sqlite", "file:"+garbage)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, notADB := bad.Exec(`CREATE TABLE t (x)`)
	if notADB == nil {
		t.Fatal("a garbage file took a table")
	}
	_, unique := other.Exec(`INSERT INTO schema_migrations (version, applied_at) SELECT version, 0 FROM schema_migrations LIMIT 1`)
	if unique == nil {
		t.Fatal("a duplicate migration version was accepted")
	}
	for _, err := range []error{notADB, unique, errors.New("other")} {
		if isUnavailable(err) {
			t.Errorf("%v is unavailable, want not", err)
		}
	}
}
