package metalplane

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// lbCatalog is minimalCatalog with a load balancer offer in SEL-A.
const lbCatalog = minimalCatalog + `
loadBalancers:
  - zone: SEL-A
    chargeTypes: [POSTPAID]
    maxBandwidthMbps: 100
    specs:
      - {name: Standard, maxConnection: 100, cps: 10, qps: 20, monthly: 60.00, hourly: 0.10}
    prices: {bandwidthMonthlyPerMbps: 1.50, bandwidthHourlyPerMbps: 0.0025, vipMonthly: 5.00, vipHourly: 0.0083}
`

func TestLoadCatalogLoadBalancers(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog([]byte(lbCatalog))
	if err != nil {
		t.Fatal(err)
	}
	o, ok := c.FindLoadBalancerOffer("SEL-A")
	if !ok {
		t.Fatal("FindLoadBalancerOffer(SEL-A): got none")
	}
	if _, ok := c.FindLoadBalancerOffer("FRA-A"); ok {
		t.Error("FindLoadBalancerOffer(FRA-A): got an offer, want none")
	}
	spec, ok := o.FindSpec("Standard")
	if !ok {
		t.Fatal("FindSpec(Standard): got none")
	}
	// 0.10 + 10 × 0.0025 + 2 × 0.0083 an hour; 60 + 10 × 1.50 + 2 × 5 a month.
	p, perr := o.PriceOf(spec, 10, 2)
	if perr != nil || p.Hourly != 1000+250+166 || p.Monthly != 850000 {
		t.Errorf("PriceOf(Standard, 10 Mbps, 2 extra VIPs): got %+v %v, want 0.1416/h and 85.00/month", p, perr)
	}
	if zone, _ := c.FindZone("SEL-A"); !o.OffersCharge(zone, ChargeTypePostpaid) || o.OffersCharge(zone, ChargeTypePrepaid) {
		t.Error("OffersCharge: want POSTPAID only")
	}
	demo, err := LoadCatalog(DemoCatalog())
	if err != nil {
		t.Fatal(err)
	}
	if len(demo.LoadBalancers) != 3 {
		t.Errorf("demo catalog: got %d load balancer offers, want 3", len(demo.LoadBalancers))
	}
}

func TestLoadCatalogRejectsLoadBalancers(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, wantErr string }{
		{"unknown zone", "  - zone: SEL-A\n    chargeTypes", "  - zone: TYO-A\n    chargeTypes", `load balancer offer #1 (TYO-A): unknown zone`},
		{"unknown key", "maxBandwidthMbps: 100", "maxBandwidth: 100", "field maxBandwidth not found"},
		{"charge type the zone does not sell", "chargeTypes: [POSTPAID]\n    maxBandwidthMbps", "chargeTypes: [POSTPAID, MONTHLY]\n    maxBandwidthMbps", `"MONTHLY" is not one of`},
		{"bandwidth above 1024", "maxBandwidthMbps: 100", "maxBandwidthMbps: 1025", "maxBandwidthMbps must be between 1 and 1024"},
		{"bandwidth 0", "maxBandwidthMbps: 100", "maxBandwidthMbps: 0", "maxBandwidthMbps must be between 1 and 1024"},
		{"no specs", "    specs:\n      - {name: Standard, maxConnection: 100, cps: 10, qps: 20, monthly: 60.00, hourly: 0.10}\n", "    specs: []\n", "no specs"},
		{"bad spec name", "{name: Standard,", "{name: Stan dard,", "the name must be 1 to 64"},
		{"duplicate spec", "hourly: 0.10}\n", "hourly: 0.10}\n      - {name: Standard, maxConnection: 1, cps: 1, qps: 1}\n", "duplicate name"},
		{"zero capacity", "cps: 10,", "cps: 0,", "maxConnection, cps and qps must be positive"},
		{"negative price", "vipHourly: 0.0083", "vipHourly: -0.0083", "negative amounts are not allowed"},
		{"prices too large", "monthly: 60.00", "monthly: 30000000000000", "prices too large"},
		{"second offer", "vipHourly: 0.0083}\n", "vipHourly: 0.0083}\n  - {zone: SEL-A, maxBandwidthMbps: 1, specs: [{name: a, maxConnection: 1, cps: 1, qps: 1}]}\n", "a second load balancer offer"},
		{"zone without pools", "  - zone: SEL-A\n    chargeTypes", "  - zone: NOP-A\n    chargeTypes", "no public address pool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := lbCatalog
			if tt.name == "zone without pools" {
				data = strings.Replace(data, "instanceTypes:", "  - {id: NOP-A, name: No pools}\ninstanceTypes:", 1)
			}
			if !strings.Contains(data, tt.old) {
				t.Fatalf("test setup: no %q in the catalog", tt.old)
			}
			_, err := LoadCatalog([]byte(strings.Replace(data, tt.old, tt.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadCatalog: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidatePorts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       []int
		required bool
		want     []int
		code     Code
	}{
		{"sorted", []int{443, 80}, true, []int{80, 443}, ""},
		{"none, optional", nil, false, nil, ""},
		{"none, required", nil, true, nil, "MISSING_PARAMETER"},
		{"zero", []int{0}, true, nil, "INVALID_PARAMETER"},
		{"65536", []int{65536}, true, nil, "INVALID_PARAMETER"},
		{"65535", []int{65535}, true, []int{65535}, ""},
		{"twice", []int{80, 81, 80}, true, nil, "INVALID_PARAMETER"},
		{"too many", make([]int, MaxListenerPorts+1), true, nil, "INVALID_PARAMETER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidatePorts("portList", tt.in, tt.required)
			if tt.code != "" {
				if err == nil || err.Code != tt.code {
					t.Fatalf("got %v, %v; want %s", got, err, tt.code)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
			if back := ParsePorts(PortsText(got)); !slices.Equal(back, got) {
				t.Fatalf("PortsText/ParsePorts round trip: got %v, want %v", back, got)
			}
		})
	}
}

func TestValidateLoadBalancerName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"web-1.prod": true, "": false, "a b": false, "ü": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if err := ValidateLoadBalancerName("loadBalancerName", name); (err == nil) != ok {
			t.Errorf("ValidateLoadBalancerName(%q): got %v, want ok=%v", name, err, ok)
		}
	}
}

func TestHealthCheckValidate(t *testing.T) {
	t.Parallel()
	i := func(v int) *int { return &v }
	s := func(v string) *string { return &v }
	tests := []struct {
		name string
		hc   HealthCheck
		ok   bool
	}{
		{"empty", HealthCheck{}, true},
		{"http", HealthCheck{CheckType: s("HTTP"), HTTPCode: i(200), HTTPVersion: s("1.1"), HTTPCheckPath: s("/")}, true},
		{"bad type", HealthCheck{CheckType: s("ICMP")}, false},
		{"port 65536", HealthCheck{CheckPort: i(65536)}, false},
		{"negative timeout", HealthCheck{CheckConnectTimeout: i(-1)}, false},
		{"code 600", HealthCheck{HTTPCode: i(600)}, false},
		{"version 2", HealthCheck{HTTPVersion: s("2")}, false},
		{"long path", HealthCheck{HTTPCheckPath: s(strings.Repeat("p", MaxHealthCheckPathLength+1))}, false},
	}
	for _, tt := range tests {
		if err := tt.hc.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestLoadBalancerHoursDue pins the POSTPAID clock: whole hours from the
// last one billed, the hour in progress only when rounding up.
func TestLoadBalancerHoursDue(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2031, 3, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		upTo    time.Duration
		roundUp bool
		want    int
	}{
		{"nothing ended", 59 * time.Minute, false, 0},
		{"one ended", time.Hour, false, 1},
		{"two and a half", 150 * time.Minute, false, 2},
		{"two and a half, rounded up", 150 * time.Minute, true, 3},
		{"exactly two, rounded up", 2 * time.Hour, true, 2},
		{"at the start, rounded up", 0, true, 0},
	}
	for _, tt := range tests {
		got := LoadBalancerHoursDue(t0, t0.Add(tt.upTo), tt.roundUp)
		if len(got) != tt.want {
			t.Errorf("%s: got %d hours, want %d", tt.name, len(got), tt.want)
			continue
		}
		for k, h := range got {
			if !h.Equal(t0.Add(time.Duration(k) * time.Hour)) {
				t.Errorf("%s: hour %d starts at %s", tt.name, k, h)
			}
		}
	}
}
