package httpapi

import (
	"github.com/metalplane/metalplane"
)

// Changes to existing subnets and the zones that offer them (issue 14).

// handleModifySubnetsAttribute renames subnets, all or none: subnetIds and
// subnetName present, the name's format (CreateSubnet's rule), then every
// subnet the team's (OPERATION_FAILED_RESOURCE_NOT_FOUND, the SDK's only
// code). [decision] Allowed whatever the subnet's members are doing:
// membership changes at once here, so OPERATION_DENIED_SUBNET_ASSOCIATING_INSTANCE
// (an instance being removed) has no moment to be answered in.
func handleModifySubnetsAttribute(r *request) (any, error) {
	var in struct {
		SubnetIDs  []string `json:"subnetIds"`
		SubnetName *string  `json:"subnetName"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ids, err := requiredIDList("subnetIds", in.SubnetIDs)
	if err != nil {
		return nil, err
	}
	if err := requireString("subnetName", in.SubnetName); err != nil {
		return nil, err
	}
	if err := metalplane.ValidateSubnetName(*in.SubnetName); err != nil {
		return nil, err
	}
	if err := r.server.DB.RenameSubnets(r.ctx, r.caller.TeamID, ids, *in.SubnetName); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

// handleModifySubnetsResourceGroup moves subnets between the team's
// groups, all or none, with the checks of ModifyVpcsResourceGroup. Only the
// 2022-11-20 SDK has it (Terraform's update of resource_group_id); it is
// served on both versions.
func handleModifySubnetsResourceGroup(r *request) (any, error) {
	var in struct {
		SubnetIDs       []string `json:"subnetIds"`
		ResourceGroupID *string  `json:"resourceGroupId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	return moveToResourceGroup(r, "subnetIds", in.SubnetIDs, in.ResourceGroupID, r.server.DB.MoveSubnetsToResourceGroup)
}

// handleDescribeSubnetAvailableResources lists the zones that offer
// subnets, in catalog order. An unknown zoneId is INVALID_ZONE_NOT_FOUND
// (the SDK's code); [decision] a known zone without subnets gives an empty
// zoneIdSet.
func handleDescribeSubnetAvailableResources(r *request) (any, error) {
	var in struct {
		ZoneID *string `json:"zoneId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("zoneId", in.ZoneID); err != nil {
		return nil, err
	}
	want := deref(in.ZoneID)
	if want != "" {
		if _, ok := r.server.Catalog.FindZone(want); !ok {
			return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", want)
		}
	}
	zones := []string{}
	for _, z := range r.server.Catalog.Zones {
		if z.SubnetsSupported && (want == "" || want == z.ID) {
			zones = append(zones, z.ID)
		}
	}
	return map[string]any{"zoneIdSet": zones}, nil
}
