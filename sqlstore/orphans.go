package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/metalplane/metalplane"
)

// Stranded instances. Every change into a transient status
// (metalplane.TransientStatuses) enqueues, in the same transaction, the
// job that moves the instance on, and a job leaves the instance in a
// stable status before it finishes. So a transient instance without an
// unfinished job is stranded: its job was lost (a restore, a hand-deleted
// row) or ran out of attempts without recording the failure (its process
// died during the last one). FindOrphans lists them, ResumeOrphan resumes
// or fails each, and the audit reports them.
//
// River's job table is in the same database (provision.Migrate), so
// "has an unfinished job" is one query. The store only reads it; jobs are
// inserted through the EnqueueFuncs of the provision package.

// OrphanDriver is the driver recorded on the events of the orphan check.
const OrphanDriver = "orphan-check"

// unfinishedJobStates are the River job states that will still run.
const unfinishedJobStates = `'available', 'pending', 'retryable', 'running', 'scheduled'`

// givenUpJobStates are the River job states of a job that stopped
// without finishing its work: out of attempts, or cancelled.
var givenUpJobStates = []string{"discarded", "cancelled"}

// transientCondition selects the live instances in a transient status. It
// is written out, not parameterised, so that the partial index
// instances_transient (migration 0014) serves it.
var transientCondition = func() string {
	quoted := make([]string, len(metalplane.TransientStatuses))
	for i, s := range metalplane.TransientStatuses {
		quoted[i] = "'" + string(s) + "'"
	}
	return `released = FALSE AND status IN (` + strings.Join(quoted, ", ") + `)`
}()

// orphansQuery selects the id and status of every stranded instance.
func (db *DB) orphansQuery() string {
	// NOT IN over a non-correlated list: each side is read once. The IS
	// NOT NULL keeps the periodic jobs' NULL out of the list, which would
	// make every NOT IN unknown.
	return `SELECT id, status FROM instances WHERE ` + transientCondition + ` AND id NOT IN (
		SELECT ` + db.jobInstanceID() + ` FROM river_job WHERE state IN (` + unfinishedJobStates + `) AND ` + db.jobInstanceID() + ` IS NOT NULL)
		ORDER BY id`
}

// Orphan is a stranded instance.
type Orphan struct {
	InstanceID string
	Status     metalplane.InstanceStatus
}

// FindOrphans lists the stranded instances. Without River's tables (a
// store used without provisioning) there are no jobs to look for and it
// returns none.
func (db *DB) FindOrphans(ctx context.Context) ([]Orphan, error) {
	ok, err := db.hasTable(ctx, db.SQL, "river_job")
	if err != nil || !ok {
		return nil, err
	}
	rows, err := db.SQL.QueryContext(ctx, db.orphansQuery())
	if err != nil {
		return nil, fmt.Errorf("find stranded instances: %w", err)
	}
	defer rows.Close()
	var out []Orphan
	for rows.Next() {
		var o Orphan
		if err := rows.Scan(&o.InstanceID, &o.Status); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OrphanAction is what ResumeOrphan did.
type OrphanAction string

// Orphan actions.
const (
	// OrphanNone: the instance was not stranded (any more).
	OrphanNone OrphanAction = ""
	// OrphanResumed: a new job was enqueued; it carries on from the last
	// step recorded.
	OrphanResumed OrphanAction = "resumed"
	// OrphanFailed: the instance was put in its failure status, as its
	// job would have on its last attempt (CREATE_FAILED with the PREPAID
	// charge refunded, or INSTALL_FAILED).
	OrphanFailed OrphanAction = "failed"
)

// OrphanConfig is how ResumeOrphan enqueues jobs (the provision
// package's EnqueueFuncs).
type OrphanConfig struct {
	Enqueue          EnqueueFunc
	EnqueueLifecycle LifecycleEnqueueFunc
}

// ResumeOrphan re-checks, under the instance's row lock, that it is
// stranded and then resumes or fails it [decision]: a provision or
// reinstall whose last job gave up (discarded or cancelled) fails as that
// job would have; otherwise a new job is enqueued, which skips the steps
// already recorded. BOOTING and STOPPING are always resumed: their one or
// two power calls are idempotent, and which status a failure should go
// back to depends on a power state nothing recorded.
func (db *DB) ResumeOrphan(ctx context.Context, instanceID string, cfg OrphanConfig) (OrphanAction, error) {
	action := OrphanNone
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		action = OrphanNone
		in, err := db.lockLiveInstanceTx(ctx, tx, instanceID)
		if err != nil || in == nil || !slices.Contains(metalplane.TransientStatuses, in.Status) {
			return err
		}
		var unfinished int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE state IN (`+unfinishedJobStates+`) AND `+db.jobIsAbout(1), instanceID).
			Scan(&unfinished); err != nil {
			return fmt.Errorf("look for the jobs of %s: %w", instanceID, err)
		}
		if unfinished > 0 {
			return nil
		}
		var last string
		err = tx.QueryRowContext(ctx, `SELECT state FROM river_job WHERE `+db.jobIsAbout(1)+` ORDER BY id DESC LIMIT 1`, instanceID).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read the last job of %s: %w", instanceID, err)
		}
		gaveUp := slices.Contains(givenUpJobStates, last)
		reason := fmt.Sprintf("its last job was %s without finishing", last)
		if gaveUp {
			switch in.Status {
			case metalplane.StatusPending, metalplane.StatusCreating:
				action = OrphanFailed
				return db.failProvisionTx(ctx, tx, in, "", OrphanDriver, reason)
			case metalplane.StatusInstalling:
				action = OrphanFailed
				return db.finishLifecycleTx(ctx, tx, in.ID, in.Status, metalplane.StatusInstallFailed, "", OrphanDriver, reason)
			}
		}
		if last == "" {
			reason = "it has no job"
		}
		action = OrphanResumed
		if err := db.addEventTx(ctx, tx, in.ID, "orphan", "", OrphanDriver, fmt.Sprintf("%s and %s: enqueued a new one", in.Status, reason)); err != nil {
			return err
		}
		switch in.Status {
		case metalplane.StatusPending, metalplane.StatusCreating:
			if cfg.Enqueue == nil {
				return errors.New("resume a provision: no enqueue function")
			}
			return cfg.Enqueue(ctx, tx, []string{in.ID})
		case metalplane.StatusInstalling:
			return enqueueLifecycleTx(ctx, tx, cfg.EnqueueLifecycle, LifecycleJob{InstanceID: in.ID, Op: metalplane.OpReinstall, From: in.Status})
		case metalplane.StatusBooting:
			// The job of StartInstances: power on, then RUNNING (STOPPED
			// if that fails for good).
			return enqueueLifecycleTx(ctx, tx, cfg.EnqueueLifecycle, LifecycleJob{InstanceID: in.ID, Op: metalplane.OpStart, From: metalplane.StatusStopped})
		case metalplane.StatusStopping:
			return enqueueLifecycleTx(ctx, tx, cfg.EnqueueLifecycle, LifecycleJob{InstanceID: in.ID, Op: metalplane.OpStop, From: metalplane.StatusRunning})
		}
		return fmt.Errorf("resume %s: no job moves an instance out of %s", in.ID, in.Status)
	})
	return action, err
}

// enqueueLifecycleTx enqueues one lifecycle job, refusing to do nothing.
func enqueueLifecycleTx(ctx context.Context, tx *sql.Tx, enqueue LifecycleEnqueueFunc, job LifecycleJob) error {
	if enqueue == nil {
		return fmt.Errorf("resume %s: no enqueue function", job.Op)
	}
	return enqueueTx(ctx, tx, enqueue, []LifecycleJob{job})
}
