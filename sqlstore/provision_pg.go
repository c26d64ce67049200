package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// A provision's start and finish in one statement each on PostgreSQL.
//
// Traced on an idle server (docs/performance.md), the start of a provision
// took 2.5-5 ms and its finish 1.3-3.3 ms on PostgreSQL, most of it round
// trips: BEGIN, the locking read, the UPDATE, the event, the reads of the
// instance and its secrets, COMMIT. Each is one statement instead: the
// locking read in a WITH clause, the UPDATE joined to it (so that it knows
// the status and step it replaced), the events inserted from what the
// UPDATE returned, atomic as any one statement is. Instances the locking
// read does not match (released, no longer in the status) return no row
// and get no event, as the transactions did.

// asyncCommit, in the select list of a statement's locking read, commits
// that statement's transaction without waiting for its WAL to reach the
// disk (synchronous_commit off for it alone; the setting is read at
// commit). Sampled during 1,000 provisions at sim 0, PostgreSQL's
// backends waited mostly on WALWrite: the flush of each start and finish.
// A provision's writes can wait: a metalplane process killed after one
// loses nothing (PostgreSQL has it), and if PostgreSQL itself crashes
// within the fraction of a second before the flush, the instance is found
// as it was before the write, and its job, whose state River commits
// later and durably, is run again and redoes idempotent steps. No later
// durable commit can land without the earlier ones: the WAL is flushed in
// order, so a job recorded completed or an instance a user stopped was
// RUNNING durably first.
const asyncCommit = `set_config('synchronous_commit', 'off', true)`

// beginProvisionPostgresSQL moves a PENDING instance to CREATING, or
// leaves a CREATING one (a resumed job) as it is, records the event, and
// returns the status it found, the step recorded, the secrets and the
// instance.
const beginProvisionPostgresSQL = `WITH old AS (
	SELECT id AS old_id, status AS old_status, ` + asyncCommit + ` FROM instances
	WHERE id = $1 AND released = FALSE AND status IN ($2, $3) FOR UPDATE),
upd AS (
	UPDATE instances SET status = $3 FROM old WHERE id = old.old_id
	RETURNING old.old_status, provision_step AS step_done, password AS sealed_password, ssh_keys AS ssh_keys_json, user_data AS user_data_text, ` + instanceColumns + `),
ev AS (
	INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail)
	SELECT $1, $4, CASE WHEN old_status = $2 THEN 'status' ELSE 'resumed' END, '', $5,
		CASE WHEN old_status = $2 THEN $6 ELSE 'resuming after step ' || step_done END FROM upd)
SELECT old_status, step_done, sealed_password, ssh_keys_json, user_data_text, ` + instanceColumns + ` FROM upd`

// beginProvisionPostgres is BeginProvision on PostgreSQL.
func (db *DB) beginProvisionPostgres(ctx context.Context, instanceID, driver string) (*ProvisionTarget, bool, error) {
	var oldStatus, password, sshKeys, userData string
	var step int
	row := db.SQL.QueryRowContext(ctx, beginProvisionPostgresSQL, instanceID, string(metalplane.StatusPending), string(metalplane.StatusCreating),
		db.Now().UnixMilli(), driver, fmt.Sprintf("%s → %s", metalplane.StatusPending, metalplane.StatusCreating))
	in, err := scanInstance(prefixScanner{row, []any{&oldStatus, &step, &password, &sshKeys, &userData}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("begin the provision of %s: %w", instanceID, err)
	}
	target, err := db.provisionTarget(ctx, db.SQL, in, step, password, sshKeys, userData)
	return target, false, err
}

// prefixScanner scans the first columns of a row into its own
// destinations and the rest into the caller's.
type prefixScanner struct {
	row    *sql.Row
	prefix []any
}

func (s prefixScanner) Scan(dest ...any) error {
	return s.row.Scan(append(s.prefix[:len(s.prefix):len(s.prefix)], dest...)...)
}

// finishProvisionPostgresSQL moves a CREATING instance ($2; PENDING when
// its start is recorded with its finish) to RUNNING and
// inserts, in order, the events of the steps after the one recorded and
// the status event ($5..$9: one array per column, the status event last
// with a step number above any).
const finishProvisionPostgresSQL = `WITH old AS (
	SELECT id AS old_id, provision_step AS prev, ` + asyncCommit + ` FROM instances WHERE id = $1 AND status = $2 FOR UPDATE),
done AS (
	UPDATE instances SET status = $3, password = '', provision_step = GREATEST(old.prev, $4),
		expired_time = CASE WHEN charge_type = $5 THEN $6 ELSE 0 END
	FROM old WHERE id = old.old_id RETURNING old.prev)
INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail)
SELECT $1, e.at_ms, e.kind, e.step, $7, e.detail
FROM done, unnest($8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[]) WITH ORDINALITY AS e(n, at_ms, kind, step, detail, ord)
WHERE e.n > done.prev ORDER BY e.ord`

// finishProvisionPostgres is FinishProvision on PostgreSQL, of instance
// in as the provision read it, or, when in is nil, as read here first
// without a lock: what a PREPAID instance's expiry is computed from (its
// creation and period) does not change while it is being provisioned. A
// start among the steps (StartStep) is recorded first, with a number
// above any step's so that the provision_step filter keeps it, and the
// instance must then be PENDING.
func (db *DB) finishProvisionPostgres(ctx context.Context, instanceID string, in *metalplane.Instance, driver string, steps []StepDone) error {
	var period int
	var created int64
	if in != nil {
		period, created = in.Period, in.CreateTime.Unix()
	} else {
		err := db.SQL.QueryRowContext(ctx, `SELECT period, create_time FROM instances WHERE id = $1`, instanceID).Scan(&period, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("finish the provision of %s: %w", instanceID, err)
		}
	}
	_, err := db.SQL.ExecContext(ctx, finishProvisionPostgresSQL, db.finishPostgresArgs(instanceID, driver, period, created, steps)...)
	if err != nil {
		return fmt.Errorf("finish the provision of %s: %w", instanceID, err)
	}
	return nil
}

// finishPostgresArgs are finishProvisionPostgresSQL's arguments: the
// instance, the status it must be in, the events of steps (a start first
// when there is one) and of the finish, and the expiry of a PREPAID
// instance created at created (Unix seconds) for period months.
func (db *DB) finishPostgresArgs(instanceID, driver string, period int, created int64, steps []StepDone) []any {
	const afterEveryStep = 1 << 30
	from := metalplane.StatusCreating
	last := 0
	ns, ats := make([]int64, 0, len(steps)+1), make([]int64, 0, len(steps)+1)
	kinds, names, details := make([]string, 0, len(steps)+1), make([]string, 0, len(steps)+1), make([]string, 0, len(steps)+1)
	start, steps := splitStart(steps)
	if start != nil {
		from = metalplane.StatusPending
		ns, ats, kinds, names, details = append(ns, afterEveryStep), append(ats, start.At.UnixMilli()), append(kinds, "status"), append(names, ""), append(details, startEvent)
	}
	for _, s := range steps {
		ns, ats, kinds, names, details = append(ns, int64(s.N)), append(ats, s.At.UnixMilli()), append(kinds, "step"), append(names, s.Name), append(details, "done")
		last = s.N
	}
	ns, ats, kinds, names, details = append(ns, afterEveryStep), append(ats, db.Now().UnixMilli()), append(kinds, "status"), append(names, ""),
		append(details, fmt.Sprintf("%s → %s", metalplane.StatusCreating, metalplane.StatusRunning))
	expired := time.Unix(created, 0).UTC().AddDate(0, period, 0).Unix()
	return []any{instanceID, string(from), string(metalplane.StatusRunning), last,
		metalplane.ChargeTypePrepaid, expired, driver, ns, ats, kinds, names, details}
}
