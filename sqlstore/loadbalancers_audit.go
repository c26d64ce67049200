package sqlstore

import (
	"fmt"

	"github.com/metalplane/metalplane"
)

// loadBalancerAuditChecks are the invariants of load balancers that Audit
// checks with the others: addresses held only by live load balancers and
// named by their VIPs, listeners and backends of live load balancers of
// their team, backends that are live instances of that team, and hourly
// charges never ahead of the hours that ended. The team's balance equals
// its ledger, and a PREPAID order equals its charge, by Audit's own
// checks: every load balancer charge is a ledger row, PREPAID ones of an
// order.
var loadBalancerAuditChecks = []auditCheck{
	{
		// A VIP names an address the pool holds for its load balancer,
		// which is live.
		query: `SELECT v.id, v.address, v.load_balancer_id, COALESCE(p.held_by, '') FROM load_balancer_vips v
			JOIN load_balancers l ON l.id = v.load_balancer_id
			LEFT JOIN public_ips p ON p.address = v.address
			WHERE l.released = $1 OR p.held_by IS NULL OR p.held_by <> v.load_balancer_id`,
		args: []any{true},
		say: func(c []string) string {
			return fmt.Sprintf("VIP %s (%s) of load balancer %s: the pool holds the address for %q, or the load balancer is released", c[0], c[1], c[2], c[3])
		},
	},
	{
		// An address held by a load balancer is one of its VIPs.
		query: `SELECT p.address, p.held_by FROM public_ips p
			LEFT JOIN load_balancer_vips v ON v.address = p.address AND v.load_balancer_id = p.held_by
			WHERE p.held_by LIKE 'lb-%' AND v.id IS NULL`,
		say: func(c []string) string {
			return fmt.Sprintf("public address %s is held by %s, which has no VIP of it", c[0], c[1])
		},
	},
	{
		// A live load balancer has its DEFAULT VIP.
		query: `SELECT l.id FROM load_balancers l WHERE l.released = $1
			AND NOT EXISTS (SELECT 1 FROM load_balancer_vips v WHERE v.load_balancer_id = l.id AND v.kind = $2)`,
		args: []any{false, metalplane.VIPDefault},
		say: func(c []string) string {
			return fmt.Sprintf("load balancer %s has no DEFAULT VIP", c[0])
		},
	},
	{
		// Listeners and backends belong to a live load balancer of their
		// team, and a backend to a listener of it.
		query: `SELECT 'listener ' || x.id, x.load_balancer_id FROM load_balancer_listeners x
			LEFT JOIN load_balancers l ON l.id = x.load_balancer_id AND l.team_id = x.team_id AND l.released = $1
			WHERE l.id IS NULL
			UNION ALL
			SELECT 'backend ' || b.id, b.load_balancer_id FROM load_balancer_backends b
			LEFT JOIN load_balancer_listeners x ON x.id = b.listener_id AND x.load_balancer_id = b.load_balancer_id AND x.team_id = b.team_id
			WHERE x.id IS NULL`,
		args: []any{false},
		say: func(c []string) string {
			return fmt.Sprintf("%s is not part of a live load balancer %s of its team", c[0], c[1])
		},
	},
	{
		// A backend is a live instance of the load balancer's team.
		query: `SELECT b.id, b.instance_id FROM load_balancer_backends b
			LEFT JOIN instances i ON i.id = b.instance_id AND i.team_id = b.team_id AND i.released = $1
			WHERE i.id IS NULL`,
		args: []any{false},
		say: func(c []string) string {
			return fmt.Sprintf("backend %s is instance %s, which is not a live instance of its team", c[0], c[1])
		},
	},
	{
		// POSTPAID hours are charged once each and only once ended: no
		// more hourly rows than whole hours between the purchase and
		// billed_until, and none for a PREPAID load balancer.
		query: `SELECT l.id, CAST(COUNT(g.id) AS TEXT), CAST((l.billed_until - l.created_at) / 3600 AS TEXT) FROM load_balancers l
			JOIN ledger g ON g.order_number = l.order_number AND g.kind = $1
			GROUP BY l.id, l.billed_until, l.created_at, l.charge_type
			HAVING COUNT(g.id) > (l.billed_until - l.created_at + 3599) / 3600 OR l.charge_type <> $2`,
		args: []any{metalplane.LedgerLoadBalancerHour, metalplane.ChargeTypePostpaid},
		say: func(c []string) string {
			return fmt.Sprintf("load balancer %s: %s hours charged, at most %s have been billed", c[0], c[1], c[2])
		},
	},
	{
		// Every load balancer was bought by an order of its team.
		query: `SELECT l.id, l.order_number FROM load_balancers l
			LEFT JOIN orders o ON o.order_number = l.order_number AND o.team_id = l.team_id WHERE o.order_number IS NULL`,
		say: func(c []string) string {
			return fmt.Sprintf("load balancer %s: its order %s does not exist", c[0], c[1])
		},
	},
}
