// Package sqlstore is the part of chusme.Store that the SQL engines share:
// the SQL both SQLite and PostgreSQL accept, row scanning and value
// encoding (times as Unix nanoseconds, fingerprint lists as JSON text), and
// the logic of every store method over it.
//
// An engine (internal/sqlite, internal/postgres) supplies what really
// differs: its transactions and connections (an Engine, whose Conns run
// the SQL), and a Dialect (placeholders, row locks, bytewise collation, the
// table lock of the setup token, unique-violation detection). The shared
// SQL is written once with ? placeholders; New renders it for the dialect
// once, so no statement is rewritten per call.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/migrations"
)

// Row is one result row: *sql.Row or pgx.Row.
type Row interface {
	// Scan copies the row's columns into dest; an error wrapping
	// sql.ErrNoRows if there is no row.
	Scan(dest ...any) error
}

// Rows is a result set, read with Next and Scan, then Err, then Close.
type Rows interface {
	Row
	// Next advances to the next row; false at the end or on an error.
	Next() bool
	// Err returns the error that ended Next, if any.
	Err() error
	// Close releases the result set.
	Close()
}

// Conn runs rendered statements: a write transaction, a read-only
// transaction or a pool of connections.
type Conn interface {
	// Exec runs a statement and returns how many rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a query expected to return at most one row.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a query.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Engine is the transactions and connections of a storage engine.
type Engine interface {
	// Write runs fn in a write transaction and commits if fn returns nil.
	Write(ctx context.Context, fn func(Conn) error) error
	// WriteOne runs fn, which makes exactly one write statement: in a
	// write transaction, or on its own where one statement is atomic and
	// needs no transaction.
	WriteOne(ctx context.Context, fn func(Conn) error) error
	// Snapshot runs fn in a read-only transaction that reads one snapshot.
	Snapshot(ctx context.Context, fn func(Conn) error) error
	// Read returns the connection that reads outside transactions.
	Read() Conn
}

// Dialect is how an engine's SQL differs from the shared SQL.
type Dialect struct {
	// Name names the engine in the errors a Store wraps ("sqlite").
	Name string
	// Placeholder returns the n-th (from 1) placeholder ("$1"); nil keeps
	// the shared SQL's "?".
	Placeholder func(n int) string
	// LockRow follows, in a write transaction, a read of the row that the
	// transaction decides on (" FOR UPDATE"): "" where write transactions
	// are serialized anyway.
	LockRow string
	// Bytewise follows a text column in an ORDER BY so that it compares
	// bytewise (` COLLATE "C"`): "" where that is the default.
	Bytewise string
	// LockIdentities is a statement that keeps identities from being
	// created until the transaction ends and waits for registrations under
	// way, so that "no identity exists yet" holds for the setup token's
	// transactions: "" where write transactions are serialized anyway.
	LockIdentities string
	// InsertMembers, if not "", inserts a ceremony's members in one
	// statement: its arguments are the fingerprints ([]string), the
	// ceremony id and the creation time, and a member listed twice is
	// inserted once. "" inserts them one statement each.
	InsertMembers string
	// IsUnique reports whether err is a unique or primary key violation.
	IsUnique func(err error) bool
	// IsUnavailable reports whether err means the database can't be
	// reached or used right now (a lost connection, a server restarting,
	// a lock held past the busy timeout), so the same call may succeed a
	// moment later; nil: no error is.
	IsUnavailable func(err error) bool
}

// Store is chusme.Store over an Engine, but for Ping and Close, which the
// engine's own type adds.
type Store struct {
	e   Engine
	d   Dialect
	sql []string // every query, rendered for d, by query number
}

// New returns the store over e, with the shared SQL rendered for d.
func New(e Engine, d Dialect) *Store {
	s := &Store{e: e, d: d, sql: make([]string, len(queries))}
	for i, q := range queries {
		s.sql[i] = d.render(q)
	}
	return s
}

// query is a statement of the shared SQL: its number in queries.
type query int

// queries are the texts of the shared SQL, by query number. They use ?
// placeholders, {lock} where Dialect.LockRow goes and {bytewise} where
// Dialect.Bytewise goes; no placeholder or marker may stand inside an SQL
// string literal.
var queries []string

// newQuery adds text to queries (at package initialization).
func newQuery(text string) query {
	queries = append(queries, text)
	return query(len(queries) - 1)
}

// render returns q in d's SQL.
func (d Dialect) render(q string) string {
	q = strings.NewReplacer("{lock}", d.LockRow, "{bytewise}", d.Bytewise).Replace(q)
	if d.Placeholder == nil {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DollarPlaceholder is PostgreSQL's Dialect.Placeholder: $1, $2, …
func DollarPlaceholder(n int) string { return "$" + strconv.Itoa(n) }

// locks reports whether the dialect locks the rows a transaction decides on.
func (s *Store) locks() bool { return s.d.LockRow != "" }

// Wrap turns err into the error a method of s returns: *chusme.Error
// values pass through, a uniqueness violation becomes CodeConflict, an
// error the dialect calls unavailable becomes CodeUnavailable (its cause
// kept in the chain, for the log, but not in the message), and anything
// else is wrapped as internal, naming the engine and op.
func Wrap(s *Store, op string, err error) error { return s.wrap(op, err) }

func (s *Store) wrap(op string, err error) error {
	var ce *chusme.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case s.d.IsUnique(err):
		return chusme.Errorf(chusme.CodeConflict, "%s: already exists", op)
	case s.d.IsUnavailable != nil && s.d.IsUnavailable(err):
		// errors.As meets the *chusme.Error first: the code and message
		// are its, the cause only in Error(), which goes to the log.
		return fmt.Errorf("%w (%s: %s: %w)", errUnavailable, s.d.Name, op, err)
	default:
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
}

// errUnavailable is what a caller of a store method learns of an error the
// dialect calls unavailable.
var errUnavailable = chusme.Errorf(chusme.CodeUnavailable, "the store is unavailable for a moment; retry shortly")

// notFound returns a CodeNotFound error about what.
func notFound(what string) error {
	return chusme.Errorf(chusme.CodeNotFound, "%s not found", what)
}

// noRows reports whether err says a query returned no row.
func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// oneRow returns CodeNotFound about what unless exactly one row was affected.
func oneRow(n int64, err error, what string) error {
	if err != nil {
		return err
	}
	if n != 1 {
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
func fromNano(n sql.NullInt64) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// jsonList encodes a fingerprint list: a JSON array, [] for nil.
func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fromJSON decodes a list or map stored as JSON text into dst.
func fromJSON(src string, dst any) error {
	if err := json.Unmarshal([]byte(src), dst); err != nil {
		return fmt.Errorf("decoding a stored JSON value: %w", err)
	}
	return nil
}

// fromJSONList decodes a fingerprint list stored by jsonList into dst. A
// ceremony's lists are read with its row on every submission, n
// fingerprints each: a list of strings without escapes, as jsonList
// writes fingerprints, is split without encoding/json (4 against 72 µs
// for 100 fingerprints); anything else is decoded by it.
func fromJSONList(src string, dst *[]string) error {
	if src == "[]" {
		*dst = []string{}
		return nil
	}
	// Without a backslash, every quote of the list is a delimiter.
	inner, ok := strings.CutPrefix(src, `["`)
	inner, ok2 := strings.CutSuffix(inner, `"]`)
	if ok && ok2 && !strings.Contains(inner, `\`) && strings.Count(inner, `"`) == 2*strings.Count(inner, `","`) {
		*dst = strings.Split(inner, `","`)
		return nil
	}
	return fromJSON(src, dst)
}

// one scans row with scan: CodeNotFound about what if there is no row.
func one[T any](row Row, what string, scan func(Row) (T, error)) (T, error) {
	v, err := scan(row)
	if err != nil {
		var zero T
		if noRows(err) {
			return zero, notFound(what)
		}
		return zero, err
	}
	return v, nil
}

// read reads, outside a transaction, the row q selects by key, with scan:
// CodeNotFound about what if there is none; op names the call in other
// errors.
func read[T any](ctx context.Context, s *Store, op string, q query, key, what string, scan func(Row) (T, error)) (T, error) {
	v, err := one(s.e.Read().QueryRow(ctx, s.sql[q], key), what, scan)
	return v, s.wrap(op, err)
}

// collect reads every row of rows with scan.
func collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

var (
	qMigrationDone   = newQuery(`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`)
	qRecordMigration = newQuery(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`)
	qMigrations      = newQuery(`SELECT version, applied_at FROM schema_migrations`)
	qSchemaVersion   = newQuery(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
)

// ErrSchemaNewer is Migrate's error for a database whose schema has a
// migration newer than any this binary embeds: it was upgraded by a newer
// binary, and this one would misread it.
var ErrSchemaNewer = errors.New("the database's schema is newer than this binary knows")

// Migrate applies to s, in version order and each in its own write transaction,
// the migrations in the migrations directory of fsys (see package
// migrations) not yet recorded in schema_migrations. Each transaction first
// runs begin (the engine's lock and table set-up, if any), then, for a
// migration not applied yet, run with its script (which may hold several
// statements), then records it. It first refuses, with ErrSchemaNewer
// naming both versions, a database that records a version newer than the
// newest of fsys.
func Migrate(ctx context.Context, s *Store, fsys fs.FS, begin func(Conn) error, run func(c Conn, script string) error) error {
	ms, err := migrations.List(fsys, "migrations")
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.Name, err)
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	var applied int
	err = s.e.Write(ctx, func(c Conn) error {
		if begin != nil {
			if err := begin(c); err != nil {
				return err
			}
		}
		return c.QueryRow(ctx, s.sql[qSchemaVersion]).Scan(&applied)
	})
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.d.Name, err)
	}
	if applied > known {
		return fmt.Errorf("%s: %w: the database is at schema version %d, this binary knows up to %d; run a binary that knows %d, or restore a backup taken before the upgrade",
			s.d.Name, ErrSchemaNewer, applied, known, applied)
	}
	for _, m := range ms {
		err := s.e.Write(ctx, func(c Conn) error {
			if begin != nil {
				if err := begin(c); err != nil {
					return err
				}
			}
			var done bool
			if err := c.QueryRow(ctx, s.sql[qMigrationDone], m.Version).Scan(&done); err != nil || done {
				return err
			}
			if err := run(c, m.SQL); err != nil {
				return err
			}
			_, err := c.Exec(ctx, s.sql[qRecordMigration], m.Version, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: migrate %s: %w", s.d.Name, m.Name, err)
		}
	}
	return nil
}

// Migrations returns the migrations recorded in s's schema_migrations, as
// version → when it was applied (Unix nanoseconds).
func Migrations(ctx context.Context, s *Store) (map[int]int64, error) {
	rows, err := s.e.Read().Query(ctx, s.sql[qMigrations])
	type applied struct {
		version int
		at      int64
	}
	list, err := collect(rows, err, func(r Row) (a applied, err error) { return a, r.Scan(&a.version, &a.at) })
	m := make(map[int]int64, len(list))
	for _, a := range list {
		m[a.version] = a.at
	}
	return m, s.wrap("migrations", err)
}
