package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the statements kept per connection: the write
// path uses a few dozen distinct statements (River's included).
const stmtCacheSize = 256

// cachingConnector opens connections with a cache of prepared
// statements: SQLite parses a statement's text anew every time
// database/sql runs it without an explicit Prepare, and for small
// statements (a message, a wamid, a job row; a conversation by id) the
// parse costs more than the run. Every statement run on the writer —
// ours and River's — and on each reader is prepared once per connection
// and reused.
type cachingConnector struct {
	base driver.Connector
	init []string // run on each new connection
}

// newCachingConnector is modernc's connector of dsn (the driver the
// package-level functions, such as parley_search_text, are registered
// on), its connections wrapped; each new connection runs the init
// statements first.
func newCachingConnector(dsn string, init ...string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{base: base, init: init}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range c.init {
		if _, err := conn.(driver.ExecerContext).ExecContext(ctx, q, nil); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return &cachingConn{inner: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// cachingConn is one connection and its prepared statements, by text.
// database/sql uses a connection from one goroutine at a time, so the
// map needs no lock.
type cachingConn struct {
	inner driver.Conn
	stmts map[string]*cachedStmt
}

// cachedStmt is a prepared statement; busy while rows of it are open, so
// a query run again before its rows are closed gets a statement of its
// own instead of resetting the open one.
type cachedStmt struct {
	driver.Stmt
	busy bool
}

// The interfaces database/sql looks for, all forwarded to modernc's conn.
var (
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// cached returns the prepared statement of query, preparing it on first
// use (a script of several statements is kept too: modernc parses it
// again at each run, as without the cache).
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(c.stmts) >= stmtCacheSize {
		c.closeAll()
	}
	cs := &cachedStmt{Stmt: st}
	c.stmts[query] = cs
	return cs, nil
}

func (c *cachingConn) closeAll() {
	for q, st := range c.stmts {
		if !st.busy {
			_ = st.Close()
			delete(c.stmts, q)
		}
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if st.busy {
		return c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return st.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if st.busy {
		return c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := st.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	st.busy = true
	return &cachedRows{Rows: rows, st: st}, nil
}

// cachedRows frees its statement for the next run once closed.
type cachedRows struct {
	driver.Rows
	st *cachedStmt
}

func (r *cachedRows) Close() error {
	r.st.busy = false
	return r.Rows.Close()
}

// ColumnTypeDatabaseTypeName forwards modernc's column types, which
// database/sql's ColumnTypes reads.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// Unwrap returns modernc's connection, as its documentation asks of a
// wrapper.
func (c *cachingConn) Unwrap() driver.Conn { return c.inner }

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.inner.(driver.Validator).IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, st := range c.stmts {
		if err := st.Close(); err != nil && !errors.Is(err, io.EOF) {
			errs = append(errs, err)
		}
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.inner.Close())...)
}
