package sqlstore

import (
	"fmt"

	"github.com/metalplane/metalplane"
)

// eipAuditChecks are the invariants of elastic and DDoS-protected IPs that
// Audit checks: addresses held by live EIPs only, associations with live
// instances only, and charges that match what was billed.
func eipAuditChecks() []auditCheck {
	withInstance := []any{string(metalplane.EIPAssociating), string(metalplane.EIPAssociated), string(metalplane.EIPUnassociating), string(metalplane.EIPRecycling)}
	return []auditCheck{
		{
			// A live EIP holds its address in the pool.
			query: `SELECT e.id, e.address FROM eips e
				LEFT JOIN public_ips p ON p.address = e.address AND p.held_by = e.id AND p.instance_id IS NULL
				WHERE e.released = $1 AND p.address IS NULL`,
			args: []any{false},
			say: func(c []string) string {
				return fmt.Sprintf("address resource %s does not hold its address %s in the pool", c[0], c[1])
			},
		},
		{
			// And an address an EIP holds is that live EIP's: a released
			// EIP holds nothing.
			query: `SELECT p.address, p.held_by, CASE WHEN e.released THEN 'released' ELSE e.address END FROM public_ips p
				JOIN eips e ON e.id = p.held_by
				WHERE e.released = $1 OR e.address <> p.address`,
			args: []any{true},
			say: func(c []string) string {
				return fmt.Sprintf("public address %s is held by address resource %s, which is %s", c[0], c[1], c[2])
			},
		},
		{
			// An EIP that is (being) associated names a live instance of
			// its team in its zone; one that is not names none.
			query: `SELECT e.id, e.status, e.instance_id FROM eips e
				LEFT JOIN instances i ON i.id = e.instance_id AND i.released = $1 AND i.team_id = e.team_id AND i.zone_id = e.zone_id
				WHERE e.released = $1 AND ((e.status IN ($2, $3, $4, $5) AND i.id IS NULL) OR (e.status NOT IN ($2, $3, $4, $5) AND e.instance_id <> ''))`,
			args: append([]any{false}, withInstance...),
			say: func(c []string) string {
				return fmt.Sprintf("address resource %s is %s with instance %q, which does not match", c[0], c[1], c[2])
			},
		},
		{
			// Prices are never negative.
			query: `SELECT id, CAST(period_price AS TEXT), CAST(hourly_price AS TEXT) FROM eips WHERE period_price < 0 OR hourly_price < 0`,
			say: func(c []string) string {
				return fmt.Sprintf("address resource %s has a negative price (%s, hourly %s)", c[0], unitsText(c[1]), unitsText(c[2]))
			},
		},
		{
			// Every POSTPAID hour counted as billed is one ledger row at
			// the EIP's hourly price, and no other row bills it (the keys
			// lie between "eip-hourly:<id>:" and "eip-hourly:<id>;").
			query: `SELECT e.id, CAST(e.billed_hours AS TEXT), CAST(COUNT(l.id) AS TEXT), CAST(COALESCE(-SUM(l.amount), 0) AS TEXT) FROM eips e
				LEFT JOIN ledger l ON l.dedupe_key > 'eip-hourly:' || e.id || ':' AND l.dedupe_key < 'eip-hourly:' || e.id || ';'
				WHERE e.hourly_price > 0 OR e.charge_type <> $1
				GROUP BY e.id, e.billed_hours, e.hourly_price, e.charge_type
				HAVING (e.charge_type = $1 AND (COUNT(l.id) <> e.billed_hours OR COALESCE(-SUM(l.amount), 0) <> e.billed_hours * e.hourly_price))
				OR (e.charge_type <> $1 AND COUNT(l.id) > 0)`,
			args: []any{metalplane.ChargeTypePostpaid},
			say: func(c []string) string {
				return fmt.Sprintf("address resource %s: %s hours billed, %s hourly ledger rows totalling %s", c[0], c[1], c[2], unitsText(c[3]))
			},
		},
		{
			// A PREPAID order of addresses holds as many as were bought.
			query: `SELECT o.order_number, CAST(o.amount AS TEXT), CAST(COUNT(e.id) AS TEXT) FROM orders o
				JOIN eips e ON e.order_number = o.order_number
				GROUP BY o.order_number, o.amount HAVING o.amount <> COUNT(e.id)`,
			say: func(c []string) string {
				return fmt.Sprintf("order %s: bought %s addresses, holds %s", c[0], c[1], c[2])
			},
		},
	}
}
