package sqlstore

import (
	"context"
	"fmt"

	"github.com/metalplane/metalplane"
)

// One statement per provisioning step on PostgreSQL.
//
// A step recorded in a transaction of its own took four round trips
// (BEGIN, the UPDATE of the instance, the INSERT of its event, COMMIT),
// six times per provision. With provisioning flat out beside purchases
// the PostgreSQL backends' CPU is what the purchases wait for
// (docs/performance.md), so the step is one statement instead: the
// UPDATE in a WITH clause and the event inserted from what it returned,
// atomic as any one statement is, and committed without waiting for the
// WAL's flush (asyncCommit, provision_pg.go). An instance the UPDATE does
// not match (no longer in status, or the step already recorded) returns
// no row and gets no event, as before.
const completeStepPostgresSQL = `WITH done AS (
	UPDATE instances SET provision_step = $1, password = CASE WHEN $2 THEN '' ELSE password END
	WHERE id = $3 AND status = $4 AND provision_step < $1
	RETURNING id, ` + asyncCommit + `)
INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail)
SELECT id, $5, 'step', $6, $7, 'done' FROM done`

// completeStepPostgres is completeStep on PostgreSQL; installed also
// forgets the password (forgetPasswordTx).
func (db *DB) completeStepPostgres(ctx context.Context, instanceID string, status metalplane.InstanceStatus, s StepDone, driver string, installed bool) (bool, error) {
	res, err := db.SQL.ExecContext(ctx, completeStepPostgresSQL,
		s.N, installed, instanceID, string(status), s.At.UnixMilli(), s.Name, driver)
	if err != nil {
		return false, fmt.Errorf("record step %s of %s: %w", s.Name, instanceID, err)
	}
	rows, err := res.RowsAffected()
	return rows == 1, err
}
