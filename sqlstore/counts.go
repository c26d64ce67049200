package sqlstore

import (
	"context"
	"fmt"
)

// FoldInstanceCounts sums the differences PostgreSQL's triggers write to
// instance_count_deltas (migration 0035) into one row per key, so that
// DescribeInstances' totalCount sums a few rows whatever the team's
// history. Servers call it every second; it does nothing when no
// difference arrived since the last fold, and nothing on SQLite, whose
// instance_counts are updated in place.
//
// One statement deletes every row and inserts the sums, so a concurrent
// reader's snapshot sees either the rows or their sums, which add up to
// the same. A difference committed during the fold is not in the fold's
// snapshot, so it is neither deleted nor summed, and stays for the next
// one. Replicas fold in turn: one that finds another folding skips.
func (db *DB) FoldInstanceCounts(ctx context.Context) error {
	if db.Dialect != Postgres {
		return nil
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("fold instance counts: %w", err)
	}
	defer tx.Rollback()
	var mine, pending bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('instance_count_deltas')),
		EXISTS (SELECT 1 FROM instance_count_deltas WHERE NOT folded)`).Scan(&mine, &pending); err != nil {
		return fmt.Errorf("fold instance counts: %w", err)
	}
	if !mine || !pending {
		return nil
	}
	const keys = `team_id, zone_id, instance_type_id, internet_charge_type, resource_group_id, status`
	if _, err := tx.ExecContext(ctx, `WITH gone AS (DELETE FROM instance_count_deltas RETURNING `+keys+`, n)
		INSERT INTO instance_count_deltas (`+keys+`, n, folded)
		SELECT `+keys+`, SUM(n), TRUE FROM gone GROUP BY `+keys+` HAVING SUM(n) <> 0`); err != nil {
		return fmt.Errorf("fold instance counts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fold instance counts: %w", err)
	}
	return nil
}
