package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"sort"

	"github.com/metalplane/metalplane"
)

// Joining and leaving subnets (AssociateSubnetInstances,
// UnAssociateSubnetInstance). A member is an instance whose subnet_id and
// private_ip are set: the same columns CreateInstances fills.
//
// Concurrency: both methods lock the subnet row first (as CreateInstances
// does before it hands out addresses), so every allocation in one subnet is
// serialised on PostgreSQL and sees the addresses committed before it;
// SQLite serialises every write transaction anyway. The instance rows are
// locked next, in ID order, so one instance cannot join two subnets at
// once. The unique index instances_live_private_ip is the safety net under
// both.

// SubnetJoin is one item of subnetInstanceList.
type SubnetJoin struct {
	InstanceID string
	// PrivateIP is the requested address; "" takes the lowest free one.
	PrivateIP string
}

// SubnetJoinCheckFunc checks that the locked instance may join the locked
// subnet (state, zone, type, membership); an error is answered as is.
type SubnetJoinCheckFunc func(sub *metalplane.Subnet, in *metalplane.Instance) error

// AssociateSubnetInstances adds the team's instances to the team's subnet,
// all or none, and returns the address each one got, in request order. The
// caller has checked the form of the request (IDs and addresses present
// once each). Check order: the subnet (INVALID_SUBNET_NOT_FOUND, then
// OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT unless AVAILABLE), every
// instance's existence (INVALID_INSTANCE_NOT_FOUND), check for each
// instance in request order, then the addresses in request order: a
// requested address outside the block → INVALID_PARAMETER, the network,
// gateway or broadcast address → INVALID_PARAMETER_LAN_IP_NOT_SUPPORT,
// one held by another instance → OPERATION_DENIED_IP_ASSOCIATED_INSTANCE;
// too few free addresses for the others →
// INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT.
func (db *DB) AssociateSubnetInstances(ctx context.Context, teamID, subnetID string, joins []SubnetJoin, check SubnetJoinCheckFunc) ([]string, error) {
	ips := make([]string, len(joins))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		sub, err := db.findSubnet(ctx, tx, teamID, subnetID, db.forUpdate())
		if err != nil {
			return err
		}
		if sub.Status != metalplane.SubnetAvailable {
			return metalplane.Errorf("OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT", "The subnet %s is %s.", subnetID, sub.Status)
		}
		byID := map[string]*metalplane.Instance{}
		sorted := make([]string, len(joins))
		for i, j := range joins {
			sorted[i] = j.InstanceID
		}
		sort.Strings(sorted)
		for _, id := range sorted {
			if byID[id], err = db.lockInstanceTx(ctx, tx, teamID, id); err != nil {
				return err
			}
		}
		for _, j := range joins {
			if err := check(sub, byID[j.InstanceID]); err != nil {
				return err
			}
		}
		prefix, err := netip.ParsePrefix(sub.CIDR)
		if err != nil {
			return fmt.Errorf("subnet %s cidr: %w", subnetID, err)
		}
		used, err := usedPrivateIPs(ctx, tx, subnetID)
		if err != nil {
			return err
		}
		need := 0
		for i, j := range joins {
			if j.PrivateIP == "" {
				need++
				continue
			}
			addr, err := netip.ParseAddr(j.PrivateIP)
			switch {
			case err != nil || !addr.Is4() || !prefix.Contains(addr):
				return metalplane.Errorf("INVALID_PARAMETER", "The private IP %s is not in the subnet's block %s.", j.PrivateIP, sub.CIDR)
			case !metalplane.SubnetIPUsable(prefix, addr):
				return metalplane.Errorf("INVALID_PARAMETER_LAN_IP_NOT_SUPPORT", "The private IP %s is the network, gateway or broadcast address of %s.", j.PrivateIP, sub.CIDR)
			case used[addr.String()]:
				return metalplane.Errorf("OPERATION_DENIED_IP_ASSOCIATED_INSTANCE", "The private IP %s is already used in the subnet %s.", j.PrivateIP, subnetID)
			}
			ips[i] = addr.String()
			used[ips[i]] = true
		}
		var free []string
		if need > 0 {
			free = freePrivateIPs(sub.CIDR, used, need)
		}
		if len(free) < need {
			return metalplane.Errorf("INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT", "The subnet %s has %d free IPs, %d needed.", subnetID, len(free), need)
		}
		for i := range joins {
			if ips[i] == "" {
				ips[i], free = free[0], free[1:]
			}
		}
		for i, j := range joins {
			_, err := tx.ExecContext(ctx, `UPDATE instances SET subnet_id = $1, private_ip = $2 WHERE id = $3`, subnetID, ips[i], j.InstanceID)
			if isUniqueViolation(err) {
				// Only reachable if the subnet lock was bypassed.
				return metalplane.Errorf("OPERATION_DENIED_IP_ASSOCIATED_INSTANCE", "The private IP %s is already used in the subnet %s.", ips[i], subnetID)
			}
			if err != nil {
				return fmt.Errorf("join subnet: %w", err)
			}
			if err := db.addEventTx(ctx, tx, j.InstanceID, "subnet", "", "", fmt.Sprintf("joined subnet %s with %s", subnetID, ips[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ips, nil
}

// UnassociateSubnetInstance removes the team's instance from the team's
// subnet and frees its address. An instance that is not a member is left
// alone (docs: "No action will be made against the instance not in the
// subnet"). Returns INVALID_SUBNET_NOT_FOUND, INVALID_INSTANCE_NOT_FOUND,
// or check's error for the locked instance.
func (db *DB) UnassociateSubnetInstance(ctx context.Context, teamID, subnetID, instanceID string, check func(in *metalplane.Instance) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findSubnet(ctx, tx, teamID, subnetID, db.forUpdate()); err != nil {
			return err
		}
		in, err := db.lockInstanceTx(ctx, tx, teamID, instanceID)
		if err != nil {
			return err
		}
		if err := check(in); err != nil {
			return err
		}
		if in.SubnetID != subnetID {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET subnet_id = '', private_ip = '' WHERE id = $1`, instanceID); err != nil {
			return fmt.Errorf("leave subnet: %w", err)
		}
		return db.addEventTx(ctx, tx, instanceID, "subnet", "", "", fmt.Sprintf("left subnet %s, freed %s", subnetID, in.PrivateIP))
	})
}
