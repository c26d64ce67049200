package metalplane

import (
	"math"
	"math/big"
	"testing"
	"time"
)

// pricingOffer has the demo catalog's SEL-A M6C prices.
func pricingOffer() *Offer {
	return &Offer{ZoneID: "SEL-A", InstanceTypeID: "M6C", DefaultBandwidthMbps: 20, DefaultTrafficPackageTB: 10,
		InternetChargeTypes: []string{InternetByBandwidth, InternetByTrafficPackage},
		Prices: Prices{InstanceMonthly: 4990000, InstanceHourly: 8317, BandwidthMonthlyPerMbps: 20000, BandwidthHourlyPerMbps: 33,
			TrafficPerTB: 120000, IPMonthly: 30000, IPHourly: 50}}
}

// wantCode fails unless err carries code ("" means no error).
func wantCode(t *testing.T, err error, code Code) {
	t.Helper()
	switch {
	case code == "" && err != nil:
		t.Fatalf("got error %v, want none", err)
	case code != "" && err == nil:
		t.Fatalf("got no error, want %s", code)
	case code != "" && ErrorCode(err) != code:
		t.Fatalf("got %v, want %s", err, code)
	}
}

func TestPriceOf(t *testing.T) {
	huge := pricingOffer()
	huge.Prices.InstanceMonthly = math.MaxInt64 / 2
	huge.Prices.BandwidthHourlyPerMbps = math.MaxInt64 / 1000
	for _, tc := range []struct {
		name     string
		in       PriceInput
		want     Quote
		wantCode Code
	}{
		{name: "flat bandwidth, one month",
			in:   PriceInput{ChargeType: ChargeTypePrepaid, Period: 1, InternetChargeType: InternetByBandwidth, BandwidthMbps: 30},
			want: Quote{Instance: 4990000, Bandwidth: 200000, IP: 30000}},
		{name: "traffic package, 36 months",
			in:   PriceInput{ChargeType: ChargeTypePrepaid, Period: 36, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: 12.5},
			want: Quote{Instance: 36 * 4990000, Traffic: 36 * 300000, IP: 36 * 30000}},
		{name: "largest traffic package, 36 months",
			in:   PriceInput{ChargeType: ChargeTypePrepaid, Period: 36, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: MaxTrafficPackageTB},
			want: Quote{Instance: 36 * 4990000, Traffic: 36 * 990 * 120000, IP: 36 * 30000}},
		{name: "issue 11: PREPAID package of 77e9 TB",
			in:       PriceInput{ChargeType: ChargeTypePrepaid, Period: 1, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: 77000000000},
			wantCode: "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
		{name: "issue 11: POSTPAID package of 77e9 TB",
			in:       PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: 77000000000},
			wantCode: "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
		{name: "package just above the largest",
			in:       PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: MaxTrafficPackageTB + 0.05},
			wantCode: "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
		{name: "infinite package",
			in:       PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: math.Inf(1)},
			wantCode: "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
		{name: "negative package",
			in:       PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: -1},
			wantCode: "INVALID_PARAMETER"},
		{name: "NaN package",
			in:       PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: math.NaN()},
			wantCode: "INVALID_PARAMETER"},
		{name: "package ignored when not billed by package",
			in:   PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByBandwidth, BandwidthMbps: 20, TrafficPackageTB: 77000000000},
			want: Quote{Instance: 8317, IP: 50}},
		{name: "POSTPAID traffic per hour",
			in:   PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: 100},
			want: Quote{Instance: 8317, Traffic: 90 * 120000 / HoursPerMonth, IP: 50}},
		{name: "negative bandwidth costs nothing",
			in:   PriceInput{ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByBandwidth, BandwidthMbps: math.MinInt},
			want: Quote{Instance: 8317, IP: 50}},
		{name: "period 0", in: PriceInput{ChargeType: ChargeTypePrepaid, InternetChargeType: InternetByBandwidth}, wantCode: "INVALID_PARAMETER"},
		{name: "period above the longest",
			in:       PriceInput{ChargeType: ChargeTypePrepaid, Period: MaxPrepaidPeriod + 1, InternetChargeType: InternetByBandwidth},
			wantCode: "INVALID_PARAMETER"},
		{name: "instance price times months overflows",
			in:       PriceInput{Offer: huge, ChargeType: ChargeTypePrepaid, Period: 3, InternetChargeType: InternetByBandwidth},
			wantCode: "INVALID_PARAMETER"},
		{name: "bandwidth price times Mbps overflows",
			in:       PriceInput{Offer: huge, ChargeType: ChargeTypePostpaid, InternetChargeType: InternetByBandwidth, BandwidthMbps: 2000},
			wantCode: "INVALID_PARAMETER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Offer == nil {
				tc.in.Offer = pricingOffer()
			}
			got, err := PriceOf(tc.in)
			wantCode(t, err, tc.wantCode)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestQuoteTotal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		q        Quote
		want     Money
		wantCode Code
	}{
		{"parts add up", Quote{Instance: 1, Bandwidth: 2, Traffic: 3, IP: 4}, 10, ""},
		{"up to the largest", Quote{Instance: math.MaxInt64 - 3, Bandwidth: 1, Traffic: 1, IP: 1}, math.MaxInt64, ""},
		{"past the largest", Quote{Instance: math.MaxInt64, IP: 1}, 0, "INVALID_PARAMETER"},
		{"two large parts", Quote{Instance: math.MaxInt64/2 + 1, Traffic: math.MaxInt64/2 + 1}, 0, "INVALID_PARAMETER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.q.Total()
			wantCode(t, err, tc.wantCode)
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCreatePlanTotal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		plan     CreatePlan
		want     Money
		wantCode Code
	}{
		{"amount times price", CreatePlan{ChargeType: ChargeTypePrepaid, Amount: 100, Price: Quote{Instance: 5000000, IP: 30000}}, 503000000, ""},
		{"POSTPAID debits nothing now", CreatePlan{ChargeType: ChargeTypePostpaid, Amount: 100, Price: Quote{Instance: math.MaxInt64}}, 0, ""},
		{"a voucher pays", CreatePlan{ChargeType: ChargeTypePrepaid, UsePocVoucher: true, Amount: 1, Price: Quote{Instance: 5}}, 0, ""},
		{"amount times price overflows", CreatePlan{ChargeType: ChargeTypePrepaid, Amount: 100, Price: Quote{Instance: math.MaxInt64 / 99}}, 0, "INVALID_PARAMETER"},
		{"price overflows", CreatePlan{ChargeType: ChargeTypePrepaid, Amount: 1, Price: Quote{Instance: math.MaxInt64, IP: 1}}, 0, "INVALID_PARAMETER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.plan.Total()
			wantCode(t, err, tc.wantCode)
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCheckDebit(t *testing.T) {
	for _, tc := range []struct {
		name              string
		amount, listPrice Money
		ok                bool
	}{
		{"a charge", 10, 10, true},
		{"free offer", 0, 0, true},
		{"voucher or unknown list price", 0, 0, true},
		{"zero while the list price is positive", 0, 4990000, false},
		{"negative", -1, 0, false},
		{"issue 11's wrapped total", -9206744069889600, 4990000, false},
		{"smallest", math.MinInt64, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckDebit("test", tc.amount, tc.listPrice); (err == nil) != tc.ok {
				t.Errorf("CheckDebit(%d, %d): got %v, want ok=%v", tc.amount, tc.listPrice, err, tc.ok)
			}
		})
	}
}

func TestShiftPeriodPrice(t *testing.T) {
	for _, tc := range []struct {
		name         string
		price, delta Money
		want         Money
		wantCode     Code
	}{
		{"upgrade", 100, 50, 150, ""},
		{"downgrade", 100, -50, 50, ""},
		{"downgrade below zero stops at zero", 100, -500, 0, ""},
		{"up to the largest", math.MaxInt64 - 1, 1, math.MaxInt64, ""},
		{"past the largest", math.MaxInt64, 1, 0, "INVALID_PARAMETER"},
		{"past the smallest", math.MinInt64, -1, 0, "INVALID_PARAMETER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ShiftPeriodPrice(tc.price, tc.delta)
			wantCode(t, err, tc.wantCode)
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestProrateUpgradeLargeAmounts checks the 128-bit product: diff ×
// remaining seconds overflows 64 bits for large diffs, the result never
// does and must be exact.
func TestProrateUpgradeLargeAmounts(t *testing.T) {
	expired := time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)
	total := int64(expired.Sub(expired.AddDate(0, -36, 0)) / time.Second)
	for _, tc := range []struct {
		name string
		diff Money
		left time.Duration
	}{
		{"largest diff, whole period", math.MaxInt64, time.Duration(total) * time.Second},
		{"largest diff, a second left", math.MaxInt64, time.Second},
		{"largest diff, half left", math.MaxInt64, time.Duration(total/2) * time.Second},
		{"a large diff, a third left", 1 << 50, time.Duration(total/3) * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remaining := int64(tc.left / time.Second)
			want := new(big.Int).Mul(big.NewInt(int64(tc.diff)), big.NewInt(remaining))
			want.Add(want, big.NewInt(total/2))
			want.Quo(want, big.NewInt(total))
			got := ProrateUpgrade(tc.diff, 36, expired, expired.Add(-tc.left))
			if !want.IsInt64() || int64(got) != want.Int64() {
				t.Errorf("got %d, want %s", got, want)
			}
		})
	}
	if got := ProrateUpgrade(-5, 1, expired, expired.Add(-time.Hour)); got != 0 {
		t.Errorf("negative diff: got %d, want 0 (a downgrade is never charged)", got)
	}
}

// TestRenewalOfAnOutOfBoundsInstance: an instance stored before the bounds
// existed (issue 11's package of 77e9 TB) is refused a renewal with a
// parameter error instead of being priced at a wrapped, negative amount.
func TestRenewalOfAnOutOfBoundsInstance(t *testing.T) {
	cat, err := LoadCatalog(DemoCatalog())
	if err != nil {
		t.Fatal(err)
	}
	in := &Instance{ID: "i-1", ZoneID: "SEL-A", InstanceTypeID: "M6C", ChargeType: ChargeTypePrepaid, Period: 1,
		InternetChargeType: InternetByTrafficPackage, TrafficPackageTB: 77000000000}
	_, err = RenewalPrice(cat, in)
	wantCode(t, err, "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED")
	_, err = PlanInternetChange(in, mustOffer(t, cat, "SEL-A", "M6C"), InternetChangeRequest{Kind: ChangeTraffic, TrafficPackageTB: 20}, time.Now())
	wantCode(t, err, "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED")

	in.TrafficPackageTB = 20
	price, err := RenewalPrice(cat, in)
	if err != nil || price <= 0 {
		t.Fatalf("in bounds: got %s, %v, want a positive price", price, err)
	}
}

func mustOffer(t *testing.T, cat *Catalog, zone, typ string) *Offer {
	t.Helper()
	o, ok := cat.FindOffer(zone, typ)
	if !ok {
		t.Fatalf("no offer for %s in %s", typ, zone)
	}
	return o
}
