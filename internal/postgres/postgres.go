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
//
// The store's methods and their SQL are internal/sqlstore's; this package
// gives them its pool, its transactions and its Dialect (the row locks).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the key of the transaction-scoped advisory lock that
// migrations take, so that concurrent Opens apply them one at a time.
const migrationLock = 0x63687573_6d650001 // "chusme" 1

// DB is a chusme.Store backed by a PostgreSQL database.
type DB struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	read pgConn // the pool as a sqlstore.Conn
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
	db := &DB{pool: pool, read: pgConn{pool}}
	db.Store = sqlstore.New((*engine)(db), dialect)
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies the embedded migrations not applied yet (see
// sqlstore.Store.Migrate). DDL is transactional in PostgreSQL: in each
// migration's transaction, the advisory lock, the table of applied
// versions and the migration commit together.
func (db *DB) migrate(ctx context.Context) error {
	return sqlstore.Migrate(ctx, db.Store, migrationFS, func(c sqlstore.Conn) error {
		if _, err := c.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`)
		return err
	}, func(c sqlstore.Conn, script string) error {
		// The simple protocol runs a file of several statements.
		_, err := c.(pgConn).q.(pgx.Tx).Conn().PgConn().Exec(ctx, script).ReadAll()
		return err
	})
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

// dialect is PostgreSQL's: $n placeholders, a row lock on what a
// transaction decides on, bytewise order as in SQLite whatever the
// database's collation, the table lock that makes "no identity exists yet"
// a fact for the setup token's transactions on every node (only they take
// it; registrations don't wait on each other), and a ceremony's members in
// one statement over an array.
var dialect = sqlstore.Dialect{
	Name:           "postgres",
	Placeholder:    sqlstore.DollarPlaceholder,
	LockRow:        " FOR UPDATE",
	Bytewise:       ` COLLATE "C"`,
	LockIdentities: `LOCK TABLE identities IN SHARE ROW EXCLUSIVE MODE`,
	InsertMembers: `INSERT INTO ceremony_members (fingerprint, ceremony_id, created_at)
		SELECT m, $2, $3 FROM unnest($1::text[]) AS m
		ON CONFLICT DO NOTHING`,
	IsUnique:      isUnique,
	IsUnavailable: isUnavailable,
}

// engine gives the shared store the pool's transactions.
type engine DB

// Write runs fn in a READ COMMITTED transaction (see tx).
func (e *engine) Write(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return (*DB)(e).tx(ctx, func(tx pgx.Tx) error { return fn(pgConn{tx}) })
}

// WriteOne runs fn on the pool: one statement commits on its own.
func (e *engine) WriteOne(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return fn(e.read)
}

// Snapshot runs fn in a REPEATABLE READ, read-only transaction.
func (e *engine) Snapshot(ctx context.Context, fn func(sqlstore.Conn) error) error {
	tx, err := e.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(pgConn{tx})
}

// Read returns the pool.
func (e *engine) Read() sqlstore.Conn { return e.read }

// querier is what the pool and a transaction both offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var (
	_ querier = (*pgxpool.Pool)(nil)
	_ querier = pgx.Tx(nil)
)

// pgConn is the pool or a transaction as a sqlstore.Conn.
type pgConn struct{ q querier }

// Exec runs query and returns how many rows it affected.
func (c pgConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// QueryRow runs a query of at most one row.
func (c pgConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return c.q.QueryRow(ctx, query, args...)
}

// Query runs a query.
func (c pgConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return c.q.Query(ctx, query, args...)
}
