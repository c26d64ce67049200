package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// WAL checkpoints in the background on SQLite.
//
// SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL
// past its limit, so every thousand pages one purchase batch also copied
// the WAL into the database file and synced both: 13 % of the committer's
// time in a profile (docs/performance.md), during which no purchase could
// commit. A PASSIVE checkpoint does the same copy from another connection
// without blocking the writer or the readers, so a goroutine runs one
// every checkpointInterval on a connection of its own, on the second core.
// The writer's automatic checkpoint stays, with a much higher limit, as a
// safety net for when the background one falls behind (a long read can
// keep it from finishing).

// checkpointInterval is how often the background checkpoint runs; at
// 2,000 purchases a second a WAL grows by a few hundred pages in that time.
const checkpointInterval = 100 * time.Millisecond

// walSafetyPages is the writer's automatic checkpoint limit (pages of
// 4 KiB): 40 MB of WAL.
const walSafetyPages = 10000

type checkpointer struct {
	conn *sql.DB
	stop chan struct{}
	wg   sync.WaitGroup
}

func startCheckpointer(conn *sql.DB) *checkpointer {
	c := &checkpointer{conn: conn, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// A failure (e.g. SQLITE_BUSY while another checkpoint runs) only
		// leaves the WAL longer until the next tick.
		c.conn.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		cancel()
	}
}

func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.conn.Close()
}
