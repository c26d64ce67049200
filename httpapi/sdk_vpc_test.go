package httpapi_test

import (
	"context"
	"strings"
	"testing"

	bmc22 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	bmc26 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20260201"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane/internal/apitest"
)

// The VPC and subnet actions of issue 14 through the public Go SDK, both
// versions: every call decodes without error and what a user reads is
// filled.

func sdkClient26(t *testing.T, env *apitest.Env) *bmc26.Client {
	t.Helper()
	config := common.NewConfig()
	config.Domain = strings.TrimPrefix(env.App.URL(), "http://")
	config.Scheme = "HTTP"
	client, err := bmc26.NewClient(config, env.Key.ID, env.Key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestSDK2026VpcsAndSubnets(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := sdkClient26(t, env)
		str := common.String

		regions, err := c.DescribeVpcAvailableRegions(&bmc26.DescribeVpcAvailableRegionsRequest{BaseRequest: c26Base("DescribeVpcAvailableRegions"), ZoneId: str("SEL-A")})
		if err != nil {
			t.Fatal(err)
		}
		if set := regions.Response.VpcRegionSet; len(set) != 1 || *set[0].VpcRegionId != "SEL1" || *set[0].VpcRegionName != "Seoul" || set[0].ZoneIds[0] != "SEL-A" {
			t.Fatalf("DescribeVpcAvailableRegions: got %+v, want SEL1 with SEL-A", set)
		}
		zones, err := c.DescribeSubnetAvailableResources(&bmc26.DescribeSubnetAvailableResourcesRequest{BaseRequest: c26Base("DescribeSubnetAvailableResources")})
		if err != nil || len(zones.Response.ZoneIdSet) != 4 {
			t.Fatalf("DescribeSubnetAvailableResources: got %+v (%v), want 4 zones", zones, err)
		}

		create := bmc26.NewCreateVpcRequest()
		create.VpcRegionId, create.CidrBlock, create.VpcName = str("SEL1"), str("10.0.0.0/16"), str("sdk-vpc")
		create.Tags = &bmc26.TagAssociation{Tags: []*bmc26.Tag{{Key: str("env"), Value: str("test")}}}
		created, err := c.CreateVpc(create)
		if err != nil {
			t.Fatal(err)
		}
		vpcID := *created.Response.VpcId

		rename := bmc26.NewModifyVpcsAttributeRequest()
		rename.VpcIds, rename.VpcName = []string{vpcID}, str("sdk-vpc.2")
		if _, err := c.ModifyVpcsAttribute(rename); err != nil {
			t.Fatal(err)
		}
		describe := bmc26.NewDescribeVpcsRequest()
		describe.VpcIds = []string{vpcID}
		vpcs, err := c.DescribeVpcs(describe)
		if err != nil {
			t.Fatal(err)
		}
		if *vpcs.Response.TotalCount != 1 {
			t.Fatalf("DescribeVpcs: got %d VPCs, want 1", *vpcs.Response.TotalCount)
		}
		v := vpcs.Response.DataSet[0]
		if *v.VpcId != vpcID || *v.VpcName != "sdk-vpc.2" || *v.VpcRegionId != "SEL1" || *v.VpcRegionName != "Seoul" || *v.CidrBlock != "10.0.0.0/16" ||
			*v.VpcStatus != "AVAILABLE" || *v.ResourceGroupId == "" || *v.ResourceGroupName == "" || *v.CreateTime == "" ||
			len(v.Tags.Tags) != 1 || *v.Tags.Tags[0].Key != "env" || *v.Tags.Tags[0].Value != "test" {
			t.Fatalf("DescribeVpcs: got %+v", v)
		}

		subnet := bmc26.NewCreateSubnetRequest()
		subnet.ZoneId, subnet.CidrBlock, subnet.SubnetName, subnet.VpcId = str("SEL-A"), str("10.0.1.0/24"), str("in-vpc"), str(vpcID)
		inVpc, err := c.CreateSubnet(subnet)
		if err != nil {
			t.Fatal(err)
		}
		plain := bmc26.NewCreateSubnetRequest()
		plain.ZoneId, plain.CidrBlock, plain.SubnetName = str("SEL-A"), str("10.0.2.0/24"), str("plain")
		alone, err := c.CreateSubnet(plain)
		if err != nil {
			t.Fatal(err)
		}
		assoc := bmc26.NewAssociateVpcSubnetRequest()
		assoc.SubnetId, assoc.VpcId = alone.Response.SubnetId, str(vpcID)
		if _, err := c.AssociateVpcSubnet(assoc); err != nil {
			t.Fatal(err)
		}
		renameSubnet := bmc26.NewModifySubnetsAttributeRequest()
		renameSubnet.SubnetIds, renameSubnet.SubnetName = []string{*alone.Response.SubnetId}, str("joined")
		if _, err := c.ModifySubnetsAttribute(renameSubnet); err != nil {
			t.Fatal(err)
		}
		list := bmc26.NewDescribeSubnetsRequest()
		list.VpcId = str(vpcID)
		subnets, err := c.DescribeSubnets(list)
		if err != nil {
			t.Fatal(err)
		}
		if *subnets.Response.TotalCount != 2 {
			t.Fatalf("DescribeSubnets vpcId: got %d, want 2", *subnets.Response.TotalCount)
		}
		// Both were created in the same second: the order is by ID.
		names := map[string]string{*inVpc.Response.SubnetId: "in-vpc", *alone.Response.SubnetId: "joined"}
		for _, s := range subnets.Response.DataSet {
			if *s.SubnetName != names[*s.SubnetId] || *s.VpcId != vpcID || *s.VpcName != "sdk-vpc.2" || *s.VpcSubnetStatus != "ASSOCIATED" ||
				*s.AvailableIpCount != 253 || *s.SubnetStatus != "AVAILABLE" {
				t.Errorf("subnet %s: got name %q VPC %q %q %q, %d free, %s; want %q in %s", *s.SubnetId, *s.SubnetName, *s.VpcId, *s.VpcName,
					*s.VpcSubnetStatus, *s.AvailableIpCount, *s.SubnetStatus, names[*s.SubnetId], vpcID)
			}
		}

		// The delete waits for the subnets.
		del := bmc26.NewDeleteVpcRequest()
		del.VpcId = str(vpcID)
		_, err = c.DeleteVpc(del)
		if sdkErr, ok := err.(*common.ZenlayerCloudSdkError); !ok || sdkErr.Code != "OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN" {
			t.Fatalf("DeleteVpc with subnets: got %v, want OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN", err)
		}
		for _, id := range []*string{inVpc.Response.SubnetId, alone.Response.SubnetId} {
			d := bmc26.NewDeleteSubnetRequest()
			d.SubnetId = id
			if _, err := c.DeleteSubnet(d); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.DeleteVpc(del); err != nil {
			t.Fatal(err)
		}
	})
}

// c26Base is the base of a 2026-02-01 request built without its New…
// function (the struct literal lets a test set fields in one expression).
func c26Base(action string) *common.BaseRequest {
	b := &common.BaseRequest{}
	b.Init().InitWithApiInfo("bmc", bmc26.APIVersion, action)
	return b
}

func TestSDK2022VpcsAndSubnets(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c, _ := sdkClient(t, env, nil)
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "sdk")
		if err != nil {
			t.Fatal(err)
		}

		regions, err := c.DescribeVpcAvailableRegions(bmc22.NewDescribeVpcAvailableRegionsRequest())
		if err != nil || len(regions.Response.VpcRegionSet) != 4 || regions.Response.VpcRegionSet[3].VpcRegionId != "SEL1" {
			t.Fatalf("DescribeVpcAvailableRegions: got %+v (%v), want 4 regions ending with SEL1", regions, err)
		}
		zones, err := c.DescribeSubnetAvailableResources(&bmc22.DescribeSubnetAvailableResourcesRequest{BaseRequest: c22Base("DescribeSubnetAvailableResources"), ZoneId: "HKG-A"})
		if err != nil || len(zones.Response.ZoneIdSet) != 1 || zones.Response.ZoneIdSet[0] != "HKG-A" {
			t.Fatalf("DescribeSubnetAvailableResources: got %+v (%v), want HKG-A", zones, err)
		}

		create := bmc22.NewCreateVpcRequest()
		create.VpcRegionId, create.CidrBlock, create.VpcName = "HKG1", "172.16.0.0/12", "tf-vpc"
		created, err := c.CreateVpc(create)
		if err != nil {
			t.Fatal(err)
		}
		vpcID := created.Response.VpcId
		move := bmc22.NewModifyVpcsResourceGroupRequest()
		move.VpcIds, move.ResourceGroupId = []string{vpcID}, group.ID
		if _, err := c.ModifyVpcsResourceGroup(move); err != nil {
			t.Fatal(err)
		}
		rename := bmc22.NewModifyVpcsAttributeRequest()
		rename.VpcIds, rename.VpcName = []string{vpcID}, "tf-vpc-2"
		if _, err := c.ModifyVpcsAttribute(rename); err != nil {
			t.Fatal(err)
		}
		describe := bmc22.NewDescribeVpcsRequest()
		describe.VpcIds = []string{vpcID}
		vpcs, err := c.DescribeVpcs(describe)
		if err != nil {
			t.Fatal(err)
		}
		v := vpcs.Response.DataSet[0]
		if vpcs.Response.TotalCount != 1 || v.VpcId != vpcID || v.VpcName != "tf-vpc-2" || v.VpcRegionId != "HKG1" || v.VpcRegionName != "Hong Kong" ||
			v.CidrBlock != "172.16.0.0/12" || v.VpcStatus != "AVAILABLE" || v.ResourceGroupId != group.ID || v.ResourceGroupName != "sdk" || v.CreateTime == "" {
			t.Fatalf("DescribeVpcs: got %+v", v)
		}

		subnet := bmc22.NewCreateSubnetRequest()
		subnet.ZoneId, subnet.CidrBlock, subnet.SubnetName = "HKG-A", "172.16.5.0/24", "s"
		made, err := c.CreateSubnet(subnet)
		if err != nil {
			t.Fatal(err)
		}
		id := made.Response.SubnetId
		assoc := bmc22.NewAssociateVpcSubnetRequest()
		assoc.SubnetId, assoc.VpcId = id, vpcID
		if _, err := c.AssociateVpcSubnet(assoc); err != nil {
			t.Fatal(err)
		}
		moveSubnet := bmc22.NewModifySubnetsResourceGroupRequest()
		moveSubnet.SubnetIds, moveSubnet.ResourceGroupId = []string{id}, group.ID
		if _, err := c.ModifySubnetsResourceGroup(moveSubnet); err != nil {
			t.Fatal(err)
		}
		renameSubnet := bmc22.NewModifySubnetsAttributeRequest()
		renameSubnet.SubnetIds, renameSubnet.SubnetName = []string{id}, "s2"
		if _, err := c.ModifySubnetsAttribute(renameSubnet); err != nil {
			t.Fatal(err)
		}
		list := bmc22.NewDescribeSubnetsRequest()
		list.SubnetIds = []string{id}
		subnets, err := c.DescribeSubnets(list)
		if err != nil {
			t.Fatal(err)
		}
		s := subnets.Response.DataSet[0]
		if s.SubnetId != id || s.SubnetName != "s2" || s.VpcId != vpcID || s.VpcName != "tf-vpc-2" || s.ResourceGroupId != group.ID || s.ResourceGroupName != "sdk" {
			t.Fatalf("DescribeSubnets: got %+v", s)
		}
		d := bmc22.NewDeleteSubnetRequest()
		d.SubnetId = id
		if _, err := c.DeleteSubnet(d); err != nil {
			t.Fatal(err)
		}
		del := bmc22.NewDeleteVpcRequest()
		del.VpcId = vpcID
		if _, err := c.DeleteVpc(del); err != nil {
			t.Fatal(err)
		}
	})
}

// c22Base is c26Base for 2022-11-20.
func c22Base(action string) *common.BaseRequest {
	b := &common.BaseRequest{}
	b.Init().InitWithApiInfo("bmc", bmc22.APIVersion, action)
	return b
}
