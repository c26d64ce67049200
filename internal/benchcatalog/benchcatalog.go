// Package benchcatalog writes catalogs big enough for benchmarks: the demo
// catalog sells a few hundred hosts per zone, and the benchmarks buy up to
// 100,000 instances.
package benchcatalog

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
)

// Zone and InstanceType are what the catalog sells: one M6C-like type in one
// zone, POSTPAID allowed, flat-rate bandwidth.
const (
	Zone         = "SEL-A"
	InstanceType = "M6C"
)

// poolBits is the prefix length of each IPv4 pool. Pools are carved in
// order out of 100.64.0.0/10 (shared address space, RFC 6598, so nothing
// real is ever sold), as many as the hosts need: a /20 leaves at most 4,094
// unused addresses to insert at start, whatever the host count.
const poolBits = 20

// poolSpace is the address space the pools are taken from.
var poolSpace = netip.MustParsePrefix("100.64.0.0/10")

// MaxHosts is the largest host count the pools can give an address each.
const MaxHosts = (1 << (poolBits - 10)) * (1<<(32-poolBits) - 2)

// Write writes YAML(hosts) to a file in t.TempDir and returns its path.
func Write(t testing.TB, hosts int) string {
	t.Helper()
	data, err := YAML(hosts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bench-catalog.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// YAML returns a catalog selling hosts M6C hosts in SEL-A, POSTPAID
// allowed, with one public IPv4 address per host at least. The zone has a
// single IPv6 pool (4,096 addresses), so requests for more instances must
// send "enablePrimaryIPv6": false. The catalog is checked with
// metalplane.LoadCatalog before it is returned.
func YAML(hosts int) ([]byte, error) {
	if hosts < 1 || hosts > MaxHosts {
		return nil, fmt.Errorf("benchcatalog: %d hosts, want 1 to %d", hosts, MaxHosts)
	}
	perPool := 1<<(32-poolBits) - 2 // network and broadcast are never sold
	var pools []string
	base := poolSpace.Addr().As4()
	start := binary.BigEndian.Uint32(base[:])
	for i := 0; i*perPool < hosts; i++ {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], start+uint32(i)<<(32-poolBits))
		pools = append(pools, netip.PrefixFrom(netip.AddrFrom4(a), poolBits).String())
	}

	var b strings.Builder
	fmt.Fprintf(&b, `# Benchmark catalog: %d hosts of one type in one zone (internal/benchcatalog).
zones:
  - id: %s
    name: Seoul A
    nameZh: 首尔A
    city: Seoul
    cityZh: 首尔
    area: Asia Pacific
    areaZh: 亚太地区
    cloudRouterAvailable: true
    byoipEnabled: false
    subnetsSupported: true
    chargeTypes: [PREPAID, POSTPAID]
    ipv4Pools: [%s]
    ipv6Pools: [2001:db8:bec::/64]
instanceTypes:
  - id: %s
    description: General purpose, 2 x Xeon Silver 4314, 128 GB RAM, 2 x 960 GB SSD
    cpuCount: 2
    cpuDetail: Intel Xeon Silver 4314
    cpuCores: 32
    cpuThreads: 64
    baseFrequency: 2.4GHz
    memoryGb: 128
    maxBandwidthMbps: 3000
    supportRaids: [0, 1]
    supportSubnet: true
    ha: false
    disks:
      - {sizeGb: 960, count: 2, type: SSD}
    totalDiskGb: 1780
    diskDescription: 2 x 960GB SSD
images: []
offers:
  - zone: %s
    instanceType: %s
    hosts: %d
    internetChargeTypes: [ByBandwidth, ByTrafficPackage]
    defaultBandwidthMbps: 20
    defaultTrafficPackageTb: 10
    prices:
      instanceMonthly: 499.00
      instanceHourly: 0.8317
      bandwidthMonthlyPerMbps: 2.00
      bandwidthHourlyPerMbps: 0.0033
      trafficPerTb: 12.00
      ipMonthly: 3.00
      ipHourly: 0.0050
`, hosts, Zone, strings.Join(pools, ", "), InstanceType, Zone, InstanceType, hosts)

	if _, err := metalplane.LoadCatalog([]byte(b.String())); err != nil {
		return nil, fmt.Errorf("benchcatalog: generated catalog is invalid: %w", err)
	}
	return []byte(b.String()), nil
}
