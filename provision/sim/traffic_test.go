package sim

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
)

// month returns the sample times of 30 days.
func month(t0 time.Time) []time.Time {
	var out []time.Time
	for t := t0; t.Before(t0.Add(30 * 24 * time.Hour)); t = t.Add(metalplane.TrafficInterval) {
		out = append(out, t)
	}
	return out
}

func TestTrafficModel(t *testing.T) {
	ctx := context.Background()
	d := &Driver{}
	times := month(time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC))
	for _, in := range []metalplane.TrafficSubject{
		{InstanceID: "100000000000000001", ZoneID: "SEL-A", InternetChargeType: "ByBandwidth", BandwidthMbps: 100},
		{InstanceID: "100000000000000002", ZoneID: "FRA-A", InternetChargeType: "ByInstanceBandwidth95", BandwidthMbps: 1000},
		{InstanceID: "100000000000000003", ZoneID: "LAX-A", InternetChargeType: "ByTrafficPackage", BandwidthMbps: 1000, TrafficPackageTB: 10},
		{InstanceID: "100000000000000004", ZoneID: "HKG-A", InternetChargeType: "ByTrafficPackage", BandwidthMbps: 20, TrafficPackageTB: 100},
	} {
		a, err := d.InstanceTraffic(ctx, in, times)
		if err != nil {
			t.Fatal(err)
		}
		// Stable: a second call, or a window inside, gives the same samples.
		b, _ := d.InstanceTraffic(ctx, in, times[100:400])
		if !slices.Equal(a[100:400], b) {
			t.Fatalf("%s: samples differ between calls", in.InstanceID)
		}
		capBps := int64(in.BandwidthMbps) * 1e6
		for _, s := range a {
			if s.OutBps < 0 || s.OutBps > capBps || s.InBps < 0 || s.InBps > s.OutBps {
				t.Fatalf("%s: sample %+v outside 0..%d, inbound above outbound", in.InstanceID, s, capBps)
			}
		}
		st := metalplane.SummariseTraffic(a)
		// Plausible: busy but not saturated, bursts above the 95th.
		if st.OutAvg < capBps/100 || st.Out95 >= capBps || st.OutMax <= st.Out95 || st.OutMin >= st.OutAvg {
			t.Errorf("%s: got avg %d, 95th %d, max %d, min %d of a %d bps cap", in.InstanceID, st.OutAvg, st.Out95, st.OutMax, st.OutMin, capBps)
		}
		// A traffic package instance stays within the package it pays
		// for (when its cap allows it to use that much).
		if in.InternetChargeType == "ByTrafficPackage" {
			pkg := int64(in.TrafficPackageTB * 1e12)
			if st.OutTotal > pkg || (st.OutTotal < pkg/4 && capBps*30*24*3600/8 > pkg) {
				t.Errorf("%s: got %d bytes out in 30 days, want within the %d-byte package", in.InstanceID, st.OutTotal, pkg)
			}
		}
	}
}
