package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/metalplane/metalplane"
)

// Group commit for purchases on PostgreSQL.
//
// Purchases run in parallel on PostgreSQL, but every one of a team ends on
// the team's row: the count's trigger (migration 0034) updates it at
// commit and holds it until the commit is on disk. With one transaction
// per purchase, the purchases of a team therefore committed one after
// another, each waiting for the one before to flush and wake it; measured
// with pg_stat_statements at 16 clients, that update waited 28–31 ms of a
// purchase's 45 ms (docs/performance.md). Here a few committers
// (pgCommitters) each run the purchases that arrive while they are busy in
// one transaction: each purchase in its own SAVEPOINT, sent in the same
// round trips as its statements (createPipelined's two batches), one River
// insert for the jobs of all of them, one commit and one wait on the
// team's row for the lot.
//
// A refusal (quota, stock, balance, a replayed signature) rolls back to
// its savepoint and leaves the others. Anything else, and a commit that
// fails (the count's trigger refusing the batch's total, a deadlock), runs
// every purchase of the batch again alone, in its own transaction, so one
// purchase never fails another; the quota's refusal then falls on those
// beyond it.

// pgCommitters is how many batches are built and committed at once: while
// one waits for its commit or the team's row, another runs statements.
const pgCommitters = 4

// commitPipelined commits a batch of purchases on PostgreSQL, one
// transaction per team. A transaction that holds two teams' rows could
// wait for a batch that holds them the other way round (the count takes
// them at commit, a PREPAID debit before it), and PostgreSQL only breaks
// that after deadlock_timeout; one team's row per transaction cannot.
func (g *groupCommitter) commitPipelined(ctx context.Context, batch []*purchase) {
	for len(batch) > 0 {
		team := batch[0].plan.TeamID
		var same, rest []*purchase
		for _, p := range batch {
			if p.plan.TeamID == team {
				same = append(same, p)
			} else {
				rest = append(rest, p)
			}
		}
		batch = rest
		if len(same) > 1 && g.db.pipelinedBatch(ctx, same) == nil {
			continue
		}
		for _, p := range same {
			p.err = g.db.createPipelined(ctx, p.plan, p.result, p.replay, p.enqueue)
		}
	}
}

// pipelinedBatch runs batch, purchases of one team, in one transaction and
// reports an error when it did not commit; each purchase's own refusal is
// in its err.
func (db *DB) pipelinedBatch(ctx context.Context, batch []*purchase) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
	var (
		ids     []string
		enqueue EnqueueFunc
	)
	prefix := []string{`SAVEPOINT purchase`}
	for _, p := range batch {
		_, p.err = db.purchaseOnConn(ctx, conn, tx, prefix, p.plan, p.result, p.replay, nil)
		// From the second purchase on, the savepoint before is released
		// in the same round trip as the next is set.
		prefix = []string{`RELEASE purchase`, `SAVEPOINT purchase`}
		if p.err != nil {
			if !isRefusal(p.err) {
				return p.err
			}
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO purchase`); err != nil {
				return err
			}
			continue
		}
		if p.enqueue != nil {
			ids = append(ids, p.result.InstanceIDSet...)
			// Every purchase of one DB carries the same enqueue
			// function (the server's provisioner).
			enqueue = p.enqueue
		}
	}
	if enqueue != nil {
		if err := enqueue(ctx, tx, ids); err != nil {
			return fmt.Errorf("enqueue provisioning: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, p := range batch {
		if p.err == nil && p.replay != nil {
			p.replay.written = true
		}
	}
	return nil
}

// isRefusal reports whether err is a purchase's answer to its buyer, which
// rolls back only that purchase, rather than a failure of the batch.
func isRefusal(err error) bool {
	var apiErr *metalplane.Error
	return errors.As(err, &apiErr) || errors.Is(err, ErrReplayed) || errors.Is(err, ErrNotFound)
}
