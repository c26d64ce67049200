package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/metalplane/metalplane"
)

// A purchase rehearsed at start (SQLite).
//
// The first purchase after a start took twice as long as the ones after it
// (request to RUNNING, median 8.5 against 4.5 ms; docs/performance.md,
// "The first purchase after a start"): its statements were compiled for
// the first time on the writer connection, and the pages of the tables and
// indexes it writes were read into the writer's cache for the first time.
// SQLite runs every write of the server on that one connection, so one
// purchase and one provision's finish, written and rolled back, warm it for
// all: Rehearse runs them in a transaction that always rolls back, then
// prepares the statements they ran, as the group committer does after each
// batch, and reads the instance back the way its job and a client's poll
// would. It also starts the group committer, whose first use reads where
// the IDs go on. Nothing of it is kept: the money, the stock, the addresses, the
// job and the events are the transaction's and go with it. PostgreSQL's
// connections are warmed instead (warm.go): each of its many connections
// compiles its own statements.

// errRehearsal rolls the rehearsal's transaction back.
var errRehearsal = errors.New("sqlstore: the rehearsal is rolled back")

// Rehearse runs plan's purchase, enqueue included, and the finish of each
// instance it buys with the records steps (as a provision at sim speed
// writes them, the start first), in one transaction that it rolls back.
// It returns the purchase's or the finish's error (a sold-out offer, say)
// and nil when both ran; either way nothing is written. On PostgreSQL it
// does nothing.
func (db *DB) Rehearse(ctx context.Context, plan *metalplane.CreatePlan, enqueue EnqueueFunc, driver string, steps []StepDone) error {
	if !db.singleWriter() {
		return nil
	}
	db.committer() // started: its first use reads where the IDs go on
	result := &CreateResult{OrderNumber: metalplane.NewOrderNumber()}
	for range plan.Amount {
		result.InstanceIDSet = append(result.InstanceIDSet, metalplane.NewInstanceID())
	}
	start, steps := splitStart(steps)
	from := metalplane.StatusCreating
	if start != nil {
		from = metalplane.StatusPending
	}
	// A signed purchase's claim is its first write.
	claim := NewReplay(ReplayKey{AccessKeyID: "rehearsal", Signature: metalplane.NewRequestID()}, "CreateInstances", "", nil)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.createTx(ctx, tx, plan, result, claim, []byte("{}"), enqueue); err != nil {
			return err
		}
		for _, id := range result.InstanceIDSet {
			if err := db.finishSQLiteTx(ctx, tx, id, driver, from, start, steps); err != nil {
				return err
			}
		}
		return errRehearsal
	})
	db.prepareLearned(ctx)
	if !errors.Is(err, errRehearsal) {
		return err
	}
	// The reads of a job and of a poll, which find nothing now.
	if _, _, err := db.ReadProvision(ctx, result.InstanceIDSet[0]); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err = db.InstancesProgress(ctx, plan.TeamID, result.InstanceIDSet)
	return err
}
