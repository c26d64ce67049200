package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
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
//
// The WAL restarted ahead. Once a checkpoint has copied all of the WAL,
// the next write starts it again from the beginning, and that write syncs
// the WAL's new header before its COMMIT returns (synchronous=NORMAL does
// that much): 0.3–14 ms on this machine's disk, paid by the first purchase
// after every quiet tenth of a second, and often by its provision's finish
// too. So when a checkpoint finds the WAL small and copied whole, the
// checkpointer writes first: a transaction that rewrites the database's
// user_version with its own value (nothing changes but a page of the WAL),
// so the restart and its sync happen here, and the next purchase appends
// without a sync. The WAL then holds that one page, and it is left there
// as long as no other connection commits (data_version unchanged):
// checkpointing it would only make the next write restart the WAL again.

// checkpointInterval is how often the background checkpoint runs; at
// 2,000 purchases a second a WAL grows by a few hundred pages in that time.
const checkpointInterval = 100 * time.Millisecond

// walSafetyPages is the writer's automatic checkpoint limit (pages of
// 4 KiB): 40 MB of WAL.
const walSafetyPages = 10000

// restartAheadFrames is the largest WAL, in frames, that the checkpointer
// restarts ahead: a WAL that grew more within checkpointInterval belongs
// to a busy server, whose writer holds the write lock nearly all the time
// and would wait for the restart's sync instead of doing it.
const restartAheadFrames = 256

type checkpointer struct {
	conn *sql.DB
	stop chan struct{}
	wg   sync.WaitGroup
	// restarted is set when this connection restarted the WAL and no
	// other had committed since it looked (idleVersion, its data_version
	// then): until another commits, there is nothing to copy.
	restarted   bool
	idleVersion int64
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
		// A failure (e.g. SQLITE_BUSY while another checkpoint runs, or the
		// writer holding the lock the restart needs) only leaves the WAL
		// longer, or its restart to the next write, until the next tick.
		c.checkpoint(ctx)
		cancel()
	}
}

// checkpoint copies the WAL into the database file and, when it copied
// all of a small WAL, restarts it ahead of the next write.
func (c *checkpointer) checkpoint(ctx context.Context) {
	version, err := c.dataVersion(ctx)
	if err != nil {
		return
	}
	if c.restarted && version == c.idleVersion {
		return // only the restart's own page is in the WAL
	}
	c.restarted = false
	var busy, frames, copied int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return
	}
	if busy != 0 || frames <= 0 || copied != frames || frames > restartAheadFrames {
		return
	}
	if err := c.restartWAL(ctx); err != nil {
		return
	}
	// Another connection's commit between the first look and the restart
	// may not have been copied: then the next tick checkpoints again.
	if after, err := c.dataVersion(ctx); err == nil && after == version {
		c.restarted, c.idleVersion = true, version
	}
}

// dataVersion is SQLite's data_version of the checkpointer's connection:
// it changes when any other connection, in this process or another,
// commits, and not for this connection's own writes.
func (c *checkpointer) dataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := c.conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v)
	return v, err
}

// restartWAL writes the database's user_version unchanged, in a
// transaction that fails at once when the writer holds the lock (the
// connection's busy timeout is 0): the write's first frame restarts the
// WAL and syncs its header here rather than in the next purchase.
func (c *checkpointer) restartWAL(ctx context.Context) error {
	tx, err := c.conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (openSQLite)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int32
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		return err
	}
	return tx.Commit()
}

func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.conn.Close()
}
