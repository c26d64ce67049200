package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Reads beside the writer on SQLite.
//
// The one read-write connection (db.go) is the purchase path's ceiling:
// every request used to hold it also for its lookups (access key, replay,
// team, resource group) and every DescribeInstances for its queries, so
// they queued behind the committer's transactions. In WAL mode readers
// never block the writer nor wait for it, and a read started after a
// commit sees that commit, so these lookups run on a small pool of
// query-only connections instead and the writer connection does nothing
// but write. Statements on it are prepared once per connection
// (database/sql keeps a prepared *sql.Stmt per pool connection), because
// the driver compiles every unprepared statement anew. On PostgreSQL the
// one pool serves both and pgx caches prepared statements itself.

// readConns is the size of the query-only pool: enough for the cores and
// for a request's lookup while another runs a long DescribeInstances.
const readConns = 4

// maxReadStatements bounds the prepared reads; DescribeInstances builds
// one query text per combination of filters.
const maxReadStatements = 256

type readPool struct {
	sql   *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// reader returns the pool for reads that need no transaction.
func (db *DB) reader() *sql.DB {
	if db.reads != nil {
		return db.reads.sql
	}
	return db.SQL
}

// readStmt returns the prepared form of query on the read pool, or nil
// (PostgreSQL, a full cache, or a statement SQLite refused to prepare:
// the caller then runs the text and gets its error there).
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	rp := db.reads
	if rp == nil {
		return nil
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if st, ok := rp.stmts[query]; ok {
		return st
	}
	if len(rp.stmts) >= maxReadStatements {
		return nil
	}
	st, err := rp.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if rp.stmts == nil {
		rp.stmts = map[string]*sql.Stmt{}
	}
	rp.stmts[query] = st
	return st
}

// readRow runs a one-row query on the read pool.
func (db *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader().QueryRowContext(ctx, query, args...)
}

// readRows runs a query on the read pool.
func (db *DB) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.reader().QueryContext(ctx, query, args...)
}

// readQueryer lets helpers that take a queryer read from the pool.
type readQueryer struct{ db *DB }

func (r readQueryer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.db.SQL.ExecContext(ctx, query, args...) // writes always go to the writer
}

func (r readQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.db.readRows(ctx, query, args...)
}

func (r readQueryer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.readRow(ctx, query, args...)
}

func (rp *readPool) close() error {
	rp.mu.Lock()
	for _, st := range rp.stmts {
		st.Close()
	}
	rp.stmts = nil
	rp.mu.Unlock()
	return rp.sql.Close()
}
