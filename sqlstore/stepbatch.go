package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// Several finished steps in one write.
//
// The provisioner records a step that finished quickly together with the
// next record of the same instance (provision/steprecords.go): with the
// simulator at zero delay the six step records and the finish are one
// transaction instead of seven. A record still reaches the database before
// the instance moves on to another status, and each step is recorded done
// once: a step at or below the recorded provision_step gets no event.

// StepDone is a finished workflow step waiting to be recorded: its number
// (1-based), its name, and when it finished. Step number 0 (StartStep) is
// the provision's start, PENDING → CREATING, which waits for company as
// the steps do (provision/steprecords.go).
type StepDone struct {
	N    int
	Name string
	At   time.Time
}

// StartStep returns the start of a provision that began at, to be
// recorded first among the records of its steps, by CompleteSteps or
// FinishProvision.
func StartStep(at time.Time) StepDone { return StepDone{N: 0, At: at} }

// startEvent is the detail of a provision's start.
var startEvent = fmt.Sprintf("%s → %s", metalplane.StatusPending, metalplane.StatusCreating)

// splitStart returns whether steps begin with the provision's start, and
// the steps after it.
func splitStart(steps []StepDone) (*StepDone, []StepDone) {
	if len(steps) > 0 && steps[0].N == 0 {
		return &steps[0], steps[1:]
	}
	return nil, steps
}

// CompleteSteps records the finished provisioning steps of a CREATING
// instance, in order, in one transaction. It returns false when the
// instance is no longer CREATING, or its last step was recorded already
// (another worker went on with it). When steps begin with the start
// (StartStep), the instance must be PENDING instead, and moves to CREATING
// in the same transaction.
func (db *DB) CompleteSteps(ctx context.Context, instanceID string, steps []StepDone, driver string) (bool, error) {
	if start, _ := splitStart(steps); start != nil {
		return db.startWithSteps(ctx, instanceID, steps, driver)
	}
	return db.completeSteps(ctx, instanceID, metalplane.StatusCreating, steps, driver, "")
}

// startWithSteps is CompleteSteps of records that begin with the start.
func (db *DB) startWithSteps(ctx context.Context, instanceID string, steps []StepDone, driver string) (bool, error) {
	start, rest := splitStart(steps)
	ok := false
	err := db.provisionTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ok = false
		q := db.cached(tx)
		var status string
		err := q.QueryRowContext(ctx, `SELECT status FROM instances WHERE id = $1 AND released = $2`+db.forUpdate(), instanceID, false).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) || err == nil && metalplane.InstanceStatus(status) != metalplane.StatusPending {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE instances SET status = $1 WHERE id = $2`, string(metalplane.StatusCreating), instanceID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, addEventSQL, instanceID, start.At.UnixMilli(), "status", "", driver, startEvent); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		ok = true
		if len(rest) == 0 {
			return nil
		}
		ok, err = db.completeStepsTx(ctx, tx, instanceID, metalplane.StatusCreating, rest, driver, "")
		return err
	})
	if err != nil {
		return false, fmt.Errorf("start the provision of %s: %w", instanceID, err)
	}
	return ok, nil
}

// completeSteps records steps of the installation workflow of an
// instance in status (CREATING or INSTALLING); when one of them is named
// forgetAt, the password is forgotten with them (forgetPasswordTx).
func (db *DB) completeSteps(ctx context.Context, instanceID string, status metalplane.InstanceStatus, steps []StepDone, driver, forgetAt string) (bool, error) {
	if len(steps) == 0 {
		return true, nil
	}
	ok := false
	write := func(ctx context.Context, tx *sql.Tx) error {
		var err error
		ok, err = db.completeStepsTx(ctx, tx, instanceID, status, steps, driver, forgetAt)
		return err
	}
	var err error
	switch {
	case db.Dialect == Postgres && len(steps) == 1:
		return db.completeStepPostgres(ctx, instanceID, status, steps[0], driver, steps[0].Name == forgetAt) // stepwrites_pg.go
	case db.Dialect == Postgres:
		err = db.inTx(ctx, func(tx *sql.Tx) error { return write(ctx, tx) })
	default:
		err = db.provisionTx(ctx, write)
	}
	if err != nil {
		return false, fmt.Errorf("record steps %s..%s of %s: %w", steps[0].Name, steps[len(steps)-1].Name, instanceID, err)
	}
	return ok, nil
}

// completeStepsTx is completeSteps on tx. It locks the instance's row on
// PostgreSQL; on SQLite the one writer holds it already.
func (db *DB) completeStepsTx(ctx context.Context, tx *sql.Tx, instanceID string, status metalplane.InstanceStatus, steps []StepDone, driver, forgetAt string) (bool, error) {
	q := db.cached(tx)
	last := steps[len(steps)-1].N
	var recorded int
	err := q.QueryRowContext(ctx, `SELECT provision_step FROM instances WHERE id = $1 AND status = $2`+db.forUpdate(), instanceID, string(status)).
		Scan(&recorded)
	if errors.Is(err, sql.ErrNoRows) || err == nil && recorded >= last {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE instances SET provision_step = $1 WHERE id = $2`, last, instanceID); err != nil {
		return false, err
	}
	if forgetAt != "" && slices.ContainsFunc(steps, func(s StepDone) bool { return s.N > recorded && s.Name == forgetAt }) {
		if err := db.forgetPasswordTx(ctx, q, instanceID); err != nil {
			return false, err
		}
	}
	if err := db.addStepEventsTx(ctx, q, instanceID, driver, recorded, steps, ""); err != nil {
		return false, err
	}
	return true, nil
}

// addStepEventsTx inserts, in one statement, a "done" event for each of
// steps after step recorded, and then a status event with detail status
// unless it is "".
func (db *DB) addStepEventsTx(ctx context.Context, q queryer, instanceID, driver string, recorded int, steps []StepDone, status string) error {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail) VALUES `)
	args := make([]any, 0, 6*(len(steps)+1))
	row := func(at time.Time, kind, step, detail string) {
		if len(args) > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		args = append(args, instanceID, at.UnixMilli(), kind, step, driver, detail)
	}
	for _, s := range steps {
		if s.N > recorded {
			row(s.At, "step", s.Name, "done")
		}
	}
	if status != "" {
		row(db.Now(), "status", "", status)
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}
