package sqlstore

import (
	"fmt"

	"github.com/metalplane/metalplane"
)

// cidrBlockAuditChecks are the invariants of CIDR blocks that Audit adds
// to its own: pool addresses held only by live blocks, every address of a
// live pool block held for it, bindings that name a live block and a live
// instance of the same team and zone, and charges that match the ledger.
func cidrBlockAuditChecks() []auditCheck {
	return []auditCheck{
		{
			// An address held by a block is held by a live block of its
			// zone.
			query: `SELECT p.address, b.id, b.zone_id, p.zone_id FROM public_ips p JOIN cidr_blocks b ON b.id = p.held_by
				WHERE b.released = $1 OR b.zone_id <> p.zone_id OR b.source <> $2`,
			args: []any{true, metalplane.CidrSourcePool},
			say: func(c []string) string {
				return fmt.Sprintf("public address %s (zone %s) is held by CIDR block %s of zone %s, which is released, BYOIP or elsewhere", c[0], c[3], c[1], c[2])
			},
		},
		{
			// A live block from the pools holds every one of its addresses.
			query: `SELECT b.id, b.cidr, CAST(b.address_count AS TEXT), CAST(COUNT(p.address) AS TEXT) FROM cidr_blocks b
				LEFT JOIN public_ips p ON p.held_by = b.id
				WHERE b.released = $1 AND b.source = $2
				GROUP BY b.id, b.cidr, b.address_count HAVING COUNT(p.address) <> b.address_count`,
			args: []any{false, metalplane.CidrSourcePool},
			say: func(c []string) string {
				return fmt.Sprintf("CIDR block %s (%s) has %s addresses but the pool holds %s for it", c[0], c[1], c[2], c[3])
			},
		},
		{
			// A bound address belongs to a live block (held for it, for a
			// pool block) and to a live instance of the block's team and
			// zone.
			query: `SELECT c.address, c.block_id, c.instance_id FROM cidr_block_ips c
				LEFT JOIN cidr_blocks b ON b.id = c.block_id
				LEFT JOIN instances i ON i.id = c.instance_id
				LEFT JOIN public_ips p ON p.address = c.address
				WHERE b.id IS NULL OR b.released = $1 OR b.team_id <> c.team_id
				OR i.id IS NULL OR i.released = $1 OR i.team_id <> b.team_id OR i.zone_id <> b.zone_id
				OR (b.source = $2 AND (p.address IS NULL OR p.held_by IS NULL OR p.held_by <> b.id))`,
			args: []any{true, metalplane.CidrSourcePool},
			say: func(c []string) string {
				return fmt.Sprintf("block address %s of %s is bound to %s, but the block, the instance or the pool disagree", c[0], c[1], c[2])
			},
		},
		{
			// A POSTPAID block was charged once per billed hour at its
			// price, and a PREPAID one once per renewal at its period
			// price (its first period is its order's, audited above).
			query: `SELECT b.id, 'hourly', CAST(b.billed_hours AS TEXT), CAST(COUNT(l.id) AS TEXT), CAST(COALESCE(-SUM(l.amount), 0) AS TEXT), CAST(b.billed_hours * b.hourly_price AS TEXT)
				FROM cidr_blocks b LEFT JOIN ledger l ON l.dedupe_key LIKE 'cidr-hourly:' || b.id || ':%'
				WHERE b.hourly_price > 0
				GROUP BY b.id, b.billed_hours, b.hourly_price
				HAVING COUNT(l.id) <> b.billed_hours OR COALESCE(-SUM(l.amount), 0) <> b.billed_hours * b.hourly_price
				UNION ALL
				SELECT b.id, 'renewal', CAST(b.renewals AS TEXT), CAST(COUNT(l.id) AS TEXT), CAST(COALESCE(-SUM(l.amount), 0) AS TEXT), CAST(b.renewals * b.period_price AS TEXT)
				FROM cidr_blocks b LEFT JOIN ledger l ON l.dedupe_key LIKE 'cidr-renewal:' || b.id || ':%'
				WHERE b.period_price > 0
				GROUP BY b.id, b.renewals, b.period_price
				HAVING COUNT(l.id) <> b.renewals OR COALESCE(-SUM(l.amount), 0) <> b.renewals * b.period_price`,
			say: func(c []string) string {
				return fmt.Sprintf("CIDR block %s: %s units %s but %s ledger rows of %s (want %s)", c[0], c[1], c[2], c[3], unitsText(c[4]), unitsText(c[5]))
			},
		},
	}
}
