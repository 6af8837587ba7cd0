// Package storecopy copies a SQLite store into an empty PostgreSQL database
// and verifies the copy (`chusmed store copy`): every table, in one
// transaction, with row counts and per-table SHA-256 checksums read back
// from both. The engines open both databases and apply their migrations;
// this package moves rows between them.
package storecopy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chusme/chusme/internal/postgres"
	"github.com/chusme/chusme/internal/sqlite"
)

// copyTable is one table that `chusmed store copy` moves: its columns and
// their PostgreSQL types (in the target's column order) and its primary key.
type copyTable struct {
	name    string
	columns []string
	types   []string // information_schema data_type, one per column
	key     []string // primary-key columns in key order; all columns if none
}

// copyResult is one line of the verification table.
type copyResult struct {
	table          string
	rows           int64
	source, target string // hex SHA-256 of the rows in canonical form
}

// Copy copies every table of the SQLite store at from (sqlite:PATH or a
// file path), except schema_migrations, into the empty PostgreSQL database
// at to (a postgres:// URL), in one transaction, then verifies row counts
// and per-table checksums read back from both databases; it writes the
// verification table to out. It refuses a target with rows in any table.
//
// Servers must not run on the SQLite store during the copy: a write between
// the copy and the verification shows as a mismatch.
func Copy(ctx context.Context, from, to string, out io.Writer) error {
	if strings.HasPrefix(from, "postgres://") || strings.HasPrefix(from, "postgresql://") {
		return errors.New("chusmed store copy: --from must be a SQLite store (sqlite:PATH or a file path); copy between PostgreSQL databases with pg_dump")
	}
	path := strings.TrimPrefix(from, "sqlite:")
	if p, ok := strings.CutPrefix(path, "//"); ok && path != from {
		path = p // sqlite:///abs/path and sqlite://rel/path
	}
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("chusmed store copy: --to must be a postgres:// URL")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("chusmed store copy: no SQLite store: %w", err)
	}

	// Open both stores with their engines, which apply pending migrations,
	// then work on plain handles: a read-only connection pool on the SQLite
	// file and a pgx pool on the PostgreSQL database. The target is checked
	// for rows before its migrations run, so that a refused copy changes
	// nothing.
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	src.Close()
	lite, err := sqlite.OpenReadOnly(path)
	if err != nil {
		return err
	}
	defer lite.Close()
	names, err := sqliteTables(ctx, lite)
	if err != nil {
		return err
	}
	pool, err := postgres.OpenPool(ctx, to)
	if err != nil {
		return fmt.Errorf("chusmed store copy: %w", err)
	}
	defer pool.Close()
	if err := refuseNonEmpty(ctx, pool, names); err != nil {
		return err
	}
	dst, err := postgres.Open(ctx, to)
	if err != nil {
		return err
	}
	dst.Close()

	tables, err := copyPlan(ctx, pool, lite, names)
	if err != nil {
		return err
	}

	// One transaction for the whole copy: all tables or none. The tables
	// are locked against writers first and checked again under the lock.
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("chusmed store copy: %w", err)
	}
	defer tx.Rollback(context.Background())
	idents := make([]string, len(tables))
	for i, t := range tables {
		idents[i] = pgx.Identifier{t.name}.Sanitize()
	}
	if len(idents) > 0 {
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(idents, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("chusmed store copy: locking the target tables: %w", err)
		}
	}
	if err := refuseNonEmpty(ctx, tx, names); err != nil {
		return err
	}
	snap, err := lite.BeginTx(ctx, nil) // one read snapshot of the source
	if err != nil {
		return fmt.Errorf("chusmed store copy: %w", err)
	}
	defer snap.Rollback()
	for _, t := range tables {
		if err := copyRows(ctx, snap, tx, t); err != nil {
			return err
		}
	}
	snap.Rollback()
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("chusmed store copy: commit: %w", err)
	}

	// Verify, reading both databases afresh.
	var results []copyResult
	var bad []string
	var total int64
	for _, t := range tables {
		n1, s1, err := checksumSQLite(ctx, lite, t)
		if err != nil {
			return err
		}
		n2, s2, err := checksumPostgres(ctx, pool, t)
		if err != nil {
			return err
		}
		if n1 != n2 || s1 != s2 {
			bad = append(bad, fmt.Sprintf("%s: SQLite %d rows sha256 %s, PostgreSQL %d rows sha256 %s", t.name, n1, s1, n2, s2))
		}
		results = append(results, copyResult{t.name, n1, s1, s2})
		total += n1
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "table\trows\tchecksum\tok")
	for _, r := range results {
		ok := "ok"
		if r.source != r.target {
			ok = "MISMATCH"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", r.table, r.rows, r.source[:16], ok)
	}
	w.Flush()
	if len(bad) > 0 {
		return fmt.Errorf("chusmed store copy: the copy committed but does not match the source (was a server writing to %s?):\n%s", path, strings.Join(bad, "\n"))
	}
	fmt.Fprintf(out, "copied %d rows in %d tables from %s to %s; row counts and SHA-256 checksums verified\n", total, len(tables), path, u.Redacted())
	return nil
}

// sqliteTables lists the SQLite store's tables, except SQLite's own and
// schema_migrations, which each engine keeps for itself.
func sqliteTables(ctx context.Context, db *sql.DB) ([]string, error) {
	return sqliteNames(ctx, db, "listing tables", `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations'
		ORDER BY name`)
}

// sqliteColumns lists a SQLite table's columns.
func sqliteColumns(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	return sqliteNames(ctx, db, "listing the columns of "+table, `SELECT name FROM pragma_table_info(?)`, table)
}

// sqliteNames runs a query of one text column and returns its values; what
// says what it was for in an error.
func sqliteNames(ctx context.Context, db *sql.DB, what, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("chusmed store copy: %s: %w", what, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("chusmed store copy: %s: %w", what, err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// querier is what pgxpool.Pool and pgx.Tx have in common here.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// refuseNonEmpty fails if any of the named tables exists in the PostgreSQL
// database and has a row.
func refuseNonEmpty(ctx context.Context, q querier, names []string) error {
	rows, err := q.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name = ANY($1)
		ORDER BY table_name`, names)
	if err != nil {
		return fmt.Errorf("chusmed store copy: %w", err)
	}
	existing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("chusmed store copy: %w", err)
	}
	for _, name := range existing {
		var has bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{name}.Sanitize()+`)`).Scan(&has); err != nil {
			return fmt.Errorf("chusmed store copy: %w", err)
		}
		if has {
			return fmt.Errorf("chusmed store copy: refusing to copy: table %s of the target database has rows; the target must be an empty database", name)
		}
	}
	return nil
}

// copyPlan reads each table's columns, their types and its primary key from
// the target (after its migrations), checks that the source has the same
// tables and columns, and orders the tables parents first along the
// target's foreign keys.
func copyPlan(ctx context.Context, pool *pgxpool.Pool, lite *sql.DB, names []string) ([]copyTable, error) {
	var tables []copyTable
	for _, name := range names {
		rows, err := pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, name)
		if err != nil {
			return nil, fmt.Errorf("chusmed store copy: %w", err)
		}
		t := copyTable{name: name}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, fmt.Errorf("chusmed store copy: %w", err)
			}
			switch typ {
			case "bigint", "integer", "smallint", "bytea", "text", "boolean":
			default:
				rows.Close()
				return nil, fmt.Errorf("chusmed store copy: %s.%s has type %s, which store copy does not convert", name, c, typ)
			}
			t.columns = append(t.columns, c)
			t.types = append(t.types, typ)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("chusmed store copy: %w", err)
		}
		if len(t.columns) == 0 {
			return nil, fmt.Errorf("chusmed store copy: the target database has no table %s", name)
		}
		srcCols, err := sqliteColumns(ctx, lite, name)
		if err != nil {
			return nil, err
		}
		if a, b := slices.Sorted(slices.Values(srcCols)), slices.Sorted(slices.Values(t.columns)); !slices.Equal(a, b) {
			return nil, fmt.Errorf("chusmed store copy: table %s has columns %v in SQLite but %v in PostgreSQL", name, a, b)
		}
		rows, err = pool.Query(ctx, `SELECT k.column_name
			FROM information_schema.table_constraints c
			JOIN information_schema.key_column_usage k
			  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND c.table_name = $1 AND c.constraint_type = 'PRIMARY KEY'
			ORDER BY k.ordinal_position`, name)
		if err != nil {
			return nil, fmt.Errorf("chusmed store copy: %w", err)
		}
		if t.key, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, fmt.Errorf("chusmed store copy: %w", err)
		}
		if len(t.key) == 0 {
			t.key = t.columns
		}
		tables = append(tables, t)
	}

	// Foreign keys: child table → parent tables.
	rows, err := pool.Query(ctx, `SELECT child.table_name, parent.table_name
		FROM information_schema.referential_constraints r
		JOIN information_schema.table_constraints child
		  ON child.constraint_schema = r.constraint_schema AND child.constraint_name = r.constraint_name
		JOIN information_schema.table_constraints parent
		  ON parent.constraint_schema = r.unique_constraint_schema AND parent.constraint_name = r.unique_constraint_name
		WHERE r.constraint_schema = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("chusmed store copy: %w", err)
	}
	parents := map[string][]string{}
	for rows.Next() {
		var c, p string
		if err := rows.Scan(&c, &p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("chusmed store copy: %w", err)
		}
		if c != p {
			parents[c] = append(parents[c], p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chusmed store copy: %w", err)
	}
	return fkOrder(tables, parents)
}

// fkOrder sorts tables so that every table comes after the tables its
// foreign keys refer to; otherwise tables stay in name order.
func fkOrder(tables []copyTable, parents map[string][]string) ([]copyTable, error) {
	done := map[string]bool{}
	var out []copyTable
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if done[t.name] {
				continue
			}
			ready := true
			for _, p := range parents[t.name] {
				if !done[p] && slices.ContainsFunc(tables, func(x copyTable) bool { return x.name == p }) {
					ready = false
				}
			}
			if ready {
				done[t.name] = true
				out = append(out, t)
				progress = true
			}
		}
		if !progress {
			return nil, errors.New("chusmed store copy: the target's foreign keys form a cycle")
		}
	}
	return out, nil
}

// selectList quotes columns for a SELECT in SQLite or PostgreSQL (both take
// double-quoted identifiers).
func selectList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// copyRows reads every row of t from the SQLite snapshot, converts each
// value to its PostgreSQL column's type and writes them with COPY.
func copyRows(ctx context.Context, snap *sql.Tx, tx pgx.Tx, t copyTable) error {
	rows, err := snap.QueryContext(ctx, `SELECT `+selectList(t.columns)+` FROM `+pgx.Identifier{t.name}.Sanitize())
	if err != nil {
		return fmt.Errorf("chusmed store copy: reading %s: %w", t.name, err)
	}
	defer rows.Close()
	var all [][]any
	for rows.Next() {
		raw := make([]any, len(t.columns))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("chusmed store copy: reading %s: %w", t.name, err)
		}
		for i, v := range raw {
			if raw[i], err = toPostgres(v, t.types[i]); err != nil {
				return fmt.Errorf("chusmed store copy: %s.%s: %w", t.name, t.columns[i], err)
			}
		}
		all = append(all, raw)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("chusmed store copy: reading %s: %w", t.name, err)
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(all))
	if err != nil {
		return fmt.Errorf("chusmed store copy: writing %s: %w", t.name, err)
	}
	if n != int64(len(all)) {
		return fmt.Errorf("chusmed store copy: writing %s: %d of %d rows written", t.name, n, len(all))
	}
	return nil
}

// toPostgres converts a value read from SQLite to the Go type pgx writes
// into a column of the PostgreSQL type typ.
func toPostgres(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "bigint", "integer", "smallint":
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case "boolean":
		if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
	case "bytea":
		switch b := v.(type) {
		case []byte:
			return slices.Clone(b), nil
		case string:
			return []byte(b), nil
		}
	case "text":
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	}
	return nil, fmt.Errorf("SQLite value %v (%T) does not fit PostgreSQL type %s", v, v, typ)
}

// canonical writes one value in the checksum's canonical text form, the
// same whichever engine it was read from: a type tag, the length of the
// text and the text (decimal integers, t/f, lower-case hex bytes, UTF-8
// text), or N for NULL.
func canonical(h hash.Hash, v any, typ string) error {
	var s string
	switch typ {
	case "bigint", "integer", "smallint":
		switch n := v.(type) {
		case int64:
			s = "i" + strconv.FormatInt(n, 10)
		case int32:
			s = "i" + strconv.FormatInt(int64(n), 10)
		case int16:
			s = "i" + strconv.FormatInt(int64(n), 10)
		}
	case "boolean":
		switch b := v.(type) {
		case bool:
			s = "b" + map[bool]string{false: "f", true: "t"}[b]
		case int64:
			s = "b" + map[int64]string{0: "f", 1: "t"}[b]
		}
	case "bytea":
		switch b := v.(type) {
		case []byte:
			s = "x" + hex.EncodeToString(b)
		case string:
			s = "x" + hex.EncodeToString([]byte(b))
		}
	case "text":
		switch t := v.(type) {
		case string:
			s = "t" + t
		case []byte:
			s = "t" + string(t)
		}
	}
	if v == nil {
		s = "N"
	}
	if s == "" || s == "b" {
		return fmt.Errorf("value %v (%T) for type %s", v, v, typ)
	}
	fmt.Fprintf(h, "%d:%s;", len(s), s)
	return nil
}

// checksumRows hashes rows (read in primary-key order) in canonical form.
func checksumRows(h hash.Hash, t copyTable, next func() bool, scan func([]any) error) (int64, error) {
	var n int64
	vals := make([]any, len(t.columns))
	for next() {
		if err := scan(vals); err != nil {
			return 0, err
		}
		for i, v := range vals {
			if err := canonical(h, v, t.types[i]); err != nil {
				return 0, fmt.Errorf("%s.%s: %w", t.name, t.columns[i], err)
			}
		}
		h.Write([]byte{'\n'})
		n++
	}
	return n, nil
}

// orderBy is the primary-key order, text compared byte by byte (SQLite's
// BINARY collation; "C" in PostgreSQL) so that both engines agree.
func orderBy(t copyTable, postgres bool) string {
	var parts []string
	for _, k := range t.key {
		p := pgx.Identifier{k}.Sanitize()
		if postgres && t.types[slices.Index(t.columns, k)] == "text" {
			p += ` COLLATE "C"`
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// checksumSQLite counts and hashes t's rows in the SQLite store.
func checksumSQLite(ctx context.Context, lite *sql.DB, t copyTable) (int64, string, error) {
	rows, err := lite.QueryContext(ctx, `SELECT `+selectList(t.columns)+` FROM `+pgx.Identifier{t.name}.Sanitize()+` ORDER BY `+orderBy(t, false))
	if err != nil {
		return 0, "", fmt.Errorf("chusmed store copy: verifying %s in SQLite: %w", t.name, err)
	}
	defer rows.Close()
	h := sha256.New()
	n, err := checksumRows(h, t, rows.Next, func(vals []any) error {
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		return rows.Scan(ptrs...)
	})
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, "", fmt.Errorf("chusmed store copy: verifying %s in SQLite: %w", t.name, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// checksumPostgres counts and hashes t's rows in the PostgreSQL database.
func checksumPostgres(ctx context.Context, pool *pgxpool.Pool, t copyTable) (int64, string, error) {
	rows, err := pool.Query(ctx, `SELECT `+selectList(t.columns)+` FROM `+pgx.Identifier{t.name}.Sanitize()+` ORDER BY `+orderBy(t, true))
	if err != nil {
		return 0, "", fmt.Errorf("chusmed store copy: verifying %s in PostgreSQL: %w", t.name, err)
	}
	defer rows.Close()
	h := sha256.New()
	n, err := checksumRows(h, t, rows.Next, func(vals []any) error {
		v, err := rows.Values()
		copy(vals, v)
		return err
	})
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, "", fmt.Errorf("chusmed store copy: verifying %s in PostgreSQL: %w", t.name, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
