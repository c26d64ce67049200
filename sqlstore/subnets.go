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

// SubnetCreate is the input of CreateSubnet; the handler has checked the
// zone, the name and the CIDR block (metalplane.ValidateSubnetCIDR).
type SubnetCreate struct {
	// ID is the new subnet's ID, drawn by the caller so that the answer
	// stored for a retry can name it; "" draws one here.
	ID     string
	TeamID string
	ZoneID string
	Name   string
	// CIDR is the canonical block.
	CIDR string
	// ResourceGroupID is one of the team's groups; "" means its default
	// group. Ignored with VpcID: the subnet takes the VPC's group (SDK).
	ResourceGroupID string
	// VpcID, when set, is the team's VPC the subnet is created in;
	// VpcRegions are the catalog's regions its rules are checked against.
	VpcID      string
	VpcRegions []metalplane.VpcRegion
}

// CreateSubnet stores a new subnet of the team, AVAILABLE at once (see
// metalplane.Subnet), and returns it. Returns
// OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND for a group that is not the
// team's (or a team without a default group), then
// OPERATION_DENIED_SUBNET_EXCEED_LIMIT when the team already has
// subnet_quota subnets in the zone. With a VPC, the group is the VPC's
// (INVALID_VPC_NOT_FOUND for one that is not the team's), the team quota is
// checked, then the rules of metalplane.CheckSubnetInVpc. Overlapping
// blocks are allowed outside VPCs.
func (db *DB) CreateSubnet(ctx context.Context, in SubnetCreate) (*metalplane.Subnet, error) {
	s := &metalplane.Subnet{
		ID: in.ID, TeamID: in.TeamID, ZoneID: in.ZoneID, Name: in.Name, CIDR: in.CIDR,
		Status: metalplane.SubnetAvailable, ResourceGroupID: in.ResourceGroupID, VpcID: in.VpcID, CreatedAt: db.Now(),
	}
	if s.ID == "" {
		s.ID = metalplane.NewSubnetID()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The team lock serialises the quota check of concurrent creates
		// on PostgreSQL.
		team, err := db.findTeamTx(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		var vpc *metalplane.Vpc
		if in.VpcID != "" {
			if vpc, err = db.findVpc(ctx, tx, in.TeamID, in.VpcID, db.forUpdate()); err != nil {
				return err
			}
			s.ResourceGroupID = vpc.ResourceGroupID
		} else {
			g, err := db.teamGroup(ctx, tx, in.TeamID, in.ResourceGroupID)
			if err != nil {
				return err
			}
			s.ResourceGroupID = g.ID
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subnets WHERE team_id = $1 AND zone_id = $2`, in.TeamID, in.ZoneID).Scan(&n); err != nil {
			return fmt.Errorf("count subnets: %w", err)
		}
		if n >= team.SubnetQuota {
			return metalplane.Errorf("OPERATION_DENIED_SUBNET_EXCEED_LIMIT", "The team may hold at most %d subnets in %s.", team.SubnetQuota, in.ZoneID)
		}
		if vpc != nil {
			p, err := netip.ParsePrefix(in.CIDR)
			if err != nil {
				return fmt.Errorf("subnet block %q: %w", in.CIDR, err)
			}
			if _, err := db.checkSubnetInVpcTx(ctx, tx, in.TeamID, vpc.ID, in.ZoneID, p, s.ID, in.VpcRegions); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO subnets (id, team_id, zone_id, name, cidr, status, resource_group_id, vpc_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			s.ID, s.TeamID, s.ZoneID, s.Name, s.CIDR, s.Status, s.ResourceGroupID, s.VpcID, s.CreatedAt.Unix())
		if err != nil {
			return fmt.Errorf("insert subnet: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// SubnetFilter selects subnets of a team for FindSubnets. Empty fields do
// not filter.
type SubnetFilter struct {
	TeamID string
	// IDs keeps only these subnets; unknown IDs match nothing.
	IDs []string
	// Name, CIDR, Status, ZoneID and ResourceGroupID match exactly.
	Name            string
	CIDR            string
	Status          string
	ZoneID          string
	ResourceGroupID string
	// VpcID keeps the subnets in this VPC.
	VpcID string
	// PageNum (from 1) and PageSize select one page; PageSize 0 returns
	// every match.
	PageNum, PageSize int
}

const subnetColumns = `id, team_id, zone_id, name, cidr, status, resource_group_id, vpc_id, created_at`

func scanSubnet(row interface{ Scan(...any) error }) (*metalplane.Subnet, error) {
	var s metalplane.Subnet
	var created int64
	if err := row.Scan(&s.ID, &s.TeamID, &s.ZoneID, &s.Name, &s.CIDR, &s.Status, &s.ResourceGroupID, &s.VpcID, &created); err != nil {
		return nil, err
	}
	s.CreatedAt = time.Unix(created, 0).UTC()
	return &s, nil
}

// FindSubnets returns one page of the team's matching subnets, oldest first
// (then by ID), and the number of matches on all pages.
func (db *DB) FindSubnets(ctx context.Context, f SubnetFilter) ([]*metalplane.Subnet, int, error) {
	out := []*metalplane.Subnet{}
	w := teamRows(f.TeamID)
	w.in("id", f.IDs)
	w.eq("name", f.Name)
	w.eq("cidr", f.CIDR)
	w.eq("status", f.Status)
	w.eq("zone_id", f.ZoneID)
	w.eq("resource_group_id", f.ResourceGroupID)
	w.eq("vpc_id", f.VpcID)
	var total int
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		total, err = findPage(ctx, tx, "subnets", subnetColumns, w, f.PageNum, f.PageSize, func(rows *sql.Rows) error {
			s, err := scanSubnet(rows)
			if err == nil {
				out = append(out, s)
			}
			return err
		})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// FindSubnet returns the team's subnet. Returns INVALID_SUBNET_NOT_FOUND
// (CreateInstances' code), also for another team's subnet.
func (db *DB) FindSubnet(ctx context.Context, teamID, id string) (*metalplane.Subnet, error) {
	return db.findSubnet(ctx, db.SQL, teamID, id, "")
}

// findSubnet reads the team's subnet with q, appending lock (db.forUpdate()
// or "") to the query. Callers that add members or delete the subnet lock
// its row, so membership and deletion are serialised on PostgreSQL.
func (db *DB) findSubnet(ctx context.Context, q queryer, teamID, id, lock string) (*metalplane.Subnet, error) {
	s, err := scanSubnet(q.QueryRowContext(ctx, `SELECT `+subnetColumns+` FROM subnets WHERE team_id = $1 AND id = $2`+lock, teamID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("INVALID_SUBNET_NOT_FOUND", "The subnet %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find subnet: %w", err)
	}
	return s, nil
}

// DeleteSubnet deletes the team's subnet at once (see metalplane.Subnet).
// Returns OPERATION_FAILED_RESOURCE_NOT_FOUND for an unknown subnet (or
// another team's), OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT unless it is
// AVAILABLE or CREATE_FAILED, then OPERATION_DENIED_SUBNET_EXIST_INSTANCE
// while an instance that is not released holds an address in it.
//
// [decision] An instance in the recycle bin still holds its address, so it
// keeps the subnet from being deleted until it is released.
func (db *DB) DeleteSubnet(ctx context.Context, teamID, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		s, err := db.findSubnet(ctx, tx, teamID, id, db.forUpdate())
		if metalplane.ErrorCode(err) == "INVALID_SUBNET_NOT_FOUND" {
			return metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The subnet %s does not exist.", id)
		}
		if err != nil {
			return err
		}
		if s.Status != metalplane.SubnetAvailable && s.Status != metalplane.SubnetCreateFailed {
			return metalplane.Errorf("OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT", "The subnet %s is %s; only AVAILABLE or CREATE_FAILED subnets can be deleted.", id, s.Status)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances WHERE subnet_id = $1 AND released = $2`, id, false).Scan(&n); err != nil {
			return fmt.Errorf("count subnet instances: %w", err)
		}
		if n > 0 {
			return metalplane.Errorf("OPERATION_DENIED_SUBNET_EXIST_INSTANCE", "The subnet %s still has %d instance(s).", id, n)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subnets WHERE team_id = $1 AND id = $2`, teamID, id); err != nil {
			return fmt.Errorf("delete subnet: %w", err)
		}
		return nil
	})
}

// SubnetMembers returns, for each of the subnets, the instances that hold
// an address in it (not released, with a private IP), oldest first; a
// subnet without members has no entry. The IDs come from the caller's own
// subnets, so no team filter is needed.
func (db *DB) SubnetMembers(ctx context.Context, subnetIDs []string) (map[string][]metalplane.SubnetMember, error) {
	members := map[string][]metalplane.SubnetMember{}
	subnetIDs = uniqueStrings(subnetIDs)
	if len(subnetIDs) == 0 {
		return members, nil
	}
	args := []any{false}
	ph := make([]string, len(subnetIDs))
	for i, id := range subnetIDs {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", i+2)
	}
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT subnet_id, id, private_ip FROM instances
			WHERE released = $1 AND private_ip <> '' AND subnet_id IN (`+strings.Join(ph, ", ")+`)
			ORDER BY create_time, id`, args...)
		if err != nil {
			return fmt.Errorf("find subnet members: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var subnetID string
			var m metalplane.SubnetMember
			if err := rows.Scan(&subnetID, &m.InstanceID, &m.PrivateIP); err != nil {
				return err
			}
			members[subnetID] = append(members[subnetID], m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return members, nil
}
