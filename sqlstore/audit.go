package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/seal"
)

// auditCheck is one invariant of Audit: a query whose rows are violations,
// and the sentence that reports a row from its columns.
type auditCheck struct {
	query string
	args  []any
	say   func(cols []string) string
}

// Audit checks the invariants that money, stock and addresses must keep
// whatever happened (concurrent purchases, crashes, retries) and returns
// one sentence per violation; none means the database is consistent. It is
// what `metalplane admin check` prints and what the crash tests assert.
// It reads in one transaction, so run it on a quiet database for an exact
// answer.
func (db *DB) Audit(ctx context.Context) ([]string, error) {
	var problems []string
	ledgerKindArgs := make([]any, 0, len(metalplane.LedgerDebitKinds)+len(metalplane.LedgerCreditKinds))
	for _, k := range slices.Concat(metalplane.LedgerDebitKinds, metalplane.LedgerCreditKinds) {
		ledgerKindArgs = append(ledgerKindArgs, k)
	}
	debitKinds := placeholders(1, len(metalplane.LedgerDebitKinds))
	creditKinds := placeholders(len(metalplane.LedgerDebitKinds)+1, len(metalplane.LedgerCreditKinds))
	checks := []auditCheck{
		{
			// A live instance that still holds its host must be the one
			// the host records, and the host must be allocated.
			query: `SELECT i.id, i.host_id, COALESCE(h.state, 'missing'), COALESCE(h.instance_id, '')
				FROM instances i LEFT JOIN hosts h ON h.id = i.host_id
				WHERE i.released = $1 AND i.status <> $2
				AND (h.id IS NULL OR h.state <> $3 OR h.instance_id IS NULL OR h.instance_id <> i.id)`,
			args: []any{false, string(metalplane.StatusCreateFailed), HostAllocated},
			say: func(c []string) string {
				return fmt.Sprintf("instance %s: its host %s is %s and records instance %q", c[0], c[1], c[2], c[3])
			},
		},
		{
			// An allocated host must belong to a live instance that
			// names it.
			query: `SELECT h.id, COALESCE(h.instance_id, '') FROM hosts h
				LEFT JOIN instances i ON i.id = h.instance_id AND i.host_id = h.id AND i.released = $1 AND i.status <> $2
				WHERE h.state = $3 AND i.id IS NULL`,
			args: []any{false, string(metalplane.StatusCreateFailed), HostAllocated},
			say: func(c []string) string {
				return fmt.Sprintf("host %s is allocated to %q, which is not a live instance on it", c[0], c[1])
			},
		},
		{
			// A host powered by a BMC driver has the BMC's address; a
			// simulated one has no BMC.
			query: `SELECT id, driver FROM hosts WHERE (driver <> $1 AND bmc_address = '') OR (driver = $1 AND (bmc_address <> '' OR bmc_password <> ''))`,
			args:  []any{DriverSim},
			say: func(c []string) string {
				return fmt.Sprintf("host %s: driver %s does not match its BMC address and password", c[0], c[1])
			},
		},
		{
			// A public address in use must be the one its instance shows.
			query: `SELECT p.address, p.instance_id FROM public_ips p
				LEFT JOIN instances i ON i.id = p.instance_id AND i.released = $1
				WHERE p.instance_id IS NOT NULL
				AND (i.id IS NULL OR (i.public_ipv4 <> p.address AND i.public_ipv6 <> p.address))`,
			args: []any{false},
			say: func(c []string) string {
				return fmt.Sprintf("public address %s is held for %s, which does not use it", c[0], c[1])
			},
		},
		{
			// An address has one holder: an instance (its primary address)
			// or another resource (held_by), never both.
			query: `SELECT address, instance_id, held_by FROM public_ips WHERE instance_id IS NOT NULL AND held_by IS NOT NULL`,
			say: func(c []string) string {
				return fmt.Sprintf("public address %s is held both by instance %s and by %s", c[0], c[1], c[2])
			},
		},
		{
			// And every address a live instance shows must be held for it.
			query: `SELECT i.id, a.address FROM instances i
				JOIN (SELECT id, public_ipv4 AS address FROM instances WHERE public_ipv4 <> ''
				      UNION ALL SELECT id, public_ipv6 FROM instances WHERE public_ipv6 <> '') a ON a.id = i.id
				LEFT JOIN public_ips p ON p.address = a.address AND p.instance_id = i.id
				WHERE i.released = $1 AND p.address IS NULL`,
			args: []any{false},
			say: func(c []string) string {
				return fmt.Sprintf("instance %s shows public address %s, which the pool does not hold for it", c[0], c[1])
			},
		},
		{
			// The cached balance is the sum of the ledger.
			query: `SELECT t.id, CAST(t.balance AS TEXT), CAST(COALESCE(SUM(l.amount), 0) AS TEXT) FROM teams t
				LEFT JOIN ledger l ON l.team_id = t.id
				GROUP BY t.id, t.balance HAVING t.balance <> COALESCE(SUM(l.amount), 0)`,
			say: func(c []string) string {
				return fmt.Sprintf("team %s: balance %s but its ledger sums to %s", c[0], c[1], c[2])
			},
		},
		{
			// Every ledger row moves money the way its kind says: charges,
			// renewals, upgrades and operator debits take money, refunds
			// and operator credits give it, and no row is zero. A
			// positive renewal or charge is money made from nothing (a
			// wrapped price, issue 11), which the balance check above
			// cannot see because the balance moved with it.
			// The lists are metalplane.LedgerDebitKinds and
			// LedgerCreditKinds, the rule of CheckLedgerSign.
			query: `SELECT CAST(id AS TEXT), team_id, kind, CAST(amount AS TEXT) FROM ledger
				WHERE (kind IN (` + debitKinds + `) AND amount >= 0)
				OR (kind IN (` + creditKinds + `) AND amount <= 0)
				OR kind NOT IN (` + debitKinds + `, ` + creditKinds + `)`,
			args: ledgerKindArgs,
			say: func(c []string) string {
				return fmt.Sprintf("ledger row %s of team %s: %q of %s contradicts its kind (charges, renewals, upgrades and debits are negative, refunds and credits positive)",
					c[0], c[1], c[2], unitsText(c[3]))
			},
		},
		{
			// Stored prices are never negative: a negative period price
			// would be refunded or renewed as a credit, a negative hourly
			// price is never billed, a negative order total is a credit.
			query: `SELECT 'instance ' || id, CAST(period_price AS TEXT), CAST(hourly_price AS TEXT) FROM instances WHERE period_price < 0 OR hourly_price < 0
				UNION ALL
				SELECT 'order ' || order_number, CAST(total AS TEXT), '0' FROM orders WHERE total < 0`,
			say: func(c []string) string {
				return fmt.Sprintf("%s has a negative price (%s, hourly %s)", c[0], unitsText(c[1]), unitsText(c[2]))
			},
		},
		{
			// A PREPAID order (a purchase, or a bandwidth or traffic
			// upgrade) is charged exactly its total, once.
			query: `SELECT o.order_number, CAST(o.total AS TEXT), CAST(COALESCE(-SUM(l.amount), 0) AS TEXT) FROM orders o
				LEFT JOIN ledger l ON l.order_number = o.order_number AND l.kind IN ($1, $3)
				WHERE o.charge_type = $2
				GROUP BY o.order_number, o.total HAVING o.total <> COALESCE(-SUM(l.amount), 0)`,
			args: []any{metalplane.LedgerPrepaidCharge, string(metalplane.ChargeTypePrepaid), metalplane.LedgerInternetUpgrade},
			say: func(c []string) string {
				return fmt.Sprintf("order %s: total %s but charged %s", c[0], c[1], c[2])
			},
		},
		{
			// A purchase holds as many instances as were bought (orders
			// of bandwidth or traffic changes hold none).
			query: `SELECT o.order_number, CAST(o.amount AS TEXT), CAST(COUNT(i.id) AS TEXT) FROM orders o
				LEFT JOIN instances i ON i.order_number = o.order_number
				GROUP BY o.order_number, o.amount
				HAVING COUNT(i.id) > 0 AND o.amount <> COUNT(i.id)`,
			say: func(c []string) string {
				return fmt.Sprintf("order %s: bought %s instances, holds %s", c[0], c[1], c[2])
			},
		},
		{
			// Only a failed provision is refunded, and never more than it
			// cost.
			query: `SELECT l.instance_id, CAST(SUM(l.amount) AS TEXT), COALESCE(MAX(i.status), 'missing') FROM ledger l
				LEFT JOIN instances i ON i.id = l.instance_id
				WHERE l.kind = $1
				GROUP BY l.instance_id HAVING SUM(l.amount) > MAX(i.period_price) OR MAX(i.status) IS NULL OR MAX(i.status) <> $2`,
			args: []any{metalplane.LedgerRefund, string(metalplane.StatusCreateFailed)},
			say: func(c []string) string {
				return fmt.Sprintf("instance %s (%s) was refunded %s", c[0], c[2], c[1])
			},
		},
		{
			// An instance is created once: it starts and finishes its
			// provision at most once, however often its job was resumed.
			query: `SELECT instance_id, detail, CAST(COUNT(*) AS TEXT) FROM instance_events
				WHERE kind = 'status' AND detail IN ('PENDING → CREATING', 'CREATING → RUNNING')
				GROUP BY instance_id, detail HAVING COUNT(*) > 1`,
			say: func(c []string) string {
				return fmt.Sprintf("instance %s: %q recorded %s times", c[0], c[1], c[2])
			},
		},
		{
			// Secrets are sealed at rest, and an instance keeps its
			// password only until its OS is installed (secrets.go).
			query: `SELECT 'access key ' || id, 'stores its secret in the clear' FROM access_keys WHERE secret NOT LIKE $1
				UNION ALL
				SELECT 'instance ' || id, 'stores its password in the clear' FROM instances WHERE password <> '' AND password NOT LIKE $1
				UNION ALL
				SELECT 'instance ' || id, 'still holds its password in ' || status FROM instances WHERE password <> '' AND status NOT IN ($2, $3, $4)
				UNION ALL
				SELECT 'host ' || id, 'stores its BMC password in the clear' FROM hosts WHERE bmc_password <> '' AND bmc_password NOT LIKE $1
				UNION ALL
				SELECT 'deployment ' || id, 'stores its task in the clear' FROM deployments WHERE task NOT LIKE $1`,
			args: append([]any{seal.Prefix + "%"}, provisioningStatuses...),
			say: func(c []string) string {
				return c[0] + " " + c[1]
			},
		},
	}
	checks = append(checks, eipAuditChecks()...)
	checks = append(checks, cidrBlockAuditChecks()...)
	checks = append(checks, loadBalancerAuditChecks...)
	checks = append(checks, auditCheck{
		// A network installation in progress (netboot) belongs to an
		// instance being installed on that host; any other would hand
		// out a task and metadata nobody asked for.
		query: `SELECT d.id, d.instance_id, d.host_id, COALESCE(i.status, 'missing'), COALESCE(i.host_id, '') FROM deployments d
			LEFT JOIN instances i ON i.id = d.instance_id
			WHERE d.state IN ($1, $2) AND (i.id IS NULL OR i.status NOT IN ($3, $4) OR i.host_id <> d.host_id)`,
		args: []any{DeployWaiting, DeployBooted, string(metalplane.StatusCreating), string(metalplane.StatusInstalling)},
		say: func(c []string) string {
			return fmt.Sprintf("deployment %s of instance %s on host %s is in progress, but the instance is %s on host %q", c[0], c[1], c[2], c[3], c[4])
		},
	})
	withJobs, err := db.hasTable(ctx, db.SQL, "river_job")
	if err != nil {
		return nil, err
	}
	if withJobs {
		checks = append(checks, auditCheck{
			// A transient instance has a job that will move it on
			// (orphans.go); without one it stays there for good.
			query: db.orphansQuery(),
			say: func(c []string) string {
				return fmt.Sprintf("instance %s is %s, but no job will move it on (the orphan check resumes or fails it)", c[0], c[1])
			},
		})
	}
	checks = append(checks, auditCheck{
		// The trigger-kept counts of DescribeInstances are exact (on
		// PostgreSQL the sums of their differences, migration 0035).
		query: `SELECT c.team_id || ' ' || c.zone_id || ' ' || c.instance_type_id || ' ' || c.status, CAST(c.n AS TEXT), CAST(COUNT(i.id) AS TEXT)
			FROM instance_counts c LEFT JOIN instances i ON i.team_id = c.team_id AND i.zone_id = c.zone_id AND i.instance_type_id = c.instance_type_id
			AND i.internet_charge_type = c.internet_charge_type AND i.resource_group_id = c.resource_group_id AND i.status = c.status AND NOT i.released
			GROUP BY c.team_id, c.zone_id, c.instance_type_id, c.internet_charge_type, c.resource_group_id, c.status, c.n
			HAVING c.n <> COUNT(i.id)
			UNION ALL
			SELECT i.team_id || ' ' || i.zone_id || ' ' || i.instance_type_id || ' ' || i.status, '0', CAST(COUNT(*) AS TEXT)
			FROM instances i LEFT JOIN instance_counts c ON i.team_id = c.team_id AND i.zone_id = c.zone_id AND i.instance_type_id = c.instance_type_id
			AND i.internet_charge_type = c.internet_charge_type AND i.resource_group_id = c.resource_group_id AND i.status = c.status
			WHERE NOT i.released AND c.team_id IS NULL
			GROUP BY i.team_id, i.zone_id, i.instance_type_id, i.status`,
		say: func(c []string) string {
			return fmt.Sprintf("instance count of %s is %s, but %s instances exist", c[0], c[1], c[2])
		},
	})
	if db.Dialect == Postgres {
		checks = append(checks, auditCheck{
			// The trigger-kept count the quota is checked against is exact.
			query: `SELECT t.id, CAST(t.live_instances AS TEXT), CAST(COUNT(i.id) AS TEXT) FROM teams t
				LEFT JOIN instances i ON i.team_id = t.id AND NOT i.released
				GROUP BY t.id, t.live_instances HAVING t.live_instances <> COUNT(i.id)`,
			say: func(c []string) string {
				return fmt.Sprintf("team %s counts %s live instances, but %s exist", c[0], c[1], c[2])
			},
		})
	}
	checks = append(checks, vpcAuditChecks()...)
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, c := range checks {
		rows, err := tx.QueryContext(ctx, c.query, c.args...)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audit: %w", err)
			}
			problems = append(problems, c.say(vals))
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return problems, nil
}

// unitsText shows an amount the audit read as text in currency units
// ("-12.5000"), or as read if it is not an integer.
func unitsText(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	return metalplane.Money(n).String()
}

// placeholders returns n numbered parameters from $first: "$3, $4, $5".
func placeholders(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}
