package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/metalplane/metalplane"
)

// EnqueueFunc enqueues one provisioning job per instance on tx, so the jobs
// commit with the order or not at all. The provision package supplies it.
type EnqueueFunc func(ctx context.Context, tx *sql.Tx, instanceIDs []string) error

// Lookups returns the database side of CreateInstances validation.
func (db *DB) Lookups() metalplane.CreateLookups { return createLookups{db} }

type createLookups struct{ db *DB }

func (l createLookups) KeyPairExists(ctx context.Context, teamID, keyID string) (bool, error) {
	var n int
	err := l.db.readRow(ctx, `SELECT COUNT(*) FROM key_pairs WHERE team_id = $1 AND id = $2`, teamID, keyID).Scan(&n)
	return n > 0, err
}

func (l createLookups) SubnetForCreate(ctx context.Context, teamID, subnetID string) (*metalplane.SubnetState, error) {
	var s metalplane.SubnetState
	var cidr string
	err := l.db.readRow(ctx, `SELECT zone_id, status, cidr FROM subnets WHERE team_id = $1 AND id = $2`, teamID, subnetID).Scan(&s.ZoneID, &s.Status, &cidr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	used, err := usedPrivateIPs(ctx, readQueryer{l.db}, subnetID)
	if err != nil {
		return nil, err
	}
	s.FreeIPs = len(freePrivateIPs(cidr, used, -1))
	return &s, nil
}

func (l createLookups) ResourceGroupID(ctx context.Context, teamID, id string) (string, error) {
	if id == "" {
		if id, ok := l.db.caches.defaultGroups.get(teamID); ok {
			return id, nil
		}
		ticket := l.db.caches.defaultGroups.begin()
		g, err := l.db.defaultResourceGroup(ctx, readQueryer{l.db}, teamID)
		if err != nil {
			return "", err
		}
		l.db.caches.defaultGroups.put(teamID, g.ID, ticket)
		return g.ID, nil
	}
	g, err := l.db.findResourceGroup(ctx, readQueryer{l.db}, teamID, id)
	if err != nil {
		return "", err
	}
	return g.ID, nil
}

func usedPrivateIPs(ctx context.Context, q queryer, subnetID string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT private_ip FROM instances WHERE subnet_id = $1 AND released = $2 AND private_ip <> ''`, subnetID, false)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[string]bool{}
	for rows.Next() {
		var ip string
		if err := rows.Scan(&ip); err != nil {
			return nil, err
		}
		used[ip] = true
	}
	return used, rows.Err()
}

// freePrivateIPs lists up to limit (all if < 0) free addresses of a
// subnet in ascending order. The network address, the first host (the
// gateway) and the broadcast address are never given out [decision].
func freePrivateIPs(cidr string, used map[string]bool, limit int) []string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil
	}
	p = p.Masked()
	var free []string
	a := p.Addr().Next().Next() // skip network and gateway
	for p.Contains(a) {
		next := a.Next()
		if !p.Contains(next) {
			break // a is the broadcast address
		}
		if !used[a.String()] {
			free = append(free, a.String())
			if limit >= 0 && len(free) == limit {
				break
			}
		}
		a = next
	}
	return free
}

// CreateResult is the answer of CreateInstances.
type CreateResult struct {
	InstanceIDSet []string `json:"instanceIdSet"`
	OrderNumber   string   `json:"orderNumber"`
}

// CreateInstances commits a validated plan in one transaction (DESIGN.md,
// the create path): quota, hosts, public and private IPs, the PREPAID
// debit, the order, the instances in PENDING, their provisioning jobs and,
// when ctx carries a signed request's claim (WithReplay), the claim with
// this answer. Any failure rolls everything back. Returns OPERATION_DENIED_INSTANCE_QUOTA_EXCEED,
// RESOURCES_SOLDOUT_INSTANCE_TYPE, RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT,
// INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT,
// OPERATION_DENIED_BALANCE_INSUFFICIENT, or ErrReplayed when an identical
// request committed first.
func (db *DB) CreateInstances(ctx context.Context, plan *metalplane.CreatePlan, enqueue EnqueueFunc) (*CreateResult, error) {
	result := &CreateResult{}
	claim := replayFrom(ctx)
	if db.singleWriter() {
		// The committer gives the purchase its IDs (groupcommit.go) and
		// writes the claim with them.
		if err := db.committer().submit(ctx, &purchase{plan: plan, result: result, replay: claim, enqueue: enqueue}); err != nil {
			return nil, err
		}
		if claim != nil {
			claim.written = true
		}
		return result, nil
	}
	// PostgreSQL runs purchases in parallel on many connections, in as
	// many processes as there are replicas: random IDs, which no two
	// replicas draw alike.
	result.OrderNumber = metalplane.NewOrderNumber()
	for range plan.Amount {
		result.InstanceIDSet = append(result.InstanceIDSet, metalplane.NewInstanceID())
	}
	response, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	if claim != nil {
		// The purchase's first statement writes it.
		claim.Response = response
	}
	// Batched with the purchases of the moment (groupcommit_pg.go).
	if err := db.committer().submit(ctx, &purchase{plan: plan, result: result, replay: claim, enqueue: enqueue}); err != nil {
		return nil, err
	}
	return result, nil
}

// createTx runs a purchase one statement at a time: SQLite's group
// committer runs it for each purchase of a batch on the one writer, which
// serialises purchases already. (PostgreSQL: createPipelined.)
func (db *DB) createTx(ctx context.Context, sqlTx *sql.Tx, plan *metalplane.CreatePlan, result *CreateResult, replay *Replay, response []byte, enqueue EnqueueFunc) error {
	// Every statement goes through the prepared-statement cache; River's
	// job insert needs the plain transaction.
	tx := db.cached(sqlTx)
	if replay != nil {
		// First, so that an identical request holding the signature makes
		// this one roll back before allocating anything.
		replay.Response = response
		if err := db.claimReplayTx(ctx, tx, replay); err != nil {
			return err
		}
	}
	// The team's row decides between purchases that race for its quota,
	// money and vouchers; the one writer serialises them.
	team, err := db.findTeamTx(ctx, tx, plan.TeamID)
	if err != nil {
		return err
	}
	// 15. Quota.
	if err := db.checkQuotaTx(ctx, tx, team, plan.Amount); err != nil {
		return err
	}
	// 16. Stock: hosts, then public addresses.
	var stock purchaseStock
	if stock.hosts, err = queryStrings(ctx, tx, db.pickHostsSQL(""), pickHostsArgs(plan)...); err != nil {
		return fmt.Errorf("pick hosts: %w", err)
	}
	if stock.ipv4, err = db.pickFree(ctx, tx, pickAddressesSQL, pickAddressesArgs(plan, 4)...); err != nil {
		return fmt.Errorf("pick IPv4: %w", err)
	}
	if plan.EnableIPv6 {
		if stock.ipv6, err = db.pickFree(ctx, tx, pickAddressesSQL, pickAddressesArgs(plan, 6)...); err != nil {
			return fmt.Errorf("pick IPv6: %w", err)
		}
	}
	// 16 (continued), 17. Balance.
	total, one, err := db.checkPicksAndMoneyTx(ctx, tx, plan, result.OrderNumber, team, &stock)
	if err != nil {
		return err
	}

	// Everything is checked: write.
	rows, err := db.purchaseRows(plan, result, team.ID, &stock, total, one)
	if err != nil {
		return err
	}
	for _, st := range rows {
		if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
	}
	if enqueue != nil {
		if err := enqueue(ctx, sqlTx, result.InstanceIDSet); err != nil {
			return fmt.Errorf("enqueue provisioning: %w", err)
		}
	}
	if total > 0 {
		if err := db.addLedgerTx(ctx, tx, purchaseCharge(plan, result.OrderNumber, team.ID, total)); err != nil {
			return err
		}
	}
	if plan.UsePocVoucher {
		// Validation saw a voucher; a purchase that raced for the last
		// one finds none here.
		res, err := tx.ExecContext(ctx, takeVoucherSQL, team.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errNoVoucher()
		}
	}
	return nil
}

// checkQuotaTx refuses amount more instances beyond the team's quota.
func (db *DB) checkQuotaTx(ctx context.Context, tx queryer, team *metalplane.Team, amount int) error {
	var live int
	if err := tx.QueryRowContext(ctx, db.liveInstancesQuery(), team.ID, false).Scan(&live); err != nil {
		return fmt.Errorf("count instances: %w", err)
	}
	return checkQuota(team, live, amount)
}

// pickFree selects free rows for allocation. On PostgreSQL, rows locked by
// a concurrent purchase are skipped rather than waited for, and the rows
// returned stay locked until the transaction ends.
func (db *DB) pickFree(ctx context.Context, tx queryer, query string, args ...any) ([]string, error) {
	return queryStrings(ctx, tx, query+db.skipLocked(), args...)
}

// jsonOrEmpty encodes v, or returns "" for nil and empty values.
func jsonOrEmpty(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" || string(b) == "[]" {
		return ""
	}
	return string(b)
}

const addEventSQL = `INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail) VALUES ($1, $2, $3, $4, $5, $6)`

// addEventTx records what happened to an instance.
func (db *DB) addEventTx(ctx context.Context, q queryer, instanceID, kind, step, driver, detail string) error {
	_, err := q.ExecContext(ctx, addEventSQL,
		instanceID, db.Now().UnixMilli(), kind, step, driver, detail)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}

// pickPrivateIPsTx takes a private address per instance in the plan's
// subnet, whose row it locks (PostgreSQL) so that two purchases cannot take
// the same address, or fills s.private with "" when there is no subnet.
func (db *DB) pickPrivateIPsTx(ctx context.Context, tx queryer, plan *metalplane.CreatePlan, s *purchaseStock) error {
	if plan.SubnetID == "" {
		s.private = make([]string, plan.Amount)
		return nil
	}
	var cidr string
	if err := tx.QueryRowContext(ctx, `SELECT cidr FROM subnets WHERE id = $1`+db.forUpdate(), plan.SubnetID).Scan(&cidr); err != nil {
		return fmt.Errorf("lock subnet: %w", err)
	}
	used, err := usedPrivateIPs(ctx, tx, plan.SubnetID)
	if err != nil {
		return err
	}
	if s.private = freePrivateIPs(cidr, used, plan.Amount); len(s.private) < plan.Amount {
		return metalplane.Errorf("INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT", "The subnet %s has too few free IPs.", plan.SubnetID)
	}
	return nil
}

// checkPicksAndMoneyTx refuses a purchase whose picks came back short,
// takes its private addresses, and refuses it when the team's balance does
// not allow it; it returns purchaseTotals'.
func (db *DB) checkPicksAndMoneyTx(ctx context.Context, tx queryer, plan *metalplane.CreatePlan, orderNumber string, team *metalplane.Team, stock *purchaseStock) (total, one metalplane.Money, err error) {
	if err := checkStock(plan, stock); err != nil {
		return 0, 0, err
	}
	if err := db.pickPrivateIPsTx(ctx, tx, plan, stock); err != nil {
		return 0, 0, err
	}
	if total, one, err = purchaseTotals(plan, orderNumber); err != nil {
		return 0, 0, err
	}
	return total, one, checkBalance(team, plan.ChargeType, total)
}
