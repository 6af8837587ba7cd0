package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlstore"
	"github.com/chusme/chusme/internal/storetest"
)

// mustOpen opens a database at path and closes it when the test ends.
func mustOpen(t *testing.T, path string) *DB { return storetest.Open(t, Open, path) }

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) chusme.Store { return mustOpen(t, filepath.Join(t.TempDir(), "chusme.db")) })
}

func TestMigrationsFromZeroThenNoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chusme.db")
	storetest.Migrations(t, migrationFS, func(t *testing.T) *sqlstore.Store { return mustOpen(t, path).Store })
}

// TestNewerSchema: a database migrated by a newer binary is refused.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chusme.db")
	storetest.NewerSchema(t, migrationFS, func(ctx context.Context) (*DB, error) { return Open(ctx, path) }, func(db *DB, v int) error {
		_, err := db.write.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, v)
		return err
	})
}

// TestSynchronousFull: Options.Synchronous full sets the writer's
// synchronous pragma to FULL (2); a value other than normal or full is
// refused before the file is touched.
func TestSynchronousFull(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenOptions(t.Context(), filepath.Join(dir, "chusme.db"), Options{Synchronous: SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got int
	if err := db.write.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&got); err != nil || got != 2 {
		t.Errorf("writer synchronous = %d, %v; want 2 (FULL)", got, err)
	}
	bad := filepath.Join(dir, "other.db")
	if _, err := OpenOptions(t.Context(), bad, Options{Synchronous: "off"}); err == nil || !strings.Contains(err.Error(), `"off"`) {
		t.Errorf("synchronous off: %v", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Open created %s: %v", bad, err)
	}
}

func TestPragmas(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "chusme.db"))
	ctx := t.Context()
	var mode string
	if err := db.read.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("reader journal_mode = %q, %v; want wal", mode, err)
	}
	if err := db.write.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("writer journal_mode = %q, %v; want wal", mode, err)
	}
	for _, p := range []struct {
		pragma string
		want   int
	}{{"foreign_keys", 1}, {"synchronous", 1}, {"busy_timeout", busyTimeout}} {
		var got int
		if err := db.write.QueryRowContext(ctx, `PRAGMA `+p.pragma).Scan(&got); err != nil || got != p.want {
			t.Errorf("writer %s = %d, %v; want %d", p.pragma, got, err, p.want)
		}
	}
	var qo int
	if err := db.read.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&qo); err != nil || qo != 1 {
		t.Errorf("reader query_only = %d, %v; want 1", qo, err)
	}
	if _, err := db.read.ExecContext(ctx, `INSERT INTO used_challenges (expires_at, nonce) VALUES (1, x'00')`); err == nil {
		t.Error("reader pool accepted a write")
	}
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "chusme.db"))
	ctx := t.Context()
	now := time.Now()
	id := chusme.Identity{
		Fingerprint: "fp", GenesisKey: []byte("genesis"), PublicKey: []byte("current"),
		Role: chusme.RoleAdmin, Status: chusme.StatusActive, CreatedAt: now,
	}
	if err := db.CreateIdentity(ctx, id, chusme.Admission{Kind: chusme.AdmitOpen}); err != nil {
		t.Fatal(err)
	}

	dest := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := db.Backup(ctx, dest); err == nil {
		t.Error("Backup over an existing file succeeded")
	}
	// Writes after the backup don't reach it.
	if err := db.CreateIdentity(ctx, chusme.Identity{Fingerprint: "later", GenesisKey: []byte("g"), PublicKey: []byte("g"), Role: chusme.RoleUser, Status: chusme.StatusActive, CreatedAt: now},
		chusme.Admission{Kind: chusme.AdmitOpen}); err != nil {
		t.Fatal(err)
	}

	b := mustOpen(t, dest)
	got, err := b.GetIdentity(ctx, "fp")
	if err != nil {
		t.Fatalf("GetIdentity from the backup: %v", err)
	}
	if got.Fingerprint != id.Fingerprint || string(got.GenesisKey) != "genesis" || string(got.PublicKey) != "current" ||
		got.Role != id.Role || !got.CreatedAt.Equal(now) {
		t.Errorf("backup identity = %+v, want %+v", got, id)
	}
	if n, err := b.CountIdentities(ctx); err != nil || n != 1 {
		t.Errorf("backup CountIdentities = %d, %v; want 1", n, err)
	}
	if len(storetest.Applied(t, b.Store)) == 0 {
		t.Error("backup has no schema_migrations")
	}
}

// TestWriterStatementsPrepared checks the writer's statement cache: a write
// transaction's statement is prepared before the next transaction, which
// gets it prepared, and repeating the write adds nothing to the cache.
func TestWriterStatementsPrepared(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "chusme.db"))
	invite := func(token string) {
		t.Helper()
		if err := db.CreateInvite(t.Context(), chusme.Invite{ID: token, Hash: []byte(token), CreatedBy: "admin", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// cached returns the size of the cache and the invite insert's text.
	cached := func() (n int, insert string) {
		db.wst.mu.Lock()
		defer db.wst.mu.Unlock()
		for q := range db.wst.stmts {
			if strings.HasPrefix(q, "INSERT INTO invites") {
				insert = q
			}
		}
		return len(db.wst.stmts), insert
	}
	invite("a")
	invite("b") // prepares a's statement before its transaction
	n, insert := cached()
	if insert == "" || db.wst.get(insert) == nil {
		t.Fatal("the invite insert is not prepared on the writer")
	}
	invite("c")
	if again, _ := cached(); again != n {
		t.Errorf("repeating a write grew the statement cache from %d to %d", n, again)
	}
}

// TestSnapshotStatementsPrepared checks the read transactions' use of the
// read pool's statements: with every read connection held by a transaction
// that runs a query for the first time, all of them finish (none waits for a
// connection to prepare it on), and the query is prepared afterwards, so a
// later transaction runs it through the cached statement.
func TestSnapshotStatementsPrepared(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "chusme.db"))
	e := (*engine)(db)
	const query = `SELECT 1 + ?`
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n := db.read.Stats().MaxOpenConnections
	var entered sync.WaitGroup
	entered.Add(n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- e.Snapshot(ctx, func(c sqlstore.Conn) error {
				entered.Done()
				entered.Wait() // every read connection is now in a transaction
				var got int
				if err := c.QueryRow(ctx, query, i).Scan(&got); err != nil {
					return err
				}
				if got != i+1 {
					return fmt.Errorf("%s with %d = %d", query, i, got)
				}
				return nil
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := db.read.stmts.Load(query); !ok {
		t.Fatal("the query of the read transactions is not prepared after them")
	}
	err := e.Snapshot(ctx, func(c sqlstore.Conn) error {
		if db.read.inTx(ctx, c.(txConn).tx, query) == nil {
			return errors.New("a read transaction does not get the prepared statement")
		}
		var got int
		return c.QueryRow(ctx, query, 41).Scan(&got)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPurgeTruncatesWAL: a purge of more than a batch leaves no WAL behind
// (it was 56 MB after one large purge).
func TestPurgeTruncatesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chusme.db")
	db := mustOpen(t, path)
	ctx := t.Context()
	now := time.Now()
	for i := range 2 * checkpointAfter {
		c := chusme.UsedChallenge{Nonce: fmt.Appendf(nil, "nonce %d", i), ExpiresAt: now.Add(-time.Second)}
		if err := db.UseChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("WAL before the purge: %v, %v; want a non-empty file", fi, err)
	}
	n, err := db.PurgeExpired(ctx, chusme.Purge{Now: now})
	if err != nil || n != 2*checkpointAfter {
		t.Fatalf("PurgeExpired = %d, %v", n, err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil || fi.Size() != 0 {
		t.Fatalf("WAL after a large purge: %v, %v; want empty", fi, err)
	}
}

// TestLegacyPackages: point-to-point packages stored one row each, before
// migration 0016, are read with the packed ones.
func TestLegacyPackages(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "chusme.db"))
	ctx := t.Context()
	c := chusme.Ceremony{ID: "c1", Kind: chusme.KindDKG, Creator: "alice", Status: chusme.CeremonyOpen, Round: 2,
		Threshold: 2, Participants: []string{"alice", "bob", "carol"}, Version: 1}
	c.CreatedAt, c.UpdatedAt, c.RoundStarted, c.Deadline = time.Now(), time.Now(), time.Now(), time.Now().Add(time.Minute)
	if err := db.CreateCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"bob", "carol"} {
		if _, err := db.write.Exec(`INSERT INTO ceremony_submissions (ceremony_id, round, sender, recipient, payload, signature, created_at)
			VALUES ('c1', 2, 'alice', ?, ?, x'00', 1)`, r, []byte("a"+r)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.UpdateCeremony(ctx, "c1", func(st *chusme.CeremonyState) error {
		st.Add = []chusme.CeremonySubmission{{CeremonyID: "c1", Round: 2, Sender: "carol", Recipient: "bob", Payload: []byte("cbob"), Signature: []byte("sig")},
			{CeremonyID: "c1", Round: 2, Sender: "carol", Recipient: "alice", Payload: []byte("calice"), Signature: []byte("sig")}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	payloads := func(subs []chusme.CeremonySubmission, err error) string { return storetest.Payloads(t, subs, err) }
	for _, tc := range []struct{ what, got, want string }{
		{"ListSubmissions", payloads(db.ListSubmissions(ctx, "c1", 2)), "abob,acarol,calice,cbob"},
		{"ListInbox(bob)", payloads(db.ListInbox(ctx, "c1", 2, "bob")), "abob,cbob"},
		{"ListSent(alice)", payloads(db.ListSent(ctx, "c1", 2, "alice")), "abob,acarol"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.what, tc.got, tc.want)
		}
	}
}
