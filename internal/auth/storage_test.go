package auth_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/sqlite"
)

// TestStorageBench measures what sessions cost on disk on SQLite: N logins,
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
	logins, refreshes := envInt(t, "CHUSME_STORAGE_BENCH_LOGINS", 10000), envInt(t, "CHUSME_STORAGE_BENCH_REFRESHES", 100000)
	ctx := context.Background()
	f := newFixture(t, auth.Config{})
	used := func() int64 {
		t.Helper()
		// A purge of a batch or more checkpoints the WAL; this one of
		// nothing leaves it, so count pages from a reader of the file.
		db, err := sqlite.OpenReadOnly(f.path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var pages, free, size int64
		for q, dst := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
			if err := db.QueryRowContext(ctx, q).Scan(dst); err != nil {
				t.Fatal(err)
			}
		}
		return (pages - free) * size
	}
	before := used()

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

	f.clock.Add(auth.DefaultSessionLifetime + time.Hour)
	n, err := f.store.PurgeExpired(ctx, f.svc.Purge(f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	afterPurge := used()
	perLogin := float64(afterLogins-before) / float64(logins)
	perRefreshed := float64(afterRefreshes-before) / float64(logins)
	t.Logf("%d logins, %d refreshes (%d per session): used bytes before %d, after logins %d (%.0f B/session), after refreshes %d (%.0f B/session), purged %d records, after purge %d (%+.1f %% of before)",
		logins, refreshes, refreshes/logins, before, afterLogins, perLogin, afterRefreshes, perRefreshed, n, afterPurge,
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
