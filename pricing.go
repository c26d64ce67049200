package metalplane

// Pricing: what an instance costs, computed in Money (integers). PREPAID
// instances pay for whole months up front; POSTPAID instances accrue an
// hourly price while they exist.

// HoursPerMonth converts monthly traffic prices into hourly accruals.
const HoursPerMonth = 720

// PriceInput is what a price depends on.
type PriceInput struct {
	Offer              *Offer
	ChargeType         string
	Period             int // months, PREPAID
	InternetChargeType string
	BandwidthMbps      int
	TrafficPackageTB   float64
}

// Quote is the price of one instance, split as InquiryPriceCreateInstance
// reports it. For PREPAID the amounts are for the whole period; for
// POSTPAID they are per hour.
type Quote struct {
	Instance  Money
	Bandwidth Money
	Traffic   Money
	IP        Money
}

// Total returns the sum of the parts.
func (q Quote) Total() Money { return q.Instance + q.Bandwidth + q.Traffic + q.IP }

// extraTrafficTB is the part of the package above the free one, in
// thousandths of a TB so that prices stay integers.
func extraTrafficMilliTB(in PriceInput) int64 {
	if in.InternetChargeType != InternetByTrafficPackage {
		return 0
	}
	extra := int64(in.TrafficPackageTB*1000+0.5) - int64(in.Offer.DefaultTrafficPackageTB*1000+0.5)
	if extra < 0 {
		return 0
	}
	return extra
}

// PriceOf returns the price of one instance.
func PriceOf(in PriceInput) Quote {
	p := in.Offer.Prices
	extraMbps := int64(in.BandwidthMbps - in.Offer.DefaultBandwidthMbps)
	if extraMbps < 0 || in.InternetChargeType != InternetByBandwidth {
		// Only flat-rate bandwidth is priced per Mbps; the other models
		// bill usage (95th percentile, traffic) after the fact.
		extraMbps = 0
	}
	milliTB := extraTrafficMilliTB(in)
	if in.ChargeType == ChargeTypePrepaid {
		months := Money(in.Period)
		return Quote{
			Instance:  p.InstanceMonthly * months,
			Bandwidth: p.BandwidthMonthlyPerMbps * Money(extraMbps) * months,
			Traffic:   Money(int64(p.TrafficPerTB)*milliTB/1000) * months,
			IP:        p.IPMonthly * months,
		}
	}
	return Quote{
		Instance:  p.InstanceHourly,
		Bandwidth: p.BandwidthHourlyPerMbps * Money(extraMbps),
		Traffic:   Money(int64(p.TrafficPerTB) * milliTB / 1000 / HoursPerMonth),
		IP:        p.IPHourly,
	}
}
