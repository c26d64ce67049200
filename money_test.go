package metalplane

import (
	"math"
	"testing"
)

func TestMoneyAdd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   Money
		want   Money
		wantOK bool
	}{
		{"small", 2, 3, 5, true},
		{"zero", math.MaxInt64, 0, math.MaxInt64, true},
		{"negative", -7, 3, -4, true},
		{"up to the largest", math.MaxInt64 - 1, 1, math.MaxInt64, true},
		{"past the largest", math.MaxInt64, 1, 0, false},
		{"two halves past the largest", math.MaxInt64/2 + 1, math.MaxInt64/2 + 1, 0, false},
		{"down to the smallest", math.MinInt64 + 1, -1, math.MinInt64, true},
		{"past the smallest", math.MinInt64, -1, 0, false},
		{"largest plus smallest", math.MaxInt64, math.MinInt64, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.a.Add(tc.b)
			if ok != tc.wantOK || ok && got != tc.want {
				t.Errorf("%d + %d: got %d, %v, want %d, %v", tc.a, tc.b, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestMoneyTimes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      Money
		n      int64
		want   Money
		wantOK bool
	}{
		{"small", 120000, 36, 4320000, true},
		{"by zero", math.MaxInt64, 0, 0, true},
		{"zero by anything", 0, math.MinInt64, 0, true},
		{"largest by one", math.MaxInt64, 1, math.MaxInt64, true},
		{"largest by two", math.MaxInt64, 2, 0, false},
		{"largest by minus one", math.MaxInt64, -1, -math.MaxInt64, true},
		{"smallest by minus one", math.MinInt64, -1, 0, false},
		{"minus one by smallest", -1, math.MinInt64, 0, false},
		{"smallest by one", math.MinInt64, 1, math.MinInt64, true},
		// The product of issue 11: trafficPerTb 12.00 × 77e12 milli-TB.
		{"issue 11 traffic price", 120000, 77_000_000_000_000, 0, false},
		{"just fits", 3037000499, 3037000499, 9223372030926249001, true},
		{"just does not fit", 3037000500, 3037000500, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.m.Times(tc.n)
			if ok != tc.wantOK || ok && got != tc.want {
				t.Errorf("%d × %d: got %d, %v, want %d, %v", tc.m, tc.n, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
