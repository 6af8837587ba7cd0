package sqlite

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenReadOnly: the read-only pool reads what the engine wrote, refuses
// writes, and does not create a missing file.
func TestOpenReadOnly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chusme.db")
	mustOpen(t, path)
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	if err := ro.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("reading the migrations table: %d rows, %v", n, err)
	}
	if _, err := ro.ExecContext(ctx, `INSERT INTO used_challenges (expires_at, nonce) VALUES (1, x'00')`); err == nil {
		t.Error("the read-only pool accepted a write")
	}

	missing := filepath.Join(t.TempDir(), "none.db")
	none, err := OpenReadOnly(missing)
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if err := none.PingContext(ctx); err == nil {
		t.Error("the read-only pool opened a missing file")
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the read-only pool created %s: %v", missing, err)
	}
}
