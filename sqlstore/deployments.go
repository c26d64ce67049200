package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A deployment is one network installation of a server (netboot package,
// docs/hardware.md "Network boot"): the worker that provisions an
// instance starts one and waits for it to end; the provisioning listener
// hands the server its iPXE script, its task and its metadata, and records
// the agent's reports. Rows move waiting → booted → done or failed; a
// newer deployment of the same host cancels the older ones still active.

// Deployment states.
const (
	DeployWaiting   = "waiting"   // started; the server has not fetched its script yet
	DeployBooted    = "booted"    // the script was fetched with a token
	DeployDone      = "done"      // the agent reported the end of its work
	DeployFailed    = "failed"    // the agent reported a failure
	DeployCancelled = "cancelled" // replaced by a newer one, or given up
)

// Deployment modes.
const (
	DeployModeImage = "image" // the agent writes an image and a seed
	DeployModeIPXE  = "ipxe"  // the script chains to the tenant's ipxeUrl
)

// DeployTask is what a deployment installs. It is stored sealed: the user
// data may hold secrets, and the password is there as a crypt hash only.
type DeployTask struct {
	InstanceID string `json:"instanceId"`
	Hostname   string `json:"hostname"`
	// PasswordHash is the password as a SHA-512 crypt hash ($6$...), ""
	// when none was given.
	PasswordHash string   `json:"passwordHash,omitempty"`
	PublicKeys   []string `json:"publicKeys,omitempty"`
	UserData     string   `json:"userData,omitempty"`
	IpxeURL      string   `json:"ipxeUrl,omitempty"`
	ImageID      string   `json:"imageId,omitempty"`
	ImageSource  string   `json:"imageSource,omitempty"`
	ImageSHA256  string   `json:"imageSha256,omitempty"`
	ImageFormat  string   `json:"imageFormat,omitempty"`
	// Addresses of the instance, for the network-config.
	PublicIPv4 string `json:"publicIpv4,omitempty"`
	PublicIPv6 string `json:"publicIpv6,omitempty"`
	PrivateIP  string `json:"privateIp,omitempty"`
}

// Deployment is one row of deployments, its task opened.
type Deployment struct {
	ID         string
	InstanceID string
	HostID     string
	MAC        string
	Mode       string
	State      string
	Step       string
	Bytes      int64
	FailCode   string
	Detail     string
	Task       DeployTask
}

func deploymentTaskContext(id string) string { return "deployments.task:" + id }

const deploymentColumns = `id, instance_id, host_id, mac, mode, state, step, bytes, fail_code, detail, task`

func (db *DB) scanDeployment(row interface{ Scan(...any) error }) (*Deployment, error) {
	var d Deployment
	var task string
	if err := row.Scan(&d.ID, &d.InstanceID, &d.HostID, &d.MAC, &d.Mode, &d.State, &d.Step, &d.Bytes, &d.FailCode, &d.Detail, &task); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	plain, err := db.openSecret(task, deploymentTaskContext(d.ID))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(plain), &d.Task); err != nil {
		return nil, fmt.Errorf("deployment %s task: %w", d.ID, err)
	}
	return &d, nil
}

// StartDeployment records a new deployment, waiting for its server to
// boot, cancels the host's earlier ones still active (a retried step's),
// and kills the tokens of all its earlier ones.
func (db *DB) StartDeployment(ctx context.Context, d *Deployment) error {
	task, err := json.Marshal(d.Task)
	if err != nil {
		return err
	}
	sealed, err := db.sealSecret(string(task), deploymentTaskContext(d.ID))
	if err != nil {
		return err
	}
	now := db.Now().Unix()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET state = $1, token_hash = '', updated_at = $2 WHERE host_id = $3 AND state IN ($4, $5)`,
			DeployCancelled, now, d.HostID, DeployWaiting, DeployBooted); err != nil {
			return err
		}
		// The metadata of the host's earlier installations, perhaps
		// another tenant's, is no longer served to anyone.
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET token_hash = '' WHERE host_id = $1 AND token_hash <> ''`, d.HostID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployments (id, instance_id, host_id, mac, mode, task, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			d.ID, d.InstanceID, d.HostID, strings.ToLower(d.MAC), d.Mode, sealed, DeployWaiting, now); err != nil {
			return fmt.Errorf("start deployment: %w", err)
		}
		d.State = DeployWaiting
		return db.addEventTx(ctx, tx, d.InstanceID, "deploy", "install_os", "netboot", "waiting for the server to boot from the network ("+d.Mode+")")
	})
}

// BootDeployment hands the server with this MAC its active deployment and
// binds it to a new token (its hash given), which replaces any earlier
// one; ErrNotFound when the server has nothing to boot. An ipxe
// deployment is done once its script is served.
func (db *DB) BootDeployment(ctx context.Context, mac, tokenHash string) (*Deployment, error) {
	var d *Deployment
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = db.scanDeployment(tx.QueryRowContext(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE mac = $1 AND state IN ($2, $3)`+db.forUpdate(),
			strings.ToLower(mac), DeployWaiting, DeployBooted))
		if err != nil {
			return err
		}
		state := DeployBooted
		if d.Mode == DeployModeIPXE {
			state = DeployDone
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET state = $1, token_hash = $2, updated_at = $3 WHERE id = $4`,
			state, tokenHash, db.Now().Unix(), d.ID); err != nil {
			return err
		}
		d.State = state
		return db.addEventTx(ctx, tx, d.InstanceID, "deploy", "install_os", "netboot", "the server fetched its iPXE script")
	})
	return d, err
}

// DeploymentByToken returns the deployment a token is bound to while it
// is the instance's current one (booted, done or failed, and not
// replaced); ErrNotFound otherwise.
func (db *DB) DeploymentByToken(ctx context.Context, tokenHash string) (*Deployment, error) {
	if tokenHash == "" {
		return nil, ErrNotFound
	}
	return db.scanDeployment(db.SQL.QueryRowContext(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE token_hash = $1 AND state IN ($2, $3, $4)`,
		tokenHash, DeployBooted, DeployDone, DeployFailed))
}

// Deployment returns a deployment by id.
func (db *DB) Deployment(ctx context.Context, id string) (*Deployment, error) {
	return db.scanDeployment(db.SQL.QueryRowContext(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = $1`, id))
}

// DeployReport is one report of the agent.
type DeployReport struct {
	Step  string
	Bytes int64
	// Done ends the deployment; with FailCode set it ended in failure.
	Done     bool
	FailCode string
	Detail   string
}

// ReportDeployment records a report of the agent of a booted deployment,
// as an instance event; ErrNotFound when the token's deployment is not
// booted (ended, or replaced).
func (db *DB) ReportDeployment(ctx context.Context, tokenHash string, r DeployReport) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id, instanceID string
		err := tx.QueryRowContext(ctx, `SELECT id, instance_id FROM deployments WHERE token_hash = $1 AND state = $2`+db.forUpdate(), tokenHash, DeployBooted).
			Scan(&id, &instanceID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		state := DeployBooted
		switch {
		case r.Done && r.FailCode != "":
			state = DeployFailed
		case r.Done:
			state = DeployDone
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET state = $1, step = $2, bytes = $3, fail_code = $4, detail = $5, updated_at = $6 WHERE id = $7`,
			state, r.Step, r.Bytes, r.FailCode, r.Detail, db.Now().Unix(), id); err != nil {
			return err
		}
		detail := fmt.Sprintf("agent: %s, %d bytes written", r.Step, r.Bytes)
		if r.FailCode != "" {
			detail += fmt.Sprintf(", failed (%s): %s", r.FailCode, r.Detail)
		} else if r.Detail != "" {
			detail += ": " + r.Detail
		}
		return db.addEventTx(ctx, tx, instanceID, "deploy", "install_os", "agent", detail)
	})
}

// CancelDeployment ends a deployment that is still active (the worker
// gave up waiting); its token stops working.
func (db *DB) CancelDeployment(ctx context.Context, id string) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE deployments SET state = $1, token_hash = '', updated_at = $2 WHERE id = $3 AND state IN ($4, $5)`,
		DeployCancelled, db.Now().Unix(), id, DeployWaiting, DeployBooted)
	return err
}
