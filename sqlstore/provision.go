package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// ProvisionTarget is what the provisioner needs to build an instance,
// secrets included. It never leaves the provisioner.
type ProvisionTarget struct {
	Instance *metalplane.Instance
	Step     int
	Password string
	SSHKeys  []string
	UserData string
	// PublicKeys are the key pair's keys when the instance has a keyId.
	PublicKeys string
}

// BeginProvision moves a PENDING instance to CREATING and returns it with
// its secrets and the last step done. done is true when there is nothing
// left to do (the instance finished or failed already, or was removed):
// the job must then end without touching anything.
func (db *DB) BeginProvision(ctx context.Context, instanceID, driver string) (target *ProvisionTarget, done bool, err error) {
	if db.Dialect == Postgres {
		return db.beginProvisionPostgres(ctx, instanceID, driver) // provision_pg.go
	}
	err = db.provisionTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		target, done = nil, false
		q := db.cached(tx)
		var status string
		var step int
		err := q.QueryRowContext(ctx, `SELECT status, provision_step FROM instances WHERE id = $1 AND released = $2`+db.forUpdate(), instanceID, false).
			Scan(&status, &step)
		if errors.Is(err, sql.ErrNoRows) {
			done = true
			return nil
		}
		if err != nil {
			return err
		}
		switch metalplane.InstanceStatus(status) {
		case metalplane.StatusPending:
			if _, err := q.ExecContext(ctx, `UPDATE instances SET status = $1 WHERE id = $2`, string(metalplane.StatusCreating), instanceID); err != nil {
				return err
			}
			if err := db.addEventTx(ctx, q, instanceID, "status", "", driver, "PENDING → CREATING"); err != nil {
				return err
			}
		case metalplane.StatusCreating:
			if err := db.addEventTx(ctx, q, instanceID, "resumed", "", driver, fmt.Sprintf("resuming after step %d", step)); err != nil {
				return err
			}
		default:
			done = true
			return nil
		}
		target, err = db.provisionTargetTx(ctx, tx, instanceID)
		return err
	})
	return target, done, err
}

// provisionTargetTx reads an instance with the secrets its installation
// needs (create and reinstall).
func (db *DB) provisionTargetTx(ctx context.Context, tx *sql.Tx, instanceID string) (*ProvisionTarget, error) {
	q := db.cached(tx)
	var password, sshKeys, userData string
	var step int
	if err := q.QueryRowContext(ctx, `SELECT provision_step, password, ssh_keys, user_data FROM instances WHERE id = $1`, instanceID).
		Scan(&step, &password, &sshKeys, &userData); err != nil {
		return nil, err
	}
	in, err := scanInstance(q.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = $1`, instanceID))
	if err != nil {
		return nil, err
	}
	return db.provisionTarget(ctx, q, in, step, password, sshKeys, userData)
}

// provisionTarget completes the target of instance in from its stored
// secrets, reading its key pair's keys with q.
func (db *DB) provisionTarget(ctx context.Context, q queryer, in *metalplane.Instance, step int, password, sshKeys, userData string) (*ProvisionTarget, error) {
	password, err := db.openSecret(password, instancePasswordContext(in.ID))
	if err != nil {
		return nil, err
	}
	target := &ProvisionTarget{Instance: in, Step: step, Password: password, UserData: userData}
	if sshKeys != "" {
		if err := json.Unmarshal([]byte(sshKeys), &target.SSHKeys); err != nil {
			return nil, fmt.Errorf("ssh_keys: %w", err)
		}
	}
	if in.KeyID != "" {
		// A key pair deleted since the purchase leaves nothing to install.
		err := q.QueryRowContext(ctx, `SELECT public_key FROM key_pairs WHERE id = $1`, in.KeyID).Scan(&target.PublicKeys)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return target, nil
}

// CompleteStep records that step n of the instance's provisioning is done,
// so a resumed job skips it. Returns false if the instance is no longer
// CREATING (another worker finished it). The password is kept until the
// provision ends (RUNNING or CREATE_FAILED), even once a step installed
// it: a host whose BMC fails a later step is replaced by another
// (QuarantineHost), on which the OS is installed again.
func (db *DB) CompleteStep(ctx context.Context, instanceID string, n int, stepName, driver string) (bool, error) {
	return db.CompleteSteps(ctx, instanceID, []StepDone{{N: n, Name: stepName, At: db.Now()}}, driver)
}

// readProvisionSQL reads an instance with its secrets and its host's
// access; the host's columns are renamed so that the instance's need no
// table name.
const readProvisionSQL = `SELECT h_id, h_zone_id, h_instance_type_id, h_driver, h_bmc_address, h_bmc_password, h_mac,
	provision_step, password, ssh_keys, user_data, ` + instanceColumns + `
	FROM instances JOIN (SELECT id AS h_id, zone_id AS h_zone_id, instance_type_id AS h_instance_type_id, driver AS h_driver,
		bmc_address AS h_bmc_address, bmc_password AS h_bmc_password, mac AS h_mac FROM hosts) h ON h.h_id = instances.host_id
	WHERE id = $1 AND released = $2`

// ReadProvision reads, in one query and without writing anything, what a
// provision job needs before its first step: the instance with its
// secrets, and its host's access (the driver). The start of a PENDING
// instance's provision is recorded later, with its first steps or its
// finish (StartStep). ErrNotFound means the instance was released or
// never existed.
func (db *DB) ReadProvision(ctx context.Context, instanceID string) (*HostAccess, *ProvisionTarget, error) {
	var h hostAccessRow
	var password, sshKeys, userData string
	var step int
	in, err := scanInstance(prefixScanner{db.readRow(ctx, readProvisionSQL, instanceID, false), append(h.dests(), &step, &password, &sshKeys, &userData)})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("instance %s: %w", instanceID, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the instance to provision %s: %w", instanceID, err)
	}
	a, err := db.openHostAccess(&h)
	if err != nil {
		return nil, nil, err
	}
	target, err := db.provisionTarget(ctx, readQueryer{db}, in, step, password, sshKeys, userData)
	return a, target, err
}

// FinishProvision moves a CREATING instance to RUNNING, with the records
// of the steps not recorded yet (CompleteSteps); PREPAID instances expire
// `period` months after creation. When steps begin with the start
// (StartStep), the instance must be PENDING instead, and its start is
// recorded with the finish: a provision is then one write.
func (db *DB) FinishProvision(ctx context.Context, instanceID, driver string, steps ...StepDone) error {
	if db.Dialect == Postgres {
		return db.finishProvisionPostgres(ctx, instanceID, nil, driver, steps) // provision_pg.go
	}
	return db.finishProvisionSQLite(ctx, instanceID, driver, steps)
}

// FinishProvisionOf is FinishProvision of instance in as the provision
// read it (ReadProvision, BeginProvision): its creation and period,
// which the expiry is computed from and which do not change while it is
// provisioned, are not read again.
func (db *DB) FinishProvisionOf(ctx context.Context, in *metalplane.Instance, driver string, steps ...StepDone) error {
	if db.Dialect == Postgres {
		return db.finishProvisionPostgres(ctx, in.ID, in, driver, steps) // provision_pg.go
	}
	return db.finishProvisionSQLite(ctx, in.ID, driver, steps)
}

func (db *DB) finishProvisionSQLite(ctx context.Context, instanceID, driver string, steps []StepDone) error {
	return db.provisionTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.finishSQLiteTx(ctx, tx, instanceID, driver, steps)
	})
}

// finishSQLiteTx is finishProvisionSQLite's transaction: the instance
// moves to RUNNING with the events of steps, from PENDING when they begin
// with the start (StartStep), else from CREATING.
func (db *DB) finishSQLiteTx(ctx context.Context, tx *sql.Tx, instanceID, driver string, steps []StepDone) error {
	start, steps := splitStart(steps)
	from := metalplane.StatusCreating
	if start != nil {
		from = metalplane.StatusPending
	}
	q := db.cached(tx)
	// Only what the finish needs: on SQLite's one writer every column
	// read is writer time (docs/performance.md).
	var status, chargeType string
	var period, recorded int
	var created int64
	err := q.QueryRowContext(ctx, `SELECT status, charge_type, period, create_time, provision_step FROM instances WHERE id = $1`+db.forUpdate(), instanceID).
		Scan(&status, &chargeType, &period, &created, &recorded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if metalplane.InstanceStatus(status) != from {
		return nil
	}
	var expired int64
	if chargeType == metalplane.ChargeTypePrepaid {
		expired = time.Unix(created, 0).UTC().AddDate(0, period, 0).Unix()
	}
	step := recorded
	if len(steps) > 0 {
		step = max(step, steps[len(steps)-1].N)
	}
	if _, err := q.ExecContext(ctx, `UPDATE instances SET status = $1, expired_time = $2, password = '', provision_step = $3 WHERE id = $4`,
		string(metalplane.StatusRunning), expired, step, instanceID); err != nil {
		return err
	}
	if start != nil {
		if _, err := q.ExecContext(ctx, addEventSQL, instanceID, start.At.UnixMilli(), "status", "", driver, startEvent); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
	}
	return db.addStepEventsTx(ctx, q, instanceID, driver, recorded, steps, "CREATING → RUNNING")
}

// FailProvision ends a provision in CREATE_FAILED: the host goes to
// maintenance (not back to stock), public and private IPs are freed, and a
// PREPAID charge is refunded exactly once.
func (db *DB) FailProvision(ctx context.Context, instanceID, step, driver, reason string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		in, err := db.lockLiveInstanceTx(ctx, tx, instanceID)
		if err != nil || in == nil {
			return err
		}
		return db.failProvisionTx(ctx, tx, in, step, driver, reason)
	})
}

// FailProvisionKeepHost ends a provision in CREATE_FAILED as
// FailProvision does, for a failure the host is not to blame for (a
// damaged image): the host goes back to stock instead of maintenance.
func (db *DB) FailProvisionKeepHost(ctx context.Context, instanceID, step, driver, reason string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		in, err := db.lockLiveInstanceTx(ctx, tx, instanceID)
		if err != nil || in == nil {
			return err
		}
		return db.failProvisionHostTx(ctx, tx, in, step, driver, reason, HostAvailable)
	})
}

// failProvisionTx is FailProvision on an instance whose row the caller
// has locked; it does nothing unless the instance is PENDING or CREATING.
func (db *DB) failProvisionTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance, step, driver, reason string) error {
	return db.failProvisionHostTx(ctx, tx, in, step, driver, reason, HostMaintenance)
}

// failProvisionHostTx is failProvisionTx leaving the host in hostState.
func (db *DB) failProvisionHostTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance, step, driver, reason, hostState string) error {
	if in.Status != metalplane.StatusCreating && in.Status != metalplane.StatusPending {
		return nil
	}
	now := db.Now().Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET status = $1, failure_reason = $2, public_ipv4 = '', public_ipv6 = '', private_ip = '', password = '' WHERE id = $3`,
		string(metalplane.StatusCreateFailed), reason, in.ID); err != nil {
		return err
	}
	note := fmt.Sprintf("provision of %s failed at %s: %s", in.ID, step, reason)
	hostNote := note
	if hostState == HostAvailable {
		hostNote = ""
	}
	res, err := tx.ExecContext(ctx, `UPDATE hosts SET state = $1, instance_id = NULL, note = $2, updated_at = $3 WHERE id = $4 AND instance_id = $5`,
		hostState, hostNote, now, in.HostID, in.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := db.addHostEventTx(ctx, tx, in.HostID, HostEventProvisionFailed, driver, note); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET instance_id = NULL WHERE instance_id = $1`, in.ID); err != nil {
		return err
	}
	if err := db.refundOnceTx(ctx, tx, in); err != nil {
		return err
	}
	return db.addEventTx(ctx, tx, in.ID, "status", step, driver, fmt.Sprintf("%s → %s: %s", in.Status, metalplane.StatusCreateFailed, reason))
}

// Quarantine is a provision whose host's BMC failed a step after the
// retries.
type Quarantine struct {
	InstanceID string
	Step       string
	Driver     string
	Reason     string
}

// QuarantineHost takes the host of a provision whose BMC kept failing out
// of service (maintenance, with the reason in its events) and moves the
// provision to another free host of the same zone and type, from its
// first step, with a new job enqueued on the same transaction; the
// instance keeps its id, addresses and status (the swap is an event only
// operators see). With no other host free, the provision fails as
// FailProvision does (CREATE_FAILED, refunded). It returns the new host,
// "" when it failed or when the instance is no longer being provisioned.
func (db *DB) QuarantineHost(ctx context.Context, q Quarantine, enqueue EnqueueFunc) (string, error) {
	var next string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		next = ""
		in, err := db.lockLiveInstanceTx(ctx, tx, q.InstanceID)
		if err != nil || in == nil {
			return err
		}
		if in.Status != metalplane.StatusCreating && in.Status != metalplane.StatusPending {
			return nil
		}
		why := fmt.Sprintf("its BMC failed step %s of the provision of %s after the retries: %s", q.Step, in.ID, q.Reason)
		free, err := queryStrings(ctx, tx, db.pickHostsSQL("AND id <> $4 "), in.ZoneID, in.InstanceTypeID, 1, in.HostID)
		if err != nil {
			return fmt.Errorf("pick another host: %w", err)
		}
		if len(free) == 0 {
			if err := db.addHostEventTx(ctx, tx, in.HostID, HostEventQuarantined, q.Driver, why+"; no other host was free"); err != nil {
				return err
			}
			return db.failProvisionTx(ctx, tx, in, q.Step, q.Driver, q.Reason+" (no other host of the offer was free)")
		}
		next = free[0]
		now := db.Now().Unix()
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET state = $1, instance_id = NULL, note = $2, updated_at = $3 WHERE id = $4 AND instance_id = $5`,
			HostMaintenance, "quarantined: "+why, now, in.HostID, in.ID); err != nil {
			return fmt.Errorf("quarantine host %s: %w", in.HostID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET state = $1, instance_id = $2, updated_at = $3 WHERE id = $4`, HostAllocated, in.ID, now, next); err != nil {
			return fmt.Errorf("allocate host %s: %w", next, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET host_id = $1, provision_step = 0 WHERE id = $2`, next, in.ID); err != nil {
			return fmt.Errorf("move %s to host %s: %w", in.ID, next, err)
		}
		if err := db.addHostEventTx(ctx, tx, in.HostID, HostEventQuarantined, q.Driver, why+"; the provision moved to host "+next); err != nil {
			return err
		}
		if err := db.addHostEventTx(ctx, tx, next, HostEventAllocated, "", "instance "+in.ID+", moved from quarantined host "+in.HostID); err != nil {
			return err
		}
		if err := db.addEventTx(ctx, tx, in.ID, "host-swap", q.Step, q.Driver,
			fmt.Sprintf("host %s quarantined after the retries (%s); provisioning again on host %s", in.HostID, q.Reason, next)); err != nil {
			return err
		}
		if enqueue == nil {
			return errors.New("move a provision to another host: no enqueue function")
		}
		return enqueue(ctx, tx, []string{in.ID})
	})
	return next, err
}

// FaultMode is how an injected fault shows.
type FaultMode string

// Fault modes.
const (
	// FaultFail makes the step fail permanently: the provision ends in
	// CREATE_FAILED.
	FaultFail FaultMode = "fail"
	// FaultHang makes the step block until its timeout; the job is then
	// retried, so the instance still ends RUNNING.
	FaultHang FaultMode = "hang"
)

// ParseFaultMode accepts "fail" and "hang".
func ParseFaultMode(s string) (FaultMode, error) {
	switch m := FaultMode(s); m {
	case FaultFail, FaultHang:
		return m, nil
	}
	return "", fmt.Errorf("fault mode %q: want fail or hang", s)
}

// Fault is an injected provisioning failure: the next Remaining provisions
// in ZoneID of InstanceTypeID (empty = any) fail (or hang) at Step.
type Fault struct {
	ID             int64
	ZoneID         string
	InstanceTypeID string
	Step           string
	Mode           FaultMode
	Remaining      int
}

// InjectFault adds a fault for the sim driver.
func (db *DB) InjectFault(ctx context.Context, f Fault) error {
	if f.Mode == "" {
		f.Mode = FaultFail
	}
	if f.Remaining < 1 {
		return fmt.Errorf("fault count must be at least 1, got %d", f.Remaining)
	}
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO fault_injections (zone_id, instance_type_id, step, mode, remaining) VALUES ($1, $2, $3, $4, $5)`,
		f.ZoneID, f.InstanceTypeID, f.Step, string(f.Mode), f.Remaining)
	return err
}

// Faults lists the injected faults, used up ones included.
func (db *DB) Faults(ctx context.Context) ([]Fault, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, zone_id, instance_type_id, step, mode, remaining FROM fault_injections ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Fault
	for rows.Next() {
		var f Fault
		if err := rows.Scan(&f.ID, &f.ZoneID, &f.InstanceTypeID, &f.Step, &f.Mode, &f.Remaining); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// AnyFault reports whether a fault waits for steps in zoneID of
// instanceTypeID (an empty zone or type in the fault matches any).
func (db *DB) AnyFault(ctx context.Context, zoneID, instanceTypeID string) (bool, error) {
	var found int
	err := db.readRow(ctx, `SELECT 1 FROM fault_injections WHERE remaining > 0 AND (zone_id = '' OR zone_id = $1) AND (instance_type_id = '' OR instance_type_id = $2) LIMIT 1`,
		zoneID, instanceTypeID).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// TakeFault consumes one matching fault and returns its mode, or "" when
// the step must simply succeed. Several workers never consume the same
// unit twice.
func (db *DB) TakeFault(ctx context.Context, zoneID, instanceTypeID, step string) (FaultMode, error) {
	// Almost always there is none: look without a write transaction
	// first, which on SQLite would queue for the one writing connection
	// once per step of every provision.
	var found int
	err := db.readRow(ctx, `SELECT 1 FROM fault_injections WHERE remaining > 0 AND step = $1 AND (zone_id = '' OR zone_id = $2) AND (instance_type_id = '' OR instance_type_id = $3) LIMIT 1`,
		step, zoneID, instanceTypeID).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var mode FaultMode
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		var m string
		err := tx.QueryRowContext(ctx, `SELECT id, mode FROM fault_injections WHERE remaining > 0 AND step = $1 AND (zone_id = '' OR zone_id = $2) AND (instance_type_id = '' OR instance_type_id = $3) ORDER BY id LIMIT 1`+db.forUpdate(),
			step, zoneID, instanceTypeID).Scan(&id, &m)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		mode = FaultMode(m)
		_, err = tx.ExecContext(ctx, `UPDATE fault_injections SET remaining = remaining - 1 WHERE id = $1`, id)
		return err
	})
	return mode, err
}
