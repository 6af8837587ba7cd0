package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/chusme/chusme/internal/sqlstore"
)

// readPool is the pool of read-only connections with a cache of prepared
// statements: the queries are constants of this package, so the cache is
// bounded, and parsing SQL on every read (a sixth of a login's CPU time)
// is done once per connection instead.
type readPool struct {
	*sql.DB
	stmts sync.Map // query string → *sql.Stmt
	noted sync.Map // query string → struct{}: first seen in a read transaction, not prepared yet
}

func (p *readPool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := p.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// inTx returns query's cached statement for use in tx, or nil after noting
// the query. A statement is not prepared on the pool from inside a
// transaction: that takes a second connection, and every connection may be
// held by a transaction waiting for one. So a query first seen in a read
// transaction runs unprepared and is prepared after the transaction ends
// (prepareNoted); from then on Tx.StmtContext reuses the statement already
// prepared on the transaction's connection, or prepares it there once.
func (p *readPool) inTx(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if s, ok := p.stmts.Load(query); ok {
		return tx.StmtContext(ctx, s.(*sql.Stmt))
	}
	p.noted.Store(query, struct{}{})
	return nil
}

// prepareNoted prepares the queries noted by inTx. It must not be called
// while the caller holds a read transaction.
func (p *readPool) prepareNoted(ctx context.Context) {
	p.noted.Range(func(q, _ any) bool {
		p.noted.Delete(q)
		p.stmt(statementContext(ctx), q.(string)) // on failure it runs unprepared and is noted again
		return true
	})
}

// statementContext is the context a single statement runs under: ctx
// without its cancellation. Given a cancellable context, the driver starts a
// goroutine and installs an SQLite progress handler for every statement (to
// interrupt it), and database/sql starts another for every result set; the
// store's statements are indexed reads and small writes that end within
// microseconds, so that machinery costs more than it could save. A
// transaction still ends with its request's context (BeginTx keeps it).
func statementContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// QueryContext runs a query through a cached prepared statement.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = statementContext(ctx)
	s, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs a one-row query through a cached prepared statement.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = statementContext(ctx)
	s, err := p.stmt(ctx, query)
	if err != nil {
		// Let the pool report the error through the Row it returns.
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// Close closes the cached statements and the pool.
func (p *readPool) Close() error {
	p.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
	return p.DB.Close()
}

// writeStmts caches prepared statements on the single writer connection
// (like readPool's, bounded because the queries are constants of this
// package: a write must not build its SQL text from values).
// A statement cannot be prepared on that connection from inside a
// transaction (the transaction holds it), so a query seen in a transaction
// is run unprepared the first time, noted, and prepared before the next
// transaction begins; from then on transactions use it through
// Tx.StmtContext, which reuses the statement already prepared on the
// connection.
type writeStmts struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	want  map[string]bool
}

// prepare prepares the queries noted since the last call. It must not be
// called inside a write transaction.
func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) {
	w.mu.Lock()
	var want []string
	for q := range w.want {
		want = append(want, q)
	}
	w.want = nil
	w.mu.Unlock()
	for _, q := range want {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared, as before
		}
		w.mu.Lock()
		if w.stmts == nil {
			w.stmts = map[string]*sql.Stmt{}
		}
		if _, dup := w.stmts[q]; dup {
			s.Close()
		} else {
			w.stmts[q] = s
		}
		w.mu.Unlock()
	}
}

// get returns the prepared statement of query, or nil after noting it.
func (w *writeStmts) get(query string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.stmts[query]; s != nil {
		return s
	}
	if w.want == nil {
		w.want = map[string]bool{}
	}
	w.want[query] = true
	return nil
}

// Close closes the cached statements.
func (w *writeStmts) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.stmts {
		s.Close()
	}
	w.stmts = nil
}

// stmtTx is a write transaction whose queries go through the writer's
// statement cache.
type stmtTx struct {
	tx *sql.Tx
	w  *writeStmts
}

// Exec runs query through its cached prepared statement if any.
func (t stmtTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx = statementContext(ctx)
	if s := t.w.get(query); s != nil {
		return affected(t.tx.StmtContext(ctx, s).ExecContext(ctx, args...))
	}
	return affected(t.tx.ExecContext(ctx, query, args...))
}

// Query runs query through its cached prepared statement if any.
func (t stmtTx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx = statementContext(ctx)
	if s := t.w.get(query); s != nil {
		return rows(t.tx.StmtContext(ctx, s).QueryContext(ctx, args...))
	}
	return rows(t.tx.QueryContext(ctx, query, args...))
}

// QueryRow runs query through its cached prepared statement if any.
func (t stmtTx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx = statementContext(ctx)
	if s := t.w.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// readConn is the read pool as a sqlstore.Conn.
type readConn struct{ p *readPool }

// Exec runs query on the pool (whose connections refuse writes).
func (c readConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(c.p.ExecContext(statementContext(ctx), query, args...))
}

// Query runs query through a cached prepared statement.
func (c readConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return rows(c.p.QueryContext(ctx, query, args...))
}

// QueryRow runs query through a cached prepared statement.
func (c readConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return c.p.QueryRowContext(ctx, query, args...)
}

// txConn is a read transaction as a sqlstore.Conn; its queries go through
// the pool's prepared statements once they are cached.
type txConn struct {
	tx *sql.Tx
	p  *readPool
}

// Exec runs query in the transaction.
func (c txConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(c.tx.ExecContext(statementContext(ctx), query, args...))
}

// Query runs query in the transaction.
func (c txConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx = statementContext(ctx)
	if s := c.p.inTx(ctx, c.tx, query); s != nil {
		return rows(s.QueryContext(ctx, args...))
	}
	return rows(c.tx.QueryContext(ctx, query, args...))
}

// QueryRow runs query in the transaction.
func (c txConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx = statementContext(ctx)
	if s := c.p.inTx(ctx, c.tx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, query, args...)
}

// affected returns how many rows the statement of res affected.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sqlRows is a result set as a sqlstore.Rows.
type sqlRows struct{ *sql.Rows }

// Close releases the result set.
func (r sqlRows) Close() { r.Rows.Close() }

// rows adapts a result set.
func rows(r *sql.Rows, err error) (sqlstore.Rows, error) {
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}
