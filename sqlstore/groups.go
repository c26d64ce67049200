package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// ResourceGroupInfo is a resource group with when it was made, for
// operators.
type ResourceGroupInfo struct {
	metalplane.ResourceGroup
	CreatedAt time.Time
}

// ListResourceGroups returns the team's resource groups, the default one
// first, then oldest first.
func (db *DB) ListResourceGroups(ctx context.Context, teamID string) ([]ResourceGroupInfo, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+resourceGroupColumns+`, created_at FROM resource_groups WHERE team_id = $1
		ORDER BY is_default DESC, created_at, id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list resource groups: %w", err)
	}
	defer rows.Close()
	var out []ResourceGroupInfo
	for rows.Next() {
		var g ResourceGroupInfo
		var created int64
		if err := rows.Scan(&g.ID, &g.TeamID, &g.Name, &g.IsDefault, &created); err != nil {
			return nil, err
		}
		g.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// resourceGroupMembers are the queries that count what a resource group
// still holds; each takes the group ID as $1. A resource family that
// lives in a resource group adds its table here, so that its group cannot
// be deleted from under it.
var resourceGroupMembers = []struct{ what, query string }{
	{"instances", `SELECT COUNT(*) FROM instances WHERE resource_group_id = $1 AND released = false`},
	{"subnets", `SELECT COUNT(*) FROM subnets WHERE resource_group_id = $1`},
	{"VPCs", `SELECT COUNT(*) FROM vpcs WHERE resource_group_id = $1`},
	{"elastic or DDoS-protected IPs", `SELECT COUNT(*) FROM eips WHERE resource_group_id = $1 AND released = false`},
	{"CIDR blocks", `SELECT COUNT(*) FROM cidr_blocks WHERE resource_group_id = $1 AND released = false`},
	{"load balancers", `SELECT COUNT(*) FROM load_balancers WHERE resource_group_id = $1 AND released = false`},
}

// DeleteResourceGroup deletes one of the team's groups. It refuses the
// default group (every team has one: resources created without a group go
// there) and a group that still holds anything (resourceGroupMembers), and
// returns ErrNotFound for a group that is not the team's.
func (db *DB) DeleteResourceGroup(ctx context.Context, teamID, id string) error {
	defer db.caches.resourceGroups.drop(teamID)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// An operator command: a create that read the group just before
		// this commit can still put a resource into it on PostgreSQL
		// (creates do not lock the group), which the audit reports for
		// VPCs; delete groups the team no longer uses.
		var isDefault bool
		err := tx.QueryRowContext(ctx, `SELECT is_default FROM resource_groups WHERE team_id = $1 AND id = $2`+db.forUpdate(), teamID, id).Scan(&isDefault)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("resource group %q of team %s: %w", id, teamID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("find resource group: %w", err)
		}
		if isDefault {
			return fmt.Errorf("resource group %s is the team's default group and cannot be deleted", id)
		}
		for _, m := range resourceGroupMembers {
			var n int
			if err := tx.QueryRowContext(ctx, m.query, id).Scan(&n); err != nil {
				return fmt.Errorf("count %s of the group: %w", m.what, err)
			}
			if n > 0 {
				return fmt.Errorf("resource group %s still holds %d %s; move or release them first", id, n, m.what)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM resource_groups WHERE team_id = $1 AND id = $2`, teamID, id); err != nil {
			return fmt.Errorf("delete resource group: %w", err)
		}
		return nil
	})
}
