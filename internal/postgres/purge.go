package postgres

import (
	"context"
	"fmt"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlstore"
)

// rebuildAfter is how many records a purge deletes before PurgeExpired
// looks at rebuilding indexes: a mass expiry, not the minute's trickle.
const rebuildAfter = 10 * sqlstore.PurgeBatch

// purgedTables are the tables a mass expiry empties the most: sessions and
// answered login challenges, one row per login.
var purgedTables = []string{"sessions", "used_challenges"}

// PurgeExpired purges as sqlstore.Store does. After a mass expiry — at
// least rebuildAfter records deleted, more than a table still holds — it
// rebuilds that table's indexes with REINDEX TABLE CONCURRENTLY (reads
// and writes go on meanwhile): a VACUUM makes the emptied B-tree pages
// reusable but never gives them back, so without it the indexes keep the
// size of the peak load (22 MB after 100,000 sessions ended, for none
// left; docs/performance.md). The tables themselves shrink by VACUUM.
func (db *DB) PurgeExpired(ctx context.Context, p chusme.Purge) (int64, error) {
	n, err := db.Store.PurgeExpired(ctx, p)
	if err != nil || n < rebuildAfter {
		return n, err
	}
	for _, table := range purgedTables {
		var left int64
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&left); err != nil {
			return n, fmt.Errorf("postgres: after purge: %w", err)
		}
		if left >= n {
			continue
		}
		if _, err := db.pool.Exec(ctx, `REINDEX TABLE CONCURRENTLY `+table); err != nil {
			return n, fmt.Errorf("postgres: rebuilding the indexes of %s after purge: %w", table, err)
		}
	}
	return n, nil
}
