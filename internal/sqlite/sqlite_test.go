package sqlite

import (
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/storetest"
)

// mustOpen opens a database at path and closes it when the test ends.
func mustOpen(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) chusme.Store {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "chusme.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

// applied returns schema_migrations as version → applied_at.
func applied(t *testing.T, db *DB) map[int]int64 {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[int]int64{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		m[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMigrationsFromZeroThenNoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chusme.db")
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	before := time.Now().UnixNano()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	first := applied(t, db)
	if len(first) != len(files) {
		t.Fatalf("schema_migrations has %d rows, want %d (%v)", len(first), len(files), files)
	}
	for v := 1; v <= len(files); v++ {
		if at, ok := first[v]; !ok || at < before {
			t.Errorf("migration %d: applied_at %d, ok %v", v, at, ok)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path)
	again := applied(t, db)
	if len(again) != len(first) {
		t.Fatalf("re-open: %d migrations recorded, want %d", len(again), len(first))
	}
	for v, at := range first {
		if again[v] != at {
			t.Errorf("re-open re-applied migration %d", v)
		}
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
	if len(applied(t, b)) == 0 {
		t.Error("backup has no schema_migrations")
	}
}
