package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chusme/chusme/internal/sqlstore"
)

// Backoff between attempts to re-establish a lost listening connection.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 10 * time.Second
)

// Notify publishes payload on channel with pg_notify: every connection
// listening on channel, on any node, receives it once this statement
// commits. Payloads are hints (ids, never secrets) and are at most 8000
// bytes.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	_, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return sqlstore.Wrap(db.Store, "notify", err)
}

// Listen holds one connection, with the pool's settings but outside it (so
// that it takes none of the pool's connections), with LISTEN channel and calls fn
// with every notification's payload, one at a time, in order. The first
// LISTEN is in place when Listen returns (or it fails); then a goroutine
// keeps listening until ctx ends, and closes the returned channel when it
// has released its connection. When the connection drops it reconnects with
// a growing backoff and, once listening again, calls resync: notifications
// sent while it was away are lost, so resync must catch up from the store.
func (db *DB) Listen(ctx context.Context, channel string, fn func(payload string), resync func(), log *slog.Logger) (<-chan struct{}, error) {
	conn, err := db.listen(ctx, channel)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff := listenBackoffMin
		for {
			err := waitLoop(ctx, conn, fn)
			if ctx.Err() != nil {
				return
			}
			log.Warn("postgres: the listening connection was lost; reconnecting", "channel", channel, "err", err)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, listenBackoffMax)
				if conn, err = db.listen(ctx, channel); err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				log.Warn("postgres: listening again failed", "channel", channel, "err", err, "retry_in", backoff)
			}
			log.Info("postgres: listening again", "channel", channel)
			backoff = listenBackoffMin
			resync()
		}
	}()
	return done, nil
}

// listen opens a connection and runs LISTEN channel on it.
func (db *DB) listen(ctx context.Context, channel string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		closeConn(ctx, conn)
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

// closeConn closes conn, waiting at most a second for the server.
func closeConn(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// waitLoop calls fn for each notification until the connection fails or
// ctx ends.
func waitLoop(ctx context.Context, conn *pgx.Conn, fn func(string)) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			closeConn(ctx, conn)
			return err
		}
		fn(n.Payload)
	}
}
