package metalplane

import (
	"net/netip"
	"testing"
)

func TestBlockUsableAddresses(t *testing.T) {
	for _, tc := range []struct {
		cidr         string
		count        int
		first, last  string
		gateway      string
		notUsable    []string
		usableInside []string
	}{
		{"198.18.0.8/29", 5, "198.18.0.10", "198.18.0.14", "198.18.0.9", []string{"198.18.0.8", "198.18.0.9", "198.18.0.15", "198.18.0.16"}, []string{"198.18.0.12"}},
		{"198.18.1.0/24", 253, "198.18.1.2", "198.18.1.254", "198.18.1.1", []string{"198.18.1.255", "198.18.2.0"}, []string{"198.18.1.100"}},
		{"198.18.0.4/30", 1, "198.18.0.6", "198.18.0.6", "198.18.0.5", []string{"198.18.0.7"}, nil},
		{"2001:db8:0:1::e00/119", 500, "2001:db8:0:1::e02", "2001:db8:0:1::ff5", "2001:db8:0:1::e01", []string{"2001:db8:0:1::ff6", "2001:db8:0:1::fff"}, []string{"2001:db8:0:1::f00"}},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			p := netip.MustParsePrefix(tc.cidr)
			if got := BlockUsableCount(p); got != tc.count {
				t.Fatalf("BlockUsableCount: got %d, want %d", got, tc.count)
			}
			first, _ := BlockUsableIP(p, 0)
			last, _ := BlockUsableIP(p, tc.count-1)
			if first.String() != tc.first || last.String() != tc.last || BlockGateway(p).String() != tc.gateway {
				t.Fatalf("got first %s, last %s, gateway %s; want %s, %s, %s", first, last, BlockGateway(p), tc.first, tc.last, tc.gateway)
			}
			if _, ok := BlockUsableIP(p, tc.count); ok {
				t.Fatalf("BlockUsableIP(%d) exists, want only %d", tc.count, tc.count)
			}
			for _, s := range tc.notUsable {
				if BlockIPUsable(p, netip.MustParseAddr(s)) {
					t.Errorf("%s is usable in %s, want not", s, p)
				}
			}
			for _, s := range append(tc.usableInside, tc.first, tc.last) {
				if !BlockIPUsable(p, netip.MustParseAddr(s)) {
					t.Errorf("%s is not usable in %s, want usable", s, p)
				}
			}
		})
	}
}

func TestValidateByoip(t *testing.T) {
	for _, tc := range []struct {
		ipType, cidr string
		asn          int64
		ok           bool
	}{
		{"IPV4", "203.0.113.0/24", 65001, true},
		{"IPV4", "198.51.100.0/23", 1, true},
		{"IPV4", "203.0.112.0/22", 4294967294, true},
		{"IPV6", "2001:db8::/48", 65001, false},
		{"IPV4", "2001:db8::/24", 65001, false},
		{"IPV4", "203.0.113.0", 65001, false},
		{"IPV4", "203.0.113.0/25", 65001, false},
		{"IPV4", "203.0.112.0/21", 65001, false},
		{"IPV4", "203.0.113.1/24", 65001, false},
		{"IPV4", "10.0.0.0/24", 65001, false},
		{"IPV4", "192.168.4.0/24", 65001, false},
		{"IPV4", "127.0.0.0/24", 65001, false},
		{"IPV4", "100.64.0.0/24", 65001, false},
		{"IPV4", "224.0.0.0/24", 65001, false},
		{"IPV4", "240.0.0.0/24", 65001, false},
		{"IPV4", "0.0.0.0/24", 65001, false},
		{"IPV4", "169.254.0.0/24", 65001, false},
		{"IPV4", "203.0.113.0/24", 0, false},
		{"IPV4", "203.0.113.0/24", 23456, false},
		{"IPV4", "203.0.113.0/24", 4294967295, false},
		{"IPV4", "203.0.113.0/24", -1, false},
	} {
		p, err := ValidateByoip(tc.ipType, tc.cidr, tc.asn)
		if tc.ok != (err == nil) {
			t.Errorf("ValidateByoip(%s, %s, %d): got %v, want ok %v", tc.ipType, tc.cidr, tc.asn, err, tc.ok)
			continue
		}
		if err != nil && err.Code != "INVALID_PARAMETER" {
			t.Errorf("ValidateByoip(%s, %s, %d): got %s, want INVALID_PARAMETER", tc.ipType, tc.cidr, tc.asn, err.Code)
		}
		if err == nil && p.String() != tc.cidr {
			t.Errorf("ValidateByoip(%s): prefix %s, want it unchanged", tc.cidr, p)
		}
	}
}

func TestIPv4NetmaskAndPrices(t *testing.T) {
	for bits := 0; bits <= 32; bits++ {
		err := ValidateIPv4Netmask(bits)
		if want := bits >= 24 && bits <= 30; want != (err == nil) {
			t.Errorf("netmask %d: got %v, want sold %v", bits, err, want)
		}
		if err != nil && err.Code != "OPERATION_DENIED_UNAVAILABLE_NETMASK" {
			t.Errorf("netmask %d: got %s", bits, err.Code)
		}
	}
	z := &Zone{BlockIPv4MonthlyPerIP: 2 * MoneyScale, BlockIPv4HourlyPerIP: 28}
	m, h, err := BlockPrices(z, 4, 8)
	if err != nil || m != 16*MoneyScale || h != 224 {
		t.Fatalf("a /29: got %s monthly, %s hourly (%v); want 16 and 0.0224", m, h, err)
	}
	if m, h, err := BlockPrices(z, 6, 512); err != nil || m != 0 || h != 0 {
		t.Fatalf("an IPv6 block: got %s, %s (%v); want free", m, h, err)
	}
	huge := &Zone{BlockIPv4MonthlyPerIP: Money(1) << 62}
	if _, _, err := BlockPrices(huge, 4, 256); err == nil {
		t.Fatal("a price that overflows: got no error")
	}
	for n, want := range map[int]string{0: "SOLD_OUT", 1: "SELL_SHORTAGE", 10: "SELL_SHORTAGE", 11: "SELL"} {
		if got := SellStatus(n); got != want {
			t.Errorf("SellStatus(%d) = %s, want %s", n, got, want)
		}
	}
}
