package metalplane

import (
	"net/netip"
	"testing"
)

func TestValidateVpcCIDR(t *testing.T) {
	for _, tc := range []struct {
		cidr string
		want Code // "" = valid
	}{
		{"10.0.0.0/8", ""},
		{"172.16.0.0/12", ""},
		{"192.168.0.0/16", ""},
		{"10.20.0.0/16", ""},
		{"192.168.1.0/29", ""},
		{"10.0.0.0/7", "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
		{"172.16.0.0/11", "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
		{"192.168.0.0/30", "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
		{"10.0.0.1/24", "INVALID_PARAMETER_VPC_LAN_IP_NETMASK"},
		{"172.32.0.0/16", "INVALID_PARAMETER_VPC_LAN_IP"},
		{"8.8.8.0/24", "INVALID_PARAMETER_VPC_LAN_IP"},
		{"fd00::/8", "INVALID_PARAMETER_VPC_LAN_IP"},
		{"10.0.0.0", "INVALID_PARAMETER_VPC_CIDR_BLOCK"},
		{"010.0.0.0/8", "INVALID_PARAMETER_VPC_CIDR_BLOCK"},
	} {
		_, err := ValidateVpcCIDR(tc.cidr)
		if got := Code(""); err != nil {
			got = err.Code
			if got != tc.want {
				t.Errorf("%s: got %s, want %q", tc.cidr, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%s: got valid, want %s", tc.cidr, tc.want)
		}
	}
}

func TestVpcRegions(t *testing.T) {
	cat := &Catalog{Zones: []Zone{
		{ID: "SEL-A", City: "Seoul", SubnetsSupported: true},
		{ID: "SAO-A", City: "São Paulo"},
		{ID: "SEL-B", City: "Seoul", SubnetsSupported: true},
		{ID: "FRA-A", City: "Frankfurt", SubnetsSupported: true},
	}}
	got := VpcRegions(cat)
	if len(got) != 2 || got[0].ID != "FRA1" || got[1].ID != "SEL1" || got[1].Name != "Seoul" ||
		len(got[1].ZoneIDs) != 2 || got[1].ZoneIDs[0] != "SEL-A" || got[1].ZoneIDs[1] != "SEL-B" {
		t.Fatalf("got %+v, want FRA1 and SEL1 with SEL-A and SEL-B (SAO has no subnets)", got)
	}
	if _, ok := FindVpcRegion(cat, "SAO1"); ok {
		t.Error("SAO1 found, want no region without subnet zones")
	}
}

func TestCheckSubnetInVpc(t *testing.T) {
	regions := []VpcRegion{{ID: "SEL1", ZoneIDs: []string{"SEL-A"}}}
	vpc := &Vpc{ID: "v", RegionID: "SEL1", CIDR: "10.0.0.0/16", Status: VpcAvailable}
	others := []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")}
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name  string
		vpc   Vpc
		zone  string
		count int
		block netip.Prefix
		want  Code
	}{
		{"fits", *vpc, "SEL-A", 0, p("10.0.2.0/24"), ""},
		{"touching is not overlapping", *vpc, "SEL-A", 9, p("10.0.0.0/24"), ""},
		{"deleting", Vpc{ID: "v", RegionID: "SEL1", CIDR: "10.0.0.0/16", Status: VpcDeleting}, "SEL-A", 0, p("10.0.2.0/24"), "OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT"},
		{"region gone", Vpc{ID: "v", RegionID: "OLD1", CIDR: "10.0.0.0/16", Status: VpcAvailable}, "SEL-A", 0, p("10.0.2.0/24"), "OPERATION_DENIED_NO_AVAILABLE_VPC_REGION"},
		{"other zone", *vpc, "HKG-A", 0, p("10.0.2.0/24"), "OPERATION_DENIED_ZONE_NOT_BELONG_VPC"},
		{"full zone", *vpc, "SEL-A", MaxVpcZoneSubnets, p("10.0.2.0/24"), "OPERATION_DENIED_VPC_ZONE_SUBNET_EXCEED_LIMIT"},
		{"outside", *vpc, "SEL-A", 0, p("172.16.0.0/24"), "INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC"},
		{"the whole range is wider", Vpc{ID: "v", RegionID: "SEL1", CIDR: "10.0.0.0/24", Status: VpcAvailable}, "SEL-A", 0, p("10.0.0.0/16"), "INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC"},
		{"overlap inside", *vpc, "SEL-A", 0, p("10.0.1.64/26"), "INVALID_PARAMETER_VPC_SUBNET_OVER_LAP"},
		{"overlap around", *vpc, "SEL-A", 0, p("10.0.0.0/23"), "INVALID_PARAMETER_VPC_SUBNET_OVER_LAP"},
	} {
		err := CheckSubnetInVpc(&tc.vpc, regions, tc.zone, tc.count, tc.block, others)
		var got Code
		if err != nil {
			got = err.Code
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
