package sqlstore

import (
	"fmt"

	"github.com/metalplane/metalplane"
)

// The parts of a purchase that both ways of running it share: createTx
// (SQLite: one statement at a time on the one writer) and
// createPipelined (PostgreSQL: statements sent in batches).

// Statements of the purchase, with their arguments from pickHostsArgs and
// pickAddressesArgs.
const (
	pickAddressesSQL = `SELECT address FROM public_ips WHERE zone_id = $1 AND family = $2 AND instance_id IS NULL AND held_by IS NULL AND retired = $3 ORDER BY seq LIMIT $4`
	// takeVoucherSQL affects no row when a purchase that raced for the
	// last voucher took it.
	takeVoucherSQL = `UPDATE teams SET poc_vouchers = poc_vouchers - 1 WHERE id = $1 AND poc_vouchers > 0`
)

// pickHostsSQL selects up to $3 free hosts of zone $1 and type $2, the
// lowest IDs first, with its arguments from pickHostsArgs; and extra, a
// condition such as "AND id <> $4", before the order.
//
// On PostgreSQL it is written for the partial index hosts_free (migration
// 0038): its state is a literal, as the index's condition, and its order
// is the index's byte order (COLLATE "C"), which the primary key cannot
// give. Ordered by id alone, the planner walked the primary key from the
// lowest ID and skipped every host already taken one by one, since its
// statistics cannot tell that the taken hosts are the lowest IDs: 2 ms a
// purchase after 3,000 purchases, growing with every one
// (docs/performance.md). SQLite compares text bytewise already and keeps
// no dead index entries; its hosts_stock serves the same statement.
func (db *DB) pickHostsSQL(extra string) string {
	order := `id`
	if db.Dialect == Postgres {
		order = `id COLLATE "C"`
	}
	return `SELECT id FROM hosts WHERE zone_id = $1 AND instance_type_id = $2 AND state = '` + HostAvailable + `' ` + extra + `ORDER BY ` + order + ` LIMIT $3` + db.skipLocked()
}

func pickHostsArgs(plan *metalplane.CreatePlan) []any {
	return []any{plan.Zone.ID, plan.Type.ID, plan.Amount}
}

func pickAddressesArgs(plan *metalplane.CreatePlan, family int) []any {
	return []any{plan.Zone.ID, family, false, plan.Amount}
}

// purchaseStock is what a purchase took, one of each per instance; an
// address the plan does not ask for is "".
type purchaseStock struct {
	hosts, ipv4, ipv6, private []string
}

// checkStock refuses a purchase whose picks came back short, hosts first,
// then addresses, and fills the addresses the plan does not ask for.
func checkStock(plan *metalplane.CreatePlan, s *purchaseStock) error {
	if len(s.hosts) == 0 {
		return metalplane.Errorf("RESOURCES_SOLDOUT_INSTANCE_TYPE", "%s is sold out in %s.", plan.Type.ID, plan.Zone.ID)
	}
	if len(s.hosts) < plan.Amount {
		return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Only %d %s hosts are free in %s.", len(s.hosts), plan.Type.ID, plan.Zone.ID)
	}
	if len(s.ipv4) < plan.Amount {
		return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Not enough public IPv4 addresses are free in %s.", plan.Zone.ID)
	}
	if !plan.EnableIPv6 {
		s.ipv6 = make([]string, plan.Amount)
	} else if len(s.ipv6) < plan.Amount {
		return metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "Not enough public IPv6 addresses are free in %s.", plan.Zone.ID)
	}
	return nil
}

// checkQuota refuses amount more instances beyond the team's quota, live
// being the team's instances now.
func checkQuota(team *metalplane.Team, live, amount int) error {
	if live+amount > team.InstanceQuota {
		return metalplane.Errorf("OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", "The team has %d of %d instances; %d more would exceed the quota.", live, team.InstanceQuota, amount)
	}
	return nil
}

// purchaseTotals returns what the order costs now and one instance's
// price. The plan's prices were checked by ValidateCreate; they are checked
// again here, the last step before money moves, so that no caller can hand
// the store a total that credits the team.
func purchaseTotals(plan *metalplane.CreatePlan, orderNumber string) (total, one metalplane.Money, err error) {
	if total, err = plan.Total(); err != nil {
		return 0, 0, err
	}
	if one, err = plan.Price.Total(); err != nil {
		return 0, 0, err
	}
	if plan.ChargeType == metalplane.ChargeTypePrepaid && !plan.UsePocVoucher {
		err = metalplane.CheckDebit("order "+orderNumber, total, plan.Offer.Prices.InstanceMonthly)
	} else {
		// A POSTPAID hourly price below zero would never be billed.
		err = metalplane.CheckDebit("order "+orderNumber, one, 0)
	}
	return total, one, err
}

// purchaseCharge is the ledger row of a PREPAID order.
func purchaseCharge(plan *metalplane.CreatePlan, orderNumber, teamID string, total metalplane.Money) metalplane.LedgerEntry {
	return metalplane.LedgerEntry{TeamID: teamID, Amount: -total, Kind: metalplane.LedgerPrepaidCharge, OrderNumber: orderNumber,
		Note: fmt.Sprintf("%d × %s in %s for %d months", plan.Amount, plan.Type.ID, plan.Zone.ID, plan.Period)}
}

func errNoVoucher() error {
	return metalplane.Errorf("OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", "The account has no POC voucher.")
}

// statement is one write of a purchase; what names it in errors.
type statement struct {
	what  string
	query string
	args  []any
}

// purchaseRows returns the writes of a checked purchase: the order, then
// per instance its row, its host and addresses taken, its tags and its
// first event. total and one are purchaseTotals'.
func (db *DB) purchaseRows(plan *metalplane.CreatePlan, result *CreateResult, teamID string, s *purchaseStock, total, one metalplane.Money) ([]statement, error) {
	now := db.Now()
	out := make([]statement, 0, 1+plan.Amount*(5+len(plan.Tags)))
	out = append(out, statement{"insert order", `INSERT INTO orders (order_number, team_id, charge_type, amount, total, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{result.OrderNumber, teamID, plan.ChargeType, plan.Amount, int64(total), now.Unix()}})
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
			return nil, err
		}
		out = append(out, statement{"insert instance", `INSERT INTO instances (id, team_id, order_number, zone_id, instance_type_id, host_id, name, hostname, image_id, ipxe_url,
			charge_type, period, auto_renew, internet_charge_type, bandwidth_out_mbps, traffic_package_tb, cluster_id, resource_group_id, key_id, status,
			failure_reason, public_ipv4, public_ipv6, private_ip, subnet_id, raid_config, partitions, wan_name, lan_name, tags, enable_gateway_mode,
			password, ssh_keys, user_data, period_price, hourly_price, provision_step, create_time, expired_time, recycled_at, released)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, '', $21, $22, $23, $24, $25, $26, $27, $28, $29, $30,
			$31, $32, $33, $34, $35, 0, $36, 0, 0, $37)`,
			[]any{id, teamID, result.OrderNumber, plan.Zone.ID, plan.Type.ID, s.hosts[i], plan.Names[i], plan.Hostnames[i], imageID, plan.IpxeURL,
				plan.ChargeType, plan.Period, plan.ChargeType == metalplane.ChargeTypePrepaid, plan.InternetChargeType, plan.BandwidthMbps, plan.TrafficPackageTB,
				plan.ClusterID, plan.ResourceGroupID, plan.KeyID, string(metalplane.StatusPending), s.ipv4[i], s.ipv6[i], s.private[i], plan.SubnetID,
				raidJSON, partsJSON, *plan.Nic.WanName, *plan.Nic.LanName, tagsJSON, plan.EnableGatewayMode,
				password, keysJSON, plan.UserData, int64(periodPrice), int64(hourlyPrice), now.Unix(), false}})
		out = append(out, statement{"allocate host", `UPDATE hosts SET state = $1, instance_id = $2, updated_at = $3 WHERE id = $4`,
			[]any{HostAllocated, id, now.Unix(), s.hosts[i]}})
		for _, addr := range []string{s.ipv4[i], s.ipv6[i]} {
			if addr != "" {
				out = append(out, statement{"allocate address", `UPDATE public_ips SET instance_id = $1 WHERE address = $2`, []any{id, addr}})
			}
		}
		for _, tag := range plan.Tags {
			out = append(out, statement{"insert tag", `INSERT INTO instance_tags (instance_id, tag_key, tag_value) VALUES ($1, $2, $3)`,
				[]any{id, *tag.Key, *tag.Value}})
		}
		out = append(out, statement{"record event", addEventSQL,
			[]any{id, now.UnixMilli(), "created", "", "", fmt.Sprintf("order %s, host %s", result.OrderNumber, s.hosts[i])}})
	}
	return out, nil
}
