package metalplane

import (
	"context"
	"slices"
	"time"
)

// Traffic data of an instance's public interface (DescribeInstanceTraffic,
// DescribeManagedInstanceTraffic): one sample per TrafficInterval of the
// average inbound and outbound rate, and the statistics of a window. The
// 95th percentile here is the one 95th-percentile billing charges; the
// outbound total is what a traffic package is drawn down by.

// TrafficInterval is the spacing of traffic samples. [decision] Five
// minutes, the usual sampling of 95th-percentile billing: a month has
// 8,640 samples and the top 432 are discarded.
const TrafficInterval = 5 * time.Minute

// Windows of a traffic query (the CLI: "the date range of 24 hours",
// "within 30 days").
const (
	MaxTrafficWindow = 24 * time.Hour
	TrafficRetention = 30 * 24 * time.Hour
)

// TrafficSample is the average rate of one interval starting at Time, in
// bits per second.
type TrafficSample struct {
	Time   time.Time
	InBps  int64
	OutBps int64
}

// TrafficStats summarises the samples of a window. Totals are bytes.
type TrafficStats struct {
	In95, InAvg, InMax, InMin, InTotal      int64
	Out95, OutAvg, OutMax, OutMin, OutTotal int64
	In95Time, Out95Time                     time.Time
}

// ParseTrafficWindow checks the startTime and endTime of a traffic query
// at now: both in the API's time format (INVALID_PARAMETER), end not
// before start, at most MaxTrafficWindow apart, and start not older than
// TrafficRetention ([decision] INVALID_PARAMETER for each: the SDK lists
// no code). The times are truncated to whole samples: the window holds the
// samples that start in [start, end].
func ParseTrafficWindow(start, end string, now time.Time) (time.Time, time.Time, *Error) {
	const layout = "2006-01-02T15:04:05Z"
	from, err := time.Parse(layout, start)
	if err != nil {
		return time.Time{}, time.Time{}, Errorf("INVALID_PARAMETER", "startTime must look like 2023-07-11T06:50:36Z.")
	}
	to, err := time.Parse(layout, end)
	if err != nil {
		return time.Time{}, time.Time{}, Errorf("INVALID_PARAMETER", "endTime must look like 2023-07-11T07:10:36Z.")
	}
	switch {
	case to.Before(from):
		return time.Time{}, time.Time{}, Errorf("INVALID_PARAMETER", "endTime must not be before startTime.")
	case to.Sub(from) > MaxTrafficWindow:
		return time.Time{}, time.Time{}, Errorf("INVALID_PARAMETER", "The window from startTime to endTime must be at most 24 hours.")
	case from.Before(now.Add(-TrafficRetention)):
		return time.Time{}, time.Time{}, Errorf("INVALID_PARAMETER", "Traffic data is kept for 30 days; startTime is older.")
	}
	return from, to, nil
}

// SampleTimes returns the start of every sample interval in [from, to]
// that has ended by now and does not begin before since (an instance has
// no traffic before it was created).
func SampleTimes(from, to, since, now time.Time) []time.Time {
	var out []time.Time
	first := from.Truncate(TrafficInterval)
	if first.Before(from) {
		first = first.Add(TrafficInterval)
	}
	for t := first; !t.After(to); t = t.Add(TrafficInterval) {
		if t.Before(since) || t.Add(TrafficInterval).After(now) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// SummariseTraffic returns the statistics of the samples (all zero for
// none). The 95th percentile is the highest sample left once the top 5 %
// (rounded up) are discarded, and its time is that sample's.
func SummariseTraffic(samples []TrafficSample) TrafficStats {
	var s TrafficStats
	if len(samples) == 0 {
		return s
	}
	seconds := int64(TrafficInterval / time.Second)
	s.InMin, s.OutMin = samples[0].InBps, samples[0].OutBps
	for _, x := range samples {
		s.InTotal += x.InBps * seconds / 8
		s.OutTotal += x.OutBps * seconds / 8
		s.InMax, s.OutMax = max(s.InMax, x.InBps), max(s.OutMax, x.OutBps)
		s.InMin, s.OutMin = min(s.InMin, x.InBps), min(s.OutMin, x.OutBps)
	}
	n := int64(len(samples))
	s.InAvg = s.InTotal * 8 / seconds / n
	s.OutAvg = s.OutTotal * 8 / seconds / n
	s.In95, s.In95Time = percentile95(samples, func(x TrafficSample) int64 { return x.InBps })
	s.Out95, s.Out95Time = percentile95(samples, func(x TrafficSample) int64 { return x.OutBps })
	return s
}

func percentile95(samples []TrafficSample, rate func(TrafficSample) int64) (int64, time.Time) {
	sorted := slices.Clone(samples)
	slices.SortStableFunc(sorted, func(a, b TrafficSample) int {
		if c := rate(b) - rate(a); c != 0 {
			if c > 0 {
				return 1
			}
			return -1
		}
		return a.Time.Compare(b.Time)
	})
	drop := (len(sorted)*5 + 99) / 100
	if drop >= len(sorted) {
		drop = len(sorted) - 1
	}
	return rate(sorted[drop]), sorted[drop].Time
}

// TrafficSubject is what a traffic source needs to know of an instance.
type TrafficSubject struct {
	InstanceID         string
	ZoneID             string
	InternetChargeType string
	// BandwidthMbps is the instance's outbound cap: no sample exceeds it.
	BandwidthMbps int
	// TrafficPackageTB is the monthly package of a ByTrafficPackage
	// instance.
	TrafficPackageTB float64
}

// TrafficSource reports the samples of an instance's public interface at
// the given interval starts (SampleTimes), in order. The sim driver
// models them; a real deployment would read its switches.
type TrafficSource interface {
	InstanceTraffic(ctx context.Context, in TrafficSubject, times []time.Time) ([]TrafficSample, error)
}
