package metalplane

import (
	"fmt"
	"slices"
)

// FindLoadBalancerOffer returns what the zone sells of load balancers; a
// zone without an offer sells none.
func (c *Catalog) FindLoadBalancerOffer(zoneID string) (*LoadBalancerOffer, bool) {
	o, ok := c.lbByZone[zoneID]
	return o, ok
}

// checkLoadBalancerOffers validates the loadBalancers section and indexes
// it; zones must already be indexed. An offer names a known zone once,
// with public addresses to take VIPs from, charge types the zone sells, a
// bandwidth maximum within the API's 1–1024 Mbps, and at least one spec;
// specs have unique names of the API's name rule and positive capacities;
// and no load balancer the API's bounds allow (maximum bandwidth,
// MaxLoadBalancerVIPs, MaxPrepaidPeriod months) costs more than a Money
// holds.
func (c *Catalog) checkLoadBalancerOffers(v *catalogChecker) {
	c.lbByZone = make(map[string]*LoadBalancerOffer, len(c.LoadBalancers))
	for i := range c.LoadBalancers {
		o := &c.LoadBalancers[i]
		name := fmt.Sprintf("load balancer offer #%d (%s)", i+1, o.ZoneID)
		z := c.zoneByID[o.ZoneID]
		if z == nil {
			v.addf("%s: unknown zone %q", name, o.ZoneID)
			continue
		}
		if _, dup := c.lbByZone[o.ZoneID]; dup {
			v.addf("%s: a second load balancer offer for the zone", name)
			continue
		}
		c.lbByZone[o.ZoneID] = o
		if len(z.IPv4Pools) == 0 && len(z.IPv6Pools) == 0 {
			v.addf("%s: the zone has no public address pool to take VIPs from", name)
		}
		checkEnumList(v, name+": chargeTypes", o.ChargeTypes, validChargeTypes)
		for _, ct := range o.ChargeTypes {
			if len(z.ChargeTypes) > 0 && !slices.Contains(z.ChargeTypes, ct) {
				v.addf("%s: chargeType %s is not sold in the zone", name, ct)
			}
		}
		if o.MaxBandwidthMbps < 1 || o.MaxBandwidthMbps > MaxLoadBalancerBandwidthMbps {
			v.addf("%s: maxBandwidthMbps must be between 1 and %d, got %d", name, MaxLoadBalancerBandwidthMbps, o.MaxBandwidthMbps)
		}
		if len(o.Specs) == 0 {
			v.addf("%s: no specs", name)
		}
		o.specByName = make(map[string]*LoadBalancerSpec, len(o.Specs))
		for j := range o.Specs {
			s := &o.Specs[j]
			sname := fmt.Sprintf("%s: spec %q", name, s.Name)
			if err := ValidateLoadBalancerName("name", s.Name); err != nil {
				v.addf("%s: the name must be 1 to %d letters, digits, '-' or '.'", sname, MaxLoadBalancerNameLength)
			}
			if _, dup := o.specByName[s.Name]; dup {
				v.addf("%s: duplicate name", sname)
			}
			o.specByName[s.Name] = s
			if s.MaxConnection < 1 || s.CPS < 1 || s.QPS < 1 {
				v.addf("%s: maxConnection, cps and qps must be positive", sname)
			}
			if s.Monthly < 0 || s.Hourly < 0 {
				v.addf("%s: prices must not be negative", sname)
			}
			p, priceErr := o.PriceOf(s, max(o.MaxBandwidthMbps, 0), MaxLoadBalancerVIPs-1)
			var totalErr error
			if priceErr == nil {
				_, totalErr = PeriodTotal(p.Monthly, MaxPrepaidPeriod)
			}
			if priceErr != nil || totalErr != nil {
				v.addf("%s: prices too large: %d Mbps with %d VIPs for %d months would cost more than an amount can hold",
					sname, o.MaxBandwidthMbps, MaxLoadBalancerVIPs, MaxPrepaidPeriod)
			}
		}
		pr := o.Prices
		if pr.BandwidthMonthlyPerMbps < 0 || pr.BandwidthHourlyPerMbps < 0 || pr.VIPMonthly < 0 || pr.VIPHourly < 0 {
			v.addf("%s: prices must not be negative", name)
		}
	}
}
