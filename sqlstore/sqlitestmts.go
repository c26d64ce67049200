package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
)

// Compiled statements kept per SQLite connection.
//
// The SQLite driver compiles a statement on every call that does not go
// through a prepared *sql.Stmt, and River's SQLite driver prepares none of
// its statements. With provisioning at full speed, a profile
// (docs/performance.md) found a quarter of the CPU compiling River's job
// completions and fetches, on the one writing connection the purchases
// wait for. Each connection opened under the name below therefore keeps
// the statements it compiled, by their text, and runs a known text again
// without compiling it. A statement busy with unread rows is not shared:
// a second use while it is open compiles a copy, as before. A statement
// that failed is dropped and compiled afresh next time.

// sqliteCachingDriver is the database/sql name of the caching driver.
const sqliteCachingDriver = "sqlite-compiled-cache"

// maxConnStatements bounds the statements kept per connection; texts past
// it are compiled on every call, as without the cache.
const maxConnStatements = 256

var registerCachingDriver sync.Once

func cachingSQLiteDriverName() string {
	registerCachingDriver.Do(func() {
		// The registered "sqlite" driver itself, with whatever is
		// registered on it; sql.Open connects to nothing.
		base, _ := sql.Open("sqlite", "")
		sql.Register(sqliteCachingDriver, cachingDriver{base.Driver()})
		base.Close()
	})
	return sqliteCachingDriver
}

type cachingDriver struct{ base driver.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: c, stmts: map[string]*keptStmt{}}, nil
}

type keptStmt struct {
	stmt driver.Stmt
	busy bool // rows of it are open
}

// cachingConn is used by one goroutine at a time (database/sql's rule for
// a driver connection), so its map needs no lock.
type cachingConn struct {
	driver.Conn
	stmts map[string]*keptStmt
}

var (
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// kept returns the compiled statement of query, compiling it on first use,
// or nil when it is busy or cannot be kept.
func (c *cachingConn) kept(ctx context.Context, query string) *keptStmt {
	if k, ok := c.stmts[query]; ok {
		if k.busy {
			return nil
		}
		return k
	}
	if len(c.stmts) >= maxConnStatements {
		return nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached call reports the error
	}
	k := &keptStmt{stmt: st}
	c.stmts[query] = k
	return k
}

// drop forgets a statement that failed.
func (c *cachingConn) drop(query string, k *keptStmt) {
	if c.stmts[query] == k {
		delete(c.stmts, query)
	}
	k.stmt.Close()
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if k := c.kept(ctx, query); k != nil {
		res, err := k.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
		if err != nil {
			c.drop(query, k)
		}
		return res, err
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if k := c.kept(ctx, query); k != nil {
		rows, err := k.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			c.drop(query, k)
			return nil, err
		}
		k.busy = true
		return &keptRows{Rows: rows, conn: c, query: query, kept: k}, nil
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *cachingConn) Close() error {
	var errs []error
	for q, k := range c.stmts {
		errs = append(errs, k.stmt.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.Conn.Close())...)
}

// keptRows frees its statement for the next use when closed.
type keptRows struct {
	driver.Rows
	conn  *cachingConn
	query string
	kept  *keptStmt
}

func (r *keptRows) Close() error {
	err := r.Rows.Close()
	r.kept.busy = false
	if err != nil {
		r.conn.drop(r.query, r.kept)
	}
	return err
}
