package httpapi

import (
	"net/netip"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The bmc subnet actions (ACTIONS.md §3.13). Every call sees only the
// caller's team: another team's subnet (or VPC) is "not found".

// subnetInfo is SubnetInfo of ACTIONS.md §5.14, the 2026-02-01 superset
// (the 2022-11-20 Subnet lacks availableIpCount and vpcSubnetStatus; its
// clients ignore them). Every field is always present: the VPC fields are
// null for a subnet in no VPC, and subnetInstanceSet is [] when empty since
// Terraform reads its length.
type subnetInfo struct {
	SubnetID          string           `json:"subnetId"`
	SubnetName        string           `json:"subnetName"`
	ZoneID            string           `json:"zoneId"`
	AvailableIPCount  int              `json:"availableIpCount"`
	CidrBlock         string           `json:"cidrBlock"`
	SubnetStatus      string           `json:"subnetStatus"`
	CreateTime        string           `json:"createTime"`
	VpcSubnetStatus   *string          `json:"vpcSubnetStatus"`
	VpcID             *string          `json:"vpcId"`
	VpcName           *string          `json:"vpcName"`
	ResourceGroupID   string           `json:"resourceGroupId"`
	ResourceGroupName string           `json:"resourceGroupName"`
	SubnetInstanceSet []subnetInstance `json:"subnetInstanceSet"`
}

// subnetInstance is SubnetInstance of ACTIONS.md §5.14.
type subnetInstance struct {
	InstanceID       string `json:"instanceId"`
	PrivateIPAddress string `json:"privateIpAddress"`
	PrivateIPStatus  string `json:"privateIpStatus"`
}

// privateIPBound is the membership state of every member: an instance gets
// its address in the transaction that creates it, so there is no BINDING
// or UNBINDING phase to report.
const privateIPBound = "BOUND"

type createSubnetRequest struct {
	ZoneID          *string `json:"zoneId"`
	CidrBlock       *string `json:"cidrBlock"`
	SubnetName      *string `json:"subnetName"`
	ResourceGroupID *string `json:"resourceGroupId"`
	VpcID           *string `json:"vpcId"`
}

type createSubnetResponse struct {
	SubnetID string `json:"subnetId"`
}

// handleCreateSubnet checks, in order ([decision]): zoneId, cidrBlock and
// subnetName present; the zone exists; it offers subnets; the vpcId names
// one of the team's VPCs; the CIDR rules; the name's format; then the store
// checks the resource group (without a VPC), the zone quota and, with a
// VPC, metalplane.CheckSubnetInVpc. An empty vpcId or resourceGroupId
// counts as absent, since the 2026-02-01 SDK may send "" for an unset
// pointer field.
func handleCreateSubnet(r *request) (any, error) {
	var in createSubnetRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"zoneId", in.ZoneID}, {"cidrBlock", in.CidrBlock}, {"subnetName", in.SubnetName}} {
		if err := requireString(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if err := metalplane.FirstError(
		metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("resourceGroupId", in.ResourceGroupID), metalplane.CheckID("vpcId", in.VpcID),
	); err != nil {
		return nil, err
	}
	zone, ok := r.server.Catalog.FindZone(*in.ZoneID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
	}
	if !zone.SubnetsSupported {
		return nil, metalplane.Errorf("OPERATION_DENIED_ZONE_NOT_SUPPORT_SUBNET", "The zone %s does not offer subnets.", zone.ID)
	}
	vpcID := deref(in.VpcID)
	if vpcID != "" {
		// Checked again, locked, in the store's transaction.
		if _, err := r.server.DB.FindVpc(r.ctx, r.caller.TeamID, vpcID); err != nil {
			return nil, err
		}
	}
	prefix, cidrErr := metalplane.ValidateSubnetCIDR(*in.CidrBlock)
	if cidrErr != nil {
		return nil, cidrErr
	}
	if err := metalplane.ValidateSubnetName(*in.SubnetName); err != nil {
		return nil, err
	}
	create := sqlstore.SubnetCreate{ID: metalplane.NewSubnetID(), TeamID: r.caller.TeamID, ZoneID: zone.ID, Name: *in.SubnetName, CIDR: prefix.String(),
		VpcID: vpcID, VpcRegions: metalplane.VpcRegions(r.server.Catalog)}
	if in.ResourceGroupID != nil {
		create.ResourceGroupID = *in.ResourceGroupID
	}
	answer := createSubnetResponse{SubnetID: create.ID}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if _, err := r.server.DB.CreateSubnet(r.ctx, create); err != nil {
		return nil, err
	}
	return answer, nil
}

type describeSubnetsRequest struct {
	SubnetIDs       []string `json:"subnetIds"`
	SubnetName      *string  `json:"subnetName"`
	CidrBlock       *string  `json:"cidrBlock"`
	SubnetStatus    *string  `json:"subnetStatus"`
	ZoneID          *string  `json:"zoneId"`
	VpcID           *string  `json:"vpcId"`
	ResourceGroupID *string  `json:"resourceGroupId"`
	PageSize        *int     `json:"pageSize"`
	PageNum         *int     `json:"pageNum"`
}

type describeSubnetsResponse struct {
	TotalCount int          `json:"totalCount"`
	DataSet    []subnetInfo `json:"dataSet"`
}

// handleDescribeSubnets lists the team's subnets. [decision] Filters are
// exact matches, and an empty string filters nothing (the 2022-11-20 SDK
// cannot send one, the 2026-02-01 SDK may for an unset field). Unknown
// zones, groups and IDs are not errors: they match nothing.
func handleDescribeSubnets(r *request) (any, error) {
	var in describeSubnetsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("subnetIds", in.SubnetIDs, metalplane.MaxListItems),
		metalplane.CheckLength("subnetName", in.SubnetName, metalplane.MaxSubnetNameLength),
		metalplane.CheckID("cidrBlock", in.CidrBlock), metalplane.CheckID("subnetStatus", in.SubnetStatus),
		metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("vpcId", in.VpcID),
		metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
	); err != nil {
		return nil, err
	}
	if in.SubnetStatus != nil && *in.SubnetStatus != "" {
		if err := checkEnum("subnetStatus", *in.SubnetStatus, metalplane.SubnetStatuses...); err != nil {
			return nil, err
		}
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	subnets, total, err := r.server.DB.FindSubnets(r.ctx, sqlstore.SubnetFilter{
		TeamID: r.caller.TeamID, IDs: in.SubnetIDs, Name: str(in.SubnetName), CIDR: str(in.CidrBlock),
		Status: str(in.SubnetStatus), ZoneID: str(in.ZoneID), ResourceGroupID: str(in.ResourceGroupID),
		VpcID: str(in.VpcID), PageNum: num, PageSize: size,
	})
	if err != nil {
		return nil, err
	}
	out := describeSubnetsResponse{TotalCount: total, DataSet: make([]subnetInfo, 0, len(subnets))}
	if len(subnets) == 0 {
		return out, nil
	}
	ids := make([]string, len(subnets))
	for i, s := range subnets {
		ids[i] = s.ID
	}
	members, err := r.server.DB.SubnetMembers(r.ctx, ids)
	if err != nil {
		return nil, err
	}
	groupNames, err := r.server.DB.ResourceGroupNames(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	vpcNames, err := r.server.DB.VpcNames(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	for _, s := range subnets {
		info := subnetInfo{
			SubnetID: s.ID, SubnetName: s.Name, ZoneID: s.ZoneID, CidrBlock: s.CIDR, SubnetStatus: s.Status,
			CreateTime: wireTime(s.CreatedAt), ResourceGroupID: s.ResourceGroupID,
			ResourceGroupName: groupNames[s.ResourceGroupID], SubnetInstanceSet: []subnetInstance{},
		}
		if s.VpcID != "" {
			name, status := vpcNames[s.VpcID], metalplane.VpcSubnetAssociated
			info.VpcID, info.VpcName, info.VpcSubnetStatus = &s.VpcID, &name, &status
		}
		for _, m := range members[s.ID] {
			info.SubnetInstanceSet = append(info.SubnetInstanceSet, subnetInstance{
				InstanceID: m.InstanceID, PrivateIPAddress: m.PrivateIP, PrivateIPStatus: privateIPBound,
			})
		}
		if p, err := netip.ParsePrefix(s.CIDR); err == nil {
			info.AvailableIPCount = max(0, metalplane.SubnetUsableIPCount(p)-len(info.SubnetInstanceSet))
		}
		out.DataSet = append(out.DataSet, info)
	}
	return out, nil
}

type deleteSubnetRequest struct {
	SubnetID *string `json:"subnetId"`
}

// handleDeleteSubnet deletes a subnet at once (see metalplane.Subnet).
func handleDeleteSubnet(r *request) (any, error) {
	var in deleteSubnetRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if _, err := requiredID("subnetId", in.SubnetID); err != nil {
		return nil, err
	}
	if err := r.server.DB.DeleteSubnet(r.ctx, r.caller.TeamID, *in.SubnetID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
