// Package sqlite is ChusMe's embedded storage engine: a chusme.Store in one
// SQLite file, in WAL mode, through the pure-Go modernc.org/sqlite driver.
//
// Writes go through a single connection, each in a BEGIN IMMEDIATE
// transaction, so they are serialized without SQLITE_BUSY retries; reads go
// through a separate pool of read-only connections that run beside the
// writer. The schema is a list of embedded migrations applied at Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/migrations"
)

// busyTimeout is how long, in milliseconds, a connection waits for a lock
// held by another connection (a second process, or a checkpoint) before
// failing with SQLITE_BUSY.
const busyTimeout = 5000

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a chusme.Store backed by one SQLite file.
type DB struct {
	write *sql.DB    // exactly one connection; every write transaction
	read  *readPool  // read-only connections, prepared statements cached
	dsn   string     // the file's read-write DSN without the writer's settings
	wst   writeStmts // prepared statements on the writer (see stmtTx)
}

var _ chusme.Store = (*DB)(nil)

// Open opens the database file at path, creating it if needed, and applies
// any migration not applied yet.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	dsn := fileDSN(path, "rw", nil)
	wq := url.Values{"_pragma": {"journal_mode(WAL)", "synchronous(NORMAL)"}, "_txlock": {"immediate"}}
	write, err := sql.Open("sqlite", fileDSN(path, "rwc", wq))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	// Connect the writer first: it creates the file and switches it to WAL,
	// which read-only connections can't do.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	read, err := OpenReadOnly(path)
	if err != nil {
		write.Close()
		return nil, err
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	db := &DB{write: write, read: &readPool{DB: read}, dsn: dsn}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return db, nil
}

// migrate applies, in version order and each in its own transaction, the
// embedded migrations not yet recorded in schema_migrations. A migration's
// version is the number its file name starts with (0001_init.sql is 1).
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	ms, err := migrations.List(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, m := range ms {
		err := db.tx(ctx, func(tx stmtTx) error {
			var done bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.Version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Tx.ExecContext(ctx, m.SQL); err != nil { // a script, run once: not for the statement cache
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	db.wst.Close()
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that both connection pools reach the database.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the database to destPath, a file that
// must not exist yet, while the database stays in use (VACUUM INTO).
//
// It runs on a connection of its own: VACUUM INTO needs a connection that may
// write (the read pool may not), and it must not hold up the writer.
func (db *DB) Backup(ctx context.Context, destPath string) error {
	conn, err := sql.Open("sqlite", db.dsn)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, destPath); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return conn.Close()
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE on the one writer
// connection) and commits if fn returns nil. fn's queries go through the
// writer's prepared statements (see stmtTx).
func (db *DB) tx(ctx context.Context, fn func(stmtTx) error) error {
	db.wst.prepare(ctx, db.write)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(stmtTx{tx, &db.wst}); err != nil {
		return err
	}
	return tx.Commit()
}

// wrap turns err into the error a Store method returns: *chusme.Error
// values pass through, a uniqueness violation becomes CodeConflict, and
// anything else is wrapped as internal, naming op.
func wrap(op string, err error) error {
	var ce *chusme.Error
	var se *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE):
		return chusme.Errorf(chusme.CodeConflict, "%s: already exists", op)
	default:
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
}

// notFound returns a CodeNotFound error about what.
func notFound(what string) error {
	return chusme.Errorf(chusme.CodeNotFound, "%s not found", what)
}

// unixNano encodes t for storage: Unix nanoseconds, or NULL for the zero time.
func unixNano(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNano decodes a time stored by unixNano.
func fromNano(n sql.NullInt64) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
