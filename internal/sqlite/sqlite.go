// Package sqlite is ChusMe's embedded storage engine: a chusme.Store in one
// SQLite file, in WAL mode, through the pure-Go modernc.org/sqlite driver.
//
// Writes go through a single connection, each in a BEGIN IMMEDIATE
// transaction, so they are serialized without SQLITE_BUSY retries; reads go
// through a separate pool of read-only connections that run beside the
// writer. The schema is a list of embedded migrations applied at Open.
//
// The store's methods and their SQL are internal/sqlstore's; this package
// gives them its connections and its Dialect.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/sqlstore"
)

// busyTimeout is how long, in milliseconds, a connection waits for a lock
// held by another connection (a second process, or a checkpoint) before
// failing with SQLITE_BUSY.
const busyTimeout = 5000

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a chusme.Store backed by one SQLite file.
type DB struct {
	*sqlstore.Store
	write *sql.DB    // exactly one connection; every write transaction
	read  *readPool  // read-only connections, prepared statements cached
	dsn   string     // the file's read-write DSN without the writer's settings
	wst   writeStmts // prepared statements on the writer (see stmtTx)
}

var _ chusme.Store = (*DB)(nil)

// fileMode is the mode of the database file, its -wal and -shm files and
// every backup: readable by the server's user only, whatever the umask.
const fileMode = 0o600

// Synchronous modes: how often the writer makes the WAL durable (SQLite's
// synchronous pragma; see docs/operations.md).
const (
	SyncNormal = "normal" // fsync at checkpoints only: a power loss may undo the last commits, never corrupt
	SyncFull   = "full"   // fsync the WAL at every commit: a commit survives a power loss
)

// Options are Open's settings; the zero value is the default.
type Options struct {
	Synchronous string // SyncNormal (empty) or SyncFull
}

// Open opens the database file at path with the default Options (see
// OpenOptions).
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenOptions(ctx, path, Options{})
}

// OpenOptions opens the database file at path, creating it if needed (mode
// 0600, as are its -wal and -shm files), and applies any migration not
// applied yet.
func OpenOptions(ctx context.Context, path string, o Options) (*DB, error) {
	sync := o.Synchronous
	switch sync {
	case "":
		sync = SyncNormal
	case SyncNormal, SyncFull:
	default:
		return nil, fmt.Errorf("sqlite: open: synchronous must be %s or %s, not %q", SyncNormal, SyncFull, sync)
	}
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	// Create the file before the driver does (it would use 0644 less the
	// umask); SQLite gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	f.Close()
	if err := restrictModes(path); err != nil {
		return nil, err
	}
	dsn := fileDSN(path, "rw", nil)
	wq := url.Values{"_pragma": {"journal_mode(WAL)", "synchronous(" + sync + ")"}, "_txlock": {"immediate"}}
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
	db.Store = sqlstore.New((*engine)(db), dialect)
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

// restrictModes sets the database file and any -wal and -shm file to 0600:
// files an earlier version created with a wider mode are narrowed.
func restrictModes(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, fileMode); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: open: %w", err)
		}
	}
	return nil
}

// migrate creates the table of applied migrations and applies the
// embedded migrations not applied yet (see sqlstore.Store.Migrate).
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return sqlstore.Migrate(ctx, db.Store, migrationFS, nil, func(c sqlstore.Conn, script string) error {
		_, err := c.(stmtTx).tx.ExecContext(ctx, script) // run once: not for the statement cache
		return err
	})
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
// must not exist yet and is created with mode 0600, while the database stays
// in use (VACUUM INTO).
//
// It runs on a connection of its own: VACUUM INTO needs a connection that may
// write (the read pool may not), and it must not hold up the writer.
func (db *DB) Backup(ctx context.Context, destPath string) (err error) {
	// VACUUM INTO fills an empty file: create it first, with our mode.
	f, err := os.OpenFile(destPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(destPath)
		}
	}()
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

// isUnique reports whether err is a unique (or primary key) violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

// isUnavailable reports whether err is SQLITE_BUSY (any of its extended
// codes): another connection (a second process, a checkpoint, a backup)
// held the lock past busyTimeout, so the same call may succeed a moment
// later. Nothing else is: an I/O error, a full disk or a corrupt file
// stays internal, as waiting won't mend it.
func isUnavailable(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dialect is SQLite's: ? placeholders, and no row locks, as BEGIN IMMEDIATE
// serializes the write transactions.
var dialect = sqlstore.Dialect{Name: "sqlite", IsUnique: isUnique, IsUnavailable: isUnavailable}

// engine gives the shared store the writer's transactions and the read pool.
type engine DB

// Write runs fn in a write transaction (BEGIN IMMEDIATE on the one writer
// connection) and commits if fn returns nil. fn's Conn is a stmtTx: its
// queries go through the writer's prepared statements.
func (e *engine) Write(ctx context.Context, fn func(sqlstore.Conn) error) error {
	e.wst.prepare(ctx, e.write)
	tx, err := e.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(stmtTx{tx, &e.wst}); err != nil {
		return err
	}
	return tx.Commit()
}

// WriteOne runs fn in a write transaction: the one writer connection is
// reached only through them.
func (e *engine) WriteOne(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return e.Write(ctx, fn)
}

// Snapshot runs fn in a read transaction of the read pool: SQLite reads
// one snapshot from a transaction's first read to its end.
func (e *engine) Snapshot(ctx context.Context, fn func(sqlstore.Conn) error) error {
	tx, err := e.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer e.read.prepareNoted(ctx) // after the rollback below gives the connection back
	defer tx.Rollback()
	return fn(txConn{tx, e.read})
}

// Read returns the read pool.
func (e *engine) Read() sqlstore.Conn { return readConn{e.read} }

// checkpointAfter is how many records a purge deletes before PurgeExpired
// truncates the WAL: a large purge writes as many pages to the WAL, which
// would otherwise keep its largest size on disk.
const checkpointAfter = sqlstore.PurgeBatch

// PurgeExpired purges as sqlstore.Store does; after a large purge it
// checkpoints the WAL into the database and truncates it.
func (db *DB) PurgeExpired(ctx context.Context, p chusme.Purge) (int64, error) {
	n, err := db.Store.PurgeExpired(ctx, p)
	if err != nil || n < checkpointAfter {
		return n, err
	}
	// On the writer, so that no write transaction is open; readers may hold
	// the checkpoint back (it then reports busy and truncates less), which
	// the next large purge makes up for.
	if _, err := db.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return n, fmt.Errorf("sqlite: checkpoint after purge: %w", err)
	}
	return n, nil
}
