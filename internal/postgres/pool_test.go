package postgres

import (
	"testing"
)

// TestOpenPool: a pool on a fresh database answers and has no tables (no
// migration ran); a malformed or unreachable DSN is an error.
func TestOpenPool(t *testing.T) {
	ctx := t.Context()
	for _, dsn := range []string{"postgres://%zz", "postgres://127.0.0.1:1/none?connect_timeout=2"} {
		if pool, err := OpenPool(ctx, dsn); err == nil {
			pool.Close()
			t.Errorf("OpenPool(%q) succeeded", dsn)
		}
	}
	pool, err := OpenPool(ctx, freshDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a fresh database through OpenPool has %d tables (%v), want 0", n, err)
	}
}
