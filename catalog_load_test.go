package metalplane

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadDemo loads the embedded demo catalog or stops the test.
func loadDemo(t *testing.T) *Catalog {
	t.Helper()
	c, err := LoadCatalog(DemoCatalog())
	if err != nil {
		t.Fatalf("LoadCatalog(DemoCatalog()): got error %v, want nil", err)
	}
	return c
}

func TestDemoCatalogZones(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)

	if got := len(c.Zones); got < 4 {
		t.Errorf("zones: got %d, want at least 4", got)
	}
	areas := map[string]bool{}
	noSubnets := 0
	for _, z := range c.Zones {
		areas[z.Area] = true
		if z.Name == "" || z.NameZH == "" || z.City == "" || z.CityZH == "" || z.Area == "" || z.AreaZH == "" {
			t.Errorf("zone %s: got an empty name, city or area (en or zh), want all six set", z.ID)
		}
		if !z.SubnetsSupported {
			noSubnets++
		}
		if len(z.IPv4Pools) == 0 || len(z.IPv6Pools) == 0 {
			t.Errorf("zone %s: got %d IPv4 and %d IPv6 pools, want at least one of each", z.ID, len(z.IPv4Pools), len(z.IPv6Pools))
		}
	}
	continents := 0
	for _, a := range []string{"Asia Pacific", "Europe", "North America", "South America"} {
		if areas[a] {
			continents++
		}
	}
	if continents < 3 {
		t.Errorf("continents: got %d (areas %v), want at least 3", continents, areas)
	}
	if noSubnets != 1 {
		t.Errorf("zones without subnets: got %d, want exactly 1", noSubnets)
	}
}

// TestDemoCatalogPools checks that the sample address space is the reserved
// one and that no zone can run out of IPv4 addresses before it runs out of
// hosts.
func TestDemoCatalogPools(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)
	bench := netip.MustParsePrefix("198.18.0.0/15")
	doc := netip.MustParsePrefix("2001:db8::/32")

	hosts := map[string]int{}
	for _, o := range c.Offers {
		hosts[o.ZoneID] += o.Hosts
	}
	for _, z := range c.Zones {
		t.Run(z.ID, func(t *testing.T) {
			addrs := 0
			for _, s := range z.IPv4Pools {
				p := netip.MustParsePrefix(s)
				if p.Bits() != 22 || !bench.Overlaps(p) {
					t.Errorf("IPv4 pool %s: got it, want a /22 inside %s", p, bench)
				}
				addrs += 1<<(32-p.Bits()) - 2 // without network and broadcast
			}
			if addrs <= hosts[z.ID] {
				t.Errorf("IPv4 addresses: got %d for %d hosts, want more addresses than hosts", addrs, hosts[z.ID])
			}
			if len(z.IPv6Pools) != 1 {
				t.Fatalf("IPv6 pools: got %d, want 1", len(z.IPv6Pools))
			}
			p := netip.MustParsePrefix(z.IPv6Pools[0])
			if p.Bits() != 64 || !doc.Overlaps(p) {
				t.Errorf("IPv6 pool %s: got it, want a /64 inside %s", p, doc)
			}
		})
	}
}

func TestDemoCatalogInstanceTypes(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)

	if got := len(c.InstanceTypes); got < 6 {
		t.Errorf("instance types: got %d, want at least 6", got)
	}
	for _, id := range []string{"M6C", "S8I"} {
		if _, ok := c.FindInstanceType(id); !ok {
			t.Errorf("FindInstanceType(%q): got not found, want the spec's example type", id)
		}
	}

	var singleDisk, twelveDisks, ha, mixed, vpu, windows bool
	for i := range c.InstanceTypes {
		it := &c.InstanceTypes[i]
		if it.DiskCount() == 1 && len(it.SupportRaids) == 0 {
			singleDisk = true
		}
		if it.DiskCount() == 12 && cmp.Equal(it.SupportRaids, []int{0, 1, 5, 10}) {
			twelveDisks = true
		}
		if it.HA {
			ha = true
		}
		if len(it.Disks) > 1 {
			mixed = true
		}
		if it.VPUVendor != "" && it.VPUCard != "" && it.VPUCount > 0 {
			vpu = true
		}
		for j := range c.Images {
			if c.Images[j].OSType == "windows" && c.Images[j].FitsType(it.ID) {
				windows = true
			}
		}
		if it.CPUDetail == "" || it.Description == "" || it.DiskDescription == "" {
			t.Errorf("type %s: got an empty cpuDetail, description or diskDescription, want text", it.ID)
		}
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"single disk without RAID", singleDisk},
		{"12 disks with RAID 0, 1, 5, 10", twelveDisks},
		{"HA", ha},
		{"mixed disk sizes", mixed},
		{"video processing units", vpu},
		{"runs Windows", windows},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("instance types: got none %s, want one", ck.name)
		}
	}
}

func TestDemoCatalogImages(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)

	if got := len(c.Images); got < 8 {
		t.Errorf("images: got %d, want at least 8", got)
	}
	catalogs := map[string]int{}
	for _, im := range c.Images {
		catalogs[im.Catalog]++
		// Image IDs follow the public API's shape: a lower-case UUID.
		if len(im.ID) != 36 || strings.ToLower(im.ID) != im.ID || strings.Count(im.ID, "-") != 4 {
			t.Errorf("image %s: got this id, want a lower-case UUID", im.ID)
		}
		if wantCustom := im.Catalog != "esxi"; im.CustomPartitions != wantCustom {
			t.Errorf("image %s (%s): got customPartitions %v, want %v", im.Name, im.Catalog, im.CustomPartitions, wantCustom)
		}
		if len(im.InstanceTypeIDs) == 0 {
			t.Errorf("image %s: got no instance types, want at least one", im.Name)
		}
	}
	want := map[string]int{"centos": 2, "ubuntu": 3, "debian": 2, "windows": 2, "esxi": 1}
	for cat, n := range want {
		if catalogs[cat] < n {
			t.Errorf("images of catalog %s: got %d, want at least %d", cat, catalogs[cat], n)
		}
	}
}

func TestDemoCatalogOffers(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)

	var soldOut, shortage, plenty, trafficPackage, percentile95 bool
	for _, o := range c.Offers {
		switch {
		case o.Hosts == 0:
			soldOut = true
		case o.Hosts <= 10:
			shortage = true
		case o.Hosts >= 300:
			plenty = true
		}
		if !slices.Contains(o.InternetChargeTypes, InternetByBandwidth) {
			t.Errorf("offer %s/%s: got %v, want ByBandwidth among them", o.ZoneID, o.InstanceTypeID, o.InternetChargeTypes)
		}
		if slices.Contains(o.InternetChargeTypes, InternetByTrafficPackage) {
			trafficPackage = true
		}
		if slices.Contains(o.InternetChargeTypes, InternetByInstanceBandwidth95) {
			percentile95 = true
		}
		// Hourly prices are about a six-hundredth of the monthly ones.
		p := o.Prices
		if p.InstanceMonthly < 99*MoneyScale || p.InstanceMonthly > 1500*MoneyScale {
			t.Errorf("offer %s/%s: got monthly price %s, want 99 to 1500", o.ZoneID, o.InstanceTypeID, p.InstanceMonthly)
		}
		if ratio := float64(p.InstanceMonthly) / float64(p.InstanceHourly); ratio < 500 || ratio > 750 {
			t.Errorf("offer %s/%s: got monthly/hourly %.0f, want about 600", o.ZoneID, o.InstanceTypeID, ratio)
		}
		if p.BandwidthMonthlyPerMbps <= 0 || p.TrafficPerTB <= 0 || p.IPMonthly <= 0 || p.IPHourly <= 0 {
			t.Errorf("offer %s/%s: got a zero network price in %+v, want all set", o.ZoneID, o.InstanceTypeID, p)
		}
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"sold out (0 hosts)", soldOut},
		{"short (1-10 hosts)", shortage},
		{"with at least 300 hosts", plenty},
		{"selling ByTrafficPackage", trafficPackage},
		{"selling ByInstanceBandwidth95", percentile95},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("offers: got none %s, want one", ck.name)
		}
	}
	if got := c.TotalHosts(); got < 1 || got > 3000 {
		t.Errorf("TotalHosts: got %d, want 1 to 3000", got)
	}
}

// TestDemoCatalogSeoulM6C pins the offer other packages' tests order from.
func TestDemoCatalogSeoulM6C(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)

	z, ok := c.FindZone("SEL-A")
	if !ok {
		t.Fatal("FindZone(SEL-A): got not found, want the zone")
	}
	for _, ct := range []string{ChargeTypePrepaid, ChargeTypePostpaid} {
		if len(z.ChargeTypes) > 0 && !slices.Contains(z.ChargeTypes, ct) {
			t.Errorf("SEL-A chargeTypes: got %v, want %s among them", z.ChargeTypes, ct)
		}
	}
	o, ok := c.FindOffer("SEL-A", "M6C")
	if !ok {
		t.Fatal("FindOffer(SEL-A, M6C): got not found, want the offer")
	}
	if o.Hosts < 50 {
		t.Errorf("SEL-A M6C hosts: got %d, want at least 50", o.Hosts)
	}
	if !slices.Contains(o.InternetChargeTypes, InternetByBandwidth) {
		t.Errorf("SEL-A M6C internetChargeTypes: got %v, want ByBandwidth among them", o.InternetChargeTypes)
	}
}

func TestCatalogLookups(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)

	if z, ok := c.FindZone("FRA-A"); !ok || z.ID != "FRA-A" {
		t.Errorf("FindZone(FRA-A): got %v, %v, want FRA-A, true", z, ok)
	}
	if _, ok := c.FindZone("XXX-A"); ok {
		t.Error("FindZone(XXX-A): got found, want not found")
	}
	if it, ok := c.FindInstanceType("M6C"); !ok || it.ID != "M6C" {
		t.Errorf("FindInstanceType(M6C): got %v, %v, want M6C, true", it, ok)
	}
	if _, ok := c.FindInstanceType("m6c"); ok {
		t.Error("FindInstanceType(m6c): got found, want not found (IDs are case-sensitive)")
	}
	for i := range c.Images {
		want := &c.Images[i]
		if got, ok := c.FindImage(want.ID); !ok || got != want {
			t.Errorf("FindImage(%s): got %p, %v, want %p, true", want.ID, got, ok, want)
		}
	}
	if _, ok := c.FindImage("00000000-0000-0000-0000-000000000000"); ok {
		t.Error("FindImage(zero UUID): got found, want not found")
	}
	for i := range c.Offers {
		want := &c.Offers[i]
		if got, ok := c.FindOffer(want.ZoneID, want.InstanceTypeID); !ok || got != want {
			t.Errorf("FindOffer(%s, %s): got %p, %v, want %p, true", want.ZoneID, want.InstanceTypeID, got, ok, want)
		}
	}
	if _, ok := c.FindOffer("M6C", "SEL-A"); ok {
		t.Error("FindOffer(M6C, SEL-A) with swapped arguments: got found, want not found")
	}

	// Prices keep every decimal digit of the file.
	o, _ := c.FindOffer("SEL-A", "M6C")
	if got, want := o.Prices.InstanceHourly.String(), "0.8317"; got != want {
		t.Errorf("SEL-A M6C instanceHourly: got %s, want %s", got, want)
	}
}

func TestDemoCatalogIsACopy(t *testing.T) {
	t.Parallel()
	b := DemoCatalog()
	b[0] = '!'
	if DemoCatalog()[0] == '!' {
		t.Error("DemoCatalog: got the change made to an earlier result, want a fresh copy")
	}
}

func TestTotalHosts(t *testing.T) {
	t.Parallel()
	c := &Catalog{Offers: []Offer{{Hosts: 3}, {Hosts: 0}, {Hosts: 40}}}
	if got := c.TotalHosts(); got != 43 {
		t.Errorf("TotalHosts: got %d, want 43", got)
	}
	if got := (&Catalog{}).TotalHosts(); got != 0 {
		t.Errorf("TotalHosts of an empty catalog: got %d, want 0", got)
	}
}

// minimalCatalog is the smallest valid catalog; each rejection case below
// breaks it in one place.
const minimalCatalog = `
zones:
  - id: SEL-A
    name: Seoul A
    chargeTypes: [PREPAID, POSTPAID]
    ipv4Pools: [198.18.0.0/24]
    ipv6Pools: ["2001:db8:0:1::/64"]
  - id: FRA-A
    name: Frankfurt A
    ipv4Pools: [198.18.1.0/24]
instanceTypes:
  - id: M6C
    cpuCount: 2
    memoryGb: 128
    maxBandwidthMbps: 3000
    supportRaids: [0, 1]
    disks:
      - {sizeGb: 960, count: 2, type: SSD}
    totalDiskGb: 1780
images:
  - id: d49d6b04-b0b6-4656-a6fc-b4feb541c3ea
    name: CentOS7.9-x86_64
    catalog: centos
    osType: linux
    type: PUBLIC_IMAGE
    instanceTypes: [M6C]
offers:
  - zone: SEL-A
    instanceType: M6C
    hosts: 10
    internetChargeTypes: [ByBandwidth]
    defaultBandwidthMbps: 10
    defaultTrafficPackageTb: 0
    prices:
      instanceMonthly: 499.00
      instanceHourly: 0.8317
`

func TestLoadCatalogMinimal(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog([]byte(minimalCatalog))
	if err != nil {
		t.Fatalf("LoadCatalog(minimal): got error %v, want nil", err)
	}
	o, ok := c.FindOffer("SEL-A", "M6C")
	if !ok {
		t.Fatal("FindOffer(SEL-A, M6C): got not found, want the offer")
	}
	want := Prices{InstanceMonthly: 4990000, InstanceHourly: 8317}
	if diff := cmp.Diff(want, o.Prices); diff != "" {
		t.Errorf("prices (-want +got):\n%s", diff)
	}
	if got := c.TotalHosts(); got != 10 {
		t.Errorf("TotalHosts: got %d, want 10", got)
	}
}

func TestLoadCatalogRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// old is replaced by new in minimalCatalog (first occurrence); an
		// empty old means new is the whole file.
		old, new string
		wantErr  string
	}{
		{name: "empty file", new: "", wantErr: "empty"},
		{name: "not a mapping", new: "- 1\n- 2\n", wantErr: "cannot unmarshal"},
		{name: "two documents", old: "zones:", new: "zones: []\n---\nzones:", wantErr: "single YAML document"},
		{name: "unknown top-level field", old: "offers:", new: "offer:", wantErr: "field offer not found"},
		{name: "unknown zone field", old: "name: Seoul A", new: "nmae: Seoul A", wantErr: "field nmae not found"},
		{name: "unknown price field", old: "instanceHourly:", new: "instanceHourlyPrice:", wantErr: "field instanceHourlyPrice not found"},
		{name: "duplicate zone", old: "id: FRA-A", new: "id: SEL-A", wantErr: `zone "SEL-A": duplicate id`},
		{name: "empty zone id", old: "id: FRA-A", new: "id: ''", wantErr: "zone #2: id is empty"},
		{name: "bad zone id shape", old: "id: FRA-A", new: "id: fra-a", wantErr: `zone "fra-a": id must look like SEL-A`},
		{name: "zone id without suffix", old: "id: FRA-A", new: "id: FRA", wantErr: `zone "FRA": id must look like`},
		{name: "bad charge type", old: "[PREPAID, POSTPAID]", new: "[PREPAID, MONTHLY]", wantErr: `zone "SEL-A": chargeTypes: "MONTHLY"`},
		{name: "duplicate charge type", old: "[PREPAID, POSTPAID]", new: "[PREPAID, PREPAID]", wantErr: `"PREPAID" listed twice`},
		{name: "bad CIDR", old: "198.18.0.0/24", new: "198.18.0.0/33", wantErr: `zone "SEL-A": IPv4 pool "198.18.0.0/33" is not a CIDR`},
		{name: "address without prefix", old: "198.18.0.0/24", new: "198.18.0.1", wantErr: "is not a CIDR"},
		{name: "IPv6 in IPv4 pools", old: "[198.18.0.0/24]", new: `["2001:db8:9::/64"]`, wantErr: "is not an IPv4 CIDR"},
		{name: "IPv4 in IPv6 pools", old: `["2001:db8:0:1::/64"]`, new: "[198.18.9.0/24]", wantErr: "is not an IPv6 CIDR"},
		{name: "host bits set", old: "198.18.0.0/24", new: "198.18.0.7/24", wantErr: "host bits set"},
		{name: "IPv4 pool too small", old: "198.18.0.0/24", new: "198.18.0.0/31", wantErr: "holds no allocatable address"},
		{name: "overlapping pools across zones", old: "198.18.1.0/24", new: "198.18.0.128/25", wantErr: `zone "FRA-A": pool "198.18.0.128/25" overlaps pool "198.18.0.0/24" of zone "SEL-A"`},
		{name: "overlapping pools in one zone", old: "[198.18.0.0/24]", new: "[198.18.0.0/24, 198.18.0.0/23]", wantErr: `overlaps pool "198.18.0.0/24"`},
		{name: "overlapping IPv6 pools", old: "ipv4Pools: [198.18.1.0/24]", new: `ipv6Pools: ["2001:db8::/32"]`, wantErr: `zone "FRA-A": pool "2001:db8::/32" overlaps`},
		{name: "duplicate type", old: "images:", new: "  - {id: M6C, cpuCount: 1, memoryGb: 1, maxBandwidthMbps: 1, disks: [{sizeGb: 1, count: 1, type: SSD}], totalDiskGb: 1}\nimages:", wantErr: `instance type "M6C": duplicate id`},
		{name: "zero cpu", old: "cpuCount: 2", new: "cpuCount: 0", wantErr: `instance type "M6C": cpuCount must be positive`},
		{name: "zero memory", old: "memoryGb: 128", new: "memoryGb: 0", wantErr: "memoryGb must be positive"},
		{name: "zero max bandwidth", old: "maxBandwidthMbps: 3000", new: "maxBandwidthMbps: 0", wantErr: "maxBandwidthMbps must be positive"},
		{name: "bad raid level", old: "supportRaids: [0, 1]", new: "supportRaids: [0, 6]", wantErr: `instance type "M6C": RAID level 6 is not one of`},
		{name: "duplicate raid level", old: "supportRaids: [0, 1]", new: "supportRaids: [1, 1]", wantErr: "RAID level 1 listed twice"},
		{name: "no disks", old: "      - {sizeGb: 960, count: 2, type: SSD}\n", new: "", wantErr: `instance type "M6C": no disks`},
		{name: "zero disk count", old: "count: 2", new: "count: 0", wantErr: "disk group 1: count and sizeGb must be at least 1"},
		{name: "zero disk size", old: "sizeGb: 960", new: "sizeGb: 0", wantErr: "count and sizeGb must be at least 1"},
		{name: "bad disk type", old: "type: SSD", new: "type: SATA", wantErr: `type "SATA" is not one of SSD, HDD, NVMe`},
		{name: "usable above raw", old: "totalDiskGb: 1780", new: "totalDiskGb: 1921", wantErr: "totalDiskGb must be between 1 and the raw disk sum 1920"},
		{name: "usable zero", old: "totalDiskGb: 1780", new: "totalDiskGb: 0", wantErr: "totalDiskGb must be between"},
		{name: "duplicate image", old: "offers:", new: "  - {id: d49d6b04-b0b6-4656-a6fc-b4feb541c3ea, catalog: centos, osType: linux, type: PUBLIC_IMAGE}\noffers:", wantErr: "duplicate id"},
		{name: "image of unknown type", old: "instanceTypes: [M6C]", new: "instanceTypes: [M6C, X9Z]", wantErr: `image "d49d6b04-b0b6-4656-a6fc-b4feb541c3ea": unknown instance type "X9Z"`},
		{name: "image type listed twice", old: "instanceTypes: [M6C]", new: "instanceTypes: [M6C, M6C]", wantErr: `instance type "M6C" listed twice`},
		{name: "bad image catalog", old: "catalog: centos", new: "catalog: CentOS", wantErr: `catalog "CentOS" is not one of`},
		{name: "bad os type", old: "osType: linux", new: "osType: bsd", wantErr: `osType "bsd" is not linux or windows`},
		{name: "windows catalog on linux", old: "catalog: centos", new: "catalog: windows", wantErr: "catalog windows needs osType windows"},
		{name: "bad image type", old: "type: PUBLIC_IMAGE", new: "type: PRIVATE_IMAGE", wantErr: `type "PRIVATE_IMAGE" is not PUBLIC_IMAGE or CUSTOM_IMAGE`},
		{name: "image source outside the data dir", old: "type: PUBLIC_IMAGE", new: "type: PUBLIC_IMAGE\n    source: ../x.raw\n    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b4b0b822cd15d6c15b0f00a08\n    format: raw", wantErr: "relative path inside the data dir"},
		{name: "image source without sha256", old: "type: PUBLIC_IMAGE", new: "type: PUBLIC_IMAGE\n    source: https://h/x.raw\n    format: raw", wantErr: "sha256 must be 64 lower-case hex digits"},
		{name: "image format not raw", old: "type: PUBLIC_IMAGE", new: "type: PUBLIC_IMAGE\n    source: x.qcow2\n    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b4b0b822cd15d6c15b0f00a08\n    format: qcow2", wantErr: `format "qcow2": want raw`},
		{name: "image sha256 without source", old: "type: PUBLIC_IMAGE", new: "type: PUBLIC_IMAGE\n    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b4b0b822cd15d6c15b0f00a08", wantErr: "sha256 and format need a source"},
		{name: "offer of unknown zone", old: "  - zone: SEL-A", new: "  - zone: TYO-A", wantErr: `offer #1 (M6C in TYO-A): unknown zone "TYO-A"`},
		{name: "offer of unknown type", old: "instanceType: M6C", new: "instanceType: S8I", wantErr: `unknown instance type "S8I"`},
		{name: "duplicate offer", old: "instanceHourly: 0.8317\n", new: "instanceHourly: 0.8317\n  - {zone: SEL-A, instanceType: M6C, internetChargeTypes: [ByBandwidth]}\n", wantErr: `offer #2 (M6C in SEL-A): a second offer`},
		{name: "negative hosts", old: "hosts: 10", new: "hosts: -1", wantErr: "hosts must not be negative"},
		{name: "no internet charge types", old: "[ByBandwidth]", new: "[]", wantErr: "internetChargeTypes is empty"},
		{name: "bad internet charge type", old: "[ByBandwidth]", new: "[ByBandwidth, ByMoon]", wantErr: `internetChargeTypes: "ByMoon" is not one of`},
		{name: "default bandwidth above maximum", old: "defaultBandwidthMbps: 10", new: "defaultBandwidthMbps: 3001", wantErr: "defaultBandwidthMbps 3001 is above the type maximum 3000"},
		{name: "negative default bandwidth", old: "defaultBandwidthMbps: 10", new: "defaultBandwidthMbps: -1", wantErr: "defaultBandwidthMbps must not be negative"},
		{name: "negative traffic package", old: "defaultTrafficPackageTb: 0", new: "defaultTrafficPackageTb: -0.5", wantErr: "defaultTrafficPackageTb must be between 0 and 1000"},
		{name: "NaN traffic package", old: "defaultTrafficPackageTb: 0", new: "defaultTrafficPackageTb: .nan", wantErr: "defaultTrafficPackageTb must be between 0 and 1000"},
		{name: "infinite traffic package", old: "defaultTrafficPackageTb: 0", new: "defaultTrafficPackageTb: .inf", wantErr: "defaultTrafficPackageTb must be between 0 and 1000"},
		{name: "traffic package above the largest", old: "defaultTrafficPackageTb: 0", new: "defaultTrafficPackageTb: 1000.05", wantErr: "defaultTrafficPackageTb must be between 0 and 1000"},
		// 100 instances × 36 months of 2.6e11 is above 9.2e14, the largest
		// amount in currency units.
		{name: "prices too large for the largest order", old: "instanceMonthly: 499.00", new: "instanceMonthly: 260000000000", wantErr: "prices too large"},
		{name: "traffic price too large for the largest package", old: "internetChargeTypes: [ByBandwidth]\n    defaultBandwidthMbps: 10\n    defaultTrafficPackageTb: 0\n    prices:\n",
			new: "internetChargeTypes: [ByBandwidth, ByTrafficPackage]\n    defaultBandwidthMbps: 10\n    defaultTrafficPackageTb: 0\n    prices:\n      trafficPerTb: 300000000\n", wantErr: "prices too large"},
		{name: "negative price", old: "instanceMonthly: 499.00", new: "instanceMonthly: -499.00", wantErr: "negative amounts are not allowed"},
		{name: "too many decimals", old: "instanceHourly: 0.8317", new: "instanceHourly: 0.83167", wantErr: "more than 4 decimals"},
		{name: "price with exponent", old: "instanceHourly: 0.8317", new: "instanceHourly: 8.317e-1", wantErr: "want digits"},
		{name: "duplicate key", old: "    hosts: 10\n", new: "    hosts: 10\n    hosts: 11\n", wantErr: "already defined"},
		{name: "type id longer than requests may name", old: "  - id: M6C", new: "  - id: M" + strings.Repeat("6", MaxIDLength), wantErr: "id is longer than 64 characters"},
		{name: "image id longer than requests may name", old: "  - id: d49d6b04-b0b6-4656-a6fc-b4feb541c3ea", new: "  - id: " + strings.Repeat("d", MaxIDLength+1), wantErr: "id is longer than 64 characters"},
		{name: "zone id longer than requests may name", old: "id: FRA-A", new: "id: FRA" + strings.Repeat("X", MaxIDLength) + "-A", wantErr: "id is longer than 64 characters"},
		{name: "image name longer than the filter", old: "name: CentOS7.9-x86_64", new: "name: " + strings.Repeat("n", MaxImageNameLength+1), wantErr: "name is longer than 128 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := tt.new
			if tt.old != "" {
				if !strings.Contains(minimalCatalog, tt.old) {
					t.Fatalf("test setup: got no %q in minimalCatalog, want it there to replace", tt.old)
				}
				data = strings.Replace(minimalCatalog, tt.old, tt.new, 1)
			}
			c, err := LoadCatalog([]byte(data))
			if err == nil {
				t.Fatalf("LoadCatalog: got a catalog with %d zones, want an error containing %q", len(c.Zones), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadCatalog: got error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestLoadCatalogReportsEveryProblem checks that an operator sees all
// problems of a file at once instead of fixing them one start at a time.
func TestLoadCatalogReportsEveryProblem(t *testing.T) {
	t.Parallel()
	data := strings.NewReplacer(
		"id: FRA-A", "id: SEL-A",
		"supportRaids: [0, 1]", "supportRaids: [7]",
		"instanceTypes: [M6C]", "instanceTypes: [NOPE]",
	).Replace(minimalCatalog)
	_, err := LoadCatalog([]byte(data))
	if err == nil {
		t.Fatal("LoadCatalog: got nil error, want three problems")
	}
	if !strings.HasPrefix(err.Error(), "load catalog: 3 problems:\n") {
		t.Errorf("LoadCatalog: got error %q, want it to start with the problem count", err)
	}
	for _, want := range []string{`zone "SEL-A": duplicate id`, "RAID level 7", `unknown instance type "NOPE"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadCatalog: got error %q, want it to contain %q", err, want)
		}
	}
}

// hostsCatalog lists two servers behind their BMCs after the offer's ten
// simulated hosts.
const hostsCatalog = minimalCatalog + `hosts:
  - id: rack1-n1
    zone: SEL-A
    instanceType: M6C
    bmc: ipmi://admin@10.0.0.5:623?cipher=17
    mac: "52:54:00:AB:CD:01"
    passwordFile: /etc/metalplane/bmc/rack1-n1
  - id: rack1-n2
    zone: SEL-A
    instanceType: M6C
    bmc: redfish+https://root@10.0.0.6/redfish/v1/Systems/1
    passwordEnv: RACK1_N2_BMC
`

func TestLoadCatalogHosts(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog([]byte(hostsCatalog))
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	want := []CatalogHost{
		{ID: "rack1-n1", ZoneID: "SEL-A", InstanceTypeID: "M6C", BMC: "ipmi://admin@10.0.0.5:623?cipher=17", MAC: "52:54:00:ab:cd:01", PasswordFile: "/etc/metalplane/bmc/rack1-n1"},
		{ID: "rack1-n2", ZoneID: "SEL-A", InstanceTypeID: "M6C", BMC: "redfish+https://root@10.0.0.6/redfish/v1/Systems/1", PasswordEnv: "RACK1_N2_BMC"},
	}
	if diff := cmp.Diff(want, c.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if got := c.TotalHosts(); got != 12 {
		t.Errorf("TotalHosts: got %d, want 12 (10 simulated, 2 listed)", got)
	}
}

func TestLoadCatalogRejectsHosts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, old, new, wantErr string
	}{
		{"duplicate id", "id: rack1-n2", "id: rack1-n1", `host "rack1-n1": duplicate id`},
		{"id of a simulated host", "id: rack1-n2", "id: SEL-A-M6C-0003", "the id of a simulated host"},
		{"bad id", "id: rack1-n2", "id: rack1/n2", "id may hold only"},
		{"no offer", "    instanceType: M6C\n    bmc: redfish", "    instanceType: M9E\n    bmc: redfish", `no offer sells "M9E" in zone "SEL-A"`},
		{"password in the address", "root@10.0.0.6", "root:hunter2@10.0.0.6", "holds a password"},
		{"unknown scheme", "redfish+https://", "idrac://", `scheme "idrac" is not one of`},
		{"no address", "    bmc: redfish+https://root@10.0.0.6/redfish/v1/Systems/1\n", "", "no BMC address"},
		{"same BMC", "bmc: redfish+https://root@10.0.0.6/redfish/v1/Systems/1", "bmc: ipmi://admin@10.0.0.5:623?cipher=17", `the same BMC as host "rack1-n1"`},
		{"bad MAC", `mac: "52:54:00:AB:CD:01"`, "mac: 52:54:00", "not a 6-byte MAC"},
		{"same MAC", "    passwordEnv: RACK1_N2_BMC", "    passwordEnv: RACK1_N2_BMC\n    mac: 52-54-00-ab-cd-01", `mac 52:54:00:ab:cd:01 is host "rack1-n1"'s too`},
		{"file and variable", "    passwordEnv: RACK1_N2_BMC", "    passwordEnv: RACK1_N2_BMC\n    passwordFile: /x", "not both"},
		{"bad variable name", "passwordEnv: RACK1_N2_BMC", "passwordEnv: RACK1-N2", "not an environment variable name"},
		{"unknown key", "passwordEnv:", "password:", "field password not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(hostsCatalog, tt.old) {
				t.Fatalf("test setup: no %q in hostsCatalog", tt.old)
			}
			_, err := LoadCatalog([]byte(strings.Replace(hostsCatalog, tt.old, tt.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadCatalog: got %v, want an error containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
