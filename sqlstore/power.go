package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/metalplane/metalplane"
)

// The power sync (provision/powersync.go) reads the power state of every
// host with a BMC and records here what it read, when the BMC last
// answered, and any drift between what it read and what the host's use
// implies. It records; it never switches a server on or off (an operator
// at the machine may have had a reason).

// Power states as the power sync records them.
const (
	PowerOn      = "on"
	PowerOff     = "off"
	PowerUnknown = "unknown"
)

// ExpectedPower is the power state a host should be in, "" when nothing
// can be said: a running instance's server is on; a stopped or recycled
// one's, or a free host, is off; hosts in maintenance, and instances on
// their way between states (a job is switching them) or failed, have no
// expectation.
func ExpectedPower(hostState string, status metalplane.InstanceStatus) string {
	switch hostState {
	case HostAvailable:
		return PowerOff
	case HostAllocated:
		switch status {
		case metalplane.StatusRunning:
			return PowerOn
		case metalplane.StatusStopped, metalplane.StatusRecycle:
			return PowerOff
		}
	}
	return ""
}

// PowerReading is one read of a host's power state.
type PowerReading struct {
	HostID string
	Driver string
	// Before is the host as it was listed before the read: the drift is
	// judged only if the host and its instance are still so afterwards
	// (a job that moved it meanwhile may have switched the power).
	Before Host
	// State is PowerOn, PowerOff or PowerUnknown; Err is set instead
	// when the BMC did not answer.
	State string
	Err   string
}

// RecordPowerReading records a power read: the state and time of contact,
// or the error; a host event when the BMC stops or starts answering, and
// when a drift appears or ends. It reports the drift now recorded.
func (db *DB) RecordPowerReading(ctx context.Context, r PowerReading) (drift string, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var state, instanceID, status, driver, oldDrift, oldErr string
		err := tx.QueryRowContext(ctx, `SELECT state, COALESCE(instance_id, ''), driver, power_drift, power_error FROM hosts WHERE id = $1`+db.forUpdate(), r.HostID).
			Scan(&state, &instanceID, &driver, &oldDrift, &oldErr)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		if instanceID != "" {
			if err := tx.QueryRowContext(ctx, `SELECT status FROM instances WHERE id = $1`, instanceID).Scan(&status); err != nil {
				return fmt.Errorf("read instance %s: %w", instanceID, err)
			}
		}
		drift = oldDrift
		if driver != r.Driver {
			return nil // re-enrolled on another driver meanwhile
		}
		if r.Err != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE hosts SET power_error = $1 WHERE id = $2`, r.Err, r.HostID); err != nil {
				return err
			}
			if oldErr == "" {
				return db.addHostEventTx(ctx, tx, r.HostID, HostEventBMCUnreachable, driver, r.Err)
			}
			return nil
		}
		if oldErr != "" {
			if err := db.addHostEventTx(ctx, tx, r.HostID, HostEventBMCAnswering, driver, "the BMC answers again (power "+r.State+")"); err != nil {
				return err
			}
		}
		unchanged := state == r.Before.State && instanceID == r.Before.InstanceID && metalplane.InstanceStatus(status) == r.Before.InstanceStatus
		want := ExpectedPower(state, metalplane.InstanceStatus(status))
		switch {
		case !unchanged || r.State == PowerUnknown:
			// Nothing to judge: keep what was found before.
		case want == "":
			drift = ""
		case r.State == want:
			if oldDrift != "" {
				if err := db.addHostEventTx(ctx, tx, r.HostID, HostEventPowerInLine, driver, fmt.Sprintf("power %s, as expected again (%s)", r.State, hostUse(state, instanceID, status))); err != nil {
					return err
				}
			}
			drift = ""
		default:
			drift = fmt.Sprintf("expected %s, read %s", want, r.State)
			if drift != oldDrift {
				if err := db.addHostEventTx(ctx, tx, r.HostID, HostEventPowerDrift, driver, drift+" ("+hostUse(state, instanceID, status)+")"); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE hosts SET power_state = $1, power_drift = $2, power_error = '', last_contact_at = $3 WHERE id = $4`,
			r.State, drift, db.Now().Unix(), r.HostID)
		return err
	})
	return drift, err
}

// hostUse says why a host should be on or off, for drift events.
func hostUse(state, instanceID, status string) string {
	if instanceID == "" {
		return "the host is " + state
	}
	return "instance " + instanceID + " is " + status
}
