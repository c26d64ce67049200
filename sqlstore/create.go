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
		g, err := l.db.defaultResourceGroup(ctx, readQueryer{l.db}, teamID)
		if err != nil {
			return "", err
		}
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
		// inTx writes it first.
		claim.Response = response
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		return db.createTx(ctx, tx, plan, result, nil, response, enqueue)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

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
	// money and vouchers. SQLite's one writer serialises them already; on
	// PostgreSQL the row is locked here and held to the commit. NO KEY
	// UPDATE: the rows inserted below hold KEY SHARE locks on the team
	// (their foreign keys), which FOR UPDATE would conflict with. Locking it
	// last instead (tried, docs/performance.md) deadlocked with
	// CreateIpv4Block, which locks the team and then pool addresses.
	team, err := db.lockTeamForPurchaseTx(ctx, tx, plan.TeamID)
	if err != nil {
		return err
	}
	// 15. Quota.
	if err := db.checkQuotaTx(ctx, tx, team, plan.Amount); err != nil {
		return err
	}
	// 16. Stock: hosts, then public addresses.
	hosts, err := db.pickFree(ctx, tx, `SELECT id FROM hosts WHERE zone_id = $1 AND instance_type_id = $2 AND state = $3 ORDER BY id LIMIT $4`,
		plan.Zone.ID, plan.Type.ID, HostAvailable, plan.Amount)
	if err != nil {
		return fmt.Errorf("pick hosts: %w", err)
	}
	if len(hosts) == 0 {
		return metalplane.Errorf("RESOURCES_SOLDOUT_INSTANCE_TYPE", "%s is sold out in %s.", plan.Type.ID, plan.Zone.ID)
	}
	if len(hosts) < plan.Amount {
		return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Only %d %s hosts are free in %s.", len(hosts), plan.Type.ID, plan.Zone.ID)
	}
	ipv4, err := db.pickFree(ctx, tx, `SELECT address FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3 ORDER BY seq LIMIT $4`,
		plan.Zone.ID, 4, false, plan.Amount)
	if err != nil {
		return fmt.Errorf("pick IPv4: %w", err)
	}
	if len(ipv4) < plan.Amount {
		return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Not enough public IPv4 addresses are free in %s.", plan.Zone.ID)
	}
	ipv6 := make([]string, plan.Amount)
	if plan.EnableIPv6 {
		if ipv6, err = db.pickFree(ctx, tx, `SELECT address FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3 ORDER BY seq LIMIT $4`,
			plan.Zone.ID, 6, false, plan.Amount); err != nil {
			return fmt.Errorf("pick IPv6: %w", err)
		}
		if len(ipv6) < plan.Amount {
			return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Not enough public IPv6 addresses are free in %s.", plan.Zone.ID)
		}
	}
	private := make([]string, plan.Amount)
	if plan.SubnetID != "" {
		var cidr string
		if err := tx.QueryRowContext(ctx, `SELECT cidr FROM subnets WHERE id = $1`+db.forUpdate(), plan.SubnetID).Scan(&cidr); err != nil {
			return fmt.Errorf("lock subnet: %w", err)
		}
		used, err := usedPrivateIPs(ctx, tx, plan.SubnetID)
		if err != nil {
			return err
		}
		if private = freePrivateIPs(cidr, used, plan.Amount); len(private) < plan.Amount {
			return metalplane.Errorf("INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT", "The subnet %s has too few free IPs.", plan.SubnetID)
		}
	}
	// 17. Balance. The plan's prices were checked by ValidateCreate; they
	// are checked again here, the last step before money moves, so that no
	// caller can hand the store a total that credits the team.
	total, err := plan.Total()
	if err != nil {
		return err
	}
	one, err := plan.Price.Total()
	if err != nil {
		return err
	}
	if plan.ChargeType == metalplane.ChargeTypePrepaid && !plan.UsePocVoucher {
		if err := metalplane.CheckDebit("order "+result.OrderNumber, total, plan.Offer.Prices.InstanceMonthly); err != nil {
			return err
		}
	} else if err := metalplane.CheckDebit("order "+result.OrderNumber, one, 0); err != nil {
		// A POSTPAID hourly price below zero would never be billed.
		return err
	}
	if err := checkBalance(team, plan.ChargeType, total); err != nil {
		return err
	}

	// Everything is checked: write.
	now := db.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (order_number, team_id, charge_type, amount, total, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		result.OrderNumber, team.ID, plan.ChargeType, plan.Amount, int64(total), now.Unix()); err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	raidJSON, partsJSON, tagsJSON, keysJSON := jsonOrEmpty(plan.RaidConfig), jsonOrEmpty(plan.Partitions), jsonOrEmpty(plan.Tags), jsonOrEmpty(plan.SSHKeys)
	imageID := ""
	if plan.Image != nil {
		imageID = plan.Image.ID
	}
	periodPrice, hourlyPrice := metalplane.Money(0), metalplane.Money(0)
	if plan.ChargeType == metalplane.ChargeTypePrepaid {
		if !plan.UsePocVoucher {
			periodPrice = one
		}
	} else {
		hourlyPrice = one
	}
	for i, id := range result.InstanceIDSet {
		password, err := db.newInstancePassword(id, plan.Password)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO instances (id, team_id, order_number, zone_id, instance_type_id, host_id, name, hostname, image_id, ipxe_url,
			charge_type, period, auto_renew, internet_charge_type, bandwidth_out_mbps, traffic_package_tb, cluster_id, resource_group_id, key_id, status,
			failure_reason, public_ipv4, public_ipv6, private_ip, subnet_id, raid_config, partitions, wan_name, lan_name, tags, enable_gateway_mode,
			password, ssh_keys, user_data, period_price, hourly_price, provision_step, create_time, expired_time, recycled_at, released)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, '', $21, $22, $23, $24, $25, $26, $27, $28, $29, $30,
			$31, $32, $33, $34, $35, 0, $36, 0, 0, $37)`,
			id, team.ID, result.OrderNumber, plan.Zone.ID, plan.Type.ID, hosts[i], plan.Names[i], plan.Hostnames[i], imageID, plan.IpxeURL,
			plan.ChargeType, plan.Period, plan.ChargeType == metalplane.ChargeTypePrepaid, plan.InternetChargeType, plan.BandwidthMbps, plan.TrafficPackageTB,
			plan.ClusterID, plan.ResourceGroupID, plan.KeyID, string(metalplane.StatusPending), ipv4[i], ipv6[i], private[i], plan.SubnetID,
			raidJSON, partsJSON, *plan.Nic.WanName, *plan.Nic.LanName, tagsJSON, plan.EnableGatewayMode,
			password, keysJSON, plan.UserData, int64(periodPrice), int64(hourlyPrice), now.Unix(), false)
		if err != nil {
			return fmt.Errorf("insert instance: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET state = $1, instance_id = $2, updated_at = $3 WHERE id = $4`, HostAllocated, id, now.Unix(), hosts[i]); err != nil {
			return fmt.Errorf("allocate host: %w", err)
		}
		for _, addr := range []string{ipv4[i], ipv6[i]} {
			if addr == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE public_ips SET instance_id = $1 WHERE address = $2`, id, addr); err != nil {
				return fmt.Errorf("allocate address: %w", err)
			}
		}
		for _, tag := range plan.Tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO instance_tags (instance_id, tag_key, tag_value) VALUES ($1, $2, $3)`, id, *tag.Key, *tag.Value); err != nil {
				return fmt.Errorf("insert tag: %w", err)
			}
		}
		if err := db.addEventTx(ctx, tx, id, "created", "", "", fmt.Sprintf("order %s, host %s", result.OrderNumber, hosts[i])); err != nil {
			return err
		}
	}
	if enqueue != nil {
		if err := enqueue(ctx, sqlTx, result.InstanceIDSet); err != nil {
			return fmt.Errorf("enqueue provisioning: %w", err)
		}
	}
	if total > 0 {
		if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: team.ID, Amount: -total, Kind: metalplane.LedgerPrepaidCharge,
			OrderNumber: result.OrderNumber, Note: fmt.Sprintf("%d × %s in %s for %d months", plan.Amount, plan.Type.ID, plan.Zone.ID, plan.Period)}); err != nil {
			return err
		}
	}
	if plan.UsePocVoucher {
		// Validation saw a voucher; a purchase that raced for the last
		// one finds none here.
		res, err := tx.ExecContext(ctx, `UPDATE teams SET poc_vouchers = poc_vouchers - 1 WHERE id = $1 AND poc_vouchers > 0`, team.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return metalplane.Errorf("OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", "The account has no POC voucher.")
		}
	}
	return nil
}

// lockTeamForPurchaseTx reads the team, locked until the commit on
// PostgreSQL.
func (db *DB) lockTeamForPurchaseTx(ctx context.Context, tx queryer, id string) (*metalplane.Team, error) {
	lock := ""
	if db.Dialect == Postgres {
		lock = " FOR NO KEY UPDATE"
	}
	t, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("team %q: %w", id, ErrNotFound)
	}
	return t, err
}

// checkQuotaTx refuses amount more instances beyond the team's quota.
func (db *DB) checkQuotaTx(ctx context.Context, tx queryer, team *metalplane.Team, amount int) error {
	var live int
	if err := tx.QueryRowContext(ctx, db.liveInstancesQuery(), team.ID, false).Scan(&live); err != nil {
		return fmt.Errorf("count instances: %w", err)
	}
	if live+amount > team.InstanceQuota {
		return metalplane.Errorf("OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", "The team has %d of %d instances; %d more would exceed the quota.", live, team.InstanceQuota, amount)
	}
	return nil
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

// addEventTx records what happened to an instance.
func (db *DB) addEventTx(ctx context.Context, q queryer, instanceID, kind, step, driver, detail string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		instanceID, db.Now().UnixMilli(), kind, step, driver, detail)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}
