package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// Enrolled hosts (docs/hardware.md): a host carries the driver that powers
// it and its BMC's address; its BMC password is sealed with the secret key
// like every other secret (secrets.go), opened only for the driver, and
// never returned by FindHosts. Hosts are listed one by one in the catalog
// (SyncCatalogHosts) or enrolled on a live database (EnrollHost), and what
// happens to them is recorded in host_events, which only operators read.

// Who manages a host row (hosts.source).
const (
	// HostSourceOffer: one of an offer's simulated hosts (SyncCatalog).
	HostSourceOffer = "offer"
	// HostSourceCatalog: listed one by one in the catalog file.
	HostSourceCatalog = "catalog"
	// HostSourceAdmin: enrolled with `metalplane admin hosts enroll`.
	HostSourceAdmin = "admin"
)

// DriverSim is the driver of simulated hosts, which have no BMC.
const DriverSim = "sim"

// Kinds of host events.
const (
	HostEventEnrolled    = "enrolled"
	HostEventUpdated     = "updated"
	HostEventRetired     = "retired"
	HostEventRemoved     = "removed"
	HostEventMaintenance = "maintenance"
	// HostEventQuarantined: its BMC failed a provisioning step after the
	// retries; the host went to maintenance.
	HostEventQuarantined = "quarantined"
	// HostEventProvisionFailed: a provision on it failed for good; the
	// host went to maintenance.
	HostEventProvisionFailed = "provision-failed"
	HostEventAllocated       = "allocated"
	// HostEventBMCFailed: a power job's BMC calls failed after the
	// retries.
	HostEventBMCFailed      = "bmc-failed"
	HostEventBMCUnreachable = "bmc-unreachable"
	HostEventBMCAnswering   = "bmc-answering"
	HostEventPowerDrift     = "power-drift"
	HostEventPowerInLine    = "power-in-line"
)

func hostPasswordContext(id string) string { return "hosts.bmc_password:" + id }

// HostEnrollment is a host with its BMC, as the catalog lists it or an
// operator enrolls it. Password is the BMC password in the clear; it is
// sealed before it is written.
type HostEnrollment struct {
	ID             string
	ZoneID         string
	InstanceTypeID string
	// Driver is DriverSim (BMCAddress empty) or a BMC driver's name
	// (BMCAddress its canonical address, without password).
	Driver     string
	BMCAddress string
	MAC        string
	// Password is the BMC password; "" leaves the stored one (catalog
	// sync) or stores none (enrolment).
	Password string
}

func (h HostEnrollment) check() error {
	if err := metalplane.CheckHostID(h.ID); err != nil {
		return fmt.Errorf("host %q: %w", h.ID, err)
	}
	switch {
	case h.ZoneID == "" || h.InstanceTypeID == "":
		return fmt.Errorf("host %s: a zone and an instance type are required", h.ID)
	case h.Driver == "":
		return fmt.Errorf("host %s: no driver", h.ID)
	case h.Driver == DriverSim && (h.BMCAddress != "" || h.Password != ""):
		return fmt.Errorf("host %s: a simulated host has no BMC", h.ID)
	case h.Driver != DriverSim && h.BMCAddress == "":
		return fmt.Errorf("host %s: driver %s needs a BMC address", h.ID, h.Driver)
	}
	return nil
}

// HostEvent is one recorded event of a host.
type HostEvent struct {
	HostID string
	At     time.Time
	Kind   string
	Driver string
	Detail string
}

func (db *DB) addHostEventTx(ctx context.Context, q queryer, hostID, kind, driver, detail string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO host_events (host_id, at_ms, kind, driver, detail) VALUES ($1, $2, $3, $4, $5)`,
		hostID, db.Now().UnixMilli(), kind, driver, detail); err != nil {
		return fmt.Errorf("record host event: %w", err)
	}
	return nil
}

// AddHostEvent records an event of a host.
func (db *DB) AddHostEvent(ctx context.Context, hostID, kind, driver, detail string) error {
	return db.addHostEventTx(ctx, db.SQL, hostID, kind, driver, detail)
}

// HostEvents returns the history of a host, oldest first.
func (db *DB) HostEvents(ctx context.Context, hostID string) ([]HostEvent, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT host_id, at_ms, kind, driver, detail FROM host_events WHERE host_id = $1 ORDER BY id`, hostID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HostEvent
	for rows.Next() {
		var e HostEvent
		var at int64
		if err := rows.Scan(&e.HostID, &at, &e.Kind, &e.Driver, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// hostRecord is a host row as enrolment reads it under its lock.
type hostRecord struct {
	id, zoneID, typeID, state, instanceID, source, driver, address, mac, password string
}

func (db *DB) lockHostTx(ctx context.Context, tx *sql.Tx, id string) (*hostRecord, error) {
	var h hostRecord
	err := tx.QueryRowContext(ctx, `SELECT id, zone_id, instance_type_id, state, COALESCE(instance_id, ''), source, driver, bmc_address, mac, bmc_password
		FROM hosts WHERE id = $1`+db.forUpdate(), id).
		Scan(&h.id, &h.zoneID, &h.typeID, &h.state, &h.instanceID, &h.source, &h.driver, &h.address, &h.mac, &h.password)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read host %s: %w", id, err)
	}
	return &h, nil
}

// checkUniqueBMCTx refuses an address or MAC that another host has: the
// two rows would be one server, and powering off one would power off the
// other's instance. (The unique indexes of migration 0016 are the net
// under this check; this one says which host.)
func (db *DB) checkUniqueBMCTx(ctx context.Context, tx *sql.Tx, id, address, mac string) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM hosts WHERE id <> $1 AND (($2 <> '' AND bmc_address = $2) OR ($3 <> '' AND mac = $3)) ORDER BY id LIMIT 1`,
		id, address, mac).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("host %s: its BMC address or MAC is host %s's already", id, other)
}

// sealHostPassword seals a host's BMC password ("" stays "").
func (db *DB) sealHostPassword(id, password string) (string, error) {
	return db.sealSecret(password, hostPasswordContext(id))
}

// EnrollHost adds a host (an operator's `admin hosts enroll`): available
// at once, managed by operators (a catalog sync leaves it alone). It
// fails if the id exists, or if another host has the same BMC or MAC.
func (db *DB) EnrollHost(ctx context.Context, h HostEnrollment) error {
	if err := h.check(); err != nil {
		return err
	}
	sealed, err := db.sealHostPassword(h.ID, h.Password)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if existing, err := db.lockHostTx(ctx, tx, h.ID); err != nil {
			return err
		} else if existing != nil {
			return fmt.Errorf("host %s exists already (%s, from the %s): use update", h.ID, existing.state, existing.source)
		}
		if err := db.checkUniqueBMCTx(ctx, tx, h.ID, h.BMCAddress, h.MAC); err != nil {
			return err
		}
		if err := db.insertHostTx(ctx, tx, h, HostSourceAdmin, sealed); err != nil {
			return err
		}
		return db.addHostEventTx(ctx, tx, h.ID, HostEventEnrolled, h.Driver, describeEnrollment(h, "by an operator"))
	})
}

func (db *DB) insertHostTx(ctx context.Context, tx *sql.Tx, h HostEnrollment, source, sealedPassword string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO hosts (id, zone_id, instance_type_id, state, instance_id, note, updated_at, source, driver, bmc_address, bmc_password, mac)
		VALUES ($1, $2, $3, $4, NULL, '', $5, $6, $7, $8, $9, $10)`,
		h.ID, h.ZoneID, h.InstanceTypeID, HostAvailable, db.Now().Unix(), source, h.Driver, h.BMCAddress, sealedPassword, h.MAC)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("host %s: its id, BMC address or MAC is another host's already", h.ID)
		}
		return fmt.Errorf("insert host %s: %w", h.ID, err)
	}
	return nil
}

func describeEnrollment(h HostEnrollment, by string) string {
	parts := []string{fmt.Sprintf("%s %s %s", by, h.ZoneID, h.InstanceTypeID), "driver " + h.Driver}
	if h.BMCAddress != "" {
		parts = append(parts, "bmc "+h.BMCAddress)
	}
	if h.MAC != "" {
		parts = append(parts, "mac "+h.MAC)
	}
	if h.Password != "" {
		parts = append(parts, "password stored")
	}
	return strings.Join(parts, ", ")
}

// HostUpdate changes an enrolled host; nil fields stay as they are.
type HostUpdate struct {
	// Driver and BMCAddress change together (the address says the driver).
	Driver     *string
	BMCAddress *string
	MAC        *string
	// Password replaces the stored BMC password ("" deletes it).
	Password *string
}

// UpdateHost changes an enrolled host (`admin hosts update`) and returns
// what changed, in words (never the password). Hosts of the catalog file
// are changed there, not here: the next start would undo it.
func (db *DB) UpdateHost(ctx context.Context, id string, u HostUpdate) ([]string, error) {
	var changed []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		changed = nil
		h, err := db.lockHostTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if h == nil {
			return fmt.Errorf("host %q: %w", id, ErrNotFound)
		}
		if h.source != HostSourceAdmin {
			return fmt.Errorf("host %s comes from the catalog file (%s): change it there", id, h.source)
		}
		next := HostEnrollment{ID: h.id, ZoneID: h.zoneID, InstanceTypeID: h.typeID, Driver: h.driver, BMCAddress: h.address, MAC: h.mac}
		if u.Driver != nil && u.BMCAddress != nil && (*u.Driver != h.driver || *u.BMCAddress != h.address) {
			next.Driver, next.BMCAddress = *u.Driver, *u.BMCAddress
			changed = append(changed, "bmc "+describeBMC(next.Driver, next.BMCAddress))
		}
		if u.MAC != nil && *u.MAC != h.mac {
			next.MAC = *u.MAC
			changed = append(changed, "mac "+dashIfEmpty(next.MAC))
		}
		sealed := h.password
		if u.Password != nil {
			if sealed, err = db.sealHostPassword(id, *u.Password); err != nil {
				return err
			}
			changed = append(changed, "password replaced")
			if *u.Password == "" {
				changed[len(changed)-1] = "password deleted"
			}
		}
		if len(changed) == 0 {
			return nil
		}
		if next.Driver == DriverSim && sealed != "" {
			return fmt.Errorf("host %s: a simulated host has no BMC password", id)
		}
		if err := next.check(); err != nil {
			return err
		}
		if err := db.checkUniqueBMCTx(ctx, tx, id, next.BMCAddress, next.MAC); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET driver = $1, bmc_address = $2, mac = $3, bmc_password = $4, updated_at = $5,
			power_state = CASE WHEN bmc_address = $2 THEN power_state ELSE '' END,
			power_drift = CASE WHEN bmc_address = $2 THEN power_drift ELSE '' END,
			power_error = CASE WHEN bmc_address = $2 THEN power_error ELSE '' END,
			last_contact_at = CASE WHEN bmc_address = $2 THEN last_contact_at ELSE 0 END
			WHERE id = $6`,
			next.Driver, next.BMCAddress, next.MAC, sealed, db.Now().Unix(), id); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("host %s: its BMC address or MAC is another host's already", id)
			}
			return fmt.Errorf("update host %s: %w", id, err)
		}
		return db.addHostEventTx(ctx, tx, id, HostEventUpdated, next.Driver, "by an operator: "+strings.Join(changed, ", "))
	})
	return changed, err
}

func describeBMC(driver, address string) string {
	if address == "" {
		return driver
	}
	return address
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RemoveHost deletes an enrolled host (`admin hosts remove`); its events
// stay. A host that holds an instance cannot be removed, nor a host of
// the catalog file (remove it there).
func (db *DB) RemoveHost(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		h, err := db.lockHostTx(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case h == nil:
			return fmt.Errorf("host %q: %w", id, ErrNotFound)
		case h.instanceID != "":
			return fmt.Errorf("host %s holds instance %s: it can be removed once the instance is released", id, h.instanceID)
		case h.source != HostSourceAdmin:
			return fmt.Errorf("host %s comes from the catalog file (%s): remove it there", id, h.source)
		}
		var live string
		err = tx.QueryRowContext(ctx, `SELECT id FROM instances WHERE host_id = $1 AND released = $2 AND status NOT IN ($3) LIMIT 1`,
			id, false, string(metalplane.StatusCreateFailed)).Scan(&live)
		if err == nil {
			return fmt.Errorf("host %s is the host of instance %s: it can be removed once the instance is released", id, live)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM hosts WHERE id = $1`, id); err != nil {
			return fmt.Errorf("remove host %s: %w", id, err)
		}
		return db.addHostEventTx(ctx, tx, id, HostEventRemoved, h.driver, "by an operator (was "+h.state+")")
	})
}

// SyncCatalogHosts brings the hosts listed in the catalog into the
// database in one transaction: new ones are added, changed ones updated
// (a password is replaced only when one is given and differs), ones no
// longer listed are retired when free. A listed host that an operator had
// enrolled becomes the catalog's. It refuses to move a host that holds an
// instance to another zone or type.
func (db *DB) SyncCatalogHosts(ctx context.Context, hosts []HostEnrollment) error {
	for _, h := range hosts {
		if err := h.check(); err != nil {
			return err
		}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockTx(ctx, tx, catalogSyncLock); err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, h := range hosts {
			listed[h.ID] = true
			if err := db.syncCatalogHostTx(ctx, tx, h); err != nil {
				return err
			}
		}
		// source written out: the partial index hosts_listed (migration
		// 0036) is picked only for its own condition.
		rows, err := tx.QueryContext(ctx, `SELECT id FROM hosts WHERE source = '`+HostSourceCatalog+`' AND state = $1 ORDER BY id`, HostAvailable)
		if err != nil {
			return err
		}
		var unlisted []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			if !listed[id] {
				unlisted = append(unlisted, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range unlisted {
			if _, err := tx.ExecContext(ctx, `UPDATE hosts SET state = $1, note = $2, updated_at = $3 WHERE id = $4`, HostRetired, "removed from the catalog", db.Now().Unix(), id); err != nil {
				return err
			}
			if err := db.addHostEventTx(ctx, tx, id, HostEventRetired, "", "no longer listed in the catalog"); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) syncCatalogHostTx(ctx context.Context, tx *sql.Tx, h HostEnrollment) error {
	if err := db.checkUniqueBMCTx(ctx, tx, h.ID, h.BMCAddress, h.MAC); err != nil {
		return err
	}
	old, err := db.lockHostTx(ctx, tx, h.ID)
	if err != nil {
		return err
	}
	if old == nil {
		sealed, err := db.sealHostPassword(h.ID, h.Password)
		if err != nil {
			return err
		}
		if err := db.insertHostTx(ctx, tx, h, HostSourceCatalog, sealed); err != nil {
			return err
		}
		return db.addHostEventTx(ctx, tx, h.ID, HostEventEnrolled, h.Driver, describeEnrollment(h, "from the catalog:"))
	}
	if old.source == HostSourceOffer {
		return fmt.Errorf("host %s: the id of a simulated host of an offer; choose another", h.ID)
	}
	var changed []string
	if old.source != HostSourceCatalog {
		changed = append(changed, "now managed by the catalog file")
	}
	if old.zoneID != h.ZoneID || old.typeID != h.InstanceTypeID {
		if old.instanceID != "" {
			return fmt.Errorf("host %s holds instance %s: it cannot move from %s %s to %s %s", h.ID, old.instanceID, old.zoneID, old.typeID, h.ZoneID, h.InstanceTypeID)
		}
		changed = append(changed, fmt.Sprintf("moved to %s %s", h.ZoneID, h.InstanceTypeID))
	}
	if old.driver != h.Driver || old.address != h.BMCAddress {
		changed = append(changed, "bmc "+describeBMC(h.Driver, h.BMCAddress))
	}
	if old.mac != h.MAC {
		changed = append(changed, "mac "+dashIfEmpty(h.MAC))
	}
	sealed := old.password
	if h.Password != "" {
		current, err := db.openSecret(old.password, hostPasswordContext(h.ID))
		if err != nil {
			return err
		}
		if current != h.Password {
			if sealed, err = db.sealHostPassword(h.ID, h.Password); err != nil {
				return err
			}
			changed = append(changed, "password replaced")
		}
	}
	state := old.state
	if state == HostRetired && old.instanceID == "" {
		state = HostAvailable
		changed = append(changed, "listed again")
	}
	if len(changed) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE hosts SET zone_id = $1, instance_type_id = $2, driver = $3, bmc_address = $4, mac = $5, bmc_password = $6,
		source = $7, state = $8, note = CASE WHEN $8 = state THEN note ELSE '' END, updated_at = $9 WHERE id = $10`,
		h.ZoneID, h.InstanceTypeID, h.Driver, h.BMCAddress, h.MAC, sealed, HostSourceCatalog, state, db.Now().Unix(), h.ID); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("host %s: its BMC address or MAC is another host's already", h.ID)
		}
		return fmt.Errorf("update host %s: %w", h.ID, err)
	}
	return db.addHostEventTx(ctx, tx, h.ID, HostEventUpdated, h.Driver, "from the catalog: "+strings.Join(changed, ", "))
}

// HostAccess is what a driver needs to reach a host's BMC, password
// included. It never leaves the provisioner.
type HostAccess struct {
	ID             string
	ZoneID         string
	InstanceTypeID string
	Driver         string
	BMCAddress     string
	Password       string
	// MAC is the provisioning NIC's, lower case, "" when not enrolled:
	// network installation finds the server's iPXE script by it.
	MAC string
	// Fingerprint changes whenever the driver, the address or the
	// password does, so that a cached driver is rebuilt.
	Fingerprint string
}

// FindHostAccess reads a host's driver, BMC address and password.
func (db *DB) FindHostAccess(ctx context.Context, hostID string) (*HostAccess, error) {
	a, err := db.scanHostAccess(db.readRow(ctx, `SELECT id, zone_id, instance_type_id, driver, bmc_address, bmc_password, mac FROM hosts WHERE id = $1`, hostID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("host %q: %w", hostID, ErrNotFound)
	}
	return a, err
}

// FindInstanceHostAccess is FindHostAccess of a live instance's host, in
// one query instead of two (InstanceHostID first); ErrNotFound when the
// instance is released or unknown.
func (db *DB) FindInstanceHostAccess(ctx context.Context, instanceID string) (*HostAccess, error) {
	a, err := db.scanHostAccess(db.readRow(ctx, `SELECT i.host_id, h.zone_id, h.instance_type_id, h.driver, h.bmc_address, h.bmc_password, h.mac
		FROM instances i JOIN hosts h ON h.id = i.host_id WHERE i.id = $1 AND i.released = $2`, instanceID, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("instance %s: %w", instanceID, ErrNotFound)
	}
	return a, err
}

// scanHostAccess reads a row of the columns FindHostAccess selects and
// opens the password.
func (db *DB) scanHostAccess(row *sql.Row) (*HostAccess, error) {
	var r hostAccessRow
	if err := row.Scan(r.dests()...); err != nil {
		return nil, err
	}
	return db.openHostAccess(&r)
}

// hostAccessRow is a row of the columns FindHostAccess selects, its
// password still sealed, for queries that read them beside others.
type hostAccessRow struct {
	a      HostAccess
	sealed string
}

func (r *hostAccessRow) dests() []any {
	return []any{&r.a.ID, &r.a.ZoneID, &r.a.InstanceTypeID, &r.a.Driver, &r.a.BMCAddress, &r.sealed, &r.a.MAC}
}

// openHostAccess opens the password of a scanned row.
func (db *DB) openHostAccess(r *hostAccessRow) (*HostAccess, error) {
	a := r.a
	var err error
	if a.Password, err = db.openSecret(r.sealed, hostPasswordContext(a.ID)); err != nil {
		return nil, fmt.Errorf("host %s: %w", a.ID, err)
	}
	a.Fingerprint = a.Driver + "\x00" + a.BMCAddress + "\x00" + r.sealed + "\x00" + a.MAC
	return &a, nil
}

// InstanceHostID returns the host of a live instance, ErrNotFound when it
// is released or unknown.
func (db *DB) InstanceHostID(ctx context.Context, instanceID string) (string, error) {
	var hostID string
	err := db.readRow(ctx, `SELECT host_id FROM instances WHERE id = $1 AND released = $2`, instanceID, false).Scan(&hostID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("instance %s: %w", instanceID, ErrNotFound)
	}
	return hostID, err
}
