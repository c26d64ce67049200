package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// VpcCreate is the input of CreateVpc; the handler has checked the region,
// the block (metalplane.ValidateVpcCIDR), the name and the tags.
type VpcCreate struct {
	// ID is drawn by the caller so that a retry's stored answer names it.
	ID       string
	TeamID   string
	RegionID string
	Name     string
	CIDR     string
	// ResourceGroupID is one of the team's groups; "" means its default.
	ResourceGroupID string
	Tags            []metalplane.Tag
}

// CreateVpc stores a new VPC of the team, AVAILABLE at once (see
// metalplane.Vpc). Returns OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND for a
// group that is not the team's, then
// OPERATION_DENIED_VPC_REGION_EXCEED_LIMIT when the team already has
// metalplane.MaxVpcsPerRegion VPCs in the region.
func (db *DB) CreateVpc(ctx context.Context, in VpcCreate) (*metalplane.Vpc, error) {
	v := &metalplane.Vpc{
		ID: in.ID, TeamID: in.TeamID, RegionID: in.RegionID, Name: in.Name, CIDR: in.CIDR,
		Status: metalplane.VpcAvailable, Tags: in.Tags, CreatedAt: db.Now(),
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The team lock serialises the quota checks of concurrent creates.
		if _, err := db.findTeamTx(ctx, tx, in.TeamID); err != nil {
			return err
		}
		g, err := db.teamGroup(ctx, tx, in.TeamID, in.ResourceGroupID)
		if err != nil {
			return err
		}
		v.ResourceGroupID = g.ID
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vpcs WHERE team_id = $1 AND region_id = $2`, in.TeamID, in.RegionID).Scan(&n); err != nil {
			return fmt.Errorf("count vpcs: %w", err)
		}
		if n >= metalplane.MaxVpcsPerRegion {
			return metalplane.Errorf("OPERATION_DENIED_VPC_REGION_EXCEED_LIMIT", "The team may hold at most %d VPCs in %s.", metalplane.MaxVpcsPerRegion, in.RegionID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vpcs (id, team_id, region_id, name, cidr, status, resource_group_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			v.ID, v.TeamID, v.RegionID, v.Name, v.CIDR, v.Status, v.ResourceGroupID, v.CreatedAt.Unix()); err != nil {
			return fmt.Errorf("insert vpc: %w", err)
		}
		for _, tag := range in.Tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vpc_tags (vpc_id, tag_key, tag_value) VALUES ($1, $2, $3)`, v.ID, *tag.Key, *tag.Value); err != nil {
				return fmt.Errorf("insert vpc tag: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// teamGroup returns the team's group with the ID, or its default group for
// "". Returns OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND.
func (db *DB) teamGroup(ctx context.Context, q queryer, teamID, id string) (*metalplane.ResourceGroup, error) {
	if id == "" {
		return db.defaultResourceGroup(ctx, q, teamID)
	}
	return db.findResourceGroup(ctx, q, teamID, id)
}

// VpcFilter selects VPCs of a team for FindVpcs. Empty fields do not filter.
type VpcFilter struct {
	TeamID string
	IDs    []string
	// Name, CIDR, Status, RegionID and ResourceGroupID match exactly.
	Name, CIDR, Status, RegionID, ResourceGroupID string
	// TagKeys keeps VPCs having every key; Tags every key and value.
	TagKeys []string
	Tags    [][2]string
	// PageNum (from 1) and PageSize select one page.
	PageNum, PageSize int
}

const vpcColumns = `id, team_id, region_id, name, cidr, status, resource_group_id, created_at`

func scanVpc(row interface{ Scan(...any) error }) (*metalplane.Vpc, error) {
	var v metalplane.Vpc
	var created int64
	if err := row.Scan(&v.ID, &v.TeamID, &v.RegionID, &v.Name, &v.CIDR, &v.Status, &v.ResourceGroupID, &created); err != nil {
		return nil, err
	}
	v.CreatedAt = time.Unix(created, 0).UTC()
	return &v, nil
}

// FindVpcs returns one page of the team's matching VPCs with their tags,
// oldest first (then by ID), and the number of matches on all pages.
func (db *DB) FindVpcs(ctx context.Context, f VpcFilter) ([]*metalplane.Vpc, int, error) {
	out := []*metalplane.Vpc{}
	w := teamRows(f.TeamID)
	w.in("id", f.IDs)
	w.eq("name", f.Name)
	w.eq("cidr", f.CIDR)
	w.eq("status", f.Status)
	w.eq("region_id", f.RegionID)
	w.eq("resource_group_id", f.ResourceGroupID)
	for _, k := range f.TagKeys {
		w.add("EXISTS (SELECT 1 FROM vpc_tags t WHERE t.vpc_id = vpcs.id AND t.tag_key = " + w.arg(k) + ")")
	}
	for _, kv := range f.Tags {
		w.add("EXISTS (SELECT 1 FROM vpc_tags t WHERE t.vpc_id = vpcs.id AND t.tag_key = " + w.arg(kv[0]) + " AND t.tag_value = " + w.arg(kv[1]) + ")")
	}
	var total int
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		total, err = findPage(ctx, tx, "vpcs", vpcColumns, w, f.PageNum, f.PageSize, func(rows *sql.Rows) error {
			v, err := scanVpc(rows)
			if err == nil {
				out = append(out, v)
			}
			return err
		})
		if err != nil {
			return err
		}
		return db.loadVpcTags(ctx, tx, out)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// loadVpcTags fills the tags of the VPCs, by key.
func (db *DB) loadVpcTags(ctx context.Context, tx *sql.Tx, vpcs []*metalplane.Vpc) error {
	if len(vpcs) == 0 {
		return nil
	}
	byID := map[string]*metalplane.Vpc{}
	args := make([]any, len(vpcs))
	ph := make([]string, len(vpcs))
	for i, v := range vpcs {
		byID[v.ID] = v
		args[i] = v.ID
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := tx.QueryContext(ctx, `SELECT vpc_id, tag_key, tag_value FROM vpc_tags WHERE vpc_id IN (`+strings.Join(ph, ", ")+`) ORDER BY vpc_id, tag_key`, args...)
	if err != nil {
		return fmt.Errorf("find vpc tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, val string
		if err := rows.Scan(&id, &k, &val); err != nil {
			return err
		}
		byID[id].Tags = append(byID[id].Tags, metalplane.Tag{Key: &k, Value: &val})
	}
	return rows.Err()
}

// VpcNames maps the IDs of the team's VPCs to their names (for
// DescribeSubnets' vpcName).
func (db *DB) VpcNames(ctx context.Context, teamID string) (map[string]string, error) {
	return db.idNames(ctx, `SELECT id, name FROM vpcs WHERE team_id = $1`, teamID)
}

// FindVpc returns the team's VPC. Returns INVALID_VPC_NOT_FOUND, also for
// another team's VPC.
func (db *DB) FindVpc(ctx context.Context, teamID, id string) (*metalplane.Vpc, error) {
	return db.findVpc(ctx, db.SQL, teamID, id, "")
}

// findVpc reads the team's VPC with q, appending lock (db.forUpdate() or
// ""). Whatever adds a subnet to a VPC or deletes it locks its row first,
// so the overlap and quota checks of two concurrent joins, or a join and
// the delete, are serialised on PostgreSQL.
func (db *DB) findVpc(ctx context.Context, q queryer, teamID, id, lock string) (*metalplane.Vpc, error) {
	v, err := scanVpc(q.QueryRowContext(ctx, `SELECT `+vpcColumns+` FROM vpcs WHERE team_id = $1 AND id = $2`+lock, teamID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("INVALID_VPC_NOT_FOUND", "The VPC %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find vpc: %w", err)
	}
	return v, nil
}

// RenameVpcs gives every listed VPC of the team the name, or none of them:
// OPERATION_FAILED_RESOURCE_NOT_FOUND when one is unknown or another
// team's.
func (db *DB) RenameVpcs(ctx context.Context, teamID string, ids []string, name string) error {
	return db.updateTeamRows(ctx, "vpcs", "VPC", teamID, ids, "name", name)
}

// MoveVpcsToResourceGroup moves every listed VPC of the team into the
// group, or none: OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND for a group
// that is not the team's, then OPERATION_FAILED_RESOURCE_NOT_FOUND for an
// unknown VPC. Its subnets stay in their groups.
func (db *DB) MoveVpcsToResourceGroup(ctx context.Context, teamID string, ids []string, groupID string) error {
	return db.moveToGroup(ctx, "vpcs", "VPC", teamID, ids, groupID)
}

// moveToGroup checks the group, then sets resource_group_id of the rows.
func (db *DB) moveToGroup(ctx context.Context, table, what, teamID string, ids []string, groupID string) error {
	if _, err := db.findResourceGroup(ctx, db.SQL, teamID, groupID); err != nil {
		return err
	}
	return db.updateTeamRows(ctx, table, what, teamID, ids, "resource_group_id", groupID)
}

// updateTeamRows sets column col of the team's rows of table with the IDs to
// value in one transaction, after checking that every ID is the team's
// (OPERATION_FAILED_RESOURCE_NOT_FOUND naming the first that is not). The
// batch is all or nothing (ERRORS.md §10). table and col are constants of
// the callers, never input.
func (db *DB) updateTeamRows(ctx context.Context, table, what, teamID string, ids []string, col string, value any) error {
	ids = uniqueStrings(ids)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE team_id = $1 AND id = $2`+db.forUpdate(), teamID, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The %s %s does not exist.", what, id)
			}
			if err != nil {
				return fmt.Errorf("find %s: %w", table, err)
			}
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+col+` = $1 WHERE team_id = $2 AND id = $3`, value, teamID, id); err != nil {
				return fmt.Errorf("update %s: %w", table, err)
			}
		}
		return nil
	})
}

// DeleteVpc deletes the team's VPC at once. Returns
// OPERATION_FAILED_RESOURCE_NOT_FOUND for an unknown VPC (Terraform's
// delete takes it as done), OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT unless
// it is AVAILABLE or CREATE_FAILED, then
// OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN while a subnet is in it. (Its
// instances are in its subnets, so OPERATION_DENIED_VPC_EXIST_INSTANCE
// cannot come first and is never answered.)
func (db *DB) DeleteVpc(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		v, err := db.findVpc(ctx, tx, teamID, id, db.forUpdate())
		if metalplane.ErrorCode(err) == "INVALID_VPC_NOT_FOUND" {
			return metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The VPC %s does not exist.", id)
		}
		if err != nil {
			return err
		}
		if v.Status != metalplane.VpcAvailable && v.Status != metalplane.VpcCreateFailed {
			return metalplane.Errorf("OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT", "The VPC %s is %s; only AVAILABLE or CREATE_FAILED VPCs can be deleted.", id, v.Status)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subnets WHERE vpc_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("count vpc subnets: %w", err)
		}
		if n > 0 {
			return metalplane.Errorf("OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN", "The VPC %s still has %d subnet(s).", id, n)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM vpc_tags WHERE vpc_id = $1`, id); err != nil {
			return fmt.Errorf("delete vpc tags: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM vpcs WHERE team_id = $1 AND id = $2`, teamID, id); err != nil {
			return fmt.Errorf("delete vpc: %w", err)
		}
		return nil
	})
}

// checkSubnetInVpcTx locks the team's VPC and applies
// metalplane.CheckSubnetInVpc to a subnet of block p in the zone, against
// the VPC's other subnets (all but exceptSubnetID). Returns the VPC, or
// INVALID_VPC_NOT_FOUND and the codes of CheckSubnetInVpc.
func (db *DB) checkSubnetInVpcTx(ctx context.Context, tx *sql.Tx, teamID, vpcID, zoneID string, p netip.Prefix, exceptSubnetID string, regions []metalplane.VpcRegion) (*metalplane.Vpc, error) {
	v, err := db.findVpc(ctx, tx, teamID, vpcID, db.forUpdate())
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT zone_id, cidr FROM subnets WHERE vpc_id = $1 AND id <> $2`, vpcID, exceptSubnetID)
	if err != nil {
		return nil, fmt.Errorf("find vpc subnets: %w", err)
	}
	defer rows.Close()
	var others []netip.Prefix
	inZone := 0
	for rows.Next() {
		var zone, cidr string
		if err := rows.Scan(&zone, &cidr); err != nil {
			return nil, err
		}
		if zone == zoneID {
			inZone++
		}
		// Stored blocks were canonical when written; one that no longer
		// parses overlaps nothing.
		if o, err := netip.ParsePrefix(cidr); err == nil {
			others = append(others, o)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := metalplane.CheckSubnetInVpc(v, regions, zoneID, inZone, p, others); err != nil {
		return nil, err
	}
	return v, nil
}

// AssociateVpcSubnet puts the team's subnet into the team's VPC at once.
// Returns, in this order (the SDK's): INVALID_VPC_NOT_FOUND,
// INVALID_SUBNET_NOT_FOUND, OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT
// unless the subnet is AVAILABLE, OPERATION_DENIED_SUBNET_ASSOCIATED_OTHER_VPC,
// then the codes of metalplane.CheckSubnetInVpc. A subnet already in this
// VPC is left as it is and the call succeeds (the docs: "No action will be
// made against the subnet already in the VPC"). The subnet keeps its
// resource group.
func (db *DB) AssociateVpcSubnet(ctx context.Context, teamID, vpcID, subnetID string, regions []metalplane.VpcRegion) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findVpc(ctx, tx, teamID, vpcID, db.forUpdate()); err != nil {
			return err
		}
		s, err := db.findSubnet(ctx, tx, teamID, subnetID, db.forUpdate())
		if err != nil {
			return err
		}
		if s.Status != metalplane.SubnetAvailable {
			return metalplane.Errorf("OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT", "The subnet %s is %s; only AVAILABLE subnets join a VPC.", subnetID, s.Status)
		}
		if s.VpcID == vpcID {
			return nil
		}
		if s.VpcID != "" {
			return metalplane.Errorf("OPERATION_DENIED_SUBNET_ASSOCIATED_OTHER_VPC", "The subnet %s is already in VPC %s.", subnetID, s.VpcID)
		}
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return fmt.Errorf("subnet %s block %q: %w", s.ID, s.CIDR, err)
		}
		if _, err := db.checkSubnetInVpcTx(ctx, tx, teamID, vpcID, s.ZoneID, p, s.ID, regions); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subnets SET vpc_id = $1 WHERE id = $2`, vpcID, s.ID); err != nil {
			return fmt.Errorf("join vpc: %w", err)
		}
		return nil
	})
}

// RenameSubnets gives every listed subnet of the team the name, or none:
// OPERATION_FAILED_RESOURCE_NOT_FOUND when one is unknown or another
// team's.
func (db *DB) RenameSubnets(ctx context.Context, teamID string, ids []string, name string) error {
	return db.updateTeamRows(ctx, "subnets", "subnet", teamID, ids, "name", name)
}

// MoveSubnetsToResourceGroup moves every listed subnet of the team into
// the group, or none (the codes of MoveVpcsToResourceGroup).
func (db *DB) MoveSubnetsToResourceGroup(ctx context.Context, teamID string, ids []string, groupID string) error {
	return db.moveToGroup(ctx, "subnets", "subnet", teamID, ids, groupID)
}

// vpcAuditChecks are the invariants of VPCs for Audit: a subnet's VPC is a
// VPC of the subnet's team, and a VPC's resource group is one of its
// team's. (VPCs cost nothing, so they have no ledger rows to check.)
func vpcAuditChecks() []auditCheck {
	return []auditCheck{
		{
			query: `SELECT s.id, s.vpc_id FROM subnets s LEFT JOIN vpcs v ON v.id = s.vpc_id AND v.team_id = s.team_id
				WHERE s.vpc_id <> '' AND v.id IS NULL`,
			say: func(c []string) string {
				return fmt.Sprintf("subnet %s is in VPC %s, which is not a VPC of its team", c[0], c[1])
			},
		},
		{
			query: `SELECT v.id, v.resource_group_id FROM vpcs v LEFT JOIN resource_groups g ON g.id = v.resource_group_id AND g.team_id = v.team_id
				WHERE g.id IS NULL`,
			say: func(c []string) string {
				return fmt.Sprintf("VPC %s is in resource group %s, which is not a group of its team", c[0], c[1])
			},
		},
	}
}
