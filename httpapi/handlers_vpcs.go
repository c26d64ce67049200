package httpapi

import (
	"context"
	"slices"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The bmc VPC actions (issue 14). Every call sees only the caller's team:
// another team's VPC is "not found". Both versions share each handler; the
// 2026-02-01 SDK has no ModifyVpcsResourceGroup, which is served on both
// versions all the same (an older client's superset, like the output
// fields).

// vpcInfo is VpcInfo of both SDK versions. Every field is always present;
// tags is {"tags": []} when the VPC has none.
type vpcInfo struct {
	VpcID             string   `json:"vpcId"`
	VpcRegionID       string   `json:"vpcRegionId"`
	VpcRegionName     string   `json:"vpcRegionName"`
	VpcName           string   `json:"vpcName"`
	CidrBlock         string   `json:"cidrBlock"`
	CreateTime        string   `json:"createTime"`
	VpcStatus         string   `json:"vpcStatus"`
	ResourceGroupID   string   `json:"resourceGroupId"`
	ResourceGroupName string   `json:"resourceGroupName"`
	Tags              tagsInfo `json:"tags"`
}

// handleCreateVpc checks, in order ([decision]): vpcRegionId, cidrBlock and
// vpcName present (MISSING_PARAMETER); the region exists
// (INVALID_VPC_REGION_NOT_FOUND); the block (ValidateVpcCIDR's codes); the
// name and the tags (INVALID_PARAMETER); then the store checks the resource
// group and the region quota.
func handleCreateVpc(r *request) (any, error) {
	var in struct {
		VpcRegionID     *string                    `json:"vpcRegionId"`
		CidrBlock       *string                    `json:"cidrBlock"`
		VpcName         *string                    `json:"vpcName"`
		ResourceGroupID *string                    `json:"resourceGroupId"`
		Tags            *metalplane.TagAssociation `json:"tags"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"vpcRegionId", in.VpcRegionID}, {"cidrBlock", in.CidrBlock}, {"vpcName", in.VpcName}} {
		if err := requireString(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if err := metalplane.FirstError(metalplane.CheckID("vpcRegionId", in.VpcRegionID), metalplane.CheckID("resourceGroupId", in.ResourceGroupID)); err != nil {
		return nil, err
	}
	region, ok := metalplane.FindVpcRegion(r.server.Catalog, *in.VpcRegionID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_VPC_REGION_NOT_FOUND", "The specified vpcRegionId `%s` is not found.", *in.VpcRegionID)
	}
	prefix, cidrErr := metalplane.ValidateVpcCIDR(*in.CidrBlock)
	if cidrErr != nil {
		return nil, cidrErr
	}
	if err := metalplane.ValidateVpcName(*in.VpcName); err != nil {
		return nil, err
	}
	tags, tagErr := metalplane.CheckVpcTags(in.Tags)
	if tagErr != nil {
		return nil, tagErr
	}
	create := sqlstore.VpcCreate{ID: metalplane.NewVpcID(), TeamID: r.caller.TeamID, RegionID: region.ID, Name: *in.VpcName,
		CIDR: prefix.String(), ResourceGroupID: deref(in.ResourceGroupID), Tags: tags}
	answer := struct {
		VpcID string `json:"vpcId"`
	}{create.ID}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if _, err := r.server.DB.CreateVpc(r.ctx, create); err != nil {
		return nil, err
	}
	return answer, nil
}

// handleDescribeVpcs lists the team's VPCs. [decision] As DescribeSubnets:
// filters are exact matches, "" filters nothing, unknown IDs, regions and
// groups match nothing; a vpcStatus outside VpcStatus is INVALID_PARAMETER.
func handleDescribeVpcs(r *request) (any, error) {
	var in struct {
		VpcIDs          []string         `json:"vpcIds"`
		VpcName         *string          `json:"vpcName"`
		CidrBlock       *string          `json:"cidrBlock"`
		VpcStatus       *string          `json:"vpcStatus"`
		VpcRegionID     *string          `json:"vpcRegionId"`
		ResourceGroupID *string          `json:"resourceGroupId"`
		PageSize        *int             `json:"pageSize"`
		PageNum         *int             `json:"pageNum"`
		TagKeys         []string         `json:"tagKeys"`
		Tags            []metalplane.Tag `json:"tags"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("vpcIds", in.VpcIDs, metalplane.MaxListItems),
		metalplane.CheckLength("vpcName", in.VpcName, metalplane.MaxSubnetNameLength),
		metalplane.CheckID("cidrBlock", in.CidrBlock), metalplane.CheckID("vpcStatus", in.VpcStatus),
		metalplane.CheckID("vpcRegionId", in.VpcRegionID), metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
		metalplane.CheckList("tagKeys", in.TagKeys, metalplane.MaxTagFilters, metalplane.MaxTagLength),
		metalplane.CheckTagFilters(in.Tags),
	); err != nil {
		return nil, err
	}
	if v := deref(in.VpcStatus); v != "" {
		if err := checkEnum("vpcStatus", v, metalplane.VpcStatuses...); err != nil {
			return nil, err
		}
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	f := sqlstore.VpcFilter{TeamID: r.caller.TeamID, IDs: in.VpcIDs, Name: deref(in.VpcName), CIDR: deref(in.CidrBlock),
		Status: deref(in.VpcStatus), RegionID: deref(in.VpcRegionID), ResourceGroupID: deref(in.ResourceGroupID),
		TagKeys: in.TagKeys, PageNum: num, PageSize: size}
	for _, tag := range in.Tags {
		f.Tags = append(f.Tags, [2]string{*tag.Key, deref(tag.Value)})
	}
	vpcs, total, err := r.server.DB.FindVpcs(r.ctx, f)
	if err != nil {
		return nil, err
	}
	groups, err := r.server.DB.ResourceGroupNames(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	regionNames := map[string]string{}
	for _, reg := range metalplane.VpcRegions(r.server.Catalog) {
		regionNames[reg.ID] = reg.Name
	}
	data := make([]vpcInfo, len(vpcs))
	for i, v := range vpcs {
		data[i] = vpcInfo{
			VpcID: v.ID, VpcRegionID: v.RegionID, VpcRegionName: regionNames[v.RegionID], VpcName: v.Name, CidrBlock: v.CIDR,
			CreateTime: wireTime(v.CreatedAt), VpcStatus: v.Status, ResourceGroupID: v.ResourceGroupID,
			ResourceGroupName: groups[v.ResourceGroupID], Tags: tagsInfo{Tags: append([]metalplane.Tag{}, v.Tags...)},
		}
	}
	return map[string]any{"totalCount": total, "dataSet": data}, nil
}

// requiredIDList checks a list of IDs a batch action acts on: present
// (MISSING_PARAMETER), at most MaxListItems of bounded IDs, none empty
// (INVALID_PARAMETER). Repeats count once.
func requiredIDList(name string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "The parameter %s is required.", name)
	}
	if err := metalplane.CheckIDList(name, ids, metalplane.MaxListItems); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id == "" {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "%s must not hold an empty ID.", name)
		}
	}
	return ids, nil
}

// handleModifyVpcsAttribute renames VPCs, all or none: vpcIds, vpcName
// present, the name's format, then every VPC the team's
// (OPERATION_FAILED_RESOURCE_NOT_FOUND).
func handleModifyVpcsAttribute(r *request) (any, error) {
	var in struct {
		VpcIDs  []string `json:"vpcIds"`
		VpcName *string  `json:"vpcName"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ids, err := requiredIDList("vpcIds", in.VpcIDs)
	if err != nil {
		return nil, err
	}
	if err := requireString("vpcName", in.VpcName); err != nil {
		return nil, err
	}
	if err := metalplane.ValidateVpcName(*in.VpcName); err != nil {
		return nil, err
	}
	if err := r.server.DB.RenameVpcs(r.ctx, r.caller.TeamID, ids, *in.VpcName); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

// handleModifyVpcsResourceGroup moves VPCs between the team's groups, all
// or none, with the checks of ModifyInstancesResourceGroup: parameters,
// administrator key (UNAUTHORIZED_OPERATION), the group
// (OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND), the VPCs
// (OPERATION_FAILED_RESOURCE_NOT_FOUND).
func handleModifyVpcsResourceGroup(r *request) (any, error) {
	var in struct {
		VpcIDs          []string `json:"vpcIds"`
		ResourceGroupID *string  `json:"resourceGroupId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	return moveToResourceGroup(r, "vpcIds", in.VpcIDs, in.ResourceGroupID, r.server.DB.MoveVpcsToResourceGroup)
}

// moveToResourceGroup is the shared body of the Modify…ResourceGroup
// actions of VPCs and subnets.
func moveToResourceGroup(r *request, field string, ids []string, group *string, move func(ctx context.Context, teamID string, ids []string, groupID string) error) (any, error) {
	ids, err := requiredIDList(field, ids)
	if err != nil {
		return nil, err
	}
	groupID, err := requiredID("resourceGroupId", group)
	if err != nil {
		return nil, err
	}
	if !r.caller.IsAdmin {
		return nil, metalplane.Errorf("UNAUTHORIZED_OPERATION", "Only a team administrator may move resources between resource groups.")
	}
	if err := move(r.ctx, r.caller.TeamID, ids, groupID); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

// handleDeleteVpc deletes a VPC at once (see metalplane.Vpc).
func handleDeleteVpc(r *request) (any, error) {
	var in struct {
		VpcID *string `json:"vpcId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("vpcId", in.VpcID)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.DeleteVpc(r.ctx, r.caller.TeamID, id); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

type vpcRegionInfo struct {
	VpcRegionID   string   `json:"vpcRegionId"`
	VpcRegionName string   `json:"vpcRegionName"`
	ZoneIDs       []string `json:"zoneIds"`
}

// handleDescribeVpcAvailableRegions lists the VPC regions
// (metalplane.VpcRegions). An unknown zoneId answers INVALID_ZONE_NOT_FOUND
// (the SDK's code); [decision] a known zone without subnets, or an unknown
// vpcRegionId, gives an empty list.
func handleDescribeVpcAvailableRegions(r *request) (any, error) {
	var in struct {
		ZoneID      *string `json:"zoneId"`
		VpcRegionID *string `json:"vpcRegionId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("vpcRegionId", in.VpcRegionID)); err != nil {
		return nil, err
	}
	zone := deref(in.ZoneID)
	if zone != "" {
		if _, ok := r.server.Catalog.FindZone(zone); !ok {
			return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", zone)
		}
	}
	out := []vpcRegionInfo{}
	for _, reg := range metalplane.VpcRegions(r.server.Catalog) {
		if id := deref(in.VpcRegionID); id != "" && id != reg.ID {
			continue
		}
		if zone != "" && !slices.Contains(reg.ZoneIDs, zone) {
			continue
		}
		out = append(out, vpcRegionInfo{VpcRegionID: reg.ID, VpcRegionName: reg.Name, ZoneIDs: reg.ZoneIDs})
	}
	return map[string]any{"vpcRegionSet": out}, nil
}

// handleAssociateVpcSubnet puts a subnet into a VPC at once
// (sqlstore.DB.AssociateVpcSubnet has the codes and their order).
func handleAssociateVpcSubnet(r *request) (any, error) {
	var in struct {
		SubnetID *string `json:"subnetId"`
		VpcID    *string `json:"vpcId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	subnetID, err := requiredID("subnetId", in.SubnetID)
	if err != nil {
		return nil, err
	}
	vpcID, err := requiredID("vpcId", in.VpcID)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.AssociateVpcSubnet(r.ctx, r.caller.TeamID, vpcID, subnetID, metalplane.VpcRegions(r.server.Catalog)); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}
