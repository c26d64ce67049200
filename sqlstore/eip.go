package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// Elastic IPs and DDoS-protected IPs (metalplane.EIP): one table, eips,
// with a kind column; every method takes the kind and sees only rows of
// that kind and of the caller's team (another team's EIP is "not found").
//
// Addresses: an EIP holds its address through public_ips.held_by (migration
// 0017) from Allocate until its release. Allocation picks free rows with
// pickFree (SKIP LOCKED on PostgreSQL, the one writer on SQLite) and takes
// each with a guarded UPDATE, under the unique index eips_live_address, so
// no address is ever handed out twice.
//
// Locking order, the same as the clock's (an EIP's hours are charged
// under its row lock): the EIP rows in ID order, then the team row (money)
// or the instance row. Allocate locks the team only.

// EIPJob is a network job of an EIP: Op is EIPOpAssociate or
// EIPOpUnassociate (also the way into the recycle bin).
type EIPJob struct {
	EIPID string
	Op    string
}

// EIP network operations.
const (
	EIPOpAssociate   = "associate"
	EIPOpUnassociate = "unassociate"
)

// EIPEnqueueFunc enqueues EIP network jobs on tx, so they commit with the
// status change or not at all. The provision package supplies it.
type EIPEnqueueFunc func(ctx context.Context, tx *sql.Tx, jobs []EIPJob) error

func enqueueEIPTx(ctx context.Context, tx *sql.Tx, enqueue EIPEnqueueFunc, jobs ...EIPJob) error {
	if enqueue == nil {
		return nil
	}
	if err := enqueue(ctx, tx, jobs); err != nil {
		return fmt.Errorf("enqueue EIP jobs: %w", err)
	}
	return nil
}

// EIPAllocate is a validated Allocate request.
type EIPAllocate struct {
	// IDs are the new EIPs' IDs, drawn by the caller so the answer stored
	// for a retry can name them; len(IDs) == Order.Amount.
	IDs    []string
	TeamID string
	ZoneID string
	// ResourceGroupID is one of the team's groups; "" means its default.
	ResourceGroupID string
	// OrderNumber names the PREPAID order; "" for POSTPAID.
	OrderNumber string
	Order       *metalplane.EIPOrder
}

// AllocateEIPs takes Order.Amount free IPv4 addresses of the zone's pools
// for new AVAILABLE EIPs and, for PREPAID, debits the order, in one
// transaction. Returns OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND,
// RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT when the pools have too few free
// addresses, or OPERATION_DENIED_BALANCE_INSUFFICIENT (PREPAID: the
// balance is below the total; POSTPAID: it is not positive).
func (db *DB) AllocateEIPs(ctx context.Context, in EIPAllocate) error {
	o := in.Order
	if len(in.IDs) != o.Amount {
		return fmt.Errorf("allocate EIPs: %d IDs for %d addresses", len(in.IDs), o.Amount)
	}
	if err := metalplane.CheckDebit("order "+in.OrderNumber, o.Total, 0); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		team, err := db.findTeamTx(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		var g *metalplane.ResourceGroup
		if in.ResourceGroupID == "" {
			g, err = db.defaultResourceGroup(ctx, tx, in.TeamID)
		} else {
			g, err = db.findResourceGroup(ctx, tx, in.TeamID, in.ResourceGroupID)
		}
		if err != nil {
			return err
		}
		addrs, err := db.pickFree(ctx, tx, `SELECT address FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3 ORDER BY seq LIMIT $4`,
			in.ZoneID, 4, false, o.Amount)
		if err != nil {
			return fmt.Errorf("pick addresses: %w", err)
		}
		if len(addrs) < o.Amount {
			return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Only %d public IPv4 addresses are free in %s.", len(addrs), in.ZoneID)
		}
		switch {
		case o.ChargeType == metalplane.ChargeTypePrepaid && team.Balance < o.Total:
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "The order costs %s; the balance is %s.", o.Total, team.Balance)
		case o.ChargeType == metalplane.ChargeTypePostpaid && team.Balance <= 0:
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "POSTPAID %ss need a positive balance.", o.Kind.Noun())
		}
		now := db.Now()
		var expired int64
		periodPrice, hourlyPrice := metalplane.Money(0), metalplane.Money(0)
		if o.ChargeType == metalplane.ChargeTypePrepaid {
			expired = now.AddDate(0, o.Period, 0).Unix()
			if !o.UsePocVoucher {
				periodPrice = o.UnitPrice
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO orders (order_number, team_id, charge_type, amount, total, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				in.OrderNumber, team.ID, o.ChargeType, o.Amount, int64(o.Total), now.Unix()); err != nil {
				return fmt.Errorf("insert order: %w", err)
			}
			if o.Total > 0 {
				if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: team.ID, Amount: -o.Total, Kind: metalplane.LedgerPrepaidCharge,
					OrderNumber: in.OrderNumber, Note: fmt.Sprintf("%d × %s in %s for %d months", o.Amount, o.Kind.Noun(), in.ZoneID, o.Period)}); err != nil {
					return err
				}
			}
			if o.UsePocVoucher {
				if _, err := tx.ExecContext(ctx, `UPDATE teams SET poc_vouchers = poc_vouchers - 1 WHERE id = $1`, team.ID); err != nil {
					return err
				}
			}
		} else {
			hourlyPrice = o.UnitPrice
		}
		for i, id := range in.IDs {
			_, err := tx.ExecContext(ctx, `INSERT INTO eips (id, kind, team_id, zone_id, address, netmask, instance_id, charge_type, period, status,
				resource_group_id, order_number, period_price, hourly_price, billed_hours, hourly_closed, create_time, expired_time, recycled_at, released)
				VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, $11, $12, $13, 0, $14, $15, $16, 0, $14)`,
				id, string(o.Kind), team.ID, in.ZoneID, addrs[i], metalplane.EIPNetmask, o.ChargeType, o.Period, string(metalplane.EIPAvailable),
				g.ID, in.OrderNumber, int64(periodPrice), int64(hourlyPrice), false, now.Unix(), expired)
			if err != nil {
				return fmt.Errorf("insert EIP: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE public_ips SET held_by = $1 WHERE address = $2 AND instance_id IS NULL AND held_by IS NULL`, id, addrs[i])
			if err != nil {
				return fmt.Errorf("hold address: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("hold address %s: taken meanwhile (%d rows, %v)", addrs[i], n, err)
			}
			for _, tag := range o.Tags {
				if _, err := tx.ExecContext(ctx, `INSERT INTO eip_tags (eip_id, tag_key, tag_value) VALUES ($1, $2, $3)`, id, *tag.Key, *tag.Value); err != nil {
					return fmt.Errorf("insert tag: %w", err)
				}
			}
		}
		return nil
	})
}

// EIPFilter selects EIPs of one kind of a team for FindEIPs. Empty fields
// do not filter; all match exactly.
type EIPFilter struct {
	TeamID          string
	Kind            metalplane.AddressKind
	IDs             []string
	ChargeType      string
	Address         string
	ZoneID          string
	ResourceGroupID string
	Status          string
	InstanceID      string
	// InstanceName keeps EIPs whose instance has this name.
	InstanceName string
	// TagKeys keeps EIPs with every one of these keys; Tags with every
	// one of these pairs (an empty value matches the key alone).
	TagKeys []string
	Tags    []metalplane.Tag
	// PageNum (from 1) and PageSize select one page; PageSize 0 returns
	// every match.
	PageNum, PageSize int
}

const eipColumns = `id, kind, team_id, zone_id, address, netmask, instance_id, charge_type, period, status, resource_group_id, order_number,
	period_price, hourly_price, create_time, expired_time, recycled_at`

func scanEIP(row interface{ Scan(...any) error }) (*metalplane.EIP, error) {
	var e metalplane.EIP
	var kind, status string
	var periodPrice, hourlyPrice, created, expired, recycled int64
	if err := row.Scan(&e.ID, &kind, &e.TeamID, &e.ZoneID, &e.Address, &e.Netmask, &e.InstanceID, &e.ChargeType, &e.Period, &status,
		&e.ResourceGroupID, &e.OrderNumber, &periodPrice, &hourlyPrice, &created, &expired, &recycled); err != nil {
		return nil, err
	}
	e.Kind, e.Status = metalplane.AddressKind(kind), metalplane.EIPStatus(status)
	e.PeriodPrice, e.HourlyPrice = metalplane.Money(periodPrice), metalplane.Money(hourlyPrice)
	e.CreatedAt = time.Unix(created, 0).UTC()
	if expired > 0 {
		e.ExpiredTime = time.Unix(expired, 0).UTC()
	}
	if recycled > 0 {
		e.RecycledAt = time.Unix(recycled, 0).UTC()
	}
	return &e, nil
}

// FindEIPs returns one page of the matching live EIPs, oldest first (then
// by ID), with their tags, and the number of matches on all pages.
func (db *DB) FindEIPs(ctx context.Context, f EIPFilter) ([]*metalplane.EIP, int, error) {
	conds := []string{"team_id = $1", "kind = $2", "released = $3"}
	args := []any{f.TeamID, string(f.Kind), false}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.IDs) > 0 {
		ph := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ph[i] = arg(id)
		}
		conds = append(conds, "id IN ("+strings.Join(ph, ", ")+")")
	}
	for _, eq := range []struct{ col, v string }{
		{"charge_type", f.ChargeType}, {"address", f.Address}, {"zone_id", f.ZoneID}, {"resource_group_id", f.ResourceGroupID},
		{"status", f.Status}, {"instance_id", f.InstanceID},
	} {
		if eq.v != "" {
			conds = append(conds, eq.col+" = "+arg(eq.v))
		}
	}
	if f.InstanceName != "" {
		conds = append(conds, "instance_id IN (SELECT id FROM instances WHERE team_id = $1 AND released = $3 AND name = "+arg(f.InstanceName)+")")
	}
	for _, k := range f.TagKeys {
		conds = append(conds, "EXISTS (SELECT 1 FROM eip_tags t WHERE t.eip_id = eips.id AND t.tag_key = "+arg(k)+")")
	}
	for _, tag := range f.Tags {
		c := "EXISTS (SELECT 1 FROM eip_tags t WHERE t.eip_id = eips.id AND t.tag_key = " + arg(*tag.Key)
		if tag.Value != nil && *tag.Value != "" {
			c += " AND t.tag_value = " + arg(*tag.Value)
		}
		conds = append(conds, c+")")
	}
	var out []*metalplane.EIP
	var total int
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, total, err = findPageTx(ctx, tx, "eips", eipColumns, strings.Join(conds, " AND "), args, "create_time, id", f.PageNum, f.PageSize, scanEIP)
		if err != nil {
			return err
		}
		return db.loadEIPTagsTx(ctx, tx, out)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (db *DB) loadEIPTagsTx(ctx context.Context, tx *sql.Tx, eips []*metalplane.EIP) error {
	if len(eips) == 0 {
		return nil
	}
	byID := map[string]*metalplane.EIP{}
	args := make([]any, len(eips))
	for i, e := range eips {
		byID[e.ID] = e
		args[i] = e.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT eip_id, tag_key, tag_value FROM eip_tags WHERE eip_id IN (`+placeholders(1, len(args))+`) ORDER BY eip_id, tag_key`, args...)
	if err != nil {
		return fmt.Errorf("find EIP tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return err
		}
		e := byID[id]
		e.Tags = append(e.Tags, metalplane.Tag{Key: &k, Value: &v})
	}
	return rows.Err()
}

// InstanceNames returns the names of the team's instances among ids.
func (db *DB) InstanceNames(ctx context.Context, teamID string, ids []string) (map[string]string, error) {
	ids = uniqueStrings(ids)
	if len(ids) == 0 {
		return map[string]string{}, nil
	}
	args := []any{teamID}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, name FROM instances WHERE team_id = $1 AND id IN (`+placeholders(2, len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("find instance names: %w", err)
	}
	return scanIDNames(rows)
}

// FreeIPv4Count returns how many IPv4 addresses of the zone's pools are
// free (held by no instance and no other resource).
func (db *DB) FreeIPv4Count(ctx context.Context, zoneID string) (int, error) {
	var n int
	err := db.readRow(ctx, `SELECT COUNT(*) FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3`,
		zoneID, 4, false).Scan(&n)
	return n, err
}

// lockEIPsTx reads the team's live EIPs of the kind among ids, locking
// them in ID order, and answers {K}_NOT_FOUND for the first ID (in request
// order) that is not one.
func (db *DB) lockEIPsTx(ctx context.Context, tx *sql.Tx, teamID string, kind metalplane.AddressKind, ids []string) ([]*metalplane.EIP, error) {
	sorted := uniqueStrings(ids)
	sort.Strings(sorted)
	args := []any{teamID, string(kind), false}
	for _, id := range sorted {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+eipColumns+` FROM eips WHERE team_id = $1 AND kind = $2 AND released = $3 AND id IN (`+
		placeholders(4, len(sorted))+`) ORDER BY id`+db.forUpdate(), args...)
	if err != nil {
		return nil, fmt.Errorf("lock EIPs: %w", err)
	}
	found := map[string]*metalplane.EIP{}
	for rows.Next() {
		e, err := scanEIP(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found[e.ID] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*metalplane.EIP, 0, len(ids))
	for _, id := range ids {
		e, ok := found[id]
		if !ok {
			return nil, kind.Errorf("INVALID_{K}_NOT_FOUND", "The %s %s does not exist.", kind.Noun(), id)
		}
		out = append(out, e)
	}
	return out, nil
}

func (db *DB) lockEIPTx(ctx context.Context, tx *sql.Tx, teamID string, kind metalplane.AddressKind, id string) (*metalplane.EIP, error) {
	es, err := db.lockEIPsTx(ctx, tx, teamID, kind, []string{id})
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// errEIPRecycled is the refusal of an operation on an EIP in (or on its
// way into) the recycle bin.
func errEIPRecycled(e *metalplane.EIP) error {
	return e.Kind.Errorf("OPERATION_DENIED_{K}_RECYCLED", "The %s %s is in the recycle bin.", e.Kind.Noun(), e.ID)
}

// errRecycleResource is the SDK's refusal of Associate and Unassociate
// (and [decision] Renew) on an address in the recycle bin.
func errRecycleResource(e *metalplane.EIP) error {
	return metalplane.Errorf("FAILED_OPERATION_FOR_RECYCLE_RESOURCE", "The %s %s is in the recycle bin.", e.Kind.Noun(), e.ID)
}

// EIPAssociateCheckFunc checks that the locked instance may take the EIP
// (its state, zone and image); an error is answered as is.
type EIPAssociateCheckFunc func(e *metalplane.EIP, in *metalplane.Instance) error

// AssociateEIP starts associating the team's EIP with the team's
// instance: the EIP becomes ASSOCIATING and a job asks the host's driver
// to route the address. Check order: the EIP ({K}_NOT_FOUND), not in the
// recycle bin (FAILED_OPERATION_FOR_RECYCLE_RESOURCE), AVAILABLE ({K}_STATUS_NOT_AVAILABLE); the
// instance (INVALID_INSTANCE_NOT_FOUND), check; then the per-instance
// limit (OPERATION_DENIED_EIP_INSTANCE_EXCEED_LIMIT, both kinds counted).
func (db *DB) AssociateEIP(ctx context.Context, teamID string, kind metalplane.AddressKind, eipID, instanceID string, check EIPAssociateCheckFunc, enqueue EIPEnqueueFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		e, err := db.lockEIPTx(ctx, tx, teamID, kind, eipID)
		if err != nil {
			return err
		}
		if e.Status.Recycled() {
			return errRecycleResource(e)
		}
		if e.Status != metalplane.EIPAvailable {
			return kind.Errorf("OPERATION_DENIED_{K}_STATUS_NOT_AVAILABLE", "The %s %s is %s; only an AVAILABLE one can be associated.", kind.Noun(), e.ID, e.Status)
		}
		in, err := db.lockLiveInstanceTx(ctx, tx, instanceID)
		if err != nil {
			return fmt.Errorf("lock instance: %w", err)
		}
		if in == nil || in.TeamID != teamID {
			return metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", instanceID)
		}
		if err := check(e, in); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM eips WHERE instance_id = $1 AND released = $2`, instanceID, false).Scan(&n); err != nil {
			return fmt.Errorf("count instance addresses: %w", err)
		}
		if n >= metalplane.MaxEIPsPerInstance {
			return metalplane.Errorf("OPERATION_DENIED_EIP_INSTANCE_EXCEED_LIMIT", "The instance %s already has %d elastic and DDoS-protected IPs, the most it may have.", instanceID, n)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE eips SET status = $1, instance_id = $2 WHERE id = $3`, string(metalplane.EIPAssociating), instanceID, e.ID); err != nil {
			return fmt.Errorf("associate: %w", err)
		}
		return enqueueEIPTx(ctx, tx, enqueue, EIPJob{EIPID: e.ID, Op: EIPOpAssociate})
	})
}

// UnassociateEIP starts unassociating the team's EIP: an ASSOCIATED EIP
// becomes UNASSOCIATING and a job withdraws the route; an AVAILABLE one is
// left as it is (the docs: "no change occurs"). Returns {K}_NOT_FOUND,
// FAILED_OPERATION_FOR_RECYCLE_RESOURCE, or {K}_STATUS_NOT_SUPPORT for the other states.
func (db *DB) UnassociateEIP(ctx context.Context, teamID string, kind metalplane.AddressKind, eipID string, enqueue EIPEnqueueFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		e, err := db.lockEIPTx(ctx, tx, teamID, kind, eipID)
		if err != nil {
			return err
		}
		switch {
		case e.Status.Recycled():
			return errRecycleResource(e)
		case e.Status == metalplane.EIPAvailable:
			return nil
		case e.Status != metalplane.EIPAssociated:
			return kind.Errorf("OPERATION_DENIED_{K}_STATUS_NOT_SUPPORT", "The %s %s is %s; only an ASSOCIATED or AVAILABLE one can be unassociated.", kind.Noun(), e.ID, e.Status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE eips SET status = $1 WHERE id = $2`, string(metalplane.EIPUnassociating), e.ID); err != nil {
			return fmt.Errorf("unassociate: %w", err)
		}
		return enqueueEIPTx(ctx, tx, enqueue, EIPJob{EIPID: e.ID, Op: EIPOpUnassociate})
	})
}

// TerminateEIP moves the team's POSTPAID EIP to the recycle bin and stops
// its billing: an AVAILABLE (or CREATE_FAILED) one goes to RECYCLE at once,
// an ASSOCIATED one to RECYCLING while a job withdraws its route, then to
// RECYCLE. Returns {K}_NOT_FOUND, {K}_RECYCLED, {K}_SUBSCRIPTION for a
// PREPAID EIP (it goes to the recycle bin when it expires), or
// {K}_STATUS_NOT_SUPPORT while it is being associated or unassociated.
func (db *DB) TerminateEIP(ctx context.Context, teamID string, kind metalplane.AddressKind, eipID string, enqueue EIPEnqueueFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		e, err := db.lockEIPTx(ctx, tx, teamID, kind, eipID)
		if err != nil {
			return err
		}
		switch {
		case e.Status.Recycled():
			return errEIPRecycled(e)
		case e.ChargeType == metalplane.ChargeTypePrepaid:
			return kind.Errorf("OPERATION_DENIED_{K}_SUBSCRIPTION", "The %s %s is a subscription; it goes to the recycle bin when it expires.", kind.Noun(), e.ID)
		case e.Status != metalplane.EIPAvailable && e.Status != metalplane.EIPAssociated && e.Status != metalplane.EIPCreateFailed:
			return kind.Errorf("OPERATION_DENIED_{K}_STATUS_NOT_SUPPORT", "The %s %s is %s; only AVAILABLE, ASSOCIATED or CREATE_FAILED ones can be terminated.", kind.Noun(), e.ID, e.Status)
		}
		return db.recycleEIPTx(ctx, tx, e, db.Now(), enqueue)
	})
}

// recycleEIPTx moves the locked EIP into the recycle bin at `at` (billing
// stops then): RECYCLING with a job that withdraws the route when it has
// an instance and a job can be enqueued, else RECYCLE at once.
func (db *DB) recycleEIPTx(ctx context.Context, tx *sql.Tx, e *metalplane.EIP, at time.Time, enqueue EIPEnqueueFunc) error {
	if e.InstanceID != "" && enqueue != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE eips SET status = $1, recycled_at = $2 WHERE id = $3`, string(metalplane.EIPRecycling), at.Unix(), e.ID); err != nil {
			return fmt.Errorf("recycle: %w", err)
		}
		return enqueueEIPTx(ctx, tx, enqueue, EIPJob{EIPID: e.ID, Op: EIPOpUnassociate})
	}
	if _, err := tx.ExecContext(ctx, `UPDATE eips SET status = $1, instance_id = '', recycled_at = $2 WHERE id = $3`, string(metalplane.EIPRecycle), at.Unix(), e.ID); err != nil {
		return fmt.Errorf("recycle: %w", err)
	}
	return nil
}

// ReleaseEIPs releases the team's EIPs from the recycle bin, all or none:
// their last hours are charged, their addresses go back to the pool and
// they disappear from every Describe. Returns {K}_NOT_FOUND or
// {K}_NOT_RECYCLED (also while RECYCLING) for the first ID that fails.
func (db *DB) ReleaseEIPs(ctx context.Context, teamID string, kind metalplane.AddressKind, ids []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		es, err := db.lockEIPsTx(ctx, tx, teamID, kind, ids)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.Status != metalplane.EIPRecycle {
				return kind.Errorf("OPERATION_DENIED_{K}_NOT_RECYCLED", "The %s %s is %s, not in the recycle bin.", kind.Noun(), e.ID, e.Status)
			}
		}
		if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
			return err
		}
		for _, e := range es {
			if _, err := db.releaseEIPTx(ctx, tx, e.ID, db.Now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// releaseEIPTx is the one release path (ReleaseEIPs and the recycle bin's
// sweep): it charges the hours still due, returns the address to the pool
// and marks the row released. It does nothing (false) if the EIP is
// released already.
func (db *DB) releaseEIPTx(ctx context.Context, tx *sql.Tx, id string, now time.Time) (bool, error) {
	var released bool
	if err := tx.QueryRowContext(ctx, `SELECT released FROM eips WHERE id = $1`+db.forUpdate(), id).Scan(&released); err != nil {
		return false, fmt.Errorf("lock EIP %s: %w", id, err)
	}
	if released {
		return false, nil
	}
	if _, err := db.accrueEIPTx(ctx, tx, id, now); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET held_by = NULL WHERE held_by = $1`, id); err != nil {
		return false, fmt.Errorf("return address of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE eips SET released = $1, instance_id = '' WHERE id = $2`, true, id); err != nil {
		return false, fmt.Errorf("release %s: %w", id, err)
	}
	return true, nil
}

// RenewEIP debits one more period of the team's PREPAID EIP and extends
// its expiredTime by its period. Returns {K}_NOT_FOUND,
// FAILED_OPERATION_FOR_RECYCLE_RESOURCE,
// OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT for POSTPAID (as RenewInstance),
// or OPERATION_DENIED_BALANCE_INSUFFICIENT (nothing written).
func (db *DB) RenewEIP(ctx context.Context, teamID string, kind metalplane.AddressKind, eipID string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		e, err := db.lockEIPTx(ctx, tx, teamID, kind, eipID)
		if err != nil {
			return err
		}
		team, err := db.findTeamTx(ctx, tx, teamID)
		if err != nil {
			return err
		}
		switch {
		case e.Status.Recycled():
			return errRecycleResource(e)
		case e.ChargeType != metalplane.ChargeTypePrepaid:
			return metalplane.Errorf("OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", "The %s %s is POSTPAID; only subscriptions are renewed.", kind.Noun(), e.ID)
		case e.Period < 1:
			return fmt.Errorf("PREPAID EIP %s with a period of %d months", e.ID, e.Period)
		}
		if err := metalplane.CheckDebit("the renewal of "+e.ID, e.PeriodPrice, 0); err != nil {
			return err
		}
		if team.Balance < e.PeriodPrice {
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "A period costs %s; the balance is %s.", e.PeriodPrice, team.Balance)
		}
		expired := e.ExpiredTime.AddDate(0, e.Period, 0)
		if e.PeriodPrice > 0 {
			if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: teamID, Amount: -e.PeriodPrice, Kind: metalplane.LedgerRenewal, OrderNumber: e.OrderNumber,
				Note: fmt.Sprintf("renewal of %s %s (%s) for %d months from %s", kind.Noun(), e.ID, e.Address, e.Period, e.ExpiredTime.Format(apiTime))}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE eips SET expired_time = $1 WHERE id = $2`, expired.Unix(), e.ID); err != nil {
			return fmt.Errorf("extend: %w", err)
		}
		return nil
	})
}

// MoveEIPsToResourceGroup moves the team's EIPs to one of its groups, all
// or none. Returns {K}_NOT_FOUND for the first unknown ID, then
// OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND.
func (db *DB) MoveEIPsToResourceGroup(ctx context.Context, teamID string, kind metalplane.AddressKind, ids []string, groupID string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		es, err := db.lockEIPsTx(ctx, tx, teamID, kind, ids)
		if err != nil {
			return err
		}
		g, err := db.findResourceGroup(ctx, tx, teamID, groupID)
		if err != nil {
			return err
		}
		for _, e := range es {
			if _, err := tx.ExecContext(ctx, `UPDATE eips SET resource_group_id = $1 WHERE id = $2`, g.ID, e.ID); err != nil {
				return fmt.Errorf("move EIP: %w", err)
			}
		}
		return nil
	})
}

// EIPNetworkTarget is what an EIP network job needs: the EIP and the
// instance (and host) it is associated with.
type EIPNetworkTarget struct {
	EIP      *metalplane.EIP
	Instance *metalplane.Instance
}

// BeginEIPJob reads the EIP for a network job that expects it in one of
// want, with its instance; nil (no error) when there is nothing to do any
// more (another state, released, or no instance).
func (db *DB) BeginEIPJob(ctx context.Context, eipID string, want ...metalplane.EIPStatus) (*EIPNetworkTarget, error) {
	e, err := scanEIP(db.SQL.QueryRowContext(ctx, `SELECT `+eipColumns+` FROM eips WHERE id = $1 AND released = $2`, eipID, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find EIP %s: %w", eipID, err)
	}
	ok := false
	for _, w := range want {
		ok = ok || e.Status == w
	}
	if !ok || e.InstanceID == "" {
		return nil, nil
	}
	in, err := scanInstance(db.SQL.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = $1 AND released = $2`, e.InstanceID, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find instance %s: %w", e.InstanceID, err)
	}
	return &EIPNetworkTarget{EIP: e, Instance: in}, nil
}

// FinishEIPJob ends a network job of the EIP that found it in `from`,
// if it still is: ASSOCIATING becomes ASSOCIATED (or, when the job failed,
// AVAILABLE again, without instance); UNASSOCIATING becomes AVAILABLE (or
// ASSOCIATED again); RECYCLING becomes RECYCLE whatever happened
// [decision]: billing has stopped and the team has given the address up,
// so a failed withdrawal is for the operator (the event records it), not
// a reason to keep it out of the recycle bin. The instance's events record
// the outcome with the driver and detail.
func (db *DB) FinishEIPJob(ctx context.Context, eipID string, from metalplane.EIPStatus, failed bool, step, driver, detail string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var status, instanceID string
		err := tx.QueryRowContext(ctx, `SELECT status, instance_id FROM eips WHERE id = $1 AND released = $2`+db.forUpdate(), eipID, false).Scan(&status, &instanceID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock EIP %s: %w", eipID, err)
		}
		if metalplane.EIPStatus(status) != from {
			return nil
		}
		to, keep := metalplane.EIPAvailable, false
		switch {
		case from == metalplane.EIPAssociating && !failed:
			to, keep = metalplane.EIPAssociated, true
		case from == metalplane.EIPUnassociating && failed:
			to, keep = metalplane.EIPAssociated, true
		case from == metalplane.EIPRecycling:
			to = metalplane.EIPRecycle
		}
		q := `UPDATE eips SET status = $1, instance_id = '' WHERE id = $2`
		if keep {
			q = `UPDATE eips SET status = $1 WHERE id = $2`
		}
		if _, err := tx.ExecContext(ctx, q, string(to), eipID); err != nil {
			return fmt.Errorf("finish EIP job: %w", err)
		}
		kind := "eip"
		if failed {
			kind = "failed"
		}
		return db.addEventTx(ctx, tx, instanceID, kind, step, driver, fmt.Sprintf("%s %s → %s: %s", eipID, from, to, detail))
	})
}

// detachInstanceEIPsTx lets go of the EIPs of an instance being released
// [decision]: its host is wiped and given back, which removes every route
// to it, so no driver call is needed; the EIPs become AVAILABLE (RECYCLE
// for one on its way into the recycle bin) and a pending job finds nothing
// left to do.
func (db *DB) detachInstanceEIPsTx(ctx context.Context, tx *sql.Tx, instanceID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE eips SET status = CASE WHEN status = $1 THEN $2 ELSE $3 END, instance_id = ''
		WHERE instance_id = $4 AND released = $5`,
		string(metalplane.EIPRecycling), string(metalplane.EIPRecycle), string(metalplane.EIPAvailable), instanceID, false)
	if err != nil {
		return fmt.Errorf("detach EIPs of %s: %w", instanceID, err)
	}
	return nil
}
