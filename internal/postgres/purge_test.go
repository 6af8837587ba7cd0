package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/postgres"
	"github.com/chusme/chusme/internal/postgres/pgtest"
)

// After a mass expiry the session indexes are rebuilt: 20,000 ended
// sessions purged leave the primary key index as small as an empty
// table's, not the size it grew to (VACUUM alone keeps its pages).
func TestMassPurgeRebuildsIndexes(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	size := func() int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(t.Context(), `SELECT pg_relation_size('sessions_pkey')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	empty := size()
	now := time.Now()
	if _, err := conn.Exec(t.Context(), `INSERT INTO sessions (id, fingerprint, created_at, last_used_at, expires_at)
		SELECT 'session-' || i, 'fp', $1, $1, $1 FROM generate_series(1, 20000) i`, now.Add(-time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	grown := size()
	n, err := db.PurgeExpired(t.Context(), chusme.Purge{Now: now})
	if err != nil || n != 20000 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if after := size(); after > empty+16<<10 || grown < 10*empty {
		t.Fatalf("sessions_pkey: %d bytes empty, %d with 20,000 rows, %d after the purge", empty, grown, after)
	}
}
