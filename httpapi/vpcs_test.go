package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// vpcOut and vpcsOut decode DescribeVpcs.
type vpcOut struct {
	VpcID             string `json:"vpcId"`
	VpcRegionID       string `json:"vpcRegionId"`
	VpcRegionName     string `json:"vpcRegionName"`
	VpcName           string `json:"vpcName"`
	CidrBlock         string `json:"cidrBlock"`
	CreateTime        string `json:"createTime"`
	VpcStatus         string `json:"vpcStatus"`
	ResourceGroupID   string `json:"resourceGroupId"`
	ResourceGroupName string `json:"resourceGroupName"`
	Tags              struct {
		Tags []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"tags"`
	} `json:"tags"`
}

type vpcsOut struct {
	TotalCount int      `json:"totalCount"`
	DataSet    []vpcOut `json:"dataSet"`
}

func newVpc(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) string {
	t.Helper()
	var out struct {
		VpcID string `json:"vpcId"`
	}
	mustTickCall(t, env, c, "CreateVpc", req, &out)
	if !subnetIDPattern.MatchString(out.VpcID) {
		t.Fatalf("got vpcId %q, want 18 digits", out.VpcID)
	}
	return out.VpcID
}

func describeVpcs(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) vpcsOut {
	t.Helper()
	var out vpcsOut
	mustTickCall(t, env, c, "DescribeVpcs", req, &out)
	if out.DataSet == nil {
		t.Fatalf("DescribeVpcs %v: got dataSet null, want an array", req)
	}
	return out
}

func TestVpcRegionsAndSubnetZones(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		type region struct {
			VpcRegionID   string   `json:"vpcRegionId"`
			VpcRegionName string   `json:"vpcRegionName"`
			ZoneIDs       []string `json:"zoneIds"`
		}
		all := []region{
			{"FRA1", "Frankfurt", []string{"FRA-A"}}, {"HKG1", "Hong Kong", []string{"HKG-A"}},
			{"LAX1", "Los Angeles", []string{"LAX-A"}}, {"SEL1", "Seoul", []string{"SEL-A"}},
		}
		for _, c := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
			for _, tc := range []struct {
				req  map[string]any
				want []region
			}{
				{nil, all},
				{map[string]any{"zoneId": "SEL-A"}, all[3:]},
				{map[string]any{"vpcRegionId": "HKG1"}, all[1:2]},
				{map[string]any{"vpcRegionId": "HKG1", "zoneId": "SEL-A"}, []region{}},
				// São Paulo offers no subnets, so it is in no region.
				{map[string]any{"zoneId": "SAO-A"}, []region{}},
				{map[string]any{"vpcRegionId": "NOPE1"}, []region{}},
			} {
				var out struct {
					VpcRegionSet []region `json:"vpcRegionSet"`
				}
				mustTickCall(t, env, c, "DescribeVpcAvailableRegions", tc.req, &out)
				if diff := cmp.Diff(tc.want, out.VpcRegionSet); diff != "" {
					t.Errorf("%s %v (-want +got):\n%s", c.Version, tc.req, diff)
				}
			}
			apitest.ExpectCode(t, tickCall(t, env, c, "DescribeVpcAvailableRegions", map[string]any{"zoneId": "NOPE-A"}, nil), "INVALID_ZONE_NOT_FOUND")

			for _, tc := range []struct {
				req  map[string]any
				want []string
			}{
				{nil, []string{"SEL-A", "HKG-A", "FRA-A", "LAX-A"}},
				{map[string]any{"zoneId": "FRA-A"}, []string{"FRA-A"}},
				{map[string]any{"zoneId": "SAO-A"}, []string{}},
			} {
				var out struct {
					ZoneIDSet []string `json:"zoneIdSet"`
				}
				mustTickCall(t, env, c, "DescribeSubnetAvailableResources", tc.req, &out)
				if diff := cmp.Diff(tc.want, out.ZoneIDSet); diff != "" {
					t.Errorf("%s DescribeSubnetAvailableResources %v (-want +got):\n%s", c.Version, tc.req, diff)
				}
			}
			apitest.ExpectCode(t, tickCall(t, env, c, "DescribeSubnetAvailableResources", map[string]any{"zoneId": "NOPE-A"}, nil), "INVALID_ZONE_NOT_FOUND")
		}
	})
}

func TestVpcLifecycle(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		env.Clock.Set(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC))
		c, c22 := env.BMC(), env.BMC2022()
		def, err := env.DB.DefaultResourceGroup(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "network")
		if err != nil {
			t.Fatal(err)
		}
		wide := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/8", "vpcName": "wide",
			"tags": map[string]any{"tags": []map[string]string{{"key": "env", "value": "prod"}, {"key": "app", "value": "web"}}}})
		small := newVpc(t, env, c22, map[string]any{"vpcRegionId": "HKG1", "cidrBlock": "192.168.0.0/24", "vpcName": "small.1",
			"resourceGroupId": group.ID})

		want := []vpcOut{
			{VpcID: wide, VpcRegionID: "SEL1", VpcRegionName: "Seoul", VpcName: "wide", CidrBlock: "10.0.0.0/8", CreateTime: "2030-05-06T07:08:10Z",
				VpcStatus: "AVAILABLE", ResourceGroupID: def.ID, ResourceGroupName: def.Name},
			{VpcID: small, VpcRegionID: "HKG1", VpcRegionName: "Hong Kong", VpcName: "small.1", CidrBlock: "192.168.0.0/24", CreateTime: "2030-05-06T07:08:11Z",
				VpcStatus: "AVAILABLE", ResourceGroupID: group.ID, ResourceGroupName: "network"},
		}
		want[0].Tags.Tags = []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}{{"app", "web"}, {"env", "prod"}}
		want[1].Tags.Tags = want[0].Tags.Tags[:0]
		for _, v := range []*httpapi.Client{c, c22} {
			out := describeVpcs(t, env, v, nil)
			if out.TotalCount != 2 {
				t.Fatalf("%s: got totalCount %d, want 2", v.Version, out.TotalCount)
			}
			if diff := cmp.Diff(want, out.DataSet); diff != "" {
				t.Errorf("%s: DescribeVpcs (-want +got):\n%s", v.Version, diff)
			}
		}
		for _, tc := range []struct {
			req  map[string]any
			want []string
		}{
			{map[string]any{"vpcIds": []string{small, "123"}}, []string{small}},
			{map[string]any{"vpcName": "wide"}, []string{wide}},
			{map[string]any{"cidrBlock": "192.168.0.0/24"}, []string{small}},
			{map[string]any{"vpcStatus": "AVAILABLE"}, []string{wide, small}},
			{map[string]any{"vpcStatus": "DELETING"}, nil},
			{map[string]any{"vpcRegionId": "SEL1"}, []string{wide}},
			{map[string]any{"resourceGroupId": group.ID}, []string{small}},
			{map[string]any{"tagKeys": []string{"env"}}, []string{wide}},
			{map[string]any{"tags": []map[string]string{{"key": "env", "value": "dev"}}}, nil},
			{map[string]any{"tags": []map[string]string{{"key": "env", "value": "prod"}}}, []string{wide}},
			{map[string]any{"pageSize": 1, "pageNum": 2}, []string{small}},
			{map[string]any{"vpcName": ""}, []string{wide, small}},
		} {
			out := describeVpcs(t, env, c, tc.req)
			var got []string
			for _, v := range out.DataSet {
				got = append(got, v.VpcID)
			}
			if !cmp.Equal(tc.want, got) {
				t.Errorf("DescribeVpcs %v: got %v, want %v", tc.req, got, tc.want)
			}
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DescribeVpcs", map[string]any{"vpcStatus": "GONE"}, nil), "INVALID_PARAMETER")

		// A subnet created in the VPC takes the VPC's group, whatever it asks.
		inVpc := newSubnet(t, env, c22, map[string]any{"zoneId": "HKG-A", "cidrBlock": "192.168.0.0/25", "subnetName": "in-vpc",
			"vpcId": small, "resourceGroupId": def.ID})
		alone := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.3.0/24", "subnetName": "alone"})
		for _, v := range []*httpapi.Client{c, c22} {
			got := describeSubnets(t, env, v, map[string]any{"subnetIds": []string{inVpc}}).DataSet[0]
			if got.VpcID != small || got.VpcName != "small.1" || got.VpcSubnetStatus != "ASSOCIATED" || got.ResourceGroupID != group.ID {
				t.Errorf("%s: subnet in VPC: got vpc %q %q %q group %q, want %s small.1 ASSOCIATED %s", v.Version,
					got.VpcID, got.VpcName, got.VpcSubnetStatus, got.ResourceGroupID, small, group.ID)
			}
			if out := describeSubnets(t, env, v, map[string]any{"vpcId": small}); out.TotalCount != 1 || out.DataSet[0].SubnetID != inVpc {
				t.Errorf("%s: DescribeSubnets vpcId: got %+v, want only %s", v.Version, out, inVpc)
			}
		}
		// A subnet in no VPC carries the VPC fields as null.
		raw, err := c.Do(ctx, "DescribeSubnets", []byte(fmt.Sprintf(`{"subnetIds":[%q]}`, alone)))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Response struct {
				DataSet []map[string]json.RawMessage `json:"dataSet"`
			} `json:"response"`
		}
		if err := json.Unmarshal(raw.Body, &body); err != nil || len(body.Response.DataSet) != 1 {
			t.Fatalf("raw DescribeSubnets: got %s (%v), want one subnet", raw.Body, err)
		}
		for _, field := range []string{"vpcId", "vpcName", "vpcSubnetStatus"} {
			if got, ok := body.Response.DataSet[0][field]; !ok || string(got) != "null" {
				t.Errorf("subnet without VPC: got %s %q (present %t), want null", field, got, ok)
			}
		}

		// AssociateVpcSubnet: into the wide VPC, a second time changes nothing.
		mustTickCall(t, env, c, "AssociateVpcSubnet", map[string]any{"subnetId": alone, "vpcId": wide}, nil)
		mustTickCall(t, env, c22, "AssociateVpcSubnet", map[string]any{"subnetId": alone, "vpcId": wide}, nil)
		if got := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{alone}}).DataSet[0]; got.VpcID != wide || got.VpcName != "wide" ||
			got.VpcSubnetStatus != "ASSOCIATED" || got.ResourceGroupID != def.ID {
			t.Errorf("after AssociateVpcSubnet: got %+v, want in %s, still in the default group", got, wide)
		}

		// Rename and move, then the subnet shows the new VPC name.
		mustTickCall(t, env, c, "ModifyVpcsAttribute", map[string]any{"vpcIds": []string{wide, small}, "vpcName": "renamed"}, nil)
		mustTickCall(t, env, c22, "ModifyVpcsResourceGroup", map[string]any{"vpcIds": []string{wide}, "resourceGroupId": group.ID}, nil)
		for _, v := range describeVpcs(t, env, c, nil).DataSet {
			if v.VpcName != "renamed" || v.ResourceGroupID != group.ID || v.ResourceGroupName != "network" {
				t.Errorf("after modify: got %+v, want renamed in network", v)
			}
		}
		if got := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{alone}}).DataSet[0]; got.VpcName != "renamed" {
			t.Errorf("subnet's vpcName: got %q, want renamed", got.VpcName)
		}

		// A VPC with subnets stays; without them it goes at once.
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteVpc", map[string]any{"vpcId": small}, nil), "OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN")
		mustTickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": inVpc}, nil)
		mustTickCall(t, env, c22, "DeleteVpc", map[string]any{"vpcId": small}, nil)
		if out := describeVpcs(t, env, c, nil); out.TotalCount != 1 || out.DataSet[0].VpcID != wide {
			t.Fatalf("after delete: got %+v, want only %s", out, wide)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteVpc", map[string]any{"vpcId": small}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		var tags int
		if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM vpc_tags WHERE vpc_id = $1`, small).Scan(&tags); err != nil || tags != 0 {
			t.Fatalf("tags of the deleted VPC: got %d (%v), want 0", tags, err)
		}
	})
}

func TestCreateVpcErrors(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		req := func(kv ...any) map[string]any {
			m := map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/16", "vpcName": "net"}
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(m, kv[i].(string))
				} else {
					m[kv[i].(string)] = kv[i+1]
				}
			}
			return m
		}
		tag := func(k, v string) map[string]string { return map[string]string{"key": k, "value": v} }
		cases := []struct {
			name string
			req  map[string]any
			want metalplane.Code
		}{
			{"no region", req("vpcRegionId", nil), "MISSING_PARAMETER"},
			{"no cidrBlock", req("cidrBlock", ""), "MISSING_PARAMETER"},
			{"no name", req("vpcName", nil), "MISSING_PARAMETER"},
			{"unknown region", req("vpcRegionId", "NOPE1"), "INVALID_VPC_REGION_NOT_FOUND"},
			{"region without subnets", req("vpcRegionId", "SAO1"), "INVALID_VPC_REGION_NOT_FOUND"},
			{"unknown region wins over bad CIDR", req("vpcRegionId", "NOPE1", "cidrBlock", "x"), "INVALID_VPC_REGION_NOT_FOUND"},
			{"CIDR a word", req("cidrBlock", "banana"), "INVALID_PARAMETER_VPC_CIDR_BLOCK"},
			{"CIDR without mask", req("cidrBlock", "10.0.0.0"), "INVALID_PARAMETER_VPC_CIDR_BLOCK"},
			{"public block", req("cidrBlock", "11.0.0.0/16"), "INVALID_PARAMETER_VPC_LAN_IP"},
			{"IPv6", req("cidrBlock", "fd00::/48"), "INVALID_PARAMETER_VPC_LAN_IP"},
			{"172.32 is outside 172.16/12", req("cidrBlock", "172.32.0.0/16"), "INVALID_PARAMETER_VPC_LAN_IP"},
			{"wider than its range", req("cidrBlock", "172.16.0.0/11"), "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
			{"narrower than /29", req("cidrBlock", "10.0.0.0/30"), "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
			{"host bits", req("cidrBlock", "10.0.0.1/16"), "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
			{"bad name", req("vpcName", "a b"), "INVALID_PARAMETER"},
			{"name of 65", req("vpcName", strings.Repeat("v", 65)), "INVALID_PARAMETER"},
			{"tag key twice", req("tags", map[string]any{"tags": []map[string]string{tag("a", "1"), tag("a", "2")}}), "INVALID_PARAMETER"},
			{"empty tag value", req("tags", map[string]any{"tags": []map[string]string{tag("a", "")}}), "INVALID_PARAMETER"},
			{"unknown group", req("resourceGroupId", "rg-nope"), "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateVpc", tc.req, nil), tc.want)
			})
		}
		if out := describeVpcs(t, env, c, nil); out.TotalCount != 0 {
			t.Fatalf("after refused creates: got %d VPCs, want 0", out.TotalCount)
		}
		// The region quota: the eleventh VPC of SEL1 is refused, LAX1 is not.
		for i := 0; i < metalplane.MaxVpcsPerRegion; i++ {
			newVpc(t, env, c, req("vpcName", fmt.Sprintf("v%d", i)))
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateVpc", req(), nil), "OPERATION_DENIED_VPC_REGION_EXCEED_LIMIT")
		newVpc(t, env, c, req("vpcRegionId", "LAX1"))
	})
}

func TestSubnetInVpcErrors(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC2022()
		vpc := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/20", "vpcName": "v"})
		other := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "172.16.0.0/16", "vpcName": "o"})
		first := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "first", "vpcId": vpc})
		inOther := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "172.16.1.0/24", "subnetName": "o", "vpcId": other})
		sub := func(zone, cidr string) map[string]any {
			return map[string]any{"zoneId": zone, "cidrBlock": cidr, "subnetName": "s", "vpcId": vpc}
		}
		for _, tc := range []struct {
			name string
			req  map[string]any
			want metalplane.Code
		}{
			{"unknown VPC", map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.2.0/24", "subnetName": "s", "vpcId": "123"}, "INVALID_VPC_NOT_FOUND"},
			{"zone outside the region", sub("HKG-A", "10.0.2.0/24"), "OPERATION_DENIED_ZONE_NOT_BELONG_VPC"},
			{"block outside the VPC", sub("SEL-A", "10.0.16.0/24"), "INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC"},
			{"block wider than the VPC", sub("SEL-A", "10.0.0.0/16"), "INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC"},
			{"overlaps a subnet of the VPC", sub("SEL-A", "10.0.1.128/25"), "INVALID_PARAMETER_VPC_SUBNET_OVER_LAP"},
			{"bad CIDR after the VPC", sub("SEL-A", "banana"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", tc.req, nil), tc.want)
			})
		}
		// Outside any VPC, the same block may overlap.
		outside := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "outside"})
		hkg := newSubnet(t, env, c, map[string]any{"zoneId": "HKG-A", "cidrBlock": "10.0.2.0/24", "subnetName": "hkg"})
		for _, tc := range []struct {
			name           string
			subnet, vpc    string
			want           metalplane.Code
			withoutSubnets bool
		}{
			{"unknown VPC", outside, "123", "INVALID_VPC_NOT_FOUND", false},
			{"unknown subnet", "123", vpc, "INVALID_SUBNET_NOT_FOUND", false},
			{"in another VPC", inOther, vpc, "OPERATION_DENIED_SUBNET_ASSOCIATED_OTHER_VPC", false},
			{"overlap", outside, vpc, "INVALID_PARAMETER_VPC_SUBNET_OVER_LAP", false},
			{"zone outside the region", hkg, vpc, "OPERATION_DENIED_ZONE_NOT_BELONG_VPC", false},
			{"block outside the VPC", outside, other, "INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC", false},
		} {
			t.Run("associate "+tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "AssociateVpcSubnet", map[string]any{"subnetId": tc.subnet, "vpcId": tc.vpc}, nil), tc.want)
			})
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "AssociateVpcSubnet", map[string]any{"vpcId": vpc}, nil), "MISSING_PARAMETER")
		apitest.ExpectCode(t, tickCall(t, env, c, "AssociateVpcSubnet", map[string]any{"subnetId": outside}, nil), "MISSING_PARAMETER")

		// The VPC's quota per zone: MaxVpcZoneSubnets subnets in SEL-A.
		for i := 2; i <= metalplane.MaxVpcZoneSubnets; i++ {
			newSubnet(t, env, c, sub("SEL-A", fmt.Sprintf("10.0.%d.0/24", i)))
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", sub("SEL-A", "10.0.15.0/24"), nil), "OPERATION_DENIED_VPC_ZONE_SUBNET_EXCEED_LIMIT")

		// A VPC whose region left the catalog takes no more subnets; one
		// that is not AVAILABLE neither.
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE vpcs SET region_id = 'OLD1' WHERE id = $1`, other); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "172.16.2.0/24", "subnetName": "s", "vpcId": other}, nil),
			"OPERATION_DENIED_NO_AVAILABLE_VPC_REGION")
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE vpcs SET status = 'DELETING' WHERE id = $1`, other); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "172.16.2.0/24", "subnetName": "s", "vpcId": other}, nil),
			"OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT")
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteVpc", map[string]any{"vpcId": other}, nil), "OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT")
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE subnets SET status = 'CREATING' WHERE id = $1`, hkg); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "AssociateVpcSubnet", map[string]any{"subnetId": hkg, "vpcId": vpc}, nil), "OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT")
		if got := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{first}}).DataSet[0]; got.VpcID != vpc {
			t.Fatalf("first subnet: got VPC %q, want %s", got.VpcID, vpc)
		}
	})
}

func TestVpcAndSubnetBatchChanges(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "ops")
		if err != nil {
			t.Fatal(err)
		}
		vpc := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/16", "vpcName": "v"})
		a := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "a"})
		b := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.2.0/24", "subnetName": "b"})

		for _, tc := range []struct {
			action string
			req    map[string]any
			want   metalplane.Code
		}{
			{"ModifySubnetsAttribute", map[string]any{"subnetName": "x"}, "MISSING_PARAMETER"},
			{"ModifySubnetsAttribute", map[string]any{"subnetIds": []string{a}}, "MISSING_PARAMETER"},
			{"ModifySubnetsAttribute", map[string]any{"subnetIds": []string{a}, "subnetName": "bad name"}, "INVALID_PARAMETER"},
			{"ModifySubnetsAttribute", map[string]any{"subnetIds": []string{a, ""}, "subnetName": "x"}, "INVALID_PARAMETER"},
			{"ModifySubnetsAttribute", map[string]any{"subnetIds": []string{a, "123"}, "subnetName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{a}}, "MISSING_PARAMETER"},
			{"ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{a}, "resourceGroupId": "rg-nope"}, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
			{"ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{a, "123"}, "resourceGroupId": group.ID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"ModifyVpcsAttribute", map[string]any{"vpcIds": []string{vpc, "123"}, "vpcName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"ModifyVpcsAttribute", map[string]any{"vpcIds": []string{vpc}, "vpcName": "a_b"}, "INVALID_PARAMETER"},
			{"ModifyVpcsAttribute", map[string]any{"vpcName": "x"}, "MISSING_PARAMETER"},
			{"ModifyVpcsResourceGroup", map[string]any{"vpcIds": []string{vpc}, "resourceGroupId": "rg-nope"}, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
			{"ModifyVpcsResourceGroup", map[string]any{"vpcIds": []string{"123"}, "resourceGroupId": group.ID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"DeleteVpc", map[string]any{}, "MISSING_PARAMETER"},
		} {
			apitest.ExpectCode(t, tickCall(t, env, c, tc.action, tc.req, nil), tc.want)
		}
		// Nothing changed by the refused batches.
		for _, s := range describeSubnets(t, env, c, nil).DataSet {
			if s.SubnetName == "x" || s.ResourceGroupID == group.ID {
				t.Fatalf("after refused batches: got %+v, want unchanged", s)
			}
		}
		// A key that is not the team administrator's may rename, not move.
		key, err := env.DB.CreateAccessKey(ctx, env.Team.ID, "", "", false)
		if err != nil {
			t.Fatal(err)
		}
		member := env.ClientWithKey("bmc", httpapi.BMCVersion2022, key)
		apitest.ExpectCode(t, tickCall(t, env, member, "ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{a}, "resourceGroupId": group.ID}, nil), "UNAUTHORIZED_OPERATION")
		apitest.ExpectCode(t, tickCall(t, env, member, "ModifyVpcsResourceGroup", map[string]any{"vpcIds": []string{vpc}, "resourceGroupId": group.ID}, nil), "UNAUTHORIZED_OPERATION")

		mustTickCall(t, env, member, "ModifySubnetsAttribute", map[string]any{"subnetIds": []string{a, b, a}, "subnetName": "renamed.1"}, nil)
		mustTickCall(t, env, env.BMC2022(), "ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{b}, "resourceGroupId": group.ID}, nil)
		got := describeSubnets(t, env, c, nil).DataSet
		if got[0].SubnetName != "renamed.1" || got[1].SubnetName != "renamed.1" || got[0].ResourceGroupID == group.ID ||
			got[1].ResourceGroupID != group.ID || got[1].ResourceGroupName != "ops" {
			t.Fatalf("after the batches: got %+v, want both renamed, only b in ops", got)
		}
	})
}

// TestVpcTeamIsolation: another team's VPCs and subnets are unknown to
// every VPC and subnet action.
func TestVpcTeamIsolation(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		mine := env.BMC()
		vpc := newVpc(t, env, mine, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/16", "vpcName": "mine"})
		subnet := newSubnet(t, env, mine, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "mine", "vpcId": vpc})
		_, key := env.NewTeam(t, "other")
		theirs := env.ClientWithKey("bmc", httpapi.BMCVersion2022, key)
		otherGroup, err := env.DB.DefaultResourceGroup(context.Background(), key.TeamID)
		if err != nil {
			t.Fatal(err)
		}
		theirSubnet := newSubnet(t, env, theirs, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.2.0/24", "subnetName": "theirs"})

		if out := describeVpcs(t, env, theirs, map[string]any{"vpcIds": []string{vpc}}); out.TotalCount != 0 {
			t.Errorf("other team sees %+v, want nothing", out)
		}
		if out := describeSubnets(t, env, theirs, map[string]any{"vpcId": vpc}); out.TotalCount != 0 {
			t.Errorf("other team sees subnets %+v, want nothing", out)
		}
		for _, tc := range []struct {
			action string
			req    map[string]any
			want   metalplane.Code
		}{
			{"ModifyVpcsAttribute", map[string]any{"vpcIds": []string{vpc}, "vpcName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"ModifyVpcsResourceGroup", map[string]any{"vpcIds": []string{vpc}, "resourceGroupId": otherGroup.ID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"DeleteVpc", map[string]any{"vpcId": vpc}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.3.0/24", "subnetName": "x", "vpcId": vpc}, "INVALID_VPC_NOT_FOUND"},
			{"AssociateVpcSubnet", map[string]any{"subnetId": theirSubnet, "vpcId": vpc}, "INVALID_VPC_NOT_FOUND"},
			{"ModifySubnetsAttribute", map[string]any{"subnetIds": []string{subnet}, "subnetName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"ModifySubnetsResourceGroup", map[string]any{"subnetIds": []string{subnet}, "resourceGroupId": otherGroup.ID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
		} {
			apitest.ExpectCode(t, tickCall(t, env, theirs, tc.action, tc.req, nil), tc.want)
		}
		// Their subnet cannot join my VPC from my side either.
		apitest.ExpectCode(t, tickCall(t, env, mine, "AssociateVpcSubnet", map[string]any{"subnetId": theirSubnet, "vpcId": vpc}, nil), "INVALID_SUBNET_NOT_FOUND")
		if got := describeVpcs(t, env, mine, nil).DataSet[0]; got.VpcName != "mine" {
			t.Fatalf("my VPC: got %+v, want unchanged", got)
		}
	})
}

// TestAuditFindsVpcDamage: `metalplane admin db check` reports a subnet in
// a VPC that is not its team's and a VPC in another team's group.
func TestAuditFindsVpcDamage(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		vpc := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/16", "vpcName": "v"})
		subnet := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "s", "vpcId": vpc})
		if problems, err := env.DB.Audit(ctx); err != nil || len(problems) != 0 {
			t.Fatalf("healthy database: %v %v", problems, err)
		}
		other, _ := env.NewTeam(t, "other")
		otherGroup, err := env.DB.DefaultResourceGroup(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []struct {
			name, sql string
			args      []any
			want      string
		}{
			{"subnet in a VPC of nobody", `UPDATE subnets SET vpc_id = '999' WHERE id = $1`, []any{subnet}, "which is not a VPC of its team"},
			{"VPC in another team's group", `UPDATE vpcs SET resource_group_id = $1 WHERE id = $2`, []any{otherGroup.ID, vpc}, "which is not a group of its team"},
		} {
			if _, err := env.DB.SQL.ExecContext(ctx, d.sql, d.args...); err != nil {
				t.Fatalf("%s: %v", d.name, err)
			}
			problems, err := env.DB.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(problems, "\n"), d.want) {
				t.Errorf("%s: the audit said %q, want a line with %q", d.name, problems, d.want)
			}
		}
	}, apitest.Options{SkipAudit: true})
}

// TestVpcSubnetOverlapRace: overlapping subnets created into one VPC at
// the same moment, and a subnet joining while the VPC is deleted: the VPC's
// row lock lets one win, the others get the VPC's codes, never two
// overlapping subnets in one VPC nor a subnet in a deleted VPC.
func TestVpcSubnetOverlapRace(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		vpc := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "10.0.0.0/16", "vpcName": "race"})
		blocks := []string{"10.0.4.0/24", "10.0.4.0/25", "10.0.4.128/25", "10.0.4.0/23", "10.0.4.64/26"}
		errs := make([]error, len(blocks))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, b := range blocks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = c.Call(context.Background(), "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": b, "subnetName": fmt.Sprintf("r%d", i), "vpcId": vpc}, nil)
			}()
		}
		close(start)
		wg.Wait()
		var got []netip.Prefix
		for i, err := range errs {
			if err != nil {
				apitest.ExpectCode(t, err, "INVALID_PARAMETER_VPC_SUBNET_OVER_LAP")
				continue
			}
			got = append(got, netip.MustParsePrefix(blocks[i]))
		}
		if out := describeSubnets(t, env, c, map[string]any{"vpcId": vpc}); out.TotalCount != len(got) || len(got) == 0 {
			t.Fatalf("got %d winners and %d subnets in the VPC, want the same, at least one", len(got), out.TotalCount)
		}
		for i := range got {
			for j := i + 1; j < len(got); j++ {
				if got[i].Overlaps(got[j]) {
					t.Fatalf("%s and %s both joined the VPC", got[i], got[j])
				}
			}
		}

		// Join versus delete: an empty VPC, a free subnet, both at once.
		empty := newVpc(t, env, c, map[string]any{"vpcRegionId": "SEL1", "cidrBlock": "172.16.0.0/16", "vpcName": "empty"})
		sub := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "172.16.1.0/24", "subnetName": "joiner"})
		var joinErr, deleteErr error
		start = make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			joinErr = c.Call(context.Background(), "AssociateVpcSubnet", map[string]any{"subnetId": sub, "vpcId": empty}, nil)
		}()
		go func() {
			defer wg.Done()
			<-start
			deleteErr = c.Call(context.Background(), "DeleteVpc", map[string]any{"vpcId": empty}, nil)
		}()
		close(start)
		wg.Wait()
		left := describeVpcs(t, env, c, map[string]any{"vpcIds": []string{empty}}).TotalCount
		joined := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{sub}}).DataSet[0].VpcID
		switch {
		case joinErr == nil && deleteErr != nil:
			apitest.ExpectCode(t, deleteErr, "OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN")
			if left != 1 || joined != empty {
				t.Fatalf("join won: got VPC left %d, subnet in %q", left, joined)
			}
		case deleteErr == nil && joinErr != nil:
			apitest.ExpectCode(t, joinErr, "INVALID_VPC_NOT_FOUND")
			if left != 0 || joined != "" {
				t.Fatalf("delete won: got VPC left %d, subnet in %q", left, joined)
			}
		default:
			t.Fatalf("join %v, delete %v: want exactly one to succeed", joinErr, deleteErr)
		}
	})
}
