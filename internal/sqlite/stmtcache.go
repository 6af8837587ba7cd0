package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// readPool is the pool of read-only connections with a cache of prepared
// statements: the queries are constants of this package, so the cache is
// bounded, and parsing SQL on every read (a sixth of a login's CPU time)
// is done once per connection instead.
type readPool struct {
	*sql.DB
	stmts sync.Map // query string → *sql.Stmt
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
	*sql.Tx
	w *writeStmts
}

// ExecContext runs query through its cached prepared statement if any.
func (t stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = statementContext(ctx)
	if s := t.w.get(query); s != nil {
		return t.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query through its cached prepared statement if any.
func (t stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = statementContext(ctx)
	if s := t.w.get(query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query through its cached prepared statement if any.
func (t stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = statementContext(ctx)
	if s := t.w.get(query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
