package metalplane

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateEIPOrder(t *testing.T) {
	t.Parallel()
	sel := &Zone{ID: "SEL-A", EIPPrices: &AddressPrices{Monthly: 30000, Hourly: 50}, DdosIPPrices: &AddressPrices{Monthly: 500000, Hourly: 833}}
	prepaidOnly := &Zone{ID: "SAO-A", ChargeTypes: []string{ChargeTypePrepaid}, EIPPrices: &AddressPrices{Monthly: 30000, Hourly: 50}}
	bare := &Zone{ID: "FRA-A"}
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	tests := []struct {
		name     string
		kind     AddressKind
		zone     *Zone
		in       EIPOrderInput
		vouchers int
		wantCode Code
		want     EIPOrder // checked when wantCode is ""
	}{
		{name: "no charge type", zone: sel, in: EIPOrderInput{}, wantCode: "MISSING_PARAMETER"},
		{name: "bad charge type", zone: sel, in: EIPOrderInput{ChargeType: s("HOURLY")}, wantCode: "INVALID_PARAMETER"},
		{name: "zone sells no EIPs", zone: bare, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(1)}, wantCode: "INVALID_EIP_TYPE_ZONE_NO_SELL"},
		{name: "zone sells no DDoS IPs", kind: KindDdosIP, zone: prepaidOnly, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(1)}, wantCode: "INVALID_DDOS_IP_TYPE_ZONE_NO_SELL"},
		{name: "POSTPAID not in the zone", zone: prepaidOnly, in: EIPOrderInput{ChargeType: s("POSTPAID"), PostpaidAllowed: true}, wantCode: "INVALID_CHARGE_TYPE_NOT_SUPPORT"},
		{name: "POSTPAID not for the account", zone: sel, in: EIPOrderInput{ChargeType: s("POSTPAID")}, wantCode: "INVALID_CHARGE_TYPE_NOT_SUPPORT"},
		{name: "PREPAID without period", zone: sel, in: EIPOrderInput{ChargeType: s("PREPAID")}, wantCode: "MISSING_PARAMETER"},
		{name: "period 0", zone: sel, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(0)}, wantCode: "INVALID_PARAMETER"},
		{name: "period 37", zone: sel, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(MaxPrepaidPeriod + 1)}, wantCode: "INVALID_PARAMETER"},
		{name: "amount 0", zone: sel, in: EIPOrderInput{ChargeType: s("POSTPAID"), PostpaidAllowed: true, Amount: n(0)}, wantCode: "INVALID_PARAMETER"},
		{name: "amount 101", zone: sel, in: EIPOrderInput{ChargeType: s("POSTPAID"), PostpaidAllowed: true, Amount: n(MaxEIPAmount + 1)}, wantCode: "INVALID_PARAMETER"},
		{name: "netmask 31", zone: sel, in: EIPOrderInput{ChargeType: s("POSTPAID"), PostpaidAllowed: true, Netmask: n(31)}, wantCode: "INVALID_PARAMETER"},
		{name: "duplicate tag keys", zone: sel, in: EIPOrderInput{ChargeType: s("POSTPAID"), PostpaidAllowed: true,
			Tags: &TagAssociation{Tags: []Tag{{Key: s("a"), Value: s("1")}, {Key: s("a"), Value: s("2")}}}}, wantCode: "INVALID_PARAMETER"},
		{name: "voucher without one", zone: sel, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(1), UsePocVoucher: true}, wantCode: "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND"},
		{name: "PREPAID 3 × 2 months", zone: sel, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(2), Amount: n(3), Netmask: n(32)},
			want: EIPOrder{Kind: KindEIP, ChargeType: "PREPAID", Period: 2, Amount: 3, UnitPrice: 60000, Total: 180000}},
		{name: "PREPAID paid by a voucher", zone: sel, in: EIPOrderInput{ChargeType: s("PREPAID"), Period: n(1), UsePocVoucher: true}, vouchers: 1,
			want: EIPOrder{Kind: KindEIP, ChargeType: "PREPAID", Period: 1, Amount: 1, UsePocVoucher: true, UnitPrice: 30000, Total: 0}},
		{name: "POSTPAID DDoS IP", kind: KindDdosIP, zone: sel, in: EIPOrderInput{ChargeType: s("POSTPAID"), PostpaidAllowed: true},
			want: EIPOrder{Kind: KindDdosIP, ChargeType: "POSTPAID", Amount: 1, UnitPrice: 833}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kind := tt.kind
			if kind == "" {
				kind = KindEIP
			}
			got, err := ValidateEIPOrder(kind, tt.zone, tt.in, tt.vouchers)
			if tt.wantCode != "" {
				if err == nil || err.Code != tt.wantCode {
					t.Fatalf("got %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want an order", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Fatalf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEIPSellStatus(t *testing.T) {
	t.Parallel()
	for free, want := range map[int]string{0: "SOLD_OUT", 1: "SELL_SHORTAGE", 9: "SELL_SHORTAGE", 10: "SELL", 2000: "SELL"} {
		if got := EIPSellStatus(free); got != want {
			t.Errorf("EIPSellStatus(%d): got %s, want %s", free, got, want)
		}
	}
}

func TestAddressKindCodes(t *testing.T) {
	t.Parallel()
	// Every pattern the store and handlers use names a code of the table
	// for both kinds (Errorf panics otherwise), except the one limit code
	// only elastic IPs have.
	for _, k := range []AddressKind{KindEIP, KindDdosIP} {
		for _, p := range []string{"INVALID_{K}_NOT_FOUND", "INVALID_{K}_TYPE_ZONE_NO_SELL", "OPERATION_DENIED_{K}_SUBSCRIPTION", "OPERATION_DENIED_{K}_RECYCLED",
			"OPERATION_DENIED_{K}_NOT_RECYCLED", "OPERATION_DENIED_{K}_ZONE_NOT_SAME", "OPERATION_DENIED_{K}_STATUS_NOT_AVAILABLE",
			"OPERATION_DENIED_{K}_ESXI_INSTANCE_ASSIGN", "OPERATION_DENIED_{K}_STATUS_NOT_SUPPORT"} {
			if c := k.Code(p); !c.Known() || strings.Contains(string(c), "{K}") {
				t.Errorf("%s %s: %s is not in the error table", k, p, c)
			}
		}
	}
}

func TestLoadCatalogAddressPrices(t *testing.T) {
	t.Parallel()
	c := loadDemo(t)
	sel, _ := c.FindZone("SEL-A")
	if p, ok := sel.AddressPrices(KindEIP); !ok || p.Monthly != 30000 || p.Hourly != 50 {
		t.Errorf("SEL-A EIP prices: got %+v %v, want 3.00 a month and 0.0050 an hour", p, ok)
	}
	sao, _ := c.FindZone("SAO-A")
	if _, ok := sao.AddressPrices(KindEIP); ok {
		t.Error("SAO-A: got EIP prices, want none (not sold)")
	}
	for _, tt := range []struct{ name, old, new, wantErr string }{
		{"unknown field", "ipv4Pools: [198.18.1.0/24]", "ipv4Pools: [198.18.1.0/24]\n    eipPrices: {monthly: 1, hourl: 1}", "field hourl not found"},
		{"negative", "ipv4Pools: [198.18.1.0/24]", "ipv4Pools: [198.18.1.0/24]\n    eipPrices: {monthly: -1, hourly: 1}", "negative"},
		{"too large", "ipv4Pools: [198.18.1.0/24]", "ipv4Pools: [198.18.1.0/24]\n    ddosIpPrices: {monthly: 900000000000000, hourly: 1}", "prices too large"},
		{"no pool", "ipv4Pools: [198.18.1.0/24]", "eipPrices: {monthly: 1, hourly: 1}", "no IPv4 pool"},
	} {
		_, err := LoadCatalog([]byte(strings.Replace(minimalCatalog, tt.old, tt.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.wantErr)
		}
	}
}
