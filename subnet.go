package metalplane

import (
	"net/netip"
	"time"
)

// Subnet is a private network of a team in one zone (ACTIONS.md §3.13).
// Instances join it with one private address each.
//
// [decision] Subnets need no hardware configuration here, so CreateSubnet
// stores them directly as AVAILABLE (never CREATING or CREATE_FAILED), and
// DeleteSubnet removes the row at once: DescribeSubnets never shows
// DELETING, the subnet is simply absent afterwards. Terraform's waiters
// accept both (AVAILABLE is their target; "gone" ends the delete wait).
//
// [decision] Overlapping CIDR blocks are allowed between subnets that are
// not in one VPC, even for one team in one zone: each such subnet is a
// separate private network, so its addresses are only ever compared with
// its own members'. Subnets of one VPC may not overlap
// (INVALID_PARAMETER_VPC_SUBNET_OVER_LAP, see CheckSubnetInVpc).
type Subnet struct {
	ID     string
	TeamID string
	ZoneID string
	Name   string
	// CIDR is the canonical form of the block (ValidateSubnetCIDR's prefix).
	CIDR            string
	Status          string
	ResourceGroupID string
	// VpcID is the VPC the subnet is in, "" for none.
	VpcID     string
	CreatedAt time.Time
}

// Subnet states (SubnetStatus, ACTIONS.md §5.1). Only AVAILABLE is stored
// today; the others are accepted as DescribeSubnets filters.
const (
	SubnetCreating     = "CREATING"
	SubnetCreateFailed = "CREATE_FAILED"
	SubnetAvailable    = "AVAILABLE"
	SubnetDeleting     = "DELETING"
)

// SubnetStatuses lists every SubnetStatus value.
var SubnetStatuses = []string{SubnetCreating, SubnetCreateFailed, SubnetAvailable, SubnetDeleting}

// SubnetMember is an instance holding an address in a subnet
// (SubnetInstance in DescribeSubnets).
type SubnetMember struct {
	InstanceID string
	PrivateIP  string
}

// subnetRanges are the private ranges subnets are carved from (docs:
// "10.0.0.0/16, 172.16.0.0/16, 192.168.0.0/16 or a subset").
var subnetRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/16"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// Prefix lengths a subnet may have. [decision] /29 is the smallest block
// that still leaves usable addresses after the network, gateway and
// broadcast addresses (five); /16 is the size of the ranges themselves.
const (
	minSubnetBits = 16
	maxSubnetBits = 29
)

// ValidateSubnetCIDR checks the cidrBlock of CreateSubnet and returns the
// parsed prefix. Text netip cannot parse as a prefix (including leading
// zeros and IPv6 zones) answers INVALID_PARAMETER_SUBNET_CIDR_BLOCK; a
// block whose address lies outside the three ranges (IPv6 included)
// answers INVALID_PARAMETER_SUBNET_LAN_IP; [decision] a prefix length
// outside /16–/29 or an address with host bits set (10.0.0.1/24) answers
// INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK.
//
// [decision] The range test looks at the address only, so 10.0.0.0/8 (its
// address is inside 10.0.0.0/16, its mask too wide) is a netmask error and
// 10.1.0.0/16 a range error.
func ValidateSubnetCIDR(cidr string) (netip.Prefix, *Error) {
	if len(cidr) > MaxIDLength {
		// Too long to be a block, and too long to repeat in the message.
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_SUBNET_CIDR_BLOCK",
			"The cidrBlock must be a CIDR block such as 10.0.0.0/24, at most %d characters.", MaxIDLength)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_SUBNET_CIDR_BLOCK", "The cidrBlock `%s` is not a CIDR block such as 10.0.0.0/24.", cidr)
	}
	inRange := false
	for _, r := range subnetRanges {
		inRange = inRange || r.Contains(p.Addr())
	}
	if !inRange {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_SUBNET_LAN_IP",
			"The cidrBlock `%s` must lie within 10.0.0.0/16, 172.16.0.0/16 or 192.168.0.0/16.", cidr)
	}
	if p.Bits() < minSubnetBits || p.Bits() > maxSubnetBits {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK",
			"The prefix length of `%s` must be between /%d and /%d.", cidr, minSubnetBits, maxSubnetBits)
	}
	if p.Masked() != p {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK",
			"The cidrBlock `%s` has host bits set; did you mean %s?", cidr, p.Masked())
	}
	return p, nil
}

// MaxSubnetNameLength is the longest subnetName (docs).
const MaxSubnetNameLength = 64

// ValidateSubnetName checks the subnetName of CreateSubnet: 1 to 64
// letters, digits, '-' and '.'. Anything else answers INVALID_PARAMETER.
func ValidateSubnetName(name string) *Error {
	ok := len(name) >= 1 && len(name) <= MaxSubnetNameLength
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
	if !ok {
		return Errorf("INVALID_PARAMETER", "subnetName must be 1 to %d letters, digits, '-' or '.'.", MaxSubnetNameLength)
	}
	return nil
}

// Usable addresses. [decision] Of a subnet's block, the network address,
// the first host address (.1 of 10.0.0.0/24, kept for the gateway, as on
// most clouds) and the broadcast address are never given to instances; all
// the others are, in ascending order. A /24 has 253 usable addresses, a
// /29 five, a /16 65533. availableIpCount is this count minus the members.

// reservedSubnetIPs counts the network, gateway and broadcast addresses.
const reservedSubnetIPs = 3

// SubnetUsableIPCount returns how many addresses of the IPv4 block p can be
// given to instances; 0 for a block too small to have any.
func SubnetUsableIPCount(p netip.Prefix) int {
	if !p.Addr().Is4() || p.Bits() > 30 {
		return 0
	}
	return 1<<(32-p.Bits()) - reservedSubnetIPs
}

// SubnetGateway returns the gateway address of the IPv4 block p: its first
// host address.
func SubnetGateway(p netip.Prefix) netip.Addr {
	return p.Masked().Addr().Next()
}

// SubnetUsableIP returns the i-th usable address of p, counting from 0, and
// false when i is outside 0..SubnetUsableIPCount(p)-1.
func SubnetUsableIP(p netip.Prefix, i int) (netip.Addr, bool) {
	if i < 0 || i >= SubnetUsableIPCount(p) {
		return netip.Addr{}, false
	}
	base := p.Masked().Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n += 2 + uint32(i) // skip the network and gateway addresses
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// SubnetIPUsable reports whether a may be given to an instance in p: inside
// the block and neither its network, gateway nor broadcast address.
func SubnetIPUsable(p netip.Prefix, a netip.Addr) bool {
	if SubnetUsableIPCount(p) == 0 || !p.Contains(a) {
		return false
	}
	first, _ := SubnetUsableIP(p, 0)
	last, _ := SubnetUsableIP(p, SubnetUsableIPCount(p)-1)
	return a.Compare(first) >= 0 && a.Compare(last) <= 0
}
