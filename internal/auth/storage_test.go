package auth_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/postgres"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/sqlite"
)

// TestStorageBench measures what sessions cost on disk, on SQLite and (with
// CHUSME_TEST_POSTGRES) PostgreSQL: N logins,
// then M refreshes spread over the sessions, then the sessions' end and the
// purge. It reports the bytes the database uses (its pages less its free
// list: freed pages are reused, the file does not shrink without VACUUM)
// before the load, per active session after the logins and after the
// refreshes, and after the purge. It runs only with CHUSME_STORAGE_BENCH=1
// (docs/performance.md):
//
//	CHUSME_STORAGE_BENCH=1 go test ./internal/auth/ -run '^TestStorageBench$' -v -count=1
//
// CHUSME_STORAGE_BENCH_LOGINS and CHUSME_STORAGE_BENCH_REFRESHES set N and
// M (default 10000 and 100000).
func TestStorageBench(t *testing.T) {
	if os.Getenv("CHUSME_STORAGE_BENCH") != "1" {
		t.Skip("set CHUSME_STORAGE_BENCH=1 to run the storage benchmark")
	}
	t.Run("sqlite", func(t *testing.T) {
		f := newFixture(t, auth.Config{})
		storageBench(t, f, func() int64 { return sqliteUsed(t, f.path) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.FreshDatabase(t)
		store, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		storageBench(t, newFixtureOn(t, store, auth.Config{}), func() int64 { return postgresUsed(t, conn) })
	})
}

// TestRefreshStateConstant: a session refreshed 200 times takes no more
// room than after its login (each refresh used to store a token row, about
// 20 KB for 200).
func TestRefreshStateConstant(t *testing.T) {
	f := newFixture(t, auth.Config{})
	tok := f.login(t)
	before := sqliteUsed(t, f.path)
	for range 200 {
		next, err := f.svc.Refresh(t.Context(), tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		tok = next
	}
	if after := sqliteUsed(t, f.path); after != before {
		t.Fatalf("200 refreshes: %d bytes used, %d after the login", after, before)
	}
}

// storageBench runs the load on f, measuring with used, and checks the
// size after the purge against the start.
func storageBench(t *testing.T, f *fixture, used func() int64) {
	logins, refreshes := envInt(t, "CHUSME_STORAGE_BENCH_LOGINS", 10000), envInt(t, "CHUSME_STORAGE_BENCH_REFRESHES", 100000)
	ctx := context.Background()
	before := used()
	start := time.Now()
	tokens := make([]string, logins)
	for i := range tokens {
		tokens[i] = f.login(t).RefreshToken
	}
	afterLogins := used()
	for i := range refreshes {
		next, err := f.svc.Refresh(ctx, tokens[i%logins])
		if err != nil {
			t.Fatal(err)
		}
		tokens[i%logins] = next.RefreshToken
	}
	afterRefreshes := used()
	load := time.Since(start)

	f.clock.Add(auth.DefaultSessionLifetime + time.Hour)
	n, err := f.store.PurgeExpired(ctx, f.svc.Purge(f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	afterPurge := used()
	perLogin := float64(afterLogins-before) / float64(logins)
	perRefreshed := float64(afterRefreshes-before) / float64(logins)
	t.Logf("%d logins, %d refreshes (%d per session) in %v: used bytes before %d, after logins %d (%.0f B/session), after refreshes %d (%.0f B/session), purged %d records, after purge %d (%+.1f %% of before)",
		logins, refreshes, refreshes/logins, load.Round(time.Second), before, afterLogins, perLogin, afterRefreshes, perRefreshed, n, afterPurge,
		100*float64(afterPurge-before)/float64(before))
	if perRefreshed > 1024 {
		t.Errorf("%.0f bytes per active session, want at most 1 KiB", perRefreshed)
	}
	if float64(afterPurge) > 1.1*float64(before) {
		t.Errorf("after the purge %d bytes used, more than 10 %% over the %d before the load", afterPurge, before)
	}
	if _, err := f.svc.Refresh(ctx, tokens[0]); chusme.ErrorCode(err) != chusme.CodeRefreshInvalid {
		t.Errorf("refresh of a purged session: %v, want refresh_invalid", err)
	}
}

// sqliteUsed returns the bytes the SQLite file at path uses: its pages less
// its free list, read from a reader of the file.
func sqliteUsed(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sqlite.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages, free, size int64
	for q, dst := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
		if err := db.QueryRowContext(t.Context(), q).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	return (pages - free) * size
}

// postgresUsed vacuums the database and returns the size of its tables
// with their indexes. PostgreSQL keeps the pages a table or index grew to
// (VACUUM makes them reusable and returns only a table's empty tail), so
// this counts space held, not live rows.
func postgresUsed(t *testing.T, conn *pgx.Conn) int64 {
	t.Helper()
	if _, err := conn.Exec(t.Context(), `VACUUM`); err != nil {
		t.Fatal(err)
	}
	var n int64
	err := conn.QueryRow(t.Context(), `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// envInt reads a positive integer from the environment, def if unset.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q is not a positive integer", name, v)
	}
	return n
}
