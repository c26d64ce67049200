package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// Load balancers (metalplane.LoadBalancer, docs/loadbalancers.md). Every
// method is one transaction that takes the team's lock first (findTeamTx),
// so that a team's load balancer changes, its money and its clientTokens
// are serialised on PostgreSQL as they are on SQLite's one writer.

// LoadBalancerPriceFunc prices a load balancer with bandwidthMbps and
// extraVIPs at today's catalog; the handler gives it, since the store has
// no catalog.
type LoadBalancerPriceFunc func(lb *metalplane.LoadBalancer, bandwidthMbps, extraVIPs int) (metalplane.LoadBalancerPrice, error)

// LoadBalancerCreate is the input of CreateLoadBalancer; the handler has
// checked every field against the catalog.
type LoadBalancerCreate struct {
	TeamID          string
	ZoneID          string
	Name            string
	SpecName        string
	ChargeType      string
	Period          int // months, PREPAID only
	IPType          string
	BandwidthMbps   int
	ExtraVIPs       int
	SubnetID        string
	MasterIP        string
	BackupIP        string
	Tags            []metalplane.Tag
	ResourceGroupID string // "" is the team's default group
	ClientToken     string
	Price           metalplane.LoadBalancerPrice
}

// LoadBalancerOrder is the answer of CreateLoadBalancer.
type LoadBalancerOrder struct {
	OrderNumber    string `json:"orderNumber"`
	LoadBalancerID string `json:"loadBalancerId"`
}

// CreateLoadBalancer buys a load balancer: its order, its VIPs (1 +
// ExtraVIPs addresses of the zone's pool of its ipType) and, PREPAID, the
// charge of its period. A clientToken the team used before answers the
// load balancer it created, whatever its state, and buys nothing; the
// stored answer of a signed request is that one too. Returns
// INVALID_CHARGE_TYPE_NOT_SUPPORT (POSTPAID not enabled for the team),
// OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND, INVALID_SUBNET_NOT_FOUND,
// INVALID_SUBNET_ZONE_MISMATCH, INVALID_PARAMETER (master or backup IP
// outside the subnet), OPERATION_DENIED_BALANCE_INSUFFICIENT or
// RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT (the pool is short).
func (db *DB) CreateLoadBalancer(ctx context.Context, in LoadBalancerCreate) (*LoadBalancerOrder, error) {
	result := &LoadBalancerOrder{OrderNumber: metalplane.NewOrderNumber(), LoadBalancerID: metalplane.NewLoadBalancerID()}
	if err := setReplayAnswer(ctx, result); err != nil {
		return nil, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var orderErr error
		if used, err := db.lockTeamForTokenTx(ctx, tx, "load_balancers", in.TeamID, in.ClientToken, func(earlier string) any {
			result.LoadBalancerID = earlier
			orderErr = tx.QueryRowContext(ctx, `SELECT order_number FROM load_balancers WHERE id = $1`, earlier).Scan(&result.OrderNumber)
			return result
		}); used || err != nil || orderErr != nil {
			return errors.Join(err, orderErr)
		}
		team, err := db.findTeamTx(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		if in.ChargeType == metalplane.ChargeTypePostpaid && !team.PostpaidAllowed {
			return metalplane.Errorf("INVALID_CHARGE_TYPE_NOT_SUPPORT", "POSTPAID is not enabled for this account.")
		}
		g, err := db.teamGroupTx(ctx, tx, in.TeamID, in.ResourceGroupID)
		if err != nil {
			return err
		}
		if in.SubnetID != "" {
			s, err := db.findSubnet(ctx, tx, in.TeamID, in.SubnetID, "")
			if err != nil {
				return err
			}
			if s.ZoneID != in.ZoneID {
				return metalplane.Errorf("INVALID_SUBNET_ZONE_MISMATCH", "The subnet %s is in %s, not in %s.", s.ID, s.ZoneID, in.ZoneID)
			}
			if err := checkInSubnet(s.CIDR, in.MasterIP, in.BackupIP); err != nil {
				return err
			}
		}
		total := metalplane.Money(0)
		if in.ChargeType == metalplane.ChargeTypePrepaid {
			if total, err = metalplane.PeriodTotal(in.Price.Monthly, in.Period); err != nil {
				return err
			}
		}
		if err := checkBalance(team, in.ChargeType, total); err != nil {
			return err
		}
		family := metalplane.LoadBalancerFamily(in.IPType)
		addrs, err := db.pickFree(ctx, tx, `SELECT address FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3 ORDER BY seq LIMIT $4`,
			in.ZoneID, family, false, 1+in.ExtraVIPs)
		if err != nil {
			return fmt.Errorf("pick VIPs: %w", err)
		}
		if len(addrs) < 1+in.ExtraVIPs {
			return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Only %d public %s addresses are free in %s.", len(addrs), in.IPType, in.ZoneID)
		}
		now := db.Now()
		var expired, billedUntil int64
		if in.ChargeType == metalplane.ChargeTypePrepaid {
			expired = now.AddDate(0, in.Period, 0).Unix()
		} else {
			billedUntil = now.Unix()
		}
		tags, err := json.Marshal(in.Tags)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO load_balancers (id, team_id, zone_id, name, spec_name, charge_type, period, ip_type, bandwidth_mbps, status,
			resource_group_id, subnet_id, master_ip, backup_ip, tags, client_token, order_number, hourly_price, monthly_price, created_at, expired_time, recycled_at, billed_until, released)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
			result.LoadBalancerID, in.TeamID, in.ZoneID, in.Name, in.SpecName, in.ChargeType, in.Period, in.IPType, in.BandwidthMbps, metalplane.LoadBalancerRunning,
			g.ID, in.SubnetID, in.MasterIP, in.BackupIP, string(tags), nullString(in.ClientToken), result.OrderNumber, int64(in.Price.Hourly), int64(in.Price.Monthly),
			now.Unix(), expired, 0, billedUntil, false)
		if isUniqueViolation(err) {
			// Cannot happen under the team lock; say so rather than 500
			// silently if a path ever skips it.
			return fmt.Errorf("client token %q used concurrently: %w", in.ClientToken, err)
		}
		if err != nil {
			return fmt.Errorf("insert load balancer: %w", err)
		}
		if err := db.holdVIPsTx(ctx, tx, result.LoadBalancerID, addrs, now, true, nil); err != nil {
			return err
		}
		return db.chargeOrderTx(ctx, tx, in.TeamID, result.OrderNumber, in.ChargeType, total,
			fmt.Sprintf("load balancer %s (%s, %d Mbps, %d VIPs) for %d months", result.LoadBalancerID, in.SpecName, in.BandwidthMbps, 1+in.ExtraVIPs, in.Period))
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// setReplayAnswer sets v as the answer stored for a retry of the signed
// request in ctx, if any; inTx writes it with the claim.
func setReplayAnswer(ctx context.Context, v any) error {
	claim := replayFrom(ctx)
	if claim == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	claim.Response = b
	return nil
}

// replaceReplayAnswerTx replaces the answer that inTx stored with the
// claim of the signed request in ctx by v: a clientToken found in use
// answers the resource it made, not the one the request drew.
func (db *DB) replaceReplayAnswerTx(ctx context.Context, tx *sql.Tx, v any) error {
	claim := replayFrom(ctx)
	if claim == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE request_replays SET response = $1 WHERE access_key_id = $2 AND signature = $3 AND claim = $4`,
		string(b), claim.AccessKeyID, claim.Signature, claim.claim); err != nil {
		return fmt.Errorf("store the answer: %w", err)
	}
	claim.Response = b
	return nil
}

// teamGroupTx returns the team's group id, or its default group for "".
func (db *DB) teamGroupTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.ResourceGroup, error) {
	if id == "" {
		return db.defaultResourceGroup(ctx, tx, teamID)
	}
	return db.findResourceGroup(ctx, tx, teamID, id)
}

// checkInSubnet refuses a master or backup IP that is not a usable
// address of the subnet's block, or the same address twice.
func checkInSubnet(cidr string, ips ...string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("subnet block %q: %w", cidr, err)
	}
	seen := map[netip.Addr]bool{}
	for _, s := range ips {
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !p.Contains(a) || a == p.Masked().Addr() || a == metalplane.SubnetGateway(p) || !p.Contains(a.Next()) {
			return metalplane.Errorf("INVALID_PARAMETER", "%s is not a usable address of the subnet's block %s.", s, cidr)
		}
		if seen[a] {
			return metalplane.Errorf("INVALID_PARAMETER", "masterIp and backupIp must differ.")
		}
		seen[a] = true
	}
	return nil
}

// checkBalance refuses a PREPAID charge the balance does not cover, and a
// POSTPAID purchase without a positive balance (CreateInstances' rule,
// which every resource sold by the hour follows).
func checkBalance(team *metalplane.Team, chargeType string, total metalplane.Money) error {
	switch {
	case chargeType == metalplane.ChargeTypePrepaid && team.Balance < total:
		return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "This costs %s; the balance is %s.", total, team.Balance)
	case chargeType == metalplane.ChargeTypePostpaid && team.Balance <= 0:
		return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "POSTPAID resources need a positive balance.")
	}
	return nil
}

// chargeOrderTx records an order and, when total is positive, its one
// ledger row (LedgerPrepaidCharge), which the audit matches to the order.
func (db *DB) chargeOrderTx(ctx context.Context, tx *sql.Tx, teamID, orderNumber, chargeType string, total metalplane.Money, note string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (order_number, team_id, charge_type, amount, total, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		orderNumber, teamID, chargeType, 1, int64(total), db.Now().Unix()); err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	if total <= 0 {
		return nil
	}
	return db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: teamID, Amount: -total, Kind: metalplane.LedgerPrepaidCharge, OrderNumber: orderNumber, Note: note})
}

// holdVIPsTx makes addrs VIPs of the load balancer: the first one DEFAULT
// when withDefault, the others EXTRA. IDs come from ids when given (the
// answer drew them), else fresh.
func (db *DB) holdVIPsTx(ctx context.Context, tx *sql.Tx, lbID string, addrs []string, now time.Time, withDefault bool, ids []string) error {
	for i, addr := range addrs {
		kind := metalplane.VIPExtra
		if withDefault && i == 0 {
			kind = metalplane.VIPDefault
		}
		id := metalplane.NewVIPID()
		if i < len(ids) {
			id = ids[i]
		}
		res, err := tx.ExecContext(ctx, `UPDATE public_ips SET held_by = $1 WHERE address = $2 AND instance_id IS NULL AND held_by IS NULL`, lbID, addr)
		if err != nil {
			return fmt.Errorf("hold %s: %w", addr, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("hold %s: the address was taken meanwhile (%d rows, %v)", addr, n, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO load_balancer_vips (id, load_balancer_id, address, kind, created_at) VALUES ($1, $2, $3, $4, $5)`,
			id, lbID, addr, kind, now.Unix()); err != nil {
			return fmt.Errorf("insert VIP: %w", err)
		}
	}
	return nil
}

const loadBalancerColumns = `id, team_id, zone_id, name, spec_name, charge_type, period, ip_type, bandwidth_mbps, status, resource_group_id,
	subnet_id, master_ip, backup_ip, tags, order_number, hourly_price, monthly_price, created_at, expired_time, recycled_at, billed_until`

func scanLoadBalancer(row interface{ Scan(...any) error }) (*metalplane.LoadBalancer, error) {
	var lb metalplane.LoadBalancer
	var tags string
	var hourly, monthly, created, expired, recycled, billed int64
	if err := row.Scan(&lb.ID, &lb.TeamID, &lb.ZoneID, &lb.Name, &lb.SpecName, &lb.ChargeType, &lb.Period, &lb.IPType, &lb.BandwidthMbps, &lb.Status,
		&lb.ResourceGroupID, &lb.SubnetID, &lb.MasterIP, &lb.BackupIP, &tags, &lb.OrderNumber, &hourly, &monthly, &created, &expired, &recycled, &billed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &lb.Tags); err != nil {
		return nil, fmt.Errorf("tags of %s: %w", lb.ID, err)
	}
	lb.HourlyPrice, lb.MonthlyPrice = metalplane.Money(hourly), metalplane.Money(monthly)
	lb.CreatedAt = time.Unix(created, 0).UTC()
	lb.ExpiredTime, lb.RecycledAt, lb.BilledUntil = unixOrZero(expired).UTC(), unixOrZero(recycled).UTC(), unixOrZero(billed).UTC()
	return &lb, nil
}

// errLoadBalancerNotFound is the answer for a load balancer that is not
// the team's live one.
func errLoadBalancerNotFound(id string) error {
	return metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The load balancer %s does not exist.", id)
}

// lockLoadBalancerTx reads the team's live load balancer under its row
// lock; another team's, a released or an unknown one is
// OPERATION_FAILED_RESOURCE_NOT_FOUND.
func (db *DB) lockLoadBalancerTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.LoadBalancer, error) {
	lb, err := scanLoadBalancer(tx.QueryRowContext(ctx, `SELECT `+loadBalancerColumns+` FROM load_balancers WHERE team_id = $1 AND id = $2 AND released = $3`+db.forUpdate(),
		teamID, id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errLoadBalancerNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("find load balancer: %w", err)
	}
	return lb, nil
}

// errNotRunning refuses a change to a load balancer in the recycle bin.
func errNotRunning(lb *metalplane.LoadBalancer) error {
	return metalplane.Errorf("OPERATION_DENIED_INVALID_STATUS", "The load balancer %s is %s; only a %s one can be changed.", lb.ID, lb.Status, metalplane.LoadBalancerRunning)
}

// runningLoadBalancerTx is lockLoadBalancerTx that also refuses one that
// is not RUNNING.
func (db *DB) runningLoadBalancerTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.LoadBalancer, error) {
	lb, err := db.lockLoadBalancerTx(ctx, tx, teamID, id)
	if err != nil {
		return nil, err
	}
	if lb.Status != metalplane.LoadBalancerRunning {
		return nil, errNotRunning(lb)
	}
	return lb, nil
}

// LoadBalancerFilter selects live load balancers of a team for
// FindLoadBalancers. Empty fields do not filter.
type LoadBalancerFilter struct {
	TeamID string
	IDs    []string
	ZoneID string
	// Name matches any load balancer whose name contains it ("fuzzy
	// search", docs), case-sensitively.
	Name            string
	ResourceGroupID string
	// TagKeys keeps load balancers with every key; Tags with every pair
	// (a pair without a value: the key alone).
	TagKeys           []string
	Tags              []metalplane.Tag
	PageNum, PageSize int
}

// FindLoadBalancers returns one page of the team's matching live load
// balancers, oldest first, and the number of matches. Tags are filtered
// here, on the team's load balancers that pass the other filters: tags
// are stored with the row as JSON.
func (db *DB) FindLoadBalancers(ctx context.Context, f LoadBalancerFilter) ([]*metalplane.LoadBalancer, int, error) {
	conds := []string{"team_id = $1", "released = $2"}
	args := []any{f.TeamID, false}
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
	if f.ZoneID != "" {
		conds = append(conds, "zone_id = "+arg(f.ZoneID))
	}
	if f.ResourceGroupID != "" {
		conds = append(conds, "resource_group_id = "+arg(f.ResourceGroupID))
	}
	if f.Name != "" {
		// instr, not LIKE: a name may hold '%' or '_' (it cannot today,
		// but a filter is free text).
		conds = append(conds, db.containsExpr("name", arg(f.Name)))
	}
	var all []*metalplane.LoadBalancer
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+loadBalancerColumns+` FROM load_balancers WHERE `+strings.Join(conds, " AND ")+` ORDER BY created_at, id`, args...)
		if err != nil {
			return fmt.Errorf("find load balancers: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			lb, err := scanLoadBalancer(rows)
			if err != nil {
				return err
			}
			if tagsMatch(lb.Tags, f.TagKeys, f.Tags) {
				all = append(all, lb)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	limit, offset, ok := pageWindow(f.PageNum, f.PageSize, len(all))
	if !ok {
		return []*metalplane.LoadBalancer{}, len(all), nil
	}
	return all[offset:min(offset+limit, len(all))], len(all), nil
}

// containsExpr is a SQL test that column contains the parameter ph.
func (db *DB) containsExpr(column, ph string) string {
	if db.Dialect == Postgres {
		return "strpos(" + column + ", " + ph + ") > 0"
	}
	return "instr(" + column + ", " + ph + ") > 0"
}

// tagsMatch reports whether tags hold every key of keys and every pair of
// pairs.
func tagsMatch(tags []metalplane.Tag, keys []string, pairs []metalplane.Tag) bool {
	has := func(k string, v *string) bool {
		for _, t := range tags {
			if deref(t.Key) == k && (v == nil || deref(t.Value) == *v) {
				return true
			}
		}
		return false
	}
	for _, k := range keys {
		if !has(k, nil) {
			return false
		}
	}
	for _, p := range pairs {
		if !has(deref(p.Key), p.Value) {
			return false
		}
	}
	return true
}

// LoadBalancerVIPs returns the VIPs of each load balancer: the DEFAULT one
// first ("DEFAULT" < "EXTRA"), then the others oldest first.
func (db *DB) LoadBalancerVIPs(ctx context.Context, lbIDs []string) (map[string][]metalplane.LoadBalancerVIP, error) {
	out := map[string][]metalplane.LoadBalancerVIP{}
	err := db.eachByIDs(ctx, `SELECT id, load_balancer_id, address, kind, created_at FROM load_balancer_vips WHERE load_balancer_id IN (%s) ORDER BY kind, created_at, id`,
		lbIDs, func(rows *sql.Rows) error {
			var v metalplane.LoadBalancerVIP
			var created int64
			if err := rows.Scan(&v.ID, &v.LoadBalancerID, &v.Address, &v.Type, &created); err != nil {
				return err
			}
			v.CreatedAt = time.Unix(created, 0).UTC()
			out[v.LoadBalancerID] = append(out[v.LoadBalancerID], v)
			return nil
		})
	return out, err
}

// eachByIDs runs query, whose %s is replaced by one parameter per ID, and
// calls fn on each row; no IDs, no query.
func (db *DB) eachByIDs(ctx context.Context, query string, ids []string, fn func(*sql.Rows) error) error {
	ids = uniqueStrings(ids)
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return db.readTx(ctx, func(tx *sql.Tx) error {
		return eachRow(ctx, tx, fn, fmt.Sprintf(query, placeholders(1, len(ids))), args...)
	})
}

// RenameLoadBalancers gives every one of the team's live load balancers
// ids the name, or none of them: an unknown ID is
// OPERATION_FAILED_RESOURCE_NOT_FOUND. [decision] A load balancer in the
// recycle bin may be renamed: the name is a label, not a change of
// service.
func (db *DB) RenameLoadBalancers(ctx context.Context, teamID string, ids []string, name string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
			return err
		}
		for _, id := range uniqueStrings(ids) {
			if _, err := db.lockLoadBalancerTx(ctx, tx, teamID, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE load_balancers SET name = $1 WHERE id = $2`, name, id); err != nil {
				return fmt.Errorf("rename: %w", err)
			}
		}
		return nil
	})
}

// LoadBalancerChange is the answer of CreateLoadBalancerVIPs.
type LoadBalancerChange struct {
	OrderNumber string   `json:"orderNumber"`
	VIPIDs      []string `json:"vipIdSet"`
}

// ModifyLoadBalancerBandwidth sets the bandwidth of the team's running
// load balancer (see repriceTx for the money). Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND, OPERATION_DENIED_INVALID_STATUS,
// price's errors or OPERATION_DENIED_BALANCE_INSUFFICIENT.
func (db *DB) ModifyLoadBalancerBandwidth(ctx context.Context, teamID, id string, mbps int, price LoadBalancerPriceFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		lb, extra, err := db.lockForChangeTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if err := db.repriceTx(ctx, tx, lb, mbps, extra, price, metalplane.NewOrderNumber(), fmt.Sprintf("bandwidth of %s: %d → %d Mbps", lb.ID, lb.BandwidthMbps, mbps)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE load_balancers SET bandwidth_mbps = $1, config_version = config_version + 1 WHERE id = $2`, mbps, id)
		return err
	})
}

// lockForChangeTx takes the team lock and the running load balancer and
// counts its extra VIPs.
func (db *DB) lockForChangeTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.LoadBalancer, int, error) {
	if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
		return nil, 0, err
	}
	lb, err := db.runningLoadBalancerTx(ctx, tx, teamID, id)
	if err != nil {
		return nil, 0, err
	}
	var extra int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM load_balancer_vips WHERE load_balancer_id = $1 AND kind = $2`, id, metalplane.VIPExtra).Scan(&extra); err != nil {
		return nil, 0, fmt.Errorf("count VIPs: %w", err)
	}
	return lb, extra, nil
}

// repriceTx moves the load balancer to its price with mbps and extraVIPs
// [decision]: POSTPAID, the hours that ended are charged at the old price
// first and the new price applies from the next hour on; PREPAID, an
// increase of the monthly price is charged for the rest of the paid period
// (metalplane.ProrateUpgrade of the period's difference) as an order of
// its own, and a decrease refunds nothing.
func (db *DB) repriceTx(ctx context.Context, tx *sql.Tx, lb *metalplane.LoadBalancer, mbps, extraVIPs int, price LoadBalancerPriceFunc, orderNumber, note string) error {
	p, err := price(lb, mbps, extraVIPs)
	if err != nil {
		return err
	}
	charge := metalplane.Money(0)
	if lb.ChargeType == metalplane.ChargeTypePrepaid {
		// Both prices are at least 0, so the difference cannot wrap.
		diff, ok := (p.Monthly - lb.MonthlyPrice).Times(int64(lb.Period))
		if !ok {
			return metalplane.Errorf("INVALID_PARAMETER", "The price of this change is too large to be charged.")
		}
		charge = metalplane.ProrateUpgrade(diff, lb.Period, lb.ExpiredTime, db.Now())
	} else if err := db.accrueLoadBalancerTx(ctx, tx, lb, db.Now(), false); err != nil {
		return err
	}
	// Read after the accrual, which moved the balance.
	team, err := db.findTeamTx(ctx, tx, lb.TeamID)
	if err != nil {
		return err
	}
	if err := checkBalance(team, lb.ChargeType, charge); err != nil {
		return err
	}
	if err := db.chargeOrderTx(ctx, tx, lb.TeamID, orderNumber, lb.ChargeType, charge, note); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE load_balancers SET hourly_price = $1, monthly_price = $2 WHERE id = $3`, int64(p.Hourly), int64(p.Monthly), lb.ID)
	return err
}

// CreateLoadBalancerVIPs adds count EXTRA VIPs to the team's running load
// balancer, priced as repriceTx says. Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND, OPERATION_DENIED_INVALID_STATUS,
// INVALID_PARAMETER past metalplane.MaxLoadBalancerVIPs,
// OPERATION_DENIED_BALANCE_INSUFFICIENT or
// RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT.
func (db *DB) CreateLoadBalancerVIPs(ctx context.Context, teamID, id string, count int, price LoadBalancerPriceFunc) (*LoadBalancerChange, error) {
	result := &LoadBalancerChange{OrderNumber: metalplane.NewOrderNumber()}
	for range count {
		result.VIPIDs = append(result.VIPIDs, metalplane.NewVIPID())
	}
	if err := setReplayAnswer(ctx, result); err != nil {
		return nil, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		lb, extra, err := db.lockForChangeTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if 1+extra+count > metalplane.MaxLoadBalancerVIPs {
			return metalplane.Errorf("INVALID_PARAMETER", "A load balancer holds at most %d VIPs; %s holds %d.", metalplane.MaxLoadBalancerVIPs, id, 1+extra)
		}
		addrs, err := db.pickFree(ctx, tx, `SELECT address FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3 ORDER BY seq LIMIT $4`,
			lb.ZoneID, metalplane.LoadBalancerFamily(lb.IPType), false, count)
		if err != nil {
			return fmt.Errorf("pick VIPs: %w", err)
		}
		if len(addrs) < count {
			return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Only %d public %s addresses are free in %s.", len(addrs), lb.IPType, lb.ZoneID)
		}
		if err := db.repriceTx(ctx, tx, lb, lb.BandwidthMbps, extra+count, price, result.OrderNumber, fmt.Sprintf("%d VIPs for %s", count, id)); err != nil {
			return err
		}
		if err := db.holdVIPsTx(ctx, tx, id, addrs, db.Now(), false, result.VIPIDs); err != nil {
			return err
		}
		return touchLoadBalancerTx(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// DeleteLoadBalancerVIP gives an EXTRA VIP of the team's running load
// balancer back to the pool and lowers its price (repriceTx). Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND for an unknown VIP,
// OPERATION_DENIED_INVALID_STATUS, and INVALID_PARAMETER for the DEFAULT
// VIP, which goes only with the load balancer [decision].
func (db *DB) DeleteLoadBalancerVIP(ctx context.Context, teamID, vipID string, price LoadBalancerPriceFunc) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var lbID, kind, addr string
		err := tx.QueryRowContext(ctx, `SELECT v.load_balancer_id, v.kind, v.address FROM load_balancer_vips v JOIN load_balancers l ON l.id = v.load_balancer_id
			WHERE v.id = $1 AND l.team_id = $2`, vipID, teamID).Scan(&lbID, &kind, &addr)
		if errors.Is(err, sql.ErrNoRows) {
			return metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The VIP %s does not exist.", vipID)
		}
		if err != nil {
			return fmt.Errorf("find VIP: %w", err)
		}
		lb, extra, err := db.lockForChangeTx(ctx, tx, teamID, lbID)
		if err != nil {
			return err
		}
		if kind == metalplane.VIPDefault {
			return metalplane.Errorf("INVALID_PARAMETER", "The VIP %s is the default address of %s; it goes only with the load balancer.", vipID, lbID)
		}
		if err := db.repriceTx(ctx, tx, lb, lb.BandwidthMbps, extra-1, price, metalplane.NewOrderNumber(), fmt.Sprintf("VIP %s of %s deleted", addr, lbID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM load_balancer_vips WHERE id = $1`, vipID); err != nil {
			return fmt.Errorf("delete VIP: %w", err)
		}
		if _, err = tx.ExecContext(ctx, `UPDATE public_ips SET held_by = NULL WHERE address = $1 AND held_by = $2`, addr, lbID); err != nil {
			return err
		}
		return touchLoadBalancerTx(ctx, tx, lbID)
	})
}

// TerminateLoadBalancer moves the team's running load balancer to the
// recycle bin: POSTPAID billing stops, the hour it stops in charged in
// full; its VIPs, listeners and backends stay. Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND or OPERATION_DENIED_INVALID_STATUS.
// [decision] A PREPAID load balancer may be terminated before it expires;
// the paid period is not refunded, and a restore before the expiry costs
// nothing.
func (db *DB) TerminateLoadBalancer(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
			return err
		}
		lb, err := db.runningLoadBalancerTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		return db.recycleLoadBalancerTx(ctx, tx, lb, db.Now())
	})
}

// recycleLoadBalancerTx moves the locked, running load balancer to RECYCLE
// at the time at, charging a POSTPAID one up to it (the last hour in full).
func (db *DB) recycleLoadBalancerTx(ctx context.Context, tx *sql.Tx, lb *metalplane.LoadBalancer, at time.Time) error {
	if lb.ChargeType == metalplane.ChargeTypePostpaid {
		if err := db.accrueLoadBalancerTx(ctx, tx, lb, at, true); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE load_balancers SET status = $1, recycled_at = $2, config_version = config_version + 1 WHERE id = $3`,
		metalplane.LoadBalancerRecycle, at.Unix(), lb.ID)
	return err
}

// RestoreLoadBalancer brings the team's load balancer back from the
// recycle bin, RUNNING, and returns the order of the restore
// [decision]: a PREPAID one whose period ended is charged a new period
// (its period at its monthly price) from now; one still inside its period,
// and a POSTPAID one, cost nothing at once (an order of 0), and POSTPAID
// billing resumes from now (or from the end of the hour already paid).
// Returns OPERATION_FAILED_RESOURCE_NOT_FOUND,
// OPERATION_DENIED_INVALID_STATUS unless it is in the recycle bin, or
// OPERATION_DENIED_BALANCE_INSUFFICIENT.
func (db *DB) RestoreLoadBalancer(ctx context.Context, teamID, id string) (string, error) {
	orderNumber := metalplane.NewOrderNumber()
	if err := setReplayAnswer(ctx, map[string]string{"orderNumber": orderNumber}); err != nil {
		return "", err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		team, err := db.findTeamTx(ctx, tx, teamID)
		if err != nil {
			return err
		}
		lb, err := db.lockLoadBalancerTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if lb.Status != metalplane.LoadBalancerRecycle {
			return metalplane.Errorf("OPERATION_DENIED_INVALID_STATUS", "The load balancer %s is %s; only one in the recycle bin can be restored.", id, lb.Status)
		}
		now := db.Now()
		total := metalplane.Money(0)
		expired, billed := lb.ExpiredTime, lb.BilledUntil
		if lb.ChargeType == metalplane.ChargeTypePrepaid && !expired.After(now) {
			if total, err = metalplane.PeriodTotal(lb.MonthlyPrice, lb.Period); err != nil {
				return err
			}
			expired = now.AddDate(0, lb.Period, 0)
		}
		if lb.ChargeType == metalplane.ChargeTypePostpaid && billed.Before(now) {
			billed = now
		}
		if err := checkBalance(team, lb.ChargeType, total); err != nil {
			return err
		}
		if err := db.chargeOrderTx(ctx, tx, teamID, orderNumber, lb.ChargeType, total, fmt.Sprintf("restore of load balancer %s", id)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE load_balancers SET status = $1, recycled_at = 0, expired_time = $2, billed_until = $3,
			config_version = config_version + 1 WHERE id = $4`,
			metalplane.LoadBalancerRunning, unixOrZeroSeconds(expired), unixOrZeroSeconds(billed), id)
		return err
	})
	if err != nil {
		return "", err
	}
	return orderNumber, nil
}

// unixOrZeroSeconds is the column value of t: its Unix seconds, 0 for the
// zero time.
func unixOrZeroSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// ReleaseLoadBalancer releases the team's load balancer from the recycle
// bin: its VIPs go back to the pool, its listeners and backends are
// deleted, and it leaves every answer (the row stays, for its
// clientToken). Returns OPERATION_FAILED_RESOURCE_NOT_FOUND or
// OPERATION_DENIED_INVALID_STATUS unless it is in the recycle bin.
func (db *DB) ReleaseLoadBalancer(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
			return err
		}
		lb, err := db.lockLoadBalancerTx(ctx, tx, teamID, id)
		if err != nil {
			return err
		}
		if lb.Status != metalplane.LoadBalancerRecycle {
			return metalplane.Errorf("OPERATION_DENIED_INVALID_STATUS", "The load balancer %s is %s; only one in the recycle bin can be released.", id, lb.Status)
		}
		return db.releaseLoadBalancerTx(ctx, tx, id)
	})
}

// releaseLoadBalancerTx releases the locked load balancer.
func (db *DB) releaseLoadBalancerTx(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{
		`DELETE FROM load_balancer_backends WHERE load_balancer_id = $1`,
		`DELETE FROM load_balancer_listeners WHERE load_balancer_id = $1`,
		`DELETE FROM load_balancer_vips WHERE load_balancer_id = $1`,
		`UPDATE public_ips SET held_by = NULL WHERE held_by = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("release %s: %w", id, err)
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE load_balancers SET released = $1, config_version = config_version + 1 WHERE id = $2`, true, id)
	return err
}

// lbHourKey is the dedupe key of the POSTPAID hour of a load balancer that
// starts at start: one ledger row per hour, however many sweeps or
// terminations see it due.
func lbHourKey(id string, start time.Time) string {
	return fmt.Sprintf("lb-hour:%s:%d", id, start.Unix())
}

// accrueLoadBalancerTx charges the POSTPAID hours of the locked load
// balancer that are due at upTo (metalplane.LoadBalancerHoursDue; roundUp
// charges the hour upTo falls in, in full) at its current hourly price,
// and moves billed_until past them.
func (db *DB) accrueLoadBalancerTx(ctx context.Context, tx *sql.Tx, lb *metalplane.LoadBalancer, upTo time.Time, roundUp bool) error {
	if lb.ChargeType != metalplane.ChargeTypePostpaid || lb.Status != metalplane.LoadBalancerRunning {
		return nil
	}
	if lb.HourlyPrice < 0 {
		return fmt.Errorf("load balancer %s: hourly price %s is negative", lb.ID, lb.HourlyPrice)
	}
	hours := metalplane.LoadBalancerHoursDue(lb.BilledUntil, upTo, roundUp)
	if len(hours) == 0 {
		return nil
	}
	if lb.HourlyPrice > 0 {
		for _, h := range hours {
			if _, err := db.addLedgerOnceTx(ctx, tx, metalplane.LedgerEntry{TeamID: lb.TeamID, Amount: -lb.HourlyPrice, Kind: metalplane.LedgerLoadBalancerHour,
				OrderNumber: lb.OrderNumber, Note: fmt.Sprintf("hour of load balancer %s from %s", lb.ID, h.UTC().Format(apiTime))}, lbHourKey(lb.ID, h)); err != nil {
				return err
			}
		}
	}
	lb.BilledUntil = hours[len(hours)-1].Add(time.Hour)
	_, err := tx.ExecContext(ctx, `UPDATE load_balancers SET billed_until = $1 WHERE id = $2`, lb.BilledUntil.Unix(), lb.ID)
	return err
}

// sweepLoadBalancers performs the clock-driven work of load balancers at
// now, each one in its own transaction under its row lock (Sweep's rule):
// POSTPAID hours that ended, PREPAID periods that ended (to the recycle
// bin at the expiry: no action renews a load balancer [decision]), and
// the release of the recycle bin after RecycleRetention.
func (db *DB) sweepLoadBalancers(ctx context.Context, now time.Time, res *SweepResult) []error {
	var errs []error
	each := func(query string, at int64, fn func(tx *sql.Tx, lb *metalplane.LoadBalancer) error) {
		errs = append(errs, db.eachDue(ctx, query, at, func(id string) error {
			return db.inTx(ctx, func(tx *sql.Tx) error {
				// The team's lock first, as every action takes it before
				// the load balancer's: the other order could deadlock
				// with an action on PostgreSQL.
				var teamID string
				if err := tx.QueryRowContext(ctx, `SELECT team_id FROM load_balancers WHERE id = $1`, id).Scan(&teamID); err != nil {
					return err
				}
				if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
					return err
				}
				lb, err := scanLoadBalancer(tx.QueryRowContext(ctx, `SELECT `+loadBalancerColumns+` FROM load_balancers WHERE id = $1 AND released = $2`+db.forUpdate(), id, false))
				if errors.Is(err, sql.ErrNoRows) {
					return nil
				}
				if err != nil {
					return err
				}
				return fn(tx, lb)
			})
		})...)
	}
	each(`SELECT id FROM load_balancers WHERE charge_type = 'POSTPAID' AND released = FALSE AND status = 'RUNNING'
		AND billed_until + 3600 <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(tx *sql.Tx, lb *metalplane.LoadBalancer) error {
			before := lb.BilledUntil
			if err := db.accrueLoadBalancerTx(ctx, tx, lb, now, false); err != nil {
				return err
			}
			res.LoadBalancerHours += int(lb.BilledUntil.Sub(before) / time.Hour)
			return nil
		})
	each(`SELECT id FROM load_balancers WHERE charge_type = 'PREPAID' AND released = FALSE AND status = 'RUNNING'
		AND expired_time <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(tx *sql.Tx, lb *metalplane.LoadBalancer) error {
			if lb.Status != metalplane.LoadBalancerRunning || lb.ChargeType != metalplane.ChargeTypePrepaid || lb.ExpiredTime.After(now) {
				return nil
			}
			res.LoadBalancersRecycled++
			return db.recycleLoadBalancerTx(ctx, tx, lb, lb.ExpiredTime)
		})
	cutoff := now.Add(-RecycleRetention)
	each(`SELECT id FROM load_balancers WHERE released = FALSE AND status = 'RECYCLE' AND recycled_at <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), cutoff.Unix(),
		func(tx *sql.Tx, lb *metalplane.LoadBalancer) error {
			if lb.Status != metalplane.LoadBalancerRecycle || lb.RecycledAt.After(cutoff) {
				return nil
			}
			res.LoadBalancersReleased++
			return db.releaseLoadBalancerTx(ctx, tx, lb.ID)
		})
	return errs
}

// touchLoadBalancerTx records that the configuration of the load balancer
// changed, for the driver to apply (PendingLoadBalancerConfigs).
func touchLoadBalancerTx(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE load_balancers SET config_version = config_version + 1 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("touch load balancer %s: %w", id, err)
	}
	return nil
}
