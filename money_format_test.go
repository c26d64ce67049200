package metalplane

import (
	"math"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want Money
	}{
		{"0", 0},
		{"1200", 1200 * MoneyScale},
		{"0.15", 1500},
		{"0.1", 1000},
		{"1234.5678", 12345678},
		{"99.00", 990000},
		{"0.0001", 1},
		{"007.5", 75000},
		{"-50.5", -505000},
		{"-0.0001", -1},
		{"-0", 0},
		{"922337203685477.5807", math.MaxInt64},
		{"-922337203685477.5807", -math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMoney(tt.in)
			if err != nil {
				t.Fatalf("ParseMoney(%q): got error %v, want %d", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("ParseMoney(%q): got %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseMoneyRejects(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "want digits"},
		{"sign only", "-", "want digits"},
		{"five decimals", "1.23456", "more than 4 decimals"},
		{"no integer part", ".5", "want digits"},
		{"trailing dot", "5.", "after the decimal point"},
		{"two dots", "1.2.3", "after the decimal point"},
		{"plus sign", "+5", "want digits"},
		{"double minus", "--5", "want digits"},
		{"exponent", "1e3", "want digits"},
		{"spaces", " 5", "want digits"},
		{"comma", "1,000", "want digits"},
		{"underscore", "1_000", "want digits"},
		{"overflow", "922337203685477.5808", "too large"},
		{"huge", "99999999999999999999", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMoney(tt.in)
			if err == nil {
				t.Fatalf("ParseMoney(%q): got %d, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMoney(%q): got error %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		in   Money
		want string
	}{
		{0, "0.0000"},
		{1, "0.0001"},
		{123400, "12.3400"},
		{12345678, "1234.5678"},
		{-5000, "-0.5000"},
		{-505000, "-50.5000"},
		{math.MaxInt64, "922337203685477.5807"},
		{math.MinInt64, "-922337203685477.5808"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Money(%d).String(): got %q, want %q", int64(tt.in), got, tt.want)
			}
		})
	}
}

func TestMoneyStringRoundTrip(t *testing.T) {
	// MinInt64 is left out: its magnitude is one above what ParseMoney
	// accepts, and no ledger holds it.
	for _, m := range []Money{0, 1, -1, 990000, -505000, 12345678, math.MaxInt64, -math.MaxInt64} {
		t.Run(m.String(), func(t *testing.T) {
			got, err := ParseMoney(m.String())
			if err != nil {
				t.Fatalf("ParseMoney(%q): got error %v, want %d", m.String(), err, int64(m))
			}
			if got != m {
				t.Errorf("ParseMoney(%q): got %d, want %d", m.String(), int64(got), int64(m))
			}
		})
	}
}

func TestMoneyFloat(t *testing.T) {
	tests := []struct {
		in   Money
		want float64
	}{
		{0, 0},
		{990000, 99},
		{1500, 0.15},
		{12345678, 1234.5678},
		{-505000, -50.5},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := tt.in.Float(); got != tt.want {
				t.Errorf("Money(%d).Float(): got %v, want %v", int64(tt.in), got, tt.want)
			}
		})
	}
}

func TestMoneyUnmarshalYAML(t *testing.T) {
	type doc struct {
		Price Money `yaml:"price"`
	}
	tests := []struct {
		name, yaml string
		want       Money
		wantErr    string // empty: success expected
	}{
		{name: "integer", yaml: "price: 1200", want: 1200 * MoneyScale},
		{name: "decimal", yaml: "price: 0.15", want: 1500},
		{name: "four decimals", yaml: "price: 1234.5678", want: 12345678},
		{name: "trailing zeros", yaml: "price: 99.00", want: 990000},
		// 0.1 + 0.2 style sums are where floats go wrong; the text is exact.
		{name: "not a binary fraction", yaml: "price: 0.3", want: 3000},
		{name: "quoted", yaml: `price: "12.50"`, want: 125000},
		{name: "missing stays zero", yaml: "price:", want: 0},
		{name: "negative", yaml: "price: -1", wantErr: "negative"},
		{name: "negative decimal", yaml: "price: -0.5", wantErr: "negative"},
		{name: "five decimals", yaml: "price: 0.12345", wantErr: "more than 4 decimals"},
		{name: "exponent", yaml: "price: 1e3", wantErr: "want digits"},
		{name: "infinity", yaml: "price: .inf", wantErr: "want digits"},
		{name: "word", yaml: "price: free", wantErr: "want digits"},
		{name: "boolean", yaml: "price: true", wantErr: "decimal number"},
		{name: "list", yaml: "price: [1, 2]", wantErr: "decimal number"},
		{name: "mapping", yaml: "price: {a: 1}", wantErr: "decimal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := yaml.Unmarshal([]byte(tt.yaml), &d)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("unmarshal %q: got %d, want an error containing %q", tt.yaml, int64(d.Price), tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("unmarshal %q: got error %q, want it to contain %q", tt.yaml, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unmarshal %q: got error %v, want %d", tt.yaml, err, int64(tt.want))
			}
			if d.Price != tt.want {
				t.Errorf("unmarshal %q: got %d, want %d", tt.yaml, int64(d.Price), int64(tt.want))
			}
		})
	}
}
