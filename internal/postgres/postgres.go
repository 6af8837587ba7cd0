// Package postgres is ChusMe's storage engine for several server nodes: a
// chusme.Store in one PostgreSQL database, through github.com/jackc/pgx/v5
// and its connection pool.
//
// It keeps the SQLite engine's semantics and data layout (times as Unix
// nanoseconds in BIGINT, byte strings in BYTEA, fingerprint lists as JSON
// text), so that a store can be copied from one engine into the other. Every
// read-modify-write runs in a READ COMMITTED transaction that first takes a
// row lock (SELECT … FOR UPDATE) on the row it decides on, or is a single
// conditional UPDATE or DELETE … RETURNING: two nodes on one database can
// never both consume one secret or both advance one ceremony. The schema is
// a list of embedded migrations applied at Open under an advisory lock, so
// that nodes starting together apply each migration once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the key of the transaction-scoped advisory lock that
// migrations take, so that concurrent Opens apply them one at a time.
const migrationLock = 0x63687573_6d650001 // "chusme" 1

// DB is a chusme.Store backed by a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
}

var _ chusme.Store = (*DB)(nil)

// Open connects to the database at dsn (a postgres:// URL or a keyword/value
// string, as pgxpool.ParseConfig reads it, including pool_max_conns) and
// applies any migration not applied yet.
func Open(ctx context.Context, dsn string) (*DB, error) {
	pool, err := OpenPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	db := &DB{pool: pool}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies, in version order and each in its own transaction, the
// embedded migrations not yet recorded in schema_migrations. A migration's
// version is the number its file name starts with (0001_init.sql is 1).
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations.List(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, m := range ms {
		err := db.tx(ctx, func(tx pgx.Tx) error {
			// DDL is transactional in PostgreSQL: the lock, the table of
			// applied versions and the migration commit together.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				applied_at BIGINT NOT NULL
			)`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil || done {
				return err
			}
			// The simple protocol runs a file of several statements.
			if _, err := tx.Conn().PgConn().Exec(ctx, m.SQL).ReadAll(); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

// Close closes the connection pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database is reachable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// tx runs fn in a READ COMMITTED transaction and commits if fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// isUnique reports whether err is a unique (or primary key) violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// wrap turns err into the error a Store method returns: *chusme.Error
// values pass through, a uniqueness violation becomes CodeConflict, and
// anything else is wrapped as internal, naming op.
func wrap(op string, err error) error {
	var ce *chusme.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case isUnique(err):
		return chusme.Errorf(chusme.CodeConflict, "%s: already exists", op)
	default:
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
}

// notFound returns a CodeNotFound error about what.
func notFound(what string) error {
	return chusme.Errorf(chusme.CodeNotFound, "%s not found", what)
}

// oneRow returns CodeNotFound about what unless tag affected exactly one row.
func oneRow(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() != 1 {
		return notFound(what)
	}
	return nil
}

// unixNano encodes t for storage: Unix nanoseconds, or NULL for the zero time.
func unixNano(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNano decodes a time stored by unixNano.
func fromNano(n pgtype.Int8) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// querier is what reads need: the pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var (
	_ querier = (*pgxpool.Pool)(nil)
	_ querier = pgx.Tx(nil)
)
