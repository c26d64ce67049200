package metalplane

import (
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Vpc is a private network of a team that spans the zones of one VPC region:
// subnets of those zones join it (CreateSubnet with vpcId, or
// AssociateVpcSubnet), and their blocks must lie inside its block and not
// overlap one another.
//
// [decision] VPCs cost nothing. The public models of both SDK versions give
// CreateVpc no charge type, period or price and no InquiryPrice action, and
// VpcInfo carries no billing field: the real service does not bill them, so
// no ledger row is ever written for one.
//
// [decision] Like subnets, a VPC needs no hardware work here: CreateVpc
// stores it AVAILABLE at once and DeleteVpc removes it at once.
type Vpc struct {
	ID       string
	TeamID   string
	RegionID string
	Name     string
	// CIDR is the canonical block (ValidateVpcCIDR's prefix).
	CIDR            string
	Status          string
	ResourceGroupID string
	Tags            []Tag
	CreatedAt       time.Time
}

// VPC states (VpcStatus of the CLI). Only AVAILABLE is stored; the others
// are accepted as DescribeVpcs filters.
const (
	VpcCreating     = "CREATING"
	VpcCreateFailed = "CREATE_FAILED"
	VpcAvailable    = "AVAILABLE"
	VpcDeleting     = "DELETING"
)

// VpcStatuses lists every VpcStatus value.
var VpcStatuses = []string{VpcCreating, VpcCreateFailed, VpcAvailable, VpcDeleting}

// VpcSubnetAssociated is the vpcSubnetStatus of a subnet in a VPC.
// [decision] The value is undocumented; a subnet joins its VPC in the
// request's transaction, so it is never seen joining, and "ASSOCIATED"
// mirrors the ASSOCIATING that Terraform knows as the in-progress state.
const VpcSubnetAssociated = "ASSOCIATED"

// Quotas of VPCs. [decision] Neither number is published ("limited... contact
// Zenlayer Support"): a team may hold 10 VPCs per region, and a VPC 10
// subnets per zone, fewer than the team's subnet quota per zone (20) so
// that the VPC's own limit is the one a VPC user meets.
const (
	MaxVpcsPerRegion  = 10
	MaxVpcZoneSubnets = 10
)

// NewVpcID returns a VPC ID: 18 digits, as the CLI's examples show them.
func NewVpcID() string { return numericID(18) }

// VpcRegion is an availability region for VPCs: the zones whose subnets
// may share one VPC.
type VpcRegion struct {
	ID      string
	Name    string
	ZoneIDs []string
}

// VpcRegionOfZone returns the VPC region of the zone: its city code (the
// zone ID before the dash) followed by 1, as the provider's example pairs
// zone SEL-A with region SEL1. [decision] The catalog has no region field;
// zones of one city share a region, which is what a private network that
// spans zones needs (one metro area), and a catalog can add SEL-B beside
// SEL-A without naming a region.
func VpcRegionOfZone(zoneID string) string {
	city, _, _ := strings.Cut(zoneID, "-")
	return city + "1"
}

// VpcRegions returns the VPC regions of the catalog, by ID: one per city
// that has a zone offering subnets (a VPC without subnets is of no use, so
// zones without subnets belong to no region).
func VpcRegions(cat *Catalog) []VpcRegion {
	index := map[string]int{}
	var out []VpcRegion
	for _, z := range cat.Zones {
		if !z.SubnetsSupported {
			continue
		}
		id := VpcRegionOfZone(z.ID)
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, VpcRegion{ID: id, Name: z.City})
		}
		out[i].ZoneIDs = append(out[i].ZoneIDs, z.ID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// FindVpcRegion returns the VPC region with the ID.
func FindVpcRegion(cat *Catalog, id string) (VpcRegion, bool) {
	for _, r := range VpcRegions(cat) {
		if r.ID == id {
			return r, true
		}
	}
	return VpcRegion{}, false
}

// vpcRanges are the private ranges of RFC 1918, the blocks a VPC may take.
// [decision] Wider than the subnet ranges: the CLI's example creates a VPC
// of 10.0.0.0/8. Its subnets still follow ValidateSubnetCIDR, so only the
// part of a VPC inside 10.0.0.0/16, 172.16.0.0/16 or 192.168.0.0/16 can
// hold subnets.
var vpcRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// ValidateVpcCIDR checks the cidrBlock of CreateVpc and returns the parsed
// prefix: text that is not a prefix answers INVALID_PARAMETER_VPC_CIDR_BLOCK,
// an address outside the RFC 1918 ranges INVALID_PARAMETER_VPC_LAN_IP, and a
// prefix wider than its range, narrower than a subnet can be (/29) or with
// host bits set INVALID_PARAMETER_VPC_LAN_IP_NETMASK (the order of
// ValidateSubnetCIDR).
func ValidateVpcCIDR(cidr string) (netip.Prefix, *Error) {
	if len(cidr) > MaxIDLength {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_VPC_CIDR_BLOCK",
			"The cidrBlock must be a CIDR block such as 10.0.0.0/16, at most %d characters.", MaxIDLength)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_VPC_CIDR_BLOCK", "The cidrBlock `%s` is not a CIDR block such as 10.0.0.0/16.", cidr)
	}
	var in netip.Prefix
	for _, r := range vpcRanges {
		if r.Contains(p.Addr()) {
			in = r
		}
	}
	if !in.IsValid() {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_VPC_LAN_IP",
			"The cidrBlock `%s` must lie within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.", cidr)
	}
	if p.Bits() < in.Bits() || p.Bits() > maxSubnetBits {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_VPC_LAN_IP_NETMASK",
			"The prefix length of `%s` must be between /%d and /%d.", cidr, in.Bits(), maxSubnetBits)
	}
	if p.Masked() != p {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_VPC_LAN_IP_NETMASK",
			"The cidrBlock `%s` has host bits set; did you mean %s?", cidr, p.Masked())
	}
	return p, nil
}

// ValidateVpcName checks vpcName: the rule of subnet names (1 to 64
// letters, digits, '-' and '.'), else INVALID_PARAMETER.
func ValidateVpcName(name string) *Error {
	if ValidateSubnetName(name) != nil {
		return Errorf("INVALID_PARAMETER", "vpcName must be 1 to %d letters, digits, '-' or '.'.", MaxSubnetNameLength)
	}
	return nil
}

// CheckVpcTags checks the tags of CreateVpc with the rules of
// CreateInstances' tags (count, lengths, unique keys).
func CheckVpcTags(in *TagAssociation) ([]Tag, *Error) {
	return checkTags(in)
}

// CheckSubnetInVpc checks that a subnet of block p in zone zoneID may be in
// vpc, whose other subnets have the blocks others, in the order of the
// SDK's list for CreateSubnet and AssociateVpcSubnet: the VPC is AVAILABLE
// (OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT), its region still exists in
// regions (OPERATION_DENIED_NO_AVAILABLE_VPC_REGION), the zone is in it
// (OPERATION_DENIED_ZONE_NOT_BELONG_VPC), the VPC has fewer than
// MaxVpcZoneSubnets subnets in the zone (zoneCount;
// OPERATION_DENIED_VPC_ZONE_SUBNET_EXCEED_LIMIT), the block is inside the
// VPC's (INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC) and overlaps none of
// the others (INVALID_PARAMETER_VPC_SUBNET_OVER_LAP).
func CheckSubnetInVpc(vpc *Vpc, regions []VpcRegion, zoneID string, zoneCount int, p netip.Prefix, others []netip.Prefix) *Error {
	if vpc.Status != VpcAvailable {
		return Errorf("OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT", "The VPC %s is %s; subnets join AVAILABLE VPCs only.", vpc.ID, vpc.Status)
	}
	var region *VpcRegion
	for i := range regions {
		if regions[i].ID == vpc.RegionID {
			region = &regions[i]
		}
	}
	if region == nil {
		return Errorf("OPERATION_DENIED_NO_AVAILABLE_VPC_REGION", "The region %s of VPC %s no longer offers subnets.", vpc.RegionID, vpc.ID)
	}
	inRegion := false
	for _, z := range region.ZoneIDs {
		inRegion = inRegion || z == zoneID
	}
	if !inRegion {
		return Errorf("OPERATION_DENIED_ZONE_NOT_BELONG_VPC", "The zone %s is not in region %s of VPC %s.", zoneID, vpc.RegionID, vpc.ID)
	}
	if zoneCount >= MaxVpcZoneSubnets {
		return Errorf("OPERATION_DENIED_VPC_ZONE_SUBNET_EXCEED_LIMIT", "The VPC %s holds at most %d subnets in %s.", vpc.ID, MaxVpcZoneSubnets, zoneID)
	}
	block, err := netip.ParsePrefix(vpc.CIDR)
	if err != nil || !block.Contains(p.Addr()) || p.Bits() < block.Bits() {
		return Errorf("INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC", "The cidrBlock %s is not inside %s, the block of VPC %s.", p, vpc.CIDR, vpc.ID)
	}
	for _, o := range others {
		if o.Overlaps(p) {
			return Errorf("INVALID_PARAMETER_VPC_SUBNET_OVER_LAP", "The cidrBlock %s overlaps %s, a subnet of VPC %s.", p, o, vpc.ID)
		}
	}
	return nil
}
