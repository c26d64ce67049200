package metalplane

import (
	"math/big"
	"net/netip"
	"time"
)

// CIDR blocks: ranges of public addresses a team holds as a whole and
// binds, address by address, to its instances (ACTIONS.md has no section;
// the public CLI definitions and SDK models are the reference). Two kinds:
//
//   - carved from a zone's pools by CreateIpv4Block and CreateIpv6Block:
//     every address of the block is held in public_ips (held_by = the
//     block's ID), so no instance, EIP or VIP can take it, and goes back
//     to the pool when the block is released;
//   - BYOIP (CreateByoip): the customer's own prefix, announced in a zone;
//     no pool address is involved, so it must not overlap any pool nor any
//     other live block.
//
// [decision] Blocks need no hardware of their own, so they are stored
// AVAILABLE at once (never CREATING or CREATE_FAILED), as subnets are;
// Terraform's waiter accepts AVAILABLE as its target.

// CidrBlock is a block of a team.
type CidrBlock struct {
	ID     string
	TeamID string
	ZoneID string
	// Family is 4 or 6.
	Family int
	// CidrType is BGP or Local (BYOIP blocks are BGP: the customer
	// announces them).
	CidrType string
	// Source is CidrSourcePool or CidrSourceBYOIP.
	Source string
	// ByoipID, ASN and PublicVirtualInterfaceID are set for BYOIP.
	ByoipID                  string
	ASN                      int64
	PublicVirtualInterfaceID string
	CIDR                     string
	Name                     string
	Status                   string
	ChargeType               string
	// Period is the PREPAID period in months (0 for POSTPAID).
	Period      int
	OrderNumber string
	// PeriodPrice is the price of one PREPAID period, HourlyPrice the
	// price of one POSTPAID hour; both for the whole block.
	PeriodPrice     Money
	HourlyPrice     Money
	ResourceGroupID string
	Tags            []Tag
	CreatedAt       time.Time
	// ExpiredAt is the end of the PREPAID period (zero for POSTPAID);
	// RecycledAt when the block entered the recycle bin.
	ExpiredAt  time.Time
	RecycledAt time.Time
}

// Block sources.
const (
	CidrSourcePool  = "pool"
	CidrSourceBYOIP = "byoip"
)

// Block states (the status enum of DescribeCidrBlocks). Only AVAILABLE
// and RECYCLE are stored.
const (
	CidrBlockCreating     = "CREATING"
	CidrBlockCreateFailed = "CREATE_FAILED"
	CidrBlockRecycling    = "RECYCLING"
	CidrBlockRecycle      = "RECYCLE"
	CidrBlockAvailable    = "AVAILABLE"
)

// Block IP states (DescribeCidrBlockIps). A binding is BINDING until the
// driver has configured it, UNBINDING until the driver has removed it.
const (
	CidrIPAvailable = "AVAILABLE"
	CidrIPBinding   = "BINDING"
	CidrIPBound     = "BOUND"
	CidrIPUnbinding = "UNBINDING"
)

// Wire values of cidrBlockType and cidrType.
const (
	CidrBlockTypeIPv4 = "IPV4"
	CidrBlockTypeIPv6 = "IPV6"
	CidrTypeBGP       = "BGP"
	CidrTypeLocal     = "Local"
)

// CidrBlockType is the cidrBlockType of a family.
func CidrBlockType(family int) string {
	if family == 6 {
		return CidrBlockTypeIPv6
	}
	return CidrBlockTypeIPv4
}

// NewCidrBlockID returns a CIDR block ID: "cidr-" and 12 characters.
func NewCidrBlockID() string {
	return "cidr-" + randomString("abcdefghijklmnopqrstuvwxyz0123456789", 12)
}

// NewByoipID returns a BYOIP ID: "byoip-" and 12 characters.
func NewByoipID() string { return "byoip-" + randomString("abcdefghijklmnopqrstuvwxyz0123456789", 12) }

// Sizes. [decision] IPv4 blocks are sold from /24 to /30: a /31 or /32
// leaves no address once the network, gateway and broadcast addresses are
// set aside, and a /23 or wider would empty a demo zone's /22 pool at once.
// An IPv6 block is a /119 (512 addresses) of the zone's pool, of which 500
// are usable (the docs: "An IPv6 CIDR block contains 500 available IPs");
// BYOIP prefixes are IPv4 /22 to /24 (the docs: "only IPv4, with a mask
// between 22 and 24").
const (
	MinIPv4BlockBits = 24
	MaxIPv4BlockBits = 30
	IPv6BlockBits    = 119
	IPv6BlockUsable  = 500
	MinByoipBits     = 22
	MaxByoipBits     = 24
	// MaxBlocksPerOrder bounds amount. [decision] 20.
	MaxBlocksPerOrder = 20
	// MaxBlockNameLength is the longest block name (docs: 64 characters).
	MaxBlockNameLength = 64
	// MaxBlockIPsPerInstance bounds the block addresses bound to one
	// instance (OPERATION_DENIED_CIDRBLOCK_IP_COUNT_REACH_LIMIT).
	// [decision] 512: an IPv4 /24 and an IPv6 block.
	MaxBlockIPsPerInstance = 512
)

// BlockSize is the number of addresses of the prefix (at most 2^32: the
// IPv6 prefixes metalplane holds are /119 or narrower).
func BlockSize(p netip.Prefix) int64 {
	host := p.Addr().BitLen() - p.Bits()
	if host > 32 {
		return 1 << 32
	}
	return int64(1) << host
}

// BlockGateway is the gateway of a block: its first host address.
func BlockGateway(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// BlockUsableCount is how many addresses of the block can be bound to
// instances: all but the network, gateway and (IPv4) broadcast
// addresses; 500 for an IPv6 block.
func BlockUsableCount(p netip.Prefix) int {
	if p.Addr().Is6() {
		return int(min(int64(IPv6BlockUsable), BlockSize(p)-2))
	}
	return int(max(0, BlockSize(p)-3))
}

// BlockUsableIP returns the i-th usable address of the block (from 0).
func BlockUsableIP(p netip.Prefix, i int) (netip.Addr, bool) {
	if i < 0 || i >= BlockUsableCount(p) {
		return netip.Addr{}, false
	}
	return addrAdd(p.Masked().Addr(), int64(i)+2), true
}

// BlockIPUsable reports whether a is one of the block's usable addresses.
func BlockIPUsable(p netip.Prefix, a netip.Addr) bool {
	n := BlockUsableCount(p)
	if n == 0 || !p.Contains(a) {
		return false
	}
	first, _ := BlockUsableIP(p, 0)
	last, _ := BlockUsableIP(p, n-1)
	return a.Compare(first) >= 0 && a.Compare(last) <= 0
}

// addrAdd returns a + n.
func addrAdd(a netip.Addr, n int64) netip.Addr {
	b := a.As16()
	v := new(big.Int).SetBytes(b[:])
	v.Add(v, big.NewInt(n))
	out := v.FillBytes(make([]byte, 16))
	r := netip.AddrFrom16([16]byte(out))
	if a.Is4() {
		return r.Unmap()
	}
	return r
}

// AddrAdd returns a + n (exported for the store's block carving).
func AddrAdd(a netip.Addr, n int64) netip.Addr { return addrAdd(a, n) }

// ValidateBlockName checks a block name: 1 to 64 characters.
func ValidateBlockName(field, name string) *Error {
	if name == "" || longerThan(name, MaxBlockNameLength) {
		return Errorf("INVALID_PARAMETER", "%s must be 1 to %d characters.", field, MaxBlockNameLength)
	}
	return nil
}

// ValidateIPv4Netmask checks the netmask of CreateIpv4Block and
// InquiryPriceCreateIpv4Block: OPERATION_DENIED_UNAVAILABLE_NETMASK
// outside /24–/30.
func ValidateIPv4Netmask(netmask int) *Error {
	if netmask < MinIPv4BlockBits || netmask > MaxIPv4BlockBits {
		return Errorf("OPERATION_DENIED_UNAVAILABLE_NETMASK", "netmask %d is not sold; choose %d to %d.", netmask, MinIPv4BlockBits, MaxIPv4BlockBits)
	}
	return nil
}

// BlockPrices prices one block of size addresses in the zone: its PREPAID
// month and its POSTPAID hour. IPv6 blocks are free ([decision]:
// CreateIpv6Block takes no charge type and RenewCidrBlock refuses them).
func BlockPrices(z *Zone, family int, size int64) (monthly, hourly Money, err *Error) {
	if family == 6 {
		return 0, 0, nil
	}
	m, ok1 := z.BlockIPv4MonthlyPerIP.Times(size)
	h, ok2 := z.BlockIPv4HourlyPerIP.Times(size)
	if !ok1 || !ok2 {
		return 0, 0, Errorf("INVALID_PARAMETER", "The price of this block is out of range.")
	}
	return m, h, nil
}

// ValidateByoip checks CreateByoip's prefix and ASN and returns the
// prefix. [decision] The prefix must be written canonically (no host bits:
// Terraform compares what DescribeCidrBlocks returns with what was
// written), IPv4 /22 to /24, and a public unicast range; the ASN 1 to
// 4294967294 except 23456 (AS_TRANS). Every failure is INVALID_PARAMETER.
// Overlaps with pools and other blocks are the store's check.
func ValidateByoip(ipType, cidr string, asn int64) (netip.Prefix, *Error) {
	if ipType != CidrBlockTypeIPv4 {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER", "Only IPV4 prefixes can be brought (ipType %s).", ipType)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER", "cidr must be an IPv4 CIDR block such as 203.0.113.0/24.")
	}
	if p.Bits() < MinByoipBits || p.Bits() > MaxByoipBits {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER", "The prefix length of %s must be between /%d and /%d.", cidr, MinByoipBits, MaxByoipBits)
	}
	if p.Masked() != p {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER", "The cidr %s has host bits set; did you mean %s?", cidr, p.Masked())
	}
	a := p.Addr()
	if a.IsPrivate() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		netip.MustParsePrefix("0.0.0.0/8").Contains(a) || netip.MustParsePrefix("100.64.0.0/10").Contains(a) || netip.MustParsePrefix("240.0.0.0/4").Contains(a) {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER", "The cidr %s is not a public unicast range.", cidr)
	}
	if asn < 1 || asn > 4294967294 || asn == 23456 {
		return netip.Prefix{}, Errorf("INVALID_PARAMETER", "asn must be a public or private AS number from 1 to 4294967294 (not 23456).")
	}
	return p, nil
}

// CheckTags checks the tags of a create action (the rules of
// CreateInstances) and returns them as stored.
func CheckTags(in *TagAssociation) ([]Tag, *Error) { return checkTags(in) }

// SellStatus is the sellStatus of a stock of n: SOLD_OUT, SELL_SHORTAGE
// (10 or fewer) or SELL.
func SellStatus(n int) string {
	switch {
	case n <= 0:
		return "SOLD_OUT"
	case n <= 10:
		return "SELL_SHORTAGE"
	}
	return "SELL"
}
