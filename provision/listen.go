package provision

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/metalplane/metalplane/sqlstore"
)

// River's listener on PostgreSQL.
//
// River's database/sql driver as riverdatabasesql.New makes it has no
// listener, and without one River fetches jobs only on its poll
// (FetchPollInterval) and when a worker frees up: an instance bought on
// an idle server waited up to 100 ms before a worker looked for its job
// (docs/performance.md). River's inserts already send a pg_notify
// on the "river_insert" topic in the inserting transaction, at most once
// per FetchCooldown per queue; PostgreSQL delivers it at commit to every
// session that LISTENs, the workers of every replica included.
//
// The listener is River's own (riverdatabasesql.NewWithPgxListener): it
// takes one connection from a pgx pool opened on the same URL and keeps
// it, outside the pool, for LISTEN. The pool is capped at one connection
// and keeps none idle, so a process holds one connection more than
// before, and only while its workers run. The listener also carries
// River's leadership and control topics: a resigning leader is replaced
// at once instead of at the next election poll, and a cancelled job is
// told to its worker. Every poll stays as the fallback: River's notifier
// reconnects with a backoff when its connection drops, and meanwhile the
// producers fetch every FetchPollInterval, the elector and the
// cancellation checks poll on their own intervals, as they do with a
// listener anyway in case a notification is lost. Only at start is the
// connection required: River's notifier opens it before its loop, and a
// failure fails Start, as an unreachable database would.

// listenPool is the pgx pool behind River's listener on PostgreSQL.
type listenPool struct {
	pool      *pgxpool.Pool
	closeOnce sync.Once
}

// newListeningDriver returns River's database/sql driver on db with a
// LISTEN/NOTIFY listener, and the pool the listener takes its connection
// from; the caller closes the pool once River has stopped.
func newListeningDriver(db *sqlstore.DB) (*riverdatabasesql.Driver, *listenPool, error) {
	cfg, err := pgxpool.ParseConfig(db.PostgresURL)
	if err != nil {
		return nil, nil, fmt.Errorf("job queue listener: %w", err)
	}
	// The listener hijacks the one connection it takes, so the pool
	// never holds one itself: opening it connects to nothing.
	cfg.MaxConns = 1
	cfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("job queue listener: %w", err)
	}
	return riverdatabasesql.NewWithPgxListener(db.SQL, pool), &listenPool{pool: pool}, nil
}

// close ends the pool's background work; the listener's own connection
// is closed by River when it stops. A nil pool (SQLite) does nothing.
func (l *listenPool) close() {
	if l != nil {
		l.closeOnce.Do(l.pool.Close)
	}
}
