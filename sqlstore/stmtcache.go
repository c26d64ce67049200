package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Prepared statements for the purchase path on SQLite.
//
// The SQLite driver compiles every statement on every call, and that
// compilation was a quarter of the CPU of a purchase (docs/performance.md).
// A statement prepared on the one connection and reused inside each
// transaction (Tx.StmtContext reuses a statement already prepared on the
// transaction's connection) is compiled once. Statements cannot be
// prepared inside a transaction for later use, and preparing outside one
// from within one would wait for the connection the transaction holds, so
// the cache learns: a statement first seen inside a transaction runs
// unprepared and is prepared after the batch, outside any transaction.
// PostgreSQL needs none of this: pgx caches prepared statements itself.

// maxCachedStatements bounds the cache; the purchase path has about fifteen.
const maxCachedStatements = 64

type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

// cachedTx runs statements of tx through the cache.
type cachedTx struct {
	db *DB
	tx *sql.Tx
}

// cached returns tx itself on PostgreSQL and a caching wrapper on SQLite.
func (db *DB) cached(tx *sql.Tx) queryer {
	if !db.singleWriter() {
		return tx
	}
	return cachedTx{db, tx}
}

func (c cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	sc := &c.db.stmtCache
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st, ok := sc.stmts[query]; ok {
		if st == nil {
			return nil // could not be prepared; runs as it is
		}
		return c.tx.StmtContext(ctx, st)
	}
	if len(sc.stmts)+len(sc.pending) < maxCachedStatements {
		if sc.pending == nil {
			sc.pending = map[string]bool{}
		}
		sc.pending[query] = true
	}
	return nil
}

func (c cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, query, args...)
}

func (c cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.tx.QueryContext(ctx, query, args...)
}

func (c cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, query, args...)
}

// prepareLearned prepares the statements seen since the last call. It
// must run outside any transaction of this goroutine.
func (db *DB) prepareLearned(ctx context.Context) {
	sc := &db.stmtCache
	sc.mu.Lock()
	pending := sc.pending
	sc.pending = nil
	sc.mu.Unlock()
	for query := range pending {
		st, err := db.SQL.PrepareContext(ctx, query)
		if err != nil {
			st = nil // remembered as not preparable
		}
		sc.mu.Lock()
		if sc.stmts == nil {
			sc.stmts = map[string]*sql.Stmt{}
		}
		if _, dup := sc.stmts[query]; dup {
			if st != nil {
				st.Close()
			}
		} else {
			sc.stmts[query] = st
		}
		sc.mu.Unlock()
	}
}

// closeStatements releases the cache before the database closes.
func (db *DB) closeStatements() {
	sc := &db.stmtCache
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, st := range sc.stmts {
		if st != nil {
			st.Close()
		}
	}
	sc.stmts = nil
}
