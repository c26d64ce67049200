package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Connections warmed at start (PostgreSQL).
//
// The first purchase and the first provision after a start each ran on
// pool connections that did not exist yet: a connection made on the spot,
// then a new backend that loads the definitions of every table and index
// it plans a statement on. EXPLAIN of a DescribeInstances query on a new
// session took 2.8 ms against 0.6 ms on the next try (docs/performance.md,
// "One instance → RUNNING"). WarmConnections opens the connections the
// first requests will use and has each one plan a query on the tables a
// purchase and a provision use, while nothing is waiting.

// warmTables are the tables of a purchase and of a provision.
var warmTables = []string{"access_keys", "teams", "resource_groups", "ledger", "orders", "instances", "hosts",
	"public_ips", "subnets", "instance_events", "instance_tags", "instance_count_deltas", "request_replays",
	"river_job", "fault_injections"}

// WarmConnections opens n connections of the PostgreSQL pool at once and
// plans a query on every table of warmTables on each, then hands them back
// to the pool, which keeps them. Errors are ignored: a connection that
// could not be warmed is made when it is needed, as before. SQLite's
// connections are opened with the database.
func (db *DB) WarmConnections(ctx context.Context, n int) {
	if db.Dialect != Postgres {
		return
	}
	// One query string, several statements: sent without parameters, it
	// goes in one round trip and is planned statement by statement.
	var q string
	for _, t := range warmTables {
		q += `SELECT 1 FROM ` + t + ` WHERE false; `
	}
	db.onConnsAtOnce(ctx, n, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, q)
		return err
	})
}

// onConnsAtOnce runs fn on n connections of the pool, each held until fn
// has run on all, so that each is another one, and returns the first
// error (a connection that could not be had included).
func (db *DB) onConnsAtOnce(ctx context.Context, n int, fn func(*sql.Conn) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	conns := make(chan *sql.Conn, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := db.SQL.Conn(ctx)
			if err == nil {
				err = fn(c)
				conns <- c
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(conns)
	for c := range conns {
		c.Close()
	}
	return first
}
