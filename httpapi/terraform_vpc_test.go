package httpapi_test

import (
	"context"
	"testing"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// The Terraform provider's life of a zenlayercloud_bmc_vpc and of a
// zenlayercloud_bmc_subnet with vpc_id (resource_zc_bmc_vpc.go,
// resource_zc_bmc_subnet.go, data_source_zc_bmc_vpc_regions.go), call by
// call with bmc 2022-11-20: create and wait, read, update (rename,
// resource group), read, destroy and wait. After each read the stored
// attributes must equal the configuration, else the next plan is not empty.

// tfVpc is what the provider's VPC Read stores.
type tfVpc struct {
	VpcID             string `json:"vpcId"`
	VpcRegionID       string `json:"vpcRegionId"`
	VpcName           string `json:"vpcName"`
	VpcStatus         string `json:"vpcStatus"`
	CidrBlock         string `json:"cidrBlock"`
	ResourceGroupID   string `json:"resourceGroupId"`
	ResourceGroupName string `json:"resourceGroupName"`
	CreateTime        string `json:"createTime"`
	Tags              *struct {
		Tags []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"tags"`
	} `json:"tags"`
}

// tfSubnet is what the provider's subnet Read stores.
type tfSubnet struct {
	SubnetID          string `json:"subnetId"`
	ZoneID            string `json:"zoneId"`
	SubnetName        string `json:"subnetName"`
	SubnetStatus      string `json:"subnetStatus"`
	CidrBlock         string `json:"cidrBlock"`
	VpcID             string `json:"vpcId"`
	VpcName           string `json:"vpcName"`
	ResourceGroupID   string `json:"resourceGroupId"`
	ResourceGroupName string `json:"resourceGroupName"`
	CreateTime        string `json:"createTime"`
	SubnetInstanceSet []struct {
		InstanceID string `json:"instanceId"`
	} `json:"subnetInstanceSet"`
}

// tfReadVpc is DescribeVpcById: DescribeVpcs by ID; nil = gone.
func tfReadVpc(t *testing.T, env *apitest.Env, c *httpapi.Client, id string) *tfVpc {
	t.Helper()
	var out struct {
		DataSet []tfVpc `json:"dataSet"`
	}
	mustTickCall(t, env, c, "DescribeVpcs", map[string]any{"vpcIds": []string{id}}, &out)
	if len(out.DataSet) == 0 {
		return nil
	}
	return &out.DataSet[0]
}

// tfReadSubnet is DescribeSubnetById; nil = gone.
func tfReadSubnet(t *testing.T, env *apitest.Env, c *httpapi.Client, id string) *tfSubnet {
	t.Helper()
	var out struct {
		DataSet []tfSubnet `json:"dataSet"`
	}
	mustTickCall(t, env, c, "DescribeSubnets", map[string]any{"subnetIds": []string{id}}, &out)
	if len(out.DataSet) == 0 {
		return nil
	}
	return &out.DataSet[0]
}

func TestTerraformVpcAndSubnetLifecycle(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC2022()
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "tf-group")
		if err != nil {
			t.Fatal(err)
		}

		// data "zenlayercloud_bmc_vpc_regions": the first region's id.
		var regions struct {
			VpcRegionSet []struct {
				VpcRegionID string   `json:"vpcRegionId"`
				ZoneIDs     []string `json:"zoneIds"`
			} `json:"vpcRegionSet"`
		}
		mustTickCall(t, env, c, "DescribeVpcAvailableRegions", map[string]any{}, &regions)
		if len(regions.VpcRegionSet) == 0 || len(regions.VpcRegionSet[0].ZoneIDs) == 0 {
			t.Fatalf("vpc_regions: got %+v, want a region with zones", regions)
		}
		region, zone := regions.VpcRegionSet[0].VpcRegionID, regions.VpcRegionSet[0].ZoneIDs[0]

		// resource "zenlayercloud_bmc_vpc" { region, cidr_block, name default "Terraform-VPC" }
		var created struct {
			VpcID string `json:"vpcId"`
		}
		mustTickCall(t, env, c, "CreateVpc", map[string]any{"vpcRegionId": region, "cidrBlock": "10.0.0.0/16", "vpcName": "Terraform-VPC"}, &created)
		if created.VpcID == "" {
			t.Fatal("CreateVpc: vpc id is nil")
		}
		// The create waiter: pending CREATING/DELETING, target AVAILABLE.
		vpc := tfReadVpc(t, env, c, created.VpcID)
		if vpc == nil || vpc.VpcStatus != "AVAILABLE" {
			t.Fatalf("after CreateVpc: got %+v, want AVAILABLE", vpc)
		}
		checkVpc := func(name, groupID string) {
			t.Helper()
			v := tfReadVpc(t, env, c, created.VpcID)
			if v == nil {
				t.Fatal("VPC read: gone")
			}
			if v.VpcRegionID != region || v.VpcName != name || v.CidrBlock != "10.0.0.0/16" || v.VpcStatus != "AVAILABLE" ||
				v.ResourceGroupID != groupID || v.ResourceGroupName == "" || v.CreateTime == "" || v.Tags == nil || len(v.Tags.Tags) != 0 {
				t.Fatalf("VPC read: got %+v, want region %s, name %s, 10.0.0.0/16, group %s, no tags", v, region, name, groupID)
			}
		}
		def, err := env.DB.DefaultResourceGroup(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkVpc("Terraform-VPC", def.ID)

		// resource "zenlayercloud_bmc_subnet" { availability_zone, cidr_block, vpc_id, name default "Terraform-Subnet" }
		var subnet struct {
			SubnetID string `json:"subnetId"`
		}
		mustTickCall(t, env, c, "CreateSubnet", map[string]any{"zoneId": zone, "cidrBlock": "10.0.10.0/24", "subnetName": "Terraform-Subnet", "vpcId": created.VpcID}, &subnet)
		if subnet.SubnetID == "" {
			t.Fatal("CreateSubnet: subnet id is nil")
		}
		checkSubnet := func(name, groupID string) {
			t.Helper()
			s := tfReadSubnet(t, env, c, subnet.SubnetID)
			if s == nil {
				t.Fatal("subnet read: gone")
			}
			// The Read retries while CREATING, PENDING or ASSOCIATING.
			if s.ZoneID != zone || s.SubnetName != name || s.SubnetStatus != "AVAILABLE" || s.CidrBlock != "10.0.10.0/24" ||
				s.VpcID != created.VpcID || s.VpcName == "" || s.ResourceGroupID != groupID || s.ResourceGroupName == "" || s.CreateTime == "" {
				t.Fatalf("subnet read: got %+v, want %s in %s, AVAILABLE, VPC %s, group %s", s, name, zone, created.VpcID, groupID)
			}
		}
		checkSubnet("Terraform-Subnet", def.ID)

		// Update: name, then resource_group_id (each its own call).
		mustTickCall(t, env, c, "ModifySubnetsAttribute", map[string]any{"subnetIds": []string{subnet.SubnetID}, "subnetName": "renamed-subnet"}, nil)
		mustTickCall(t, env, c, "ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{subnet.SubnetID}, "resourceGroupId": group.ID}, nil)
		checkSubnet("renamed-subnet", group.ID)
		mustTickCall(t, env, c, "ModifyVpcsAttribute", map[string]any{"vpcIds": []string{created.VpcID}, "vpcName": "renamed-vpc"}, nil)
		mustTickCall(t, env, c, "ModifyVpcsResourceGroup", map[string]any{"vpcIds": []string{created.VpcID}, "resourceGroupId": group.ID}, nil)
		checkVpc("renamed-vpc", group.ID)
		if s := tfReadSubnet(t, env, c, subnet.SubnetID); s.VpcName != "renamed-vpc" {
			t.Fatalf("subnet vpc_name after the VPC's rename: got %q, want renamed-vpc", s.VpcName)
		}

		// Destroy in dependency order. Subnet: no instances left, delete,
		// wait until DescribeSubnets no longer returns it.
		if s := tfReadSubnet(t, env, c, subnet.SubnetID); len(s.SubnetInstanceSet) != 0 {
			t.Fatalf("subnet still binds %d instances", len(s.SubnetInstanceSet))
		}
		mustTickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": subnet.SubnetID}, nil)
		if s := tfReadSubnet(t, env, c, subnet.SubnetID); s != nil {
			t.Fatalf("after DeleteSubnet: got %+v, want gone", s)
		}
		// VPC: its subnets (DescribeSubnets by vpcId) are gone, delete,
		// wait until gone. A second delete is "not found", which the
		// provider takes as done.
		var left struct {
			TotalCount int `json:"totalCount"`
		}
		mustTickCall(t, env, c, "DescribeSubnets", map[string]any{"vpcId": created.VpcID}, &left)
		if left.TotalCount != 0 {
			t.Fatalf("VPC still binds %d subnets", left.TotalCount)
		}
		mustTickCall(t, env, c, "DeleteVpc", map[string]any{"vpcId": created.VpcID}, nil)
		if v := tfReadVpc(t, env, c, created.VpcID); v != nil {
			t.Fatalf("after DeleteVpc: got %+v, want gone", v)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteVpc", map[string]any{"vpcId": created.VpcID}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
	})
}
