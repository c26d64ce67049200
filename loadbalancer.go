package metalplane

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// LoadBalancer is a layer-4 load balancer of a team in one zone (the bmc
// load balancer actions, docs/loadbalancers.md). It answers on its VIPs,
// public addresses of the zone's pools it holds (public_ips.held_by), and
// forwards the ports of its listeners to their backends, instances of the
// same team.
//
// [decision] A load balancer needs nothing from the hardware here, so it is
// RUNNING as soon as it is bought (never CREATING); TerminateLoadBalancer
// moves it to RECYCLE, where its VIPs stay held, RestoreLoadBalancer back
// to RUNNING, and ReleaseLoadBalancer (or 24 h in the recycle bin) gives
// its addresses back to the pool and removes it from every answer.
type LoadBalancer struct {
	ID              string
	TeamID          string
	ZoneID          string
	Name            string
	SpecName        string
	ChargeType      string
	Period          int
	IPType          string
	BandwidthMbps   int
	Status          string
	ResourceGroupID string
	SubnetID        string
	MasterIP        string
	BackupIP        string
	Tags            []Tag
	OrderNumber     string
	HourlyPrice     Money
	MonthlyPrice    Money
	CreatedAt       time.Time
	ExpiredTime     time.Time // zero for POSTPAID
	RecycledAt      time.Time // zero outside the recycle bin
	BilledUntil     time.Time // POSTPAID: hours before it are charged
}

// Load balancer states.
const (
	LoadBalancerRunning = "RUNNING"
	LoadBalancerRecycle = "RECYCLE"
)

// LoadBalancerVIP is one public address of a load balancer.
type LoadBalancerVIP struct {
	ID             string
	LoadBalancerID string
	Address        string
	// Type is VIPDefault for the address bought with the load balancer,
	// VIPExtra for the others (vipCount, CreateLoadBalancerVIPs).
	Type      string
	CreatedAt time.Time
}

// VIP types (LoadBalancerIp.type) and the one state of a held VIP.
const (
	VIPDefault  = "DEFAULT"
	VIPExtra    = "EXTRA"
	VIPAssigned = "ASSIGNED"
)

// IP types of a load balancer (ipType).
const (
	LoadBalancerIPv4 = "IPv4"
	LoadBalancerIPv6 = "IPv6"
)

// LoadBalancerIPTypes lists every ipType.
var LoadBalancerIPTypes = []string{LoadBalancerIPv4, LoadBalancerIPv6}

// LoadBalancerFamily returns the public_ips family (4 or 6) of an ipType.
func LoadBalancerFamily(ipType string) int {
	if ipType == LoadBalancerIPv6 {
		return 6
	}
	return 4
}

// Listener forwards ports of a load balancer's VIPs to its backends.
type Listener struct {
	ID              string
	LoadBalancerID  string
	TeamID          string
	Name            string
	Ports           []int
	Protocol        string
	BackendProtocol string
	Scheduler       string
	Kind            string
	HealthCheck     HealthCheck
	Notify          Notify
	CreatedAt       time.Time
}

// Backend is an instance a listener forwards to, on its ports (the
// listener's when none are given) with a weight.
type Backend struct {
	ID             string
	ListenerID     string
	LoadBalancerID string
	TeamID         string
	InstanceID     string
	InstanceName   string // read with the backend, not stored
	Name           string
	Ports          []int
	Weight         int
	CreatedAt      time.Time
}

// ListenerRunning and BackendRunning are the one state of a listener and
// of a backend: neither needs hardware work here, so each is in service
// from the call that creates it.
const (
	ListenerRunning = "RUNNING"
	BackendRunning  = "RUNNING"
)

// Listener settings. [decision] Kind accepts the values of both pages
// (CreateListener lists FNAT and DR, ModifyListenerAttribute NAT and DR);
// a listener created without one forwards with FNAT, without a scheduler
// with wrr (the documented default).
var (
	ListenerProtocols  = []string{"TCP", "UDP"}
	ListenerSchedulers = []string{"wrr", "rr"}
	ListenerKinds      = []string{"FNAT", "NAT", "DR"}
	HealthCheckTypes   = []string{"TCP", "HTTP", "MISC"}
)

// Defaults of a new listener and backend.
const (
	DefaultListenerScheduler = "wrr"
	DefaultListenerKind      = "FNAT"
	DefaultBackendWeight     = 100
)

// HealthCheck is a listener's health check, stored and answered as given
// (the sim driver checks nothing).
type HealthCheck struct {
	CheckEnabled          *bool   `json:"checkEnabled,omitempty"`
	CheckType             *string `json:"checkType,omitempty"`
	CheckConnectTimeout   *int    `json:"checkConnectTimeout,omitempty"`
	CheckRetry            *int    `json:"checkRetry,omitempty"`
	CheckDelayBeforeRetry *int    `json:"checkDelayBeforeRetry,omitempty"`
	CheckIntervalTime     *int    `json:"checkIntervalTime,omitempty"`
	CheckPort             *int    `json:"checkPort,omitempty"`
	HTTPVersion           *string `json:"httpVersion,omitempty"`
	HTTPCheckPath         *string `json:"httpCheckPath,omitempty"`
	HTTPCheckDigest       *int    `json:"httpCheckDigest,omitempty"`
	HTTPCode              *int    `json:"httpCode,omitempty"`
	MiscCheckPath         *string `json:"miscCheckPath,omitempty"`
	MiscTimeout           *int    `json:"miscTimeout,omitempty"`
}

// Notify is a listener's health alarm.
type Notify struct {
	Enable     *bool   `json:"enable,omitempty"`
	APIAddress *string `json:"apiAddress,omitempty"`
}

// Bounds of the load balancer actions [decision]: no source states them;
// they keep one load balancer's answer small.
const (
	// MaxLoadBalancerNameLength bounds loadBalancerName, listenerName and
	// backendName (docs: "up to 64 characters").
	MaxLoadBalancerNameLength = 64
	// MaxLoadBalancerVIPs bounds the VIPs of one load balancer, the
	// default one included.
	MaxLoadBalancerVIPs = 10
	// MaxListenersPerLoadBalancer bounds the listeners of one load
	// balancer.
	MaxListenersPerLoadBalancer = 50
	// MaxBackendsPerListener bounds the backends of one listener.
	MaxBackendsPerListener = 100
	// MaxListenerPorts bounds portList.
	MaxListenerPorts = 100
	// MaxBackendWeight bounds weight; 0 takes a backend out of rotation.
	MaxBackendWeight = 100
	// MaxLoadBalancerBandwidthMbps is the documented bandwidth range's top
	// ("Value range: [1,1024]"); a zone may sell less.
	MaxLoadBalancerBandwidthMbps = 1024
	// MaxHealthCheckPathLength bounds httpCheckPath and miscCheckPath;
	// MaxNotifyAddressLength bounds notify.apiAddress.
	MaxHealthCheckPathLength = 256
	MaxNotifyAddressLength   = 1024
	// MaxHealthCheckSeconds bounds every timing of a health check.
	MaxHealthCheckSeconds = 3600
)

// ValidateLoadBalancerName checks a loadBalancerName, listenerName or
// backendName: 1 to 64 letters, digits, '-' and '.' (docs). Anything else
// answers INVALID_PARAMETER.
func ValidateLoadBalancerName(field, name string) *Error {
	ok := len(name) >= 1 && len(name) <= MaxLoadBalancerNameLength
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
	if !ok {
		return Errorf("INVALID_PARAMETER", "%s must be 1 to %d letters, digits, '-' or '.'.", field, MaxLoadBalancerNameLength)
	}
	return nil
}

// ValidatePorts checks a portList and returns it sorted. [decision] Ports
// are 1–65535 (the docs' 0 names no port), at most MaxListenerPorts, none
// twice; required says whether an empty list is refused.
func ValidatePorts(field string, ports []int, required bool) ([]int, *Error) {
	if len(ports) == 0 {
		if required {
			return nil, Errorf("MISSING_PARAMETER", "%s is required.", field)
		}
		return nil, nil
	}
	if err := CheckCount(field, len(ports), MaxListenerPorts); err != nil {
		return nil, err
	}
	out := slices.Clone(ports)
	slices.Sort(out)
	for i, p := range out {
		if p < 1 || p > 65535 {
			return nil, Errorf("INVALID_PARAMETER", "%s: port %d is not between 1 and 65535.", field, p)
		}
		if i > 0 && out[i-1] == p {
			return nil, Errorf("INVALID_PARAMETER", "%s: port %d is given twice.", field, p)
		}
	}
	return out, nil
}

// PortsText is the stored and answered form of a port list: "80,443".
func PortsText(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// ParsePorts reads PortsText's form back; "" is no port.
func ParsePorts(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if p, err := strconv.Atoi(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ValidateWeight checks a backend weight: 0 to MaxBackendWeight.
func ValidateWeight(w int) *Error {
	if w < 0 || w > MaxBackendWeight {
		return Errorf("INVALID_PARAMETER", "weight must be between 0 and %d.", MaxBackendWeight)
	}
	return nil
}

// Validate checks a health check's values: a known checkType, timings of 0
// to MaxHealthCheckSeconds, a port of 0 (the backend's) to 65535, an HTTP
// code of 100 to 599 and bounded paths.
func (h *HealthCheck) Validate() *Error {
	if h == nil {
		return nil
	}
	if h.CheckType != nil && !slices.Contains(HealthCheckTypes, *h.CheckType) {
		return Errorf("INVALID_PARAMETER", "healthCheck.checkType must be one of %s.", strings.Join(HealthCheckTypes, ", "))
	}
	for _, f := range []struct {
		name string
		v    *int
		max  int
	}{
		{"checkConnectTimeout", h.CheckConnectTimeout, MaxHealthCheckSeconds}, {"checkRetry", h.CheckRetry, 100},
		{"checkDelayBeforeRetry", h.CheckDelayBeforeRetry, MaxHealthCheckSeconds}, {"checkIntervalTime", h.CheckIntervalTime, MaxHealthCheckSeconds},
		{"checkPort", h.CheckPort, 65535}, {"httpCheckDigest", h.HTTPCheckDigest, 1}, {"miscTimeout", h.MiscTimeout, MaxHealthCheckSeconds},
	} {
		if f.v != nil && (*f.v < 0 || *f.v > f.max) {
			return Errorf("INVALID_PARAMETER", "healthCheck.%s must be between 0 and %d.", f.name, f.max)
		}
	}
	if h.HTTPCode != nil && (*h.HTTPCode < 100 || *h.HTTPCode > 599) {
		return Errorf("INVALID_PARAMETER", "healthCheck.httpCode must be an HTTP status between 100 and 599.")
	}
	if h.HTTPVersion != nil && *h.HTTPVersion != "" && *h.HTTPVersion != "1.0" && *h.HTTPVersion != "1.1" {
		return Errorf("INVALID_PARAMETER", "healthCheck.httpVersion must be 1.0 or 1.1.")
	}
	return FirstError(CheckLength("healthCheck.httpCheckPath", h.HTTPCheckPath, MaxHealthCheckPathLength),
		CheckLength("healthCheck.miscCheckPath", h.MiscCheckPath, MaxHealthCheckPathLength))
}

// Validate checks a notify: an address of at most MaxNotifyAddressLength.
func (n *Notify) Validate() *Error {
	if n == nil {
		return nil
	}
	return CheckLength("notify.apiAddress", n.APIAddress, MaxNotifyAddressLength)
}

// CheckLoadBalancerTags checks the tags of CreateLoadBalancer with the rule
// of CreateInstances' tags.
func CheckLoadBalancerTags(in *TagAssociation) ([]Tag, *Error) {
	return checkTags(in)
}

// LoadBalancerOffer is what a zone sells of load balancers (the catalog's
// loadBalancers section): its specs, the bandwidth range and the prices.
type LoadBalancerOffer struct {
	ZoneID string `yaml:"zone"`
	// ChargeTypes offered; empty means the zone's.
	ChargeTypes      []string           `yaml:"chargeTypes"`
	MaxBandwidthMbps int                `yaml:"maxBandwidthMbps"`
	Specs            []LoadBalancerSpec `yaml:"specs"`
	Prices           LoadBalancerPrices `yaml:"prices"`
	specByName       map[string]*LoadBalancerSpec
}

// LoadBalancerSpec is one size of load balancer (DescribeLoadBalancerSpecs)
// with its own prices.
type LoadBalancerSpec struct {
	Name          string `yaml:"name"`
	MaxConnection int    `yaml:"maxConnection"`
	CPS           int    `yaml:"cps"`
	QPS           int    `yaml:"qps"`
	Monthly       Money  `yaml:"monthly"`
	Hourly        Money  `yaml:"hourly"`
}

// LoadBalancerPrices are the prices added to a spec's: per Mbps of
// bandwidth and per extra VIP (the default VIP is in the spec's price).
type LoadBalancerPrices struct {
	BandwidthMonthlyPerMbps Money `yaml:"bandwidthMonthlyPerMbps"`
	BandwidthHourlyPerMbps  Money `yaml:"bandwidthHourlyPerMbps"`
	VIPMonthly              Money `yaml:"vipMonthly"`
	VIPHourly               Money `yaml:"vipHourly"`
}

// FindSpec returns the offer's spec with the name.
func (o *LoadBalancerOffer) FindSpec(name string) (*LoadBalancerSpec, bool) {
	s, ok := o.specByName[name]
	return s, ok
}

// OffersCharge reports whether the offer sells with the charge type in
// zone z.
func (o *LoadBalancerOffer) OffersCharge(z *Zone, chargeType string) bool {
	if len(o.ChargeTypes) > 0 {
		return slices.Contains(o.ChargeTypes, chargeType)
	}
	return len(z.ChargeTypes) == 0 || slices.Contains(z.ChargeTypes, chargeType)
}

// LoadBalancerPrice is what a load balancer costs: an hour (POSTPAID) and
// a month (PREPAID) of its spec, its bandwidth and its extra VIPs.
type LoadBalancerPrice struct {
	Hourly  Money
	Monthly Money
}

// PriceOf returns the price of spec with bandwidthMbps and extraVIPs
// (VIPs beyond the default one). A price that does not fit in a Money
// answers INVALID_PARAMETER; the catalog loader refuses offers where the
// bounds of the API could reach it.
func (o *LoadBalancerOffer) PriceOf(spec *LoadBalancerSpec, bandwidthMbps, extraVIPs int) (LoadBalancerPrice, *Error) {
	var c moneyCalc
	p := LoadBalancerPrice{
		Hourly: c.add(spec.Hourly, c.times(o.Prices.BandwidthHourlyPerMbps, int64(bandwidthMbps)),
			c.times(o.Prices.VIPHourly, int64(extraVIPs))),
		Monthly: c.add(spec.Monthly, c.times(o.Prices.BandwidthMonthlyPerMbps, int64(bandwidthMbps)),
			c.times(o.Prices.VIPMonthly, int64(extraVIPs))),
	}
	if c.overflow {
		return LoadBalancerPrice{}, errAmountTooLarge()
	}
	return p, nil
}

// PeriodTotal returns the PREPAID charge of months months at monthly, or
// INVALID_PARAMETER when it does not fit in a Money. (error, not *Error:
// its callers assign it to an error variable, where a nil *Error would
// not be nil.)
func PeriodTotal(monthly Money, months int) (Money, error) {
	t, ok := monthly.Times(int64(months))
	if !ok {
		return 0, errAmountTooLarge()
	}
	return t, nil
}

// LedgerLoadBalancerHour is the ledger kind of one POSTPAID hour of a load
// balancer; its PREPAID purchases, upgrades and restores are
// LedgerPrepaidCharge rows of an order (order_number).
const LedgerLoadBalancerHour = "lb_hourly_charge"

// LoadBalancerHoursDue returns the start times of the whole POSTPAID hours
// of a running load balancer that have ended by now, from billedUntil on
// [decision]: hour after hour from its purchase; the hour it enters the
// recycle bin in is charged in full at that moment (upTo rounds up), and
// after RestoreLoadBalancer billing resumes at the restore, or at the end
// of the hour already paid if that is later.
func LoadBalancerHoursDue(billedUntil, upTo time.Time, roundUp bool) []time.Time {
	var out []time.Time
	for h := billedUntil; ; h = h.Add(time.Hour) {
		end := h.Add(time.Hour)
		if end.After(upTo) && !(roundUp && h.Before(upTo)) {
			return out
		}
		out = append(out, h)
	}
}

// NewLoadBalancerID returns a load balancer ID. The family's IDs are a
// prefix and 16 digits, so that one kind is never taken for another.
func NewLoadBalancerID() string { return "lb-" + numericID(16) }

// NewListenerID returns a listener ID.
func NewListenerID() string { return "lsn-" + numericID(16) }

// NewBackendID returns a backend ID.
func NewBackendID() string { return "lbb-" + numericID(16) }

// NewVIPID returns a VIP ID.
func NewVIPID() string { return "vip-" + numericID(16) }
