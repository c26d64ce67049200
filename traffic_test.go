package metalplane

import (
	"testing"
	"time"
)

func TestSummariseTraffic(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	var samples []TrafficSample
	// Outbound 1..20 Mbps, the 20 Mbps sample first; inbound a tenth.
	for i := 20; i >= 1; i-- {
		samples = append(samples, TrafficSample{Time: t0.Add(time.Duration(20-i) * TrafficInterval), OutBps: int64(i) * 1e6, InBps: int64(i) * 1e5})
	}
	got := SummariseTraffic(samples)
	// 20 samples: the top one (5 %, rounded up) is discarded, the 95th is
	// the 19 Mbps sample, the second.
	if got.Out95 != 19e6 || !got.Out95Time.Equal(t0.Add(TrafficInterval)) || got.In95 != 19e5 {
		t.Errorf("95th: got out %d at %s, in %d; want 19 Mbps at %s, 1.9 Mbps", got.Out95, got.Out95Time, got.In95, t0.Add(TrafficInterval))
	}
	if got.OutMax != 20e6 || got.OutMin != 1e6 || got.OutAvg != 10.5e6 {
		t.Errorf("max/min/avg: got %d %d %d, want 20, 1, 10.5 Mbps", got.OutMax, got.OutMin, got.OutAvg)
	}
	// Σ 1..20 Mbps = 210 Mbps × 300 s / 8 = 7,875,000,000 bytes.
	if got.OutTotal != 7_875_000_000 || got.InTotal != 787_500_000 {
		t.Errorf("totals: got %d and %d bytes, want 7875000000 and 787500000", got.OutTotal, got.InTotal)
	}
	if z := SummariseTraffic(nil); z != (TrafficStats{}) {
		t.Errorf("no samples: got %+v, want zeros", z)
	}
	one := SummariseTraffic(samples[:1])
	if one.Out95 != 20e6 {
		t.Errorf("one sample: got 95th %d, want the sample", one.Out95)
	}
}

func TestParseTrafficWindow(t *testing.T) {
	now := time.Date(2030, 3, 31, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, start, end string
		ok               bool
	}{
		{"one day", "2030-03-30T12:00:00Z", "2030-03-31T12:00:00Z", true},
		{"an instant", "2030-03-30T12:00:00Z", "2030-03-30T12:00:00Z", true},
		{"over a day", "2030-03-30T12:00:00Z", "2030-03-31T12:00:01Z", false},
		{"backwards", "2030-03-30T12:00:00Z", "2030-03-30T11:00:00Z", false},
		{"30 days ago", "2030-03-01T12:00:00Z", "2030-03-01T13:00:00Z", true},
		{"older", "2030-03-01T11:59:59Z", "2030-03-01T13:00:00Z", false},
		{"no zone", "2030-03-30T12:00:00", "2030-03-30T13:00:00Z", false},
		{"date only", "2030-03-30", "2030-03-30T13:00:00Z", false},
		{"offset", "2030-03-30T12:00:00+01:00", "2030-03-30T13:00:00Z", false},
	} {
		_, _, err := ParseTrafficWindow(tc.start, tc.end, now)
		if (err == nil) != tc.ok || (err != nil && err.Code != "INVALID_PARAMETER") {
			t.Errorf("%s: got %v, want ok %t", tc.name, err, tc.ok)
		}
	}
}

func TestSampleTimes(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	// From 10:02 to 10:30, created 10:07, asked at 10:26: the intervals of
	// 10:10, 10:15 and 10:20 (10:05 began before the instance, 10:25 has
	// not ended).
	got := SampleTimes(t0.Add(2*time.Minute), t0.Add(30*time.Minute), t0.Add(7*time.Minute), t0.Add(26*time.Minute))
	want := []time.Time{t0.Add(10 * time.Minute), t0.Add(15 * time.Minute), t0.Add(20 * time.Minute)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
