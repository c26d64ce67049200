package metalplane

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// The catalog: what an operator sells. It is declared in a YAML file
// (catalog.yaml, embedded by default), loaded once at start and kept in
// memory; hosts and IP pools are also written to the database because they
// are allocated by transactions (see sqlstore).

// Catalog is a loaded, validated catalog with lookup indexes.
type Catalog struct {
	Zones         []Zone
	InstanceTypes []InstanceType
	Images        []Image
	Offers        []Offer
	// Hosts are the servers listed one by one, each with its BMC; an
	// offer's host count adds simulated ones.
	Hosts []CatalogHost
	// LoadBalancers are the load balancer offers, one per zone.
	LoadBalancers []LoadBalancerOffer

	zoneByID   map[string]*Zone
	typeByID   map[string]*InstanceType
	imageByID  map[string]*Image
	offerByKey map[offerKey]*Offer
	lbByZone   map[string]*LoadBalancerOffer

	// live are the images added on the database (SetLiveImages),
	// replaced whole while requests read them.
	live atomic.Pointer[liveImages]
}

type offerKey struct{ zone, instanceType string }

// Zone is a data centre where bare metal is sold.
type Zone struct {
	ID string `yaml:"id"`
	// Names in English and Chinese (DescribeZones acceptLanguage).
	Name   string `yaml:"name"`
	NameZH string `yaml:"nameZh"`
	City   string `yaml:"city"`
	CityZH string `yaml:"cityZh"`
	Area   string `yaml:"area"`
	AreaZH string `yaml:"areaZh"`

	CloudRouterAvailable bool `yaml:"cloudRouterAvailable"`
	BYOIPEnabled         bool `yaml:"byoipEnabled"`
	// SubnetsSupported: whether CreateSubnet is allowed in the zone.
	SubnetsSupported bool `yaml:"subnetsSupported"`
	// ChargeTypes offered in the zone (PREPAID, POSTPAID); empty means both.
	ChargeTypes []string `yaml:"chargeTypes"`
	// Public address pools (CIDR). Every address of an IPv4 pool except the
	// network and broadcast addresses is allocatable; IPv6 pools are
	// materialised up to IPv6PoolLimit addresses each.
	IPv4Pools []string `yaml:"ipv4Pools"`
	IPv6Pools []string `yaml:"ipv6Pools"`
	// EIPPrices and DdosIPPrices price an elastic IP and a DDoS-protected
	// IP taken from the zone's IPv4 pools; absent, the zone does not sell
	// them.
	EIPPrices    *AddressPrices `yaml:"eipPrices"`
	DdosIPPrices *AddressPrices `yaml:"ddosIpPrices"`
	// BandwidthClusters are the IDs a ByBandwidthCluster purchase may name
	// as clusterId (CheckBandwidthCluster).
	BandwidthClusters []string `yaml:"bandwidthClusters"`
	// Prices of IPv4 CIDR blocks (CreateIpv4Block), per address of the
	// block: a /29 costs 8 times these. Absent means free.
	BlockIPv4MonthlyPerIP Money `yaml:"blockIpv4MonthlyPerIp"`
	BlockIPv4HourlyPerIP  Money `yaml:"blockIpv4HourlyPerIp"`
}

// CheckBandwidthCluster checks the clusterId of a ByBandwidthCluster
// purchase: one of the zone's bandwidth clusters, else INVALID_PARAMETER.
// [decision] No public action lists or creates bandwidth clusters (sales
// set them up), so the catalog names them; no source gives a code for an
// unknown one.
func CheckBandwidthCluster(z *Zone, id string) *Error {
	if !slices.Contains(z.BandwidthClusters, id) {
		return Errorf("INVALID_PARAMETER", "The bandwidth cluster %s does not exist in %s.", id, z.ID)
	}
	return nil
}

// IPv6PoolLimit bounds how many addresses of one IPv6 pool are written to the
// database: a /64 cannot be listed, and no zone holds more servers than this.
const IPv6PoolLimit = 4096

// InstanceType is a hardware model.
type InstanceType struct {
	ID               string `yaml:"id"`
	Description      string `yaml:"description"`
	CPUCount         int    `yaml:"cpuCount"`
	CPUDetail        string `yaml:"cpuDetail"`
	CPUCores         int    `yaml:"cpuCores"`
	CPUThreads       int    `yaml:"cpuThreads"`
	BaseFrequency    string `yaml:"baseFrequency"`
	MemoryGB         int    `yaml:"memoryGb"`
	MaxBandwidthMbps int    `yaml:"maxBandwidthMbps"`
	// SupportRaids lists RAID levels from {0, 1, 5, 10}; empty = no RAID.
	SupportRaids  []int `yaml:"supportRaids"`
	SupportSubnet bool  `yaml:"supportSubnet"`
	// HA types have bonded NICs (default names bond0/bond1).
	HA bool `yaml:"ha"`
	// Disks in slot order; disk numbers for RAID expand this list in order.
	Disks []Disk `yaml:"disks"`
	// TotalDiskGB is the usable capacity reported as diskInfo.totalDiskSize.
	TotalDiskGB     int    `yaml:"totalDiskGb"`
	DiskDescription string `yaml:"diskDescription"`
	VPUVendor       string `yaml:"vpuVendor"`
	VPUCard         string `yaml:"vpuCard"`
	VPUCount        int    `yaml:"vpuCount"`
}

// Disk is a group of identical disks of an instance type.
type Disk struct {
	SizeGB int    `yaml:"sizeGb"`
	Count  int    `yaml:"count"`
	Type   string `yaml:"type"` // SSD, HDD or NVMe
}

// DiskCount returns the number of physical disks of the type.
func (t *InstanceType) DiskCount() int {
	n := 0
	for _, d := range t.Disks {
		n += d.Count
	}
	return n
}

// MaxImageNameLength bounds an image name, in the catalog and in the
// imageName filter of DescribeImages. [decision] 128 characters; image
// names are like "CentOS7.4-x86_64".
const MaxImageNameLength = 128

// Image is an installable operating system.
type Image struct {
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Catalog string `yaml:"catalog"` // centos, windows, ubuntu, debian, esxi
	OSType  string `yaml:"osType"`  // linux, windows
	// Type is PUBLIC_IMAGE or CUSTOM_IMAGE.
	Type string `yaml:"type"`
	// InstanceTypeIDs lists the types the image installs on.
	InstanceTypeIDs []string `yaml:"instanceTypes"`
	// CustomPartitions: whether partitions may be given with this image
	// (false for ESXi).
	CustomPartitions bool `yaml:"customPartitions"`
	// Source, SHA256 and Format say where the deploy agent fetches the
	// image from (docs/hardware.md, "Network boot"): an http(s) URL or a
	// file under the data dir, its lower-case hex SHA-256 and "raw". An
	// image without a source installs on simulated hosts only.
	Source string `yaml:"source"`
	SHA256 string `yaml:"sha256"`
	Format string `yaml:"format"`
}

// Offer is one instance type sold in one zone: its network offer, prices and
// the number of physical hosts (the stock).
type Offer struct {
	ZoneID         string `yaml:"zone"`
	InstanceTypeID string `yaml:"instanceType"`
	// Hosts is the number of physical hosts of this type in this zone.
	Hosts int `yaml:"hosts"`
	// InternetChargeTypes offered (ByBandwidth, ByTrafficPackage, ...).
	InternetChargeTypes  []string `yaml:"internetChargeTypes"`
	DefaultBandwidthMbps int      `yaml:"defaultBandwidthMbps"`
	// DefaultTrafficPackageTB is the free traffic package in TB.
	DefaultTrafficPackageTB float64 `yaml:"defaultTrafficPackageTb"`
	Prices                  Prices  `yaml:"prices"`
}

// OfferHostID names the n-th (1-based) simulated host of an offer's host
// count.
func OfferHostID(zoneID, instanceTypeID string, n int) string {
	return fmt.Sprintf("%s-%s-%04d", zoneID, instanceTypeID, n)
}

// offerHostNumber returns n when id is OfferHostID(zoneID, instanceTypeID, n)
// for some n ≥ 1.
func offerHostNumber(id, zoneID, instanceTypeID string) (int, bool) {
	digits, ok := strings.CutPrefix(id, zoneID+"-"+instanceTypeID+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || OfferHostID(zoneID, instanceTypeID, n) != id {
		return 0, false
	}
	return n, true
}

// CatalogHost is a physical server listed in the catalog with the BMC that
// powers it (docs/hardware.md). Its password is never written in the
// catalog: PasswordFile or PasswordEnv names where the server reads it at
// start, or `metalplane admin hosts update` stores it, sealed, in the
// database.
type CatalogHost struct {
	ID             string `yaml:"id"`
	ZoneID         string `yaml:"zone"`
	InstanceTypeID string `yaml:"instanceType"`
	// BMC is the controller's address, e.g. ipmi://admin@10.0.0.5:623 or
	// redfish+https://root@10.0.0.6/redfish/v1/Systems/1, without a
	// password.
	BMC string `yaml:"bmc"`
	// MAC is the address of the provisioning NIC (optional), in lower
	// case once loaded.
	MAC          string `yaml:"mac"`
	PasswordFile string `yaml:"passwordFile"`
	PasswordEnv  string `yaml:"passwordEnv"`
}

// Prices of an offer. Monthly prices apply to PREPAID, hourly to POSTPAID.
type Prices struct {
	InstanceMonthly Money `yaml:"instanceMonthly"`
	InstanceHourly  Money `yaml:"instanceHourly"`
	// Bandwidth per Mbps above the default bandwidth.
	BandwidthMonthlyPerMbps Money `yaml:"bandwidthMonthlyPerMbps"`
	BandwidthHourlyPerMbps  Money `yaml:"bandwidthHourlyPerMbps"`
	// Traffic per TB above the free package.
	TrafficPerTB Money `yaml:"trafficPerTb"`
	// Primary public IPv4.
	IPMonthly Money `yaml:"ipMonthly"`
	IPHourly  Money `yaml:"ipHourly"`
}

// FindZone returns the zone with the id.
func (c *Catalog) FindZone(id string) (*Zone, bool) {
	z, ok := c.zoneByID[id]
	return z, ok
}

// FindInstanceType returns the instance type with the id.
func (c *Catalog) FindInstanceType(id string) (*InstanceType, bool) {
	t, ok := c.typeByID[id]
	return t, ok
}

// FindImage returns the image with the id, of the catalog file or added
// on the database.
func (c *Catalog) FindImage(id string) (*Image, bool) {
	if i, ok := c.imageByID[id]; ok {
		return i, ok
	}
	if l := c.live.Load(); l != nil {
		i, ok := l.byID[id]
		return i, ok
	}
	return nil, false
}

// ImageList lists the images of the catalog file, then those added on the
// database.
func (c *Catalog) ImageList() []Image {
	l := c.live.Load()
	if l == nil {
		return c.Images
	}
	return append(slices.Clip(c.Images), l.images...)
}

// FindOffer returns the offer of the type in the zone.
func (c *Catalog) FindOffer(zoneID, instanceTypeID string) (*Offer, bool) {
	o, ok := c.offerByKey[offerKey{zoneID, instanceTypeID}]
	return o, ok
}

// ImageFitsType reports whether the image installs on the instance type.
func (i *Image) FitsType(instanceTypeID string) bool {
	for _, id := range i.InstanceTypeIDs {
		if id == instanceTypeID {
			return true
		}
	}
	return false
}
