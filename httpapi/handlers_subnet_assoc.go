package httpapi

import (
	"net/netip"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Subnet membership after creation: AssociateSubnetInstances and
// UnAssociateSubnetInstance (request fields of the 2022-11-20 SDK and the
// CLI, identical in both versions). [decision] Membership changes in the
// request's transaction: DescribeSubnets shows the member BOUND (or gone)
// at once, never BINDING or UNBINDING, which Terraform's waiters accept.

type subnetJoinItem struct {
	InstanceID       *string `json:"instanceId"`
	PrivateIPAddress *string `json:"privateIpAddress"`
}

type associateSubnetInstancesRequest struct {
	SubnetID           *string          `json:"subnetId"`
	SubnetInstanceList []subnetJoinItem `json:"subnetInstanceList"`
}

// handleAssociateSubnetInstances checks the form first, in this order
// [decision]: subnetId and a non-empty subnetInstanceList
// (MISSING_PARAMETER), at most 100 items (INVALID_PARAMETER), every
// instanceId present (MISSING_PARAMETER) and listed once
// (OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE), every privateIpAddress an
// IPv4 address (INVALID_PARAMETER) listed once
// (INVALID_PARAMETER_DUPLICATE_LAN_IP); then the store checks the subnet,
// the instances (metalplane.CheckSubnetJoin) and the addresses.
func handleAssociateSubnetInstances(r *request) (any, error) {
	var in associateSubnetInstancesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if _, err := requiredID("subnetId", in.SubnetID); err != nil {
		return nil, err
	}
	if len(in.SubnetInstanceList) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "subnetInstanceList is required.")
	}
	if len(in.SubnetInstanceList) > metalplane.MaxSubnetJoins {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "subnetInstanceList holds at most %d items.", metalplane.MaxSubnetJoins)
	}
	joins := make([]sqlstore.SubnetJoin, 0, len(in.SubnetInstanceList))
	seenIDs, seenIPs := map[string]bool{}, map[string]bool{}
	for _, item := range in.SubnetInstanceList {
		id, err := requiredID("subnetInstanceList.instanceId", item.InstanceID)
		if err != nil {
			return nil, err
		}
		if err := metalplane.CheckID("subnetInstanceList.privateIpAddress", item.PrivateIPAddress); err != nil {
			return nil, err
		}
		if seenIDs[id] {
			return nil, metalplane.Errorf("OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE", "The instance %s is listed twice.", id)
		}
		seenIDs[id] = true
		ip := deref(item.PrivateIPAddress)
		if ip != "" {
			addr, err := netip.ParseAddr(ip)
			if err != nil || !addr.Is4() {
				return nil, metalplane.Errorf("INVALID_PARAMETER", "privateIpAddress %s is not an IPv4 address.", ip)
			}
			ip = addr.String()
			if seenIPs[ip] {
				return nil, metalplane.Errorf("INVALID_PARAMETER_DUPLICATE_LAN_IP", "The private IP %s is requested twice.", ip)
			}
			seenIPs[ip] = true
		}
		joins = append(joins, sqlstore.SubnetJoin{InstanceID: id, PrivateIP: ip})
	}
	cat := r.server.Catalog
	_, err := r.server.DB.AssociateSubnetInstances(r.ctx, r.caller.TeamID, *in.SubnetID, joins,
		func(sub *metalplane.Subnet, inst *metalplane.Instance) error {
			if err := metalplane.CheckSubnetJoin(cat, sub, inst); err != nil {
				return err
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type unassociateSubnetInstanceRequest struct {
	SubnetID   *string `json:"subnetId"`
	InstanceID *string `json:"instanceId"`
}

// handleUnAssociateSubnetInstance removes an instance from a subnet and
// frees its address. Check order: subnetId, instanceId
// (MISSING_PARAMETER), the subnet (INVALID_SUBNET_NOT_FOUND), the instance
// (INVALID_INSTANCE_NOT_FOUND), its state (metalplane.CheckSubnetLeave).
// An instance that is not in the subnet is left alone and the call
// succeeds (docs).
func handleUnAssociateSubnetInstance(r *request) (any, error) {
	var in unassociateSubnetInstanceRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if _, err := requiredID("subnetId", in.SubnetID); err != nil {
		return nil, err
	}
	if _, err := requiredID("instanceId", in.InstanceID); err != nil {
		return nil, err
	}
	err := r.server.DB.UnassociateSubnetInstance(r.ctx, r.caller.TeamID, *in.SubnetID, *in.InstanceID, func(inst *metalplane.Instance) error {
		if err := metalplane.CheckSubnetLeave(inst); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
