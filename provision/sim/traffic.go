package sim

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"time"

	"github.com/metalplane/metalplane"
)

// The sim driver's model of an instance's public traffic: the same
// instance and interval always give the same sample, whoever asks and
// whenever, so DescribeInstanceTraffic is stable and a 95th percentile or a
// monthly total computed from it never changes afterwards.
//
// Each instance gets a level from its ID: the share of its bandwidth cap it
// uses on average (5–35 %), or, for ByTrafficPackage, the share of its
// monthly package it uses in a 30-day month (40–90 %, so that it stays
// within the package it pays for), at most 45 % of its cap so that its
// busiest hours do not flatten against the cap. On that level lies a day curve (busiest
// at 20:00 in the zone's city, quietest at 05:00), noise of ±25 % per
// interval, and a burst to 70–100 % of the cap in about one interval of
// 50 — fewer than the 5 % the 95th percentile discards, so bursts raise
// the maximum, not the bill. Inbound is 15–40 % of outbound.

var _ metalplane.TrafficSource = (*Driver)(nil)

// zoneUTCOffset places the day curve; zones not listed peak at 20:00 UTC.
var zoneUTCOffset = map[string]int{"SEL": 9, "HKG": 8, "FRA": 1, "LAX": -8, "SAO": -3}

// InstanceTraffic implements metalplane.TrafficSource.
func (d *Driver) InstanceTraffic(ctx context.Context, in metalplane.TrafficSubject, times []time.Time) ([]metalplane.TrafficSample, error) {
	capBps := float64(in.BandwidthMbps) * 1e6
	level := 0.05 + 0.30*unit(in.InstanceID, 0)
	if in.InternetChargeType == metalplane.InternetByTrafficPackage && in.TrafficPackageTB > 0 {
		monthBits := in.TrafficPackageTB * 1e12 * 8 * (0.4 + 0.5*unit(in.InstanceID, 0))
		level = math.Min(monthBits/(30*24*3600)/capBps, 0.45)
	}
	inShare := 0.15 + 0.25*unit(in.InstanceID, 1)
	city := in.ZoneID
	if len(city) > 3 {
		city = city[:3]
	}
	offset := zoneUTCOffset[city]
	out := make([]metalplane.TrafficSample, 0, len(times))
	for _, t := range times {
		slot := t.Unix() / int64(metalplane.TrafficInterval/time.Second)
		hour := float64((t.UTC().Hour()+offset+24)%24) + float64(t.Minute())/60
		day := 1 + 0.6*math.Cos((hour-20)/24*2*math.Pi)
		noise := 0.75 + 0.5*unit(in.InstanceID, slot*4+2)
		rate := level * day * noise
		if unit(in.InstanceID, slot*4+3) < 0.02 {
			rate = 0.7 + 0.3*unit(in.InstanceID, slot*4+4)
		}
		outBps := int64(math.Min(rate, 1) * capBps)
		out = append(out, metalplane.TrafficSample{Time: t, OutBps: outBps, InBps: int64(float64(outBps) * inShare)})
	}
	return out, nil
}

// unit maps (instance, n) to a number in [0, 1), the same on every call.
func unit(instanceID string, n int64) float64 {
	h := fnv.New64a()
	h.Write([]byte(instanceID))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
	return float64(h.Sum64()>>11) / (1 << 53)
}
