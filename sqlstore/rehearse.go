package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/metalplane/metalplane"
)

// A purchase rehearsed at start.
//
// The first purchase after a start took twice as long as the ones after it
// (SQLite, request to RUNNING, median 11.5 against 4.5 ms;
// docs/performance.md, "The first purchase after a start rehearsed"): its
// statements were compiled for the first time on the writing connection,
// the pages it writes read into that connection's cache, and the group
// committer started. On PostgreSQL each new connection plans every
// statement once and compiles the count's trigger once, a few milliseconds
// each ("PostgreSQL connections warmed at start").
//
// Rehearse runs a purchase (its replay claim, its River job) and the
// finish of its provision in a transaction that always rolls back, and
// the reads of a job and of a client's poll. SQLite runs every write on its
// one writing connection, so one rehearsal warms it for all; the
// statements are then prepared, as the group committer does after each
// batch. PostgreSQL rehearses on each of n connections held at once, the
// pool's warm ones, so that whichever the first purchase, its job and the
// poll take has run the statements; the deferred triggers are fired
// before the rollback so that they are compiled too. Nothing of it is
// kept: the money, the stock, the addresses, the job and the events are
// the transaction's and go with it.

// errRehearsal rolls the rehearsal's transaction back.
var errRehearsal = errors.New("sqlstore: the rehearsal is rolled back")

// Rehearse runs plan's purchase, enqueue included, and the finish of each
// instance it buys with the records steps (as a provision at sim speed
// writes them, the start first), in a transaction that it rolls back: one
// on SQLite, one on each of n connections at once on PostgreSQL. It
// returns the first purchase's or finish's error (a sold-out offer, say)
// and nil when all ran; either way nothing is written.
func (db *DB) Rehearse(ctx context.Context, plan *metalplane.CreatePlan, enqueue EnqueueFunc, driver string, steps []StepDone, n int) error {
	if !db.singleWriter() {
		return db.rehearsePostgres(ctx, plan, enqueue, driver, steps, n)
	}
	db.committer() // started: its first use reads where the IDs go on
	result := rehearsalResult(plan)
	claim := rehearsalClaim()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.createTx(ctx, tx, plan, result, claim, claim.Response, enqueue); err != nil {
			return err
		}
		for _, id := range result.InstanceIDSet {
			if err := db.finishSQLiteTx(ctx, tx, id, driver, steps); err != nil {
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

// rehearsalResult gives the rehearsal's instances and order random IDs.
func rehearsalResult(plan *metalplane.CreatePlan) *CreateResult {
	result := &CreateResult{OrderNumber: metalplane.NewOrderNumber()}
	for range plan.Amount {
		result.InstanceIDSet = append(result.InstanceIDSet, metalplane.NewInstanceID())
	}
	return result
}

// rehearsalClaim is a signed purchase's replay claim, the first write of
// its transaction.
func rehearsalClaim() *Replay {
	return NewReplay(ReplayKey{AccessKeyID: "rehearsal", Signature: metalplane.NewRequestID()}, "CreateInstances", "", []byte("{}"))
}

// rehearsePostgres is Rehearse on PostgreSQL: n connections held at once,
// a rehearsal on each.
func (db *DB) rehearsePostgres(ctx context.Context, plan *metalplane.CreatePlan, enqueue EnqueueFunc, driver string, steps []StepDone, n int) error {
	return db.onConnsAtOnce(ctx, n, func(conn *sql.Conn) error {
		return db.rehearseOnConn(ctx, conn, plan, enqueue, driver, steps)
	})
}

// rehearseOnConn is one PostgreSQL rehearsal, on conn.
func (db *DB) rehearseOnConn(ctx context.Context, conn *sql.Conn, plan *metalplane.CreatePlan, enqueue EnqueueFunc, driver string, steps []StepDone) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // always: nothing of a rehearsal is kept
	result := rehearsalResult(plan)
	if _, err := db.purchaseOnConn(ctx, conn, tx, nil, plan, result, rehearsalClaim(), enqueue); err != nil {
		return err
	}
	// What the commit would run: the deferred triggers (the counts').
	if _, err := tx.ExecContext(ctx, `SET CONSTRAINTS ALL IMMEDIATE`); err != nil {
		return err
	}
	now := db.Now().Unix()
	for _, id := range result.InstanceIDSet {
		if _, err := tx.ExecContext(ctx, readProvisionSQL, id, false); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, finishProvisionPostgresSQL, db.finishPostgresArgs(id, driver, plan.Period, now, steps)...); err != nil {
			return err
		}
	}
	args := []any{plan.TeamID, false}
	for _, id := range result.InstanceIDSet {
		args = append(args, id)
	}
	_, err = tx.ExecContext(ctx, progressSQL(len(result.InstanceIDSet)), args...)
	return err
}
