package metalplane

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed demo-catalog.yaml
var demoCatalog string

// DemoCatalog returns the embedded demo catalog (demo-catalog.yaml), used when
// the operator gives none. It returns a fresh copy on every call so a caller
// cannot alter what the next caller loads.
func DemoCatalog() []byte {
	return []byte(demoCatalog)
}

// catalogFile is the YAML layout of a catalog file. It is separate from
// Catalog so the indexes never appear as YAML keys.
type catalogFile struct {
	Zones         []Zone         `yaml:"zones"`
	InstanceTypes []InstanceType `yaml:"instanceTypes"`
	Images        []Image        `yaml:"images"`
	Offers        []Offer        `yaml:"offers"`
	Hosts         []CatalogHost  `yaml:"hosts"`
	// LoadBalancers: see loadbalancer_catalog.go.
	LoadBalancers []LoadBalancerOffer `yaml:"loadBalancers"`
}

// LoadCatalog parses a YAML catalog, validates it and builds its lookup
// indexes. Unknown keys are errors, so a misspelt key fails at start instead
// of silently selling a default. Every problem found is reported, one per
// line, each naming the zone, type, image or offer at fault.
func LoadCatalog(data []byte) (*Catalog, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("load catalog: the file is empty")
		}
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	// A second document would be ignored by Decode; refuse it rather than
	// leave the operator wondering why half the file has no effect.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("load catalog: the file must hold a single YAML document")
	}

	c := &Catalog{
		Zones:         f.Zones,
		InstanceTypes: f.InstanceTypes,
		Images:        f.Images,
		Offers:        f.Offers,
		Hosts:         f.Hosts,
		LoadBalancers: f.LoadBalancers,
	}
	if errs := c.validateAndIndex(); len(errs) == 1 {
		return nil, fmt.Errorf("load catalog: %w", errs[0])
	} else if len(errs) > 1 {
		return nil, fmt.Errorf("load catalog: %d problems:\n%w", len(errs), errors.Join(errs...))
	}
	return c, nil
}

// TotalHosts returns the number of physical hosts: those of the offers'
// host counts and those listed one by one.
func (c *Catalog) TotalHosts() int {
	n := len(c.Hosts)
	for _, o := range c.Offers {
		n += o.Hosts
	}
	return n
}

// Catalog vocabularies. They are the spec's enumerations (ACTIONS.md §5.1,
// §5.3); a value outside them would be echoed to clients that switch on it.
var (
	validChargeTypes = []string{ChargeTypePrepaid, ChargeTypePostpaid}
	validRaidLevels  = []int{0, 1, 5, 10}
	validDiskTypes   = []string{"SSD", "HDD", "NVMe"}
	validOSCatalogs  = []string{"centos", "windows", "ubuntu", "debian", "esxi"}
	validOSTypes     = []string{"linux", "windows"}
	validImageTypes  = []string{"PUBLIC_IMAGE", "CUSTOM_IMAGE"}
)

// zoneIDPattern is the zone ID shape of the public API (SEL-A, HKG-A, MOW-B):
// a city code, a dash and a letter suffix. Clients parse nothing out of it,
// but a stray space or lower-case ID would never match a client's request.
var zoneIDPattern = regexp.MustCompile(`^[A-Z0-9]+-[A-Z]+$`)

// catalogChecker accumulates validation errors so an operator sees every
// problem of a catalog at once.
type catalogChecker struct {
	errs []error
}

// addf records one problem; the message starts with the item at fault.
func (v *catalogChecker) addf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

// validateAndIndex checks the catalog, fills the lookup maps and returns the
// problems found, if any. Sections are checked in dependency order (zones and
// types before the images and offers that reference them) so references
// resolve against the indexes.
func (c *Catalog) validateAndIndex() []error {
	v := &catalogChecker{}
	c.zoneByID = make(map[string]*Zone, len(c.Zones))
	c.typeByID = make(map[string]*InstanceType, len(c.InstanceTypes))
	c.imageByID = make(map[string]*Image, len(c.Images))
	c.offerByKey = make(map[offerKey]*Offer, len(c.Offers))

	c.checkZones(v)
	for i := range c.InstanceTypes {
		t := &c.InstanceTypes[i]
		if t.ID == "" {
			v.addf("instance type #%d: id is empty", i+1)
			continue
		}
		if _, dup := c.typeByID[t.ID]; dup {
			v.addf("instance type %q: duplicate id", t.ID)
			continue
		}
		c.typeByID[t.ID] = t
		checkCatalogID(v, "instance type", t.ID)
		checkInstanceType(v, t)
	}
	for i := range c.Images {
		im := &c.Images[i]
		if im.ID == "" {
			v.addf("image #%d: id is empty", i+1)
			continue
		}
		if _, dup := c.imageByID[im.ID]; dup {
			v.addf("image %q: duplicate id", im.ID)
			continue
		}
		c.imageByID[im.ID] = im
		checkCatalogID(v, "image", im.ID)
		c.checkImage(v, im)
	}
	for i := range c.Offers {
		c.checkOffer(v, i)
	}
	c.checkHosts(v)
	c.checkLoadBalancerOffers(v)
	return v.errs
}

// checkZones validates zones and their address pools. Pools are compared
// across zones because an address sold twice would be routed to two servers.
func (c *Catalog) checkZones(v *catalogChecker) {
	type pool struct {
		prefix netip.Prefix
		zone   string
	}
	var pools []pool
	addPool := func(z *Zone, s string, want4 bool) {
		p, err := netip.ParsePrefix(s)
		family := "IPv6"
		if want4 {
			family = "IPv4"
		}
		switch {
		case err != nil:
			v.addf("zone %q: %s pool %q is not a CIDR: %v", z.ID, family, s, err)
			return
		case p.Addr().Is4() != want4 || p.Addr().Is4In6():
			v.addf("zone %q: %s pool %q is not an %s CIDR", z.ID, family, s, family)
			return
		case p != p.Masked():
			v.addf("zone %q: %s pool %q has host bits set (network is %s)", z.ID, family, s, p.Masked())
			return
		case want4 && p.Bits() > 30:
			// The network and broadcast addresses are never allocated, so a
			// /31 or /32 would hold no address at all.
			v.addf("zone %q: IPv4 pool %q holds no allocatable address, want a /30 or larger", z.ID, s)
			return
		}
		for _, q := range pools {
			if p.Overlaps(q.prefix) {
				v.addf("zone %q: pool %q overlaps pool %q of zone %q", z.ID, s, q.prefix, q.zone)
				return
			}
		}
		pools = append(pools, pool{p, z.ID})
	}

	for i := range c.Zones {
		z := &c.Zones[i]
		if z.ID == "" {
			v.addf("zone #%d: id is empty", i+1)
			continue
		}
		if _, dup := c.zoneByID[z.ID]; dup {
			v.addf("zone %q: duplicate id", z.ID)
			continue
		}
		c.zoneByID[z.ID] = z
		checkCatalogID(v, "zone", z.ID)
		if !zoneIDPattern.MatchString(z.ID) {
			v.addf("zone %q: id must look like SEL-A (upper-case letters or digits, a dash, upper-case letters)", z.ID)
		}
		checkEnumList(v, fmt.Sprintf("zone %q: chargeTypes", z.ID), z.ChargeTypes, validChargeTypes)
		for _, s := range z.IPv4Pools {
			addPool(z, s, true)
		}
		for _, s := range z.IPv6Pools {
			addPool(z, s, false)
		}
		for _, id := range z.BandwidthClusters {
			checkCatalogID(v, fmt.Sprintf("zone %q: bandwidth cluster", z.ID), id)
		}
		checkAddressPrices(v, z)
	}
}

// checkAddressPrices refuses EIP and DDoS-protected IP prices so large that
// the largest Allocate (MaxEIPAmount addresses for MaxPrepaidPeriod
// months) would not fit in a Money, and prices in a zone without an IPv4
// pool to take the addresses from.
func checkAddressPrices(v *catalogChecker, z *Zone) {
	for _, k := range []AddressKind{KindEIP, KindDdosIP} {
		p, ok := z.AddressPrices(k)
		if !ok {
			continue
		}
		if len(z.IPv4Pools) == 0 {
			v.addf("zone %q: %ss are priced but the zone has no IPv4 pool", z.ID, k.Noun())
		}
		period, ok := p.Monthly.Times(MaxPrepaidPeriod)
		if ok {
			_, ok = period.Times(MaxEIPAmount)
		}
		if !ok {
			v.addf("zone %q: %s prices too large: %d addresses for %d months would cost more than an amount can hold", z.ID, k.Noun(), MaxEIPAmount, MaxPrepaidPeriod)
		}
	}
}

// checkInstanceType validates one hardware model.
func checkInstanceType(v *catalogChecker, t *InstanceType) {
	name := fmt.Sprintf("instance type %q", t.ID)
	if t.CPUCount <= 0 {
		v.addf("%s: cpuCount must be positive, got %d", name, t.CPUCount)
	}
	if t.CPUCores < 0 || t.CPUThreads < 0 {
		v.addf("%s: cpuCores and cpuThreads must not be negative", name)
	}
	if t.MemoryGB <= 0 {
		v.addf("%s: memoryGb must be positive, got %d", name, t.MemoryGB)
	}
	if t.MaxBandwidthMbps <= 0 {
		// CreateInstances needs at least 1 Mbps within the maximum.
		v.addf("%s: maxBandwidthMbps must be positive, got %d", name, t.MaxBandwidthMbps)
	}
	if t.VPUCount < 0 {
		v.addf("%s: vpuCount must not be negative, got %d", name, t.VPUCount)
	}
	seen := map[int]bool{}
	for _, r := range t.SupportRaids {
		switch {
		case !slices.Contains(validRaidLevels, r):
			v.addf("%s: RAID level %d is not one of 0, 1, 5, 10", name, r)
		case seen[r]:
			v.addf("%s: RAID level %d listed twice", name, r)
		}
		seen[r] = true
	}
	if len(t.Disks) == 0 {
		v.addf("%s: no disks", name)
	}
	raw := 0
	for j, d := range t.Disks {
		if d.Count < 1 || d.SizeGB < 1 {
			v.addf("%s: disk group %d: count and sizeGb must be at least 1, got %d × %d GB", name, j+1, d.Count, d.SizeGB)
		}
		if !slices.Contains(validDiskTypes, d.Type) {
			v.addf("%s: disk group %d: type %q is not one of SSD, HDD, NVMe", name, j+1, d.Type)
		}
		if d.Count > 0 && d.SizeGB > 0 {
			raw += d.Count * d.SizeGB
		}
	}
	// totalDiskGb is the usable size partitions are checked against; it may
	// be below the raw sum (formatting overhead) but never above it.
	if len(t.Disks) > 0 && (t.TotalDiskGB < 1 || t.TotalDiskGB > raw) {
		v.addf("%s: totalDiskGb must be between 1 and the raw disk sum %d, got %d", name, raw, t.TotalDiskGB)
	}
}

// checkCatalogID refuses an ID longer than requests may name
// (MaxIDLength): no client could ever select it.
func checkCatalogID(v *catalogChecker, what, id string) {
	if longerThan(id, MaxIDLength) {
		v.addf("%s %q: id is longer than %d characters", what, id, MaxIDLength)
	}
}

// checkImage validates one image; instance types must already be indexed.
func (c *Catalog) checkImage(v *catalogChecker, im *Image) {
	name := fmt.Sprintf("image %q", im.ID)
	if longerThan(im.Name, MaxImageNameLength) {
		v.addf("%s: name is longer than %d characters, the most a DescribeImages filter may give", name, MaxImageNameLength)
	}
	if !slices.Contains(validOSCatalogs, im.Catalog) {
		v.addf("%s: catalog %q is not one of centos, windows, ubuntu, debian, esxi", name, im.Catalog)
	}
	if !slices.Contains(validOSTypes, im.OSType) {
		v.addf("%s: osType %q is not linux or windows", name, im.OSType)
	} else if im.Catalog == "windows" && im.OSType != "windows" {
		v.addf("%s: catalog windows needs osType windows, got %q", name, im.OSType)
	}
	if !slices.Contains(validImageTypes, im.Type) {
		v.addf("%s: type %q is not PUBLIC_IMAGE or CUSTOM_IMAGE", name, im.Type)
	}
	if err := CheckImageSource(im.Source, im.SHA256, im.Format); err != nil {
		v.addf("%s: %v", name, err)
	}
	seen := map[string]bool{}
	for _, id := range im.InstanceTypeIDs {
		switch {
		case seen[id]:
			v.addf("%s: instance type %q listed twice", name, id)
		case c.typeByID[id] == nil:
			v.addf("%s: unknown instance type %q", name, id)
		}
		seen[id] = true
	}
}

// checkOffer validates the i-th offer and indexes it.
func (c *Catalog) checkOffer(v *catalogChecker, i int) {
	o := &c.Offers[i]
	name := fmt.Sprintf("offer #%d (%s in %s)", i+1, o.InstanceTypeID, o.ZoneID)
	if c.zoneByID[o.ZoneID] == nil {
		v.addf("%s: unknown zone %q", name, o.ZoneID)
	}
	t := c.typeByID[o.InstanceTypeID]
	if t == nil {
		v.addf("%s: unknown instance type %q", name, o.InstanceTypeID)
	}
	key := offerKey{o.ZoneID, o.InstanceTypeID}
	if _, dup := c.offerByKey[key]; dup {
		v.addf("%s: a second offer for the same zone and type", name)
	} else {
		c.offerByKey[key] = o
	}
	if o.Hosts < 0 {
		v.addf("%s: hosts must not be negative, got %d", name, o.Hosts)
	}
	if len(o.InternetChargeTypes) == 0 {
		v.addf("%s: internetChargeTypes is empty", name)
	}
	checkEnumList(v, name+": internetChargeTypes", o.InternetChargeTypes, InternetChargeTypes)
	if o.DefaultBandwidthMbps < 0 {
		v.addf("%s: defaultBandwidthMbps must not be negative, got %d", name, o.DefaultBandwidthMbps)
	} else if t != nil && o.DefaultBandwidthMbps > t.MaxBandwidthMbps {
		v.addf("%s: defaultBandwidthMbps %d is above the type maximum %d", name, o.DefaultBandwidthMbps, t.MaxBandwidthMbps)
	}
	if !(o.DefaultTrafficPackageTB >= 0) || o.DefaultTrafficPackageTB > MaxTrafficPackageTB {
		// Written as !(x >= 0) so NaN is rejected too.
		v.addf("%s: defaultTrafficPackageTb must be between 0 and %d, got %v", name, MaxTrafficPackageTB, o.DefaultTrafficPackageTB)
	} else if t != nil && t.MaxBandwidthMbps > 0 {
		checkOfferPrices(v, name, o, t)
	}
}

// checkOfferPrices refuses prices so large that the largest order the API
// bounds allow (MaxCreateAmount instances for MaxPrepaidPeriod months at
// the type's maximum bandwidth, or with the largest traffic package, for
// each internet charge type the offer sells) would
// not fit in a Money: with this catalog no request can reach the
// overflow refusal of PriceOf.
func checkOfferPrices(v *catalogChecker, name string, o *Offer, t *InstanceType) {
	for _, chargeType := range validChargeTypes {
		for _, internet := range o.InternetChargeTypes {
			q, err := PriceOf(PriceInput{Offer: o, ChargeType: chargeType, Period: MaxPrepaidPeriod, InternetChargeType: internet,
				BandwidthMbps: t.MaxBandwidthMbps, TrafficPackageTB: MaxTrafficPackageTB})
			var one Money
			if err == nil {
				one, err = q.Total()
			}
			if _, ok := one.Times(MaxCreateAmount); err != nil || !ok {
				v.addf("%s: prices too large: %d %s instances (%s, %d months, %d Mbps, %d TB) would cost more than an amount can hold",
					name, MaxCreateAmount, chargeType, internet, MaxPrepaidPeriod, t.MaxBandwidthMbps, MaxTrafficPackageTB)
				return
			}
		}
	}
}

// checkEnumList reports values of list outside allowed, and duplicates.
func checkEnumList(v *catalogChecker, what string, list, allowed []string) {
	seen := map[string]bool{}
	for _, s := range list {
		switch {
		case !slices.Contains(allowed, s):
			v.addf("%s: %q is not one of %v", what, s, allowed)
		case seen[s]:
			v.addf("%s: %q listed twice", what, s)
		}
		seen[s] = true
	}
}

// MaxHostIDLength bounds the id of a listed or enrolled host.
const MaxHostIDLength = 64

// hostIDPattern is the shape of a listed or enrolled host's id: letters,
// digits, dots, dashes and underscores, so that it reads safely in logs
// and commands.
var hostIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// passwordEnvPattern is the shape of an environment variable name.
var passwordEnvPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// BMCSchemes are the URL schemes of BMC addresses, one per driver family;
// the drivers parse the rest (provision/ipmi, provision/redfish).
var BMCSchemes = []string{"ipmi", "redfish+https", "redfish+http"}

// CheckHostID reports whether id can name a listed or enrolled host.
func CheckHostID(id string) error {
	switch {
	case id == "":
		return errors.New("id is empty")
	case len(id) > MaxHostIDLength:
		return fmt.Errorf("id is longer than %d characters", MaxHostIDLength)
	case !hostIDPattern.MatchString(id):
		return errors.New("id may hold only letters, digits, '.', '-' and '_', and starts with a letter or digit")
	}
	return nil
}

// CheckBMCAddress checks what can be checked of a BMC address without its
// driver: a URL of a known scheme that carries no password (a catalog or
// a command line is no place for one). Its errors never quote the
// address, which may hold a password.
func CheckBMCAddress(raw string) error {
	if raw == "" {
		return errors.New("no BMC address")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the BMC address is not a URL")
	}
	if !slices.Contains(BMCSchemes, u.Scheme) {
		return fmt.Errorf("the BMC address's scheme %q is not one of %s", u.Scheme, strings.Join(BMCSchemes, ", "))
	}
	if _, has := u.User.Password(); has {
		return errors.New("the BMC address holds a password: give it apart (passwordFile or passwordEnv in the catalog, --password-file or --password-stdin to admin commands)")
	}
	return nil
}

// NormalizeMAC returns a 6-byte MAC address in lower case with colons.
func NormalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("mac %q is not a 6-byte MAC address such as 52:54:00:12:34:56", s)
	}
	return hw.String(), nil
}

// checkHosts validates the hosts listed one by one; offers must already be
// indexed. It normalizes their MACs.
func (c *Catalog) checkHosts(v *catalogChecker) {
	// A listed host may not take the ID of an offer's simulated host,
	// found by the ID's shape: generating them all would cost every start
	// of a 200,000-host catalog a map of 200,000 IDs.
	generated := map[string]bool{}
	for _, h := range c.Hosts {
		for _, o := range c.Offers {
			if n, ok := offerHostNumber(h.ID, o.ZoneID, o.InstanceTypeID); ok && n <= o.Hosts {
				generated[h.ID] = true
			}
		}
	}
	ids, macs, bmcs := map[string]bool{}, map[string]string{}, map[string]string{}
	for i := range c.Hosts {
		h := &c.Hosts[i]
		name := fmt.Sprintf("host %q", h.ID)
		if h.ID == "" {
			name = fmt.Sprintf("host #%d", i+1)
		}
		if err := CheckHostID(h.ID); err != nil {
			v.addf("%s: %v", name, err)
		}
		switch {
		case ids[h.ID]:
			v.addf("%s: duplicate id", name)
		case generated[h.ID]:
			v.addf("%s: the id of a simulated host of an offer's host count; choose another", name)
		}
		ids[h.ID] = true
		if _, ok := c.FindOffer(h.ZoneID, h.InstanceTypeID); !ok {
			v.addf("%s: no offer sells %q in zone %q", name, h.InstanceTypeID, h.ZoneID)
		}
		if err := CheckBMCAddress(h.BMC); err != nil {
			v.addf("%s: %v", name, err)
		} else if other, dup := bmcs[h.BMC]; dup {
			v.addf("%s: the same BMC as host %q", name, other)
		} else {
			bmcs[h.BMC] = h.ID
		}
		if h.MAC != "" {
			mac, err := NormalizeMAC(h.MAC)
			if err != nil {
				v.addf("%s: %v", name, err)
			} else if other, dup := macs[mac]; dup {
				v.addf("%s: mac %s is host %q's too", name, mac, other)
			} else {
				macs[mac] = h.ID
				h.MAC = mac
			}
		}
		switch {
		case h.PasswordFile != "" && h.PasswordEnv != "":
			v.addf("%s: give passwordFile or passwordEnv, not both", name)
		case h.PasswordEnv != "" && !passwordEnvPattern.MatchString(h.PasswordEnv):
			v.addf("%s: passwordEnv %q is not an environment variable name", name, h.PasswordEnv)
		}
	}
}
