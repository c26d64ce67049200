package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/metalplane/metalplane"
)

// LifecycleJob is the asynchronous part of a lifecycle action, left to
// the workers: driving the hardware and ending in a stable status.
type LifecycleJob struct {
	InstanceID string
	// Op is OpStart, OpStop, OpReboot, OpReinstall, or OpTerminate (power
	// off an instance that went to the recycle bin).
	Op metalplane.Operation
	// From is the status before the action; a power job that fails puts
	// the instance back there.
	From metalplane.InstanceStatus
}

// LifecycleEnqueueFunc enqueues lifecycle jobs on tx, so they commit with
// the status change or not at all. The provision package supplies it.
type LifecycleEnqueueFunc func(ctx context.Context, tx *sql.Tx, jobs []LifecycleJob) error

// lockInstancesTx reads the team's live instances among ids and, on
// PostgreSQL, locks them in id order (a fixed order, so two batches over
// the same instances cannot deadlock).
func (db *DB) lockInstancesTx(ctx context.Context, tx *sql.Tx, teamID string, ids []string) (map[string]*metalplane.Instance, error) {
	args := []any{teamID, false}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE team_id = $1 AND released = $2 AND id IN (`+strings.Join(ph, ", ")+`) ORDER BY id`+db.forUpdate(), args...)
	if err != nil {
		return nil, fmt.Errorf("lock instances: %w", err)
	}
	defer rows.Close()
	found := map[string]*metalplane.Instance{}
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		found[in.ID] = in
	}
	return found, rows.Err()
}

// checkBatchTx locks the instances of a batch action and applies its
// checks all-or-nothing (ERRORS.md §10): first every ID must exist (else
// notFound), then every instance must allow op (ACTIONS.md §1.3), in
// request order; the first failure is the answer. It returns the
// instances in request order.
func (db *DB) checkBatchTx(ctx context.Context, tx *sql.Tx, teamID string, ids []string, op metalplane.Operation, notFound metalplane.Code) ([]*metalplane.Instance, error) {
	found, err := db.lockInstancesTx(ctx, tx, teamID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*metalplane.Instance, len(ids))
	for i, id := range ids {
		if out[i] = found[id]; out[i] == nil {
			return nil, metalplane.Errorf(notFound, "The instance %s does not exist.", id)
		}
	}
	for _, in := range out {
		if err := metalplane.Refusal(in.ID, in.Status, op); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (db *DB) setStatusTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance, to metalplane.InstanceStatus, why string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET status = $1 WHERE id = $2`, string(to), in.ID); err != nil {
		return fmt.Errorf("set status of %s: %w", in.ID, err)
	}
	return db.addEventTx(ctx, tx, in.ID, "status", "", "", fmt.Sprintf("%s → %s (%s)", in.Status, to, why))
}

// PowerInstances starts (OpStart), stops (OpStop) or reboots (OpReboot)
// the team's instances, all or none: each moves to BOOTING or STOPPING in
// this transaction, and one job per instance takes it to RUNNING or
// STOPPED. Returns INVALID_INSTANCE_NOT_FOUND or the refusal of the first
// instance whose state does not allow op.
func (db *DB) PowerInstances(ctx context.Context, teamID string, ids []string, op metalplane.Operation, enqueue LifecycleEnqueueFunc) error {
	now, _ := metalplane.PowerTransition(op)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := db.checkBatchTx(ctx, tx, teamID, ids, op, "INVALID_INSTANCE_NOT_FOUND")
		if err != nil {
			return err
		}
		jobs := make([]LifecycleJob, len(ins))
		for i, in := range ins {
			if err := db.setStatusTx(ctx, tx, in, now, string(op)); err != nil {
				return err
			}
			jobs[i] = LifecycleJob{InstanceID: in.ID, Op: op, From: in.Status}
		}
		return enqueueTx(ctx, tx, enqueue, jobs)
	})
}

func enqueueTx(ctx context.Context, tx *sql.Tx, enqueue LifecycleEnqueueFunc, jobs []LifecycleJob) error {
	if enqueue == nil || len(jobs) == 0 {
		return nil
	}
	if err := enqueue(ctx, tx, jobs); err != nil {
		return fmt.Errorf("enqueue lifecycle jobs: %w", err)
	}
	return nil
}

// ReinstallInstance records the new OS settings of a validated plan and
// moves the instance to INSTALLING; its job takes it to RUNNING or
// INSTALL_FAILED. The state is checked again under the row lock. Returns
// INVALID_INSTANCE_NOT_FOUND or the state's refusal.
func (db *DB) ReinstallInstance(ctx context.Context, teamID string, plan *metalplane.ReinstallPlan, enqueue LifecycleEnqueueFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := db.checkBatchTx(ctx, tx, teamID, []string{plan.InstanceID}, metalplane.OpReinstall, "INVALID_INSTANCE_NOT_FOUND")
		if err != nil {
			return err
		}
		in := ins[0]
		password, err := db.newInstancePassword(in.ID, plan.Password)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE instances SET image_id = $1, ipxe_url = $2, hostname = $3, key_id = $4, raid_config = $5, partitions = $6,
			wan_name = $7, lan_name = $8, password = $9, ssh_keys = $10, user_data = $11, provision_step = 0, failure_reason = '' WHERE id = $12`,
			plan.ImageID(), plan.IpxeURL, plan.Hostname, plan.KeyID, jsonOrEmpty(plan.RaidConfig), jsonOrEmpty(plan.Partitions),
			*plan.Nic.WanName, *plan.Nic.LanName, password, jsonOrEmpty(plan.SSHKeys), plan.UserData, in.ID)
		if err != nil {
			return fmt.Errorf("record reinstall of %s: %w", in.ID, err)
		}
		if err := db.setStatusTx(ctx, tx, in, metalplane.StatusInstalling, string(metalplane.OpReinstall)); err != nil {
			return err
		}
		return enqueueTx(ctx, tx, enqueue, []LifecycleJob{{InstanceID: in.ID, Op: metalplane.OpReinstall, From: in.Status}})
	})
}

// TerminateResult says what TerminateInstance did.
type TerminateResult string

// Outcomes of TerminateInstance (ACTIONS.md §3.7).
const (
	TerminateRecycled  TerminateResult = "recycled"  // POSTPAID: in the recycle bin
	TerminateCancelled TerminateResult = "cancelled" // PREPAID: autoRenew off, returned at expiry
	TerminateDeleted   TerminateResult = "deleted"   // CREATE_FAILED: gone
)

// TerminateInstance returns an instance (ACTIONS.md §3.7): a CREATE_FAILED
// instance is deleted at once, its PREPAID charge refunded unless the
// failed provision refunded it already (the same dedupe key as
// FailProvision, so money comes back exactly once); a PREPAID instance
// keeps running with autoRenew off; a POSTPAID instance goes to RECYCLE in
// this transaction and a job powers it off. Returns
// INVALID_INSTANCE_NOT_FOUND or the state's refusal.
func (db *DB) TerminateInstance(ctx context.Context, teamID, id string, enqueue LifecycleEnqueueFunc) (TerminateResult, error) {
	var result TerminateResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := db.checkBatchTx(ctx, tx, teamID, []string{id}, metalplane.OpTerminate, "INVALID_INSTANCE_NOT_FOUND")
		if err != nil {
			return err
		}
		in := ins[0]
		switch {
		case in.Status == metalplane.StatusCreateFailed:
			result = TerminateDeleted
			if err := db.refundOnceTx(ctx, tx, in); err != nil {
				return err
			}
			_, err := db.ReleaseInstanceTx(ctx, tx, in.ID, "TerminateInstance of a CREATE_FAILED instance")
			return err
		case in.ChargeType == metalplane.ChargeTypePrepaid:
			result = TerminateCancelled
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET auto_renew = $1 WHERE id = $2`, false, in.ID); err != nil {
				return fmt.Errorf("cancel subscription of %s: %w", in.ID, err)
			}
			return db.addEventTx(ctx, tx, in.ID, "subscription", "", "", "TerminateInstance: autoRenew off, returned at expiry")
		default:
			result = TerminateRecycled
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET recycled_at = $1 WHERE id = $2`, db.Now().Unix(), in.ID); err != nil {
				return fmt.Errorf("recycle %s: %w", in.ID, err)
			}
			if err := db.setStatusTx(ctx, tx, in, metalplane.StatusRecycle, string(metalplane.OpTerminate)); err != nil {
				return err
			}
			return enqueueTx(ctx, tx, enqueue, []LifecycleJob{{InstanceID: in.ID, Op: metalplane.OpTerminate, From: in.Status}})
		}
	})
	return result, err
}

// refundKey is the dedupe key of the one refund of an instance's PREPAID
// charge, shared by FailProvision and TerminateInstance.
func refundKey(instanceID string) string { return "refund:" + instanceID }

// refundOnceTx refunds the instance's PREPAID charge unless it was
// refunded already. The caller holds the instance's row lock.
func (db *DB) refundOnceTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance) error {
	var periodPrice int64
	if err := tx.QueryRowContext(ctx, `SELECT period_price FROM instances WHERE id = $1`, in.ID).Scan(&periodPrice); err != nil {
		return fmt.Errorf("read price of %s: %w", in.ID, err)
	}
	if periodPrice <= 0 {
		return nil
	}
	if _, err := db.findTeamTx(ctx, tx, in.TeamID); err != nil {
		return err
	}
	_, err := db.addLedgerOnceTx(ctx, tx, metalplane.LedgerEntry{TeamID: in.TeamID, Amount: metalplane.Money(periodPrice), Kind: metalplane.LedgerRefund,
		OrderNumber: in.OrderNumber, InstanceID: in.ID, Note: "refund of a failed provision"}, refundKey(in.ID))
	return err
}

// ReleaseInstances deletes the team's instances from the recycle bin, all
// or none (ACTIONS.md §3.8). Returns INVALID_INSTANCE_NOT_FOUND or
// OPERATION_DENIED_INSTANCE_NOT_RECYCLED.
func (db *DB) ReleaseInstances(ctx context.Context, teamID string, ids []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := db.checkBatchTx(ctx, tx, teamID, ids, metalplane.OpRelease, "INVALID_INSTANCE_NOT_FOUND")
		if err != nil {
			return err
		}
		for _, in := range ins {
			if _, err := db.ReleaseInstanceTx(ctx, tx, in.ID, string(metalplane.OpRelease)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseInstanceTx deletes an instance for good, on tx: its host goes
// back to stock (unless it is no longer the instance's, e.g. in
// maintenance after a failed provision), its public addresses back to
// their pools, its private address back to its subnet, and the instance
// disappears from every Describe. The row stays, released, for history.
// It is the one release path: ReleaseInstances, TerminateInstance of a
// CREATE_FAILED instance and the periodic release of the recycle bin all
// call it. The caller decides whether the instance may be released; this
// locks the row and does nothing (false) if it is released already.
func (db *DB) ReleaseInstanceTx(ctx context.Context, tx *sql.Tx, instanceID, reason string) (bool, error) {
	var hostID string
	var released bool
	err := tx.QueryRowContext(ctx, `SELECT host_id, released FROM instances WHERE id = $1`+db.forUpdate(), instanceID).Scan(&hostID, &released)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("instance %s: %w", instanceID, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", instanceID, err)
	}
	if released {
		return false, nil
	}
	now := db.Now().Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE hosts SET state = $1, instance_id = NULL, note = '', updated_at = $2 WHERE id = $3 AND instance_id = $4`,
		HostAvailable, now, hostID, instanceID); err != nil {
		return false, fmt.Errorf("return host %s: %w", hostID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET instance_id = NULL WHERE instance_id = $1`, instanceID); err != nil {
		return false, fmt.Errorf("return addresses of %s: %w", instanceID, err)
	}
	if err := db.detachInstanceEIPsTx(ctx, tx, instanceID); err != nil {
		return false, err
	}
	if err := unbindInstanceBlockIPsTx(ctx, tx, instanceID); err != nil {
		return false, err
	}
	if err := deregisterInstanceBackendsTx(ctx, tx, instanceID); err != nil {
		return false, err
	}
	// released = true alone frees the private address: allocation and the
	// uniqueness index only consider live instances. The addresses stay on
	// the row as history.
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET released = $1 WHERE id = $2`, true, instanceID); err != nil {
		return false, fmt.Errorf("release %s: %w", instanceID, err)
	}
	return true, db.addEventTx(ctx, tx, instanceID, "released", "", "", reason)
}

// RenewInstance debits one more period of a PREPAID instance and extends
// its expiredTime by the period (ACTIONS.md §3.9); price computes the
// amount from the locked instance. Returns INVALID_INSTANCE_NOT_FOUND, the
// state's refusal, OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT for POSTPAID,
// or OPERATION_DENIED_BALANCE_INSUFFICIENT (nothing written).
func (db *DB) RenewInstance(ctx context.Context, teamID, id string, price func(*metalplane.Instance) (metalplane.Money, error)) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := db.checkBatchTx(ctx, tx, teamID, []string{id}, metalplane.OpRenew, "INVALID_INSTANCE_NOT_FOUND")
		if err != nil {
			return err
		}
		in := ins[0]
		if in.ChargeType != metalplane.ChargeTypePrepaid {
			return metalplane.Errorf("OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", "The instance %s is %s: only PREPAID instances are renewed.", in.ID, in.ChargeType)
		}
		amount, err := price(in)
		if err != nil {
			return err
		}
		if err := metalplane.CheckDebit("the renewal of "+in.ID, amount, 0); err != nil {
			return err
		}
		team, err := db.findTeamTx(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		if team.Balance < amount {
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "Renewing costs %s; the balance is %s.", amount, team.Balance)
		}
		base := in.ExpiredTime
		if base.IsZero() {
			base = in.CreateTime
		}
		expired := base.AddDate(0, in.Period, 0)
		if amount > 0 {
			// A free period writes no ledger row, as autoRenewTx: every
			// renewal row is a debit (Audit checks the signs).
			if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: in.TeamID, Amount: -amount, Kind: metalplane.LedgerRenewal,
				OrderNumber: in.OrderNumber, InstanceID: in.ID, Note: fmt.Sprintf("renewal of %s for %d months", in.ID, in.Period)}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET expired_time = $1 WHERE id = $2`, expired.Unix(), in.ID); err != nil {
			return fmt.Errorf("extend %s: %w", in.ID, err)
		}
		return db.addEventTx(ctx, tx, in.ID, "renewed", "", "", fmt.Sprintf("RenewInstance: %s debited, expires %s", amount, expired.Format("2006-01-02T15:04:05Z")))
	})
}

// RenameInstances sets the display name of the team's instances, all or
// none. Returns INVALID_INSTANCE_NOT_FOUND.
func (db *DB) RenameInstances(ctx context.Context, teamID string, ids []string, name string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := db.checkBatchTx(ctx, tx, teamID, ids, metalplane.OpModifyAttribute, "INVALID_INSTANCE_NOT_FOUND")
		if err != nil {
			return err
		}
		for _, in := range ins {
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET name = $1 WHERE id = $2`, name, in.ID); err != nil {
				return fmt.Errorf("rename %s: %w", in.ID, err)
			}
		}
		return nil
	})
}

// MoveInstancesToResourceGroup moves the team's instances into one of its
// resource groups, all or none. Returns
// OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND, then
// OPERATION_FAILED_RESOURCE_NOT_FOUND for an unknown instance.
func (db *DB) MoveInstancesToResourceGroup(ctx context.Context, teamID string, ids []string, groupID string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findResourceGroup(ctx, tx, teamID, groupID); err != nil {
			return err
		}
		ins, err := db.checkBatchTx(ctx, tx, teamID, ids, metalplane.OpModifyResourceGroup, "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		if err != nil {
			return err
		}
		for _, in := range ins {
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET resource_group_id = $1 WHERE id = $2`, groupID, in.ID); err != nil {
				return fmt.Errorf("move %s: %w", in.ID, err)
			}
		}
		return nil
	})
}

// The methods below are the workers' side of the lifecycle jobs. Each is
// one short transaction that only acts if the instance is still in the
// status the job expects, so a job that runs late, twice, or after the
// instance was terminated or released changes nothing.

// BeginLifecycleJob returns the live instance if its status is want, or
// nil when the job has nothing left to do.
func (db *DB) BeginLifecycleJob(ctx context.Context, instanceID string, want metalplane.InstanceStatus) (*metalplane.Instance, error) {
	in, err := scanInstance(db.SQL.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = $1 AND released = $2`, instanceID, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if in.Status != want {
		return nil, nil
	}
	return in, nil
}

// RecordEvent adds an event to the instance's history (kind, workflow
// step, driver that acted, detail).
func (db *DB) RecordEvent(ctx context.Context, instanceID, kind, step, driver, detail string) error {
	return db.addEventTx(ctx, db.SQL, instanceID, kind, step, driver, detail)
}

// FinishLifecycleJob moves the live instance from status from to status
// to, reporting the status it has afterwards: to on success, or whatever
// another action put it in meanwhile (then nothing changed). failure is
// "" on success, else the reason, recorded in the event and, for
// INSTALL_FAILED, in failure_reason.
func (db *DB) FinishLifecycleJob(ctx context.Context, instanceID string, from, to metalplane.InstanceStatus, step, driver, failure string) (metalplane.InstanceStatus, error) {
	var now metalplane.InstanceStatus
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM instances WHERE id = $1 AND released = $2`+db.forUpdate(), instanceID, false).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		now = metalplane.InstanceStatus(status)
		if now != from {
			return nil
		}
		now = to
		return db.finishLifecycleTx(ctx, tx, instanceID, from, to, step, driver, failure)
	})
	return now, err
}

// finishLifecycleTx moves an instance whose row the caller has locked, and
// found in status from, to status to (see FinishLifecycleJob).
func (db *DB) finishLifecycleTx(ctx context.Context, tx *sql.Tx, instanceID string, from, to metalplane.InstanceStatus, step, driver, failure string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET status = $1, failure_reason = $2 WHERE id = $3`, string(to), failure, instanceID); err != nil {
		return err
	}
	if from == metalplane.StatusInstalling {
		// The reinstall is over, whichever way.
		if err := db.forgetPasswordTx(ctx, tx, instanceID); err != nil {
			return err
		}
	}
	detail := fmt.Sprintf("%s → %s", from, to)
	if failure != "" {
		detail += ": " + failure
	}
	return db.addEventTx(ctx, tx, instanceID, "status", step, driver, detail)
}

// BeginReinstall returns an INSTALLING instance with its secrets and the
// last reinstall step done, or nil when there is nothing left to do.
func (db *DB) BeginReinstall(ctx context.Context, instanceID, driver string) (*ProvisionTarget, error) {
	var target *ProvisionTarget
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		var step int
		err := tx.QueryRowContext(ctx, `SELECT status, provision_step FROM instances WHERE id = $1 AND released = $2`+db.forUpdate(), instanceID, false).Scan(&status, &step)
		if errors.Is(err, sql.ErrNoRows) || err == nil && metalplane.InstanceStatus(status) != metalplane.StatusInstalling {
			return nil
		}
		if err != nil {
			return err
		}
		kind, detail := "reinstall", "started"
		if step > 0 {
			kind, detail = "resumed", fmt.Sprintf("resuming reinstall after step %d", step)
		}
		if err := db.addEventTx(ctx, tx, instanceID, kind, "", driver, detail); err != nil {
			return err
		}
		target, err = db.provisionTargetTx(ctx, tx, instanceID)
		return err
	})
	return target, err
}

// CompleteReinstallSteps records that steps of the reinstall are done,
// so a resumed job skips them; the password is forgotten with the record
// of the step named installStep, which installed the OS. Returns false if
// the instance is no longer INSTALLING.
func (db *DB) CompleteReinstallSteps(ctx context.Context, instanceID string, steps []StepDone, driver, installStep string) (bool, error) {
	return db.completeSteps(ctx, instanceID, metalplane.StatusInstalling, steps, driver, installStep)
}
