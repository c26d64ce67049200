package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// Host states. A host is allocated to exactly one instance at a time; a
// host whose provision failed goes to maintenance, not back to stock.
const (
	HostAvailable   = "available"
	HostAllocated   = "allocated"
	HostMaintenance = "maintenance"
	// HostRetired hosts were removed from the catalog; they are never
	// allocated and come back if the catalog lists them again.
	HostRetired = "retired"
)

// HostID names the n-th host (1-based) of an offer.
func HostID(zoneID, instanceTypeID string, n int) string {
	return metalplane.OfferHostID(zoneID, instanceTypeID, n)
}

// catalogSyncLock is the lockTx id of SyncCatalog (7301 serialises
// migrations, db.go).
const catalogSyncLock = 7302

// SyncCatalog brings the offers' simulated hosts and the public IP pools
// in line with the catalog in one transaction: missing hosts and
// addresses are added, ones the catalog no longer lists are retired
// (allocated ones stay with their instance). Instances are never touched,
// so a changed catalog can be loaded into an existing database. The hosts
// the catalog lists one by one are SyncCatalogHosts's.
//
// A catalog whose offers and pools are those of the last sync
// (syncFingerprint) is not synced again: nothing else changes what the
// sync writes, and comparing 200,000 hosts row by row made every start
// take seconds.
func (db *DB) SyncCatalog(ctx context.Context, cat *metalplane.Catalog) error {
	fingerprint := syncFingerprint(cat)
	db.addressesBeside.Store(false)
	// A restart with the catalog of the last sync, the usual start: one
	// read, no lock, nothing of the catalog's pools worked out. (A sync
	// recorded by another replica meanwhile is found under the lock
	// below when it differs.) It was 35 ms of a PostgreSQL restart
	// (docs/performance.md, "A restart's catalog check in one read").
	if last, err := db.lastSyncFingerprint(ctx); err == nil && last == fingerprint {
		db.removeIPv4Scratch()
		return nil
	}
	if db.Dialect == Postgres {
		if _, many := db.ipv4WorthBuilding(ctx, cat); many {
			return db.syncCatalogBeside(ctx, cat, fingerprint) // ipv4build.go
		}
	}
	// A first sync of many addresses on SQLite builds them on another
	// core while the hosts go in (ipv4build.go); nil otherwise.
	build := db.startIPv4Build(ctx, cat)
	defer build.discard()
	synced := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Replicas starting together would insert the same hosts: the
		// second waits here and then finds them.
		var err error
		if synced, err = db.syncedTx(ctx, tx, catalogSyncLock, fingerprint); synced || err != nil {
			return err
		}
		if err := db.syncHostsTx(ctx, tx, cat); err != nil {
			return fmt.Errorf("sync hosts: %w", err)
		}
		if build != nil {
			return nil // the addresses and the fingerprint follow the build
		}
		return db.syncIPsAndRecordTx(ctx, tx, cat, fingerprint, false)
	})
	if err != nil || synced || build == nil {
		return err
	}
	return build.finish(ctx, func(tx *sql.Tx, built bool) error {
		db.addressesBeside.Store(built)
		return db.syncIPsAndRecordTx(ctx, tx, cat, fingerprint, built)
	})
}

// syncIPsAndRecordTx syncs the public addresses, those of IPv4 pools
// copied from the scratch table when built (ipv4build.go), and records
// the sync's fingerprint: the last write of a sync, so that a sync cut
// short is done again at the next start.
func (db *DB) syncIPsAndRecordTx(ctx context.Context, tx *sql.Tx, cat *metalplane.Catalog, fingerprint string, built bool) error {
	if err := db.syncIPsTx(ctx, tx, cat, built); err != nil {
		return fmt.Errorf("sync public IPs: %w", err)
	}
	return db.recordSyncTx(ctx, tx, fingerprint)
}

// lastSyncFingerprint reads the fingerprint of the last sync recorded, ""
// before the first.
func (db *DB) lastSyncFingerprint(ctx context.Context) (string, error) {
	var last string
	err := db.reader().QueryRowContext(ctx, `SELECT fingerprint FROM catalog_syncs WHERE id = 1`).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return last, err
}

// syncedTx takes lock in tx and reports whether the last sync recorded is
// of fingerprint.
func (db *DB) syncedTx(ctx context.Context, tx *sql.Tx, lock int64, fingerprint string) (bool, error) {
	if err := db.lockTx(ctx, tx, lock); err != nil {
		return false, err
	}
	var last string
	err := tx.QueryRowContext(ctx, `SELECT fingerprint FROM catalog_syncs WHERE id = 1`).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read the last catalog sync: %w", err)
	}
	return last == fingerprint, nil
}

// recordSyncTx records fingerprint as the last sync's.
func (db *DB) recordSyncTx(ctx context.Context, tx *sql.Tx, fingerprint string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO catalog_syncs (id, fingerprint, synced_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, synced_at = excluded.synced_at`, fingerprint, db.Now().Unix()); err != nil {
		return fmt.Errorf("record the catalog sync: %w", err)
	}
	return nil
}

// catalogSyncVersion changes whenever what SyncCatalog writes for the same
// catalog changes (host IDs, pool materialisation), so that a new release
// syncs once even on an unchanged catalog.
const catalogSyncVersion = 1

// syncFingerprint hashes exactly what SyncCatalog reads from the catalog:
// each offer's host count and each zone's pools, in catalog order.
func syncFingerprint(cat *metalplane.Catalog) string {
	h := sha256.New()
	fmt.Fprintf(h, "v%d ipv6-limit %d\n", catalogSyncVersion, metalplane.IPv6PoolLimit)
	for _, o := range cat.Offers {
		fmt.Fprintf(h, "offer %q %q %d\n", o.ZoneID, o.InstanceTypeID, o.Hosts)
	}
	for _, z := range cat.Zones {
		fmt.Fprintf(h, "zone %q %q %q\n", z.ID, z.IPv4Pools, z.IPv6Pools)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (db *DB) syncHostsTx(ctx context.Context, tx *sql.Tx, cat *metalplane.Catalog) error {
	now := db.Now().Unix()
	if err := db.retireOfferHostsTx(ctx, tx, cat, now); err != nil {
		return err
	}
	return db.fillEmptyTable(ctx, tx, "hosts", offerHostsDistinct(cat), func(keysDropped bool) error {
		// Later offers first: an ID two offers would share stays the
		// later one's, as it did when the hosts to add were collected in
		// a map.
		for i := len(cat.Offers) - 1; i >= 0; i-- {
			if err := db.insertOfferHostsTx(ctx, tx, cat.Offers[i], now, keysDropped); err != nil {
				return err
			}
		}
		return nil
	})
}

// retireOfferHostsTx retires the free offer hosts the catalog no longer
// lists and brings back the retired ones it lists again.
func (db *DB) retireOfferHostsTx(ctx context.Context, tx *sql.Tx, cat *metalplane.Catalog, now int64) error {
	// Only the rows generated from offers: listed and enrolled hosts are
	// not the offers' to retire.
	rows, err := tx.QueryContext(ctx, `SELECT id, state, COALESCE(instance_id, '') FROM hosts WHERE source = $1`, HostSourceOffer)
	if err != nil {
		return err
	}
	type hostRow struct{ id, state, instanceID string }
	var have []hostRow
	for rows.Next() {
		var h hostRow
		if err := rows.Scan(&h.id, &h.state, &h.instanceID); err != nil {
			rows.Close()
			return err
		}
		have = append(have, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(have) == 0 {
		return nil // a new database: nothing to compare
	}
	want := map[string]bool{}
	for _, o := range cat.Offers {
		for n := 1; n <= o.Hosts; n++ {
			want[HostID(o.ZoneID, o.InstanceTypeID, n)] = true
		}
	}
	for _, h := range have {
		listed := want[h.id]
		switch {
		case !listed && h.state == HostAvailable:
			_, err = tx.ExecContext(ctx, `UPDATE hosts SET state = $1, note = $2, updated_at = $3 WHERE id = $4`, HostRetired, "removed from the catalog", now, h.id)
		case listed && h.state == HostRetired && h.instanceID == "":
			_, err = tx.ExecContext(ctx, `UPDATE hosts SET state = $1, note = $2, updated_at = $3 WHERE id = $4`, HostAvailable, "", now, h.id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// poolAddresses lists the allocatable addresses of a pool: every IPv4
// address but the network and broadcast ones; IPv6 from ::1, bounded by
// metalplane.IPv6PoolLimit.
func poolAddresses(cidr string) ([]netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, err
	}
	p = p.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	size := new(big.Int).Lsh(big.NewInt(1), uint(hostBits))
	limit := int64(metalplane.IPv6PoolLimit)
	var addrs []netip.Addr
	a := p.Addr().Next() // skip the network address
	for i := int64(1); p.Contains(a); i++ {
		if p.Addr().Is4() && big.NewInt(i+1).Cmp(size) >= 0 {
			break // broadcast address
		}
		if p.Addr().Is6() && i > limit {
			break
		}
		addrs = append(addrs, a)
		a = a.Next()
	}
	return addrs, nil
}

// syncIPsTx retires and adds public addresses. With ipv4Built, the
// table is empty and holds the scratch table's IPv4 addresses after the
// copy (ipv4build.go); the other addresses are added as always.
func (db *DB) syncIPsTx(ctx context.Context, tx *sql.Tx, cat *metalplane.Catalog, ipv4Built bool) error {
	have, err := db.retireUnlistedIPsTx(ctx, tx, cat)
	if err != nil {
		return err
	}
	if ipv4Built {
		if len(have) > 0 {
			return errors.New("public_ips is no longer empty")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO public_ips SELECT * FROM `+ipv4BuildSchema+`.public_ips`); err != nil {
			return fmt.Errorf("copy the built IPv4 addresses: %w", err)
		}
	}
	return db.fillEmptyTable(ctx, tx, "public_ips", poolsDistinct(cat), func(keysDropped bool) error {
		return db.addPoolAddressesTx(ctx, tx, cat, have, keysDropped, ipv4Built)
	})
}

// zoneAddresses is what a zone's pools add to public_ips: the IPv4
// pools' ranges, made by the database (insertIPv4RangesTx), and the other
// addresses as rows. A zone's addresses are numbered across its pools,
// IPv4 first.
type zoneAddresses struct {
	ipv4 []ipv4Range
	rows [][]any
}

// addressesOf returns zone z's addresses that are not in have.
func addressesOf(z metalplane.Zone, have map[string]bool) (zoneAddresses, error) {
	var za zoneAddresses
	seq := 0
	for _, pools := range []struct {
		cidrs  []string
		family int
	}{{z.IPv4Pools, 4}, {z.IPv6Pools, 6}} {
		for _, cidr := range pools.cidrs {
			p, err := netip.ParsePrefix(cidr)
			if err != nil {
				return za, fmt.Errorf("zone %s pool %s: %w", z.ID, cidr, err)
			}
			if pools.family == 4 && p.Addr().Is4() {
				r := newIPv4Range(p, seq+1)
				za.ipv4 = append(za.ipv4, r)
				seq += r.count
				continue
			}
			// IPv6 pools are at most IPv6PoolLimit addresses each.
			addrs, err := poolAddresses(cidr)
			if err != nil {
				return za, fmt.Errorf("zone %s pool %s: %w", z.ID, cidr, err)
			}
			for _, a := range addrs {
				seq++
				if _, ok := have[a.String()]; !ok {
					za.rows = append(za.rows, []any{a.String(), z.ID, pools.family, seq, nil, false})
				}
			}
		}
	}
	return za, nil
}

// addPoolAddressesTx adds the addresses of the catalog's pools that are
// not in have; with ipv4Built, those of IPv4 pools are there already.
func (db *DB) addPoolAddressesTx(ctx context.Context, tx *sql.Tx, cat *metalplane.Catalog, have map[string]bool, keysDropped, ipv4Built bool) error {
	for _, z := range cat.Zones {
		za, err := addressesOf(z, have)
		if err != nil {
			return err
		}
		if !ipv4Built {
			if err := db.insertIPv4RangesTx(ctx, tx, z.ID, za.ipv4, keysDropped); err != nil {
				return err
			}
		}
		if err := db.insertRows(ctx, tx, `INSERT INTO public_ips (address, zone_id, family, seq, instance_id, retired) VALUES `, za.rows); err != nil {
			return err
		}
	}
	return nil
}

// retireUnlistedIPsTx retires the addresses the catalog's pools no longer
// hold and brings back the retired ones they hold again. It returns the
// addresses that exist.
func (db *DB) retireUnlistedIPsTx(ctx context.Context, tx *sql.Tx, cat *metalplane.Catalog) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT address, retired FROM public_ips`)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for rows.Next() {
		var addr string
		var retired bool
		if err := rows.Scan(&addr, &retired); err != nil {
			rows.Close()
			return nil, err
		}
		have[addr] = retired
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return have, nil // a new database: nothing to compare
	}
	wanted := map[string]bool{}
	for _, z := range cat.Zones {
		for _, cidr := range append(append([]string(nil), z.IPv4Pools...), z.IPv6Pools...) {
			addrs, err := poolAddresses(cidr)
			if err != nil {
				return nil, fmt.Errorf("zone %s pool %s: %w", z.ID, cidr, err)
			}
			for _, a := range addrs {
				wanted[a.String()] = true
			}
		}
	}
	for addr, retired := range have {
		listed := wanted[addr]
		if listed == !retired {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET retired = $1 WHERE address = $2`, !listed, addr); err != nil {
			return nil, err
		}
	}
	return have, nil
}

// insertRows inserts rows (prefix ends with "VALUES "): a new database
// gets tens of thousands of addresses. On PostgreSQL one round trip per
// row made every start take seconds, so rows go in multi-row INSERTs; on
// SQLite, which has no round trips but compiles every statement, one
// prepared single-row INSERT is cheapest.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, prefix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if !db.multiRowInserts() {
		ph := make([]string, len(rows[0]))
		for i := range ph {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		stmt, err := tx.PrepareContext(ctx, prefix+"("+strings.Join(ph, ", ")+")")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, row := range rows {
			if _, err := stmt.ExecContext(ctx, row...); err != nil {
				return err
			}
		}
		return nil
	}
	const perStatement = 500
	for len(rows) > 0 {
		n := min(perStatement, len(rows))
		var b strings.Builder
		b.WriteString(prefix)
		args := make([]any, 0, n*len(rows[0]))
		for i, row := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				fmt.Fprintf(&b, "$%d", len(args))
			}
			b.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// Host is a physical server of the inventory, as operators see it: never
// its BMC password.
type Host struct {
	ID             string
	ZoneID         string
	InstanceTypeID string
	State          string
	InstanceID     string
	// InstanceStatus is the status of InstanceID, "" without one.
	InstanceStatus metalplane.InstanceStatus
	Note           string
	// Source is who manages the row: HostSourceOffer, HostSourceCatalog
	// or HostSourceAdmin.
	Source string
	// Driver is DriverSim, or the BMC driver's name (ipmi, redfish).
	Driver     string
	BMCAddress string // canonical, without password; "" for sim hosts
	MAC        string
	// HasPassword says whether a BMC password is stored.
	HasPassword bool
	// What the power sync read last (power.go): PowerState is "on",
	// "off", "unknown" or "" (never read); PowerDrift says how it
	// differs from what the host's use expects ("" when it does not);
	// PowerError is its last failure ("" when the BMC answered);
	// LastContact is when the BMC last answered (zero: never).
	PowerState  string
	PowerDrift  string
	PowerError  string
	LastContact time.Time
}

// HostFilter selects hosts; empty fields match everything.
type HostFilter struct {
	ZoneID         string
	InstanceTypeID string
	State          string
	// WithBMC selects only the hosts a BMC driver powers.
	WithBMC bool
	// ID selects one host.
	ID string
}

const hostColumns = `h.id, h.zone_id, h.instance_type_id, h.state, COALESCE(h.instance_id, ''), COALESCE(i.status, ''), h.note, h.source,
	h.driver, h.bmc_address, h.mac, h.bmc_password <> '', h.power_state, h.power_drift, h.power_error, h.last_contact_at`

func scanHost(row interface{ Scan(...any) error }) (Host, error) {
	var h Host
	var contact int64
	err := row.Scan(&h.ID, &h.ZoneID, &h.InstanceTypeID, &h.State, &h.InstanceID, &h.InstanceStatus, &h.Note, &h.Source,
		&h.Driver, &h.BMCAddress, &h.MAC, &h.HasPassword, &h.PowerState, &h.PowerDrift, &h.PowerError, &contact)
	if contact > 0 {
		h.LastContact = time.Unix(contact, 0).UTC()
	}
	return h, err
}

// FindHosts lists hosts matching the filter, ordered by ID.
func (db *DB) FindHosts(ctx context.Context, f HostFilter) ([]Host, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+hostColumns+` FROM hosts h LEFT JOIN instances i ON i.id = h.instance_id
		WHERE ($1 = '' OR h.zone_id = $1) AND ($2 = '' OR h.instance_type_id = $2) AND ($3 = '' OR h.state = $3)
		AND ($4 = FALSE OR h.driver <> $5) AND ($6 = '' OR h.id = $6) ORDER BY h.id`,
		f.ZoneID, f.InstanceTypeID, f.State, f.WithBMC, DriverSim, f.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hosts []Host
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, rows.Err()
}

// SetHostMaintenance moves a host into maintenance (only when it is free)
// or out of it (back to stock).
func (db *DB) SetHostMaintenance(ctx context.Context, hostID string, on bool, note string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var state, instanceID string
		err := tx.QueryRowContext(ctx, `SELECT state, COALESCE(instance_id, '') FROM hosts WHERE id = $1`+db.forUpdate(), hostID).Scan(&state, &instanceID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("host %q: %w", hostID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		var newState string
		switch {
		case on && state == HostAvailable:
			newState = HostMaintenance
		case on && state == HostMaintenance:
			return nil
		case !on && state == HostMaintenance:
			newState = HostAvailable
		case !on && state == HostAvailable:
			return nil
		default:
			return fmt.Errorf("host %s is %s (instance %s): only a free host can move into or out of maintenance", hostID, state, instanceID)
		}
		if _, err = tx.ExecContext(ctx, `UPDATE hosts SET state = $1, instance_id = NULL, note = $2, updated_at = $3 WHERE id = $4`, newState, note, db.Now().Unix(), hostID); err != nil {
			return err
		}
		detail := "into maintenance by an operator"
		if !on {
			detail = "back to stock by an operator"
		}
		if note != "" {
			detail += ": " + note
		}
		return db.addHostEventTx(ctx, tx, hostID, HostEventMaintenance, "", detail)
	})
}

// StockCounts returns the number of available hosts per (zone, type).
func (db *DB) StockCounts(ctx context.Context) (map[[2]string]int, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT zone_id, instance_type_id, COUNT(*) FROM hosts WHERE state = $1 GROUP BY zone_id, instance_type_id`, HostAvailable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[[2]string]int{}
	for rows.Next() {
		var z, t string
		var n int
		if err := rows.Scan(&z, &t, &n); err != nil {
			return nil, err
		}
		counts[[2]string{z, t}] = n
	}
	return counts, rows.Err()
}
