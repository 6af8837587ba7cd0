package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme/internal/migrations"
	"github.com/chusme/chusme/internal/sqlstore"
)

// Open opens the store at where with open and closes it when the test ends.
func Open[S io.Closer](t *testing.T, open func(ctx context.Context, where string) (S, error), where string) S {
	t.Helper()
	s, err := open(t.Context(), where)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// Applied returns the migrations recorded in s, as version → applied_at.
func Applied(t *testing.T, s *sqlstore.Store) map[int]int64 {
	t.Helper()
	m, err := sqlstore.Migrations(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Migrations checks an engine's schema migrations on one empty database:
// the first open applies every file of fsys's migrations directory, and
// records each after the test began; opening the database again applies
// none again. open opens the test's database and returns its shared store.
func Migrations(t *testing.T, fsys fs.FS, open func(t *testing.T) *sqlstore.Store) {
	files := embedded(t, fsys)
	before := time.Now().UnixNano()
	first := Applied(t, open(t))
	if len(first) != len(files) {
		t.Fatalf("schema_migrations has %d rows, want %d", len(first), len(files))
	}
	for _, m := range files {
		if at, ok := first[m.Version]; !ok || at < before {
			t.Errorf("migration %d: applied_at %d, ok %v", m.Version, at, ok)
		}
	}
	again := Applied(t, open(t))
	if len(again) != len(first) {
		t.Fatalf("re-open: %d migrations recorded, want %d", len(again), len(first))
	}
	for v, at := range first {
		if again[v] != at {
			t.Errorf("re-open re-applied migration %d", v)
		}
	}
}

// embedded returns the migrations of fsys, in version order (numbers may
// have gaps: branches number theirs apart).
func embedded(t *testing.T, fsys fs.FS) []migrations.Migration {
	t.Helper()
	files, err := migrations.List(fsys, "migrations")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	return files
}

// NewerSchema checks that an engine refuses a database whose schema is
// newer than its migrations in fsys: open opens the test's database, and
// record adds a version to its schema_migrations. The error must be
// sqlstore.ErrSchemaNewer and name both versions.
func NewerSchema[DB io.Closer](t *testing.T, fsys fs.FS, open func(context.Context) (DB, error), record func(db DB, version int) error) {
	t.Helper()
	files := embedded(t, fsys)
	known := files[len(files)-1].Version
	db, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := record(db, known+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = open(t.Context())
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a schema newer than its migrations")
	}
	if !errors.Is(err, sqlstore.ErrSchemaNewer) || !strings.Contains(err.Error(), fmt.Sprintf("version %d, this binary knows up to %d", known+1, known)) {
		t.Fatalf("Open: %v; want ErrSchemaNewer naming versions %d and %d", err, known+1, known)
	}
}
