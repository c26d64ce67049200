package metalplane

import "fmt"

// Pricing: what an instance costs, computed in Money (integers) with
// checked arithmetic (money.go). PREPAID instances pay for whole months up
// front; POSTPAID instances accrue an hourly price while they exist.

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
// POSTPAID they are per hour. PriceOf makes every part ≥ 0.
type Quote struct {
	Instance  Money
	Bandwidth Money
	Traffic   Money
	IP        Money
}

// Total returns the sum of the parts, or INVALID_PARAMETER when it does
// not fit in a Money.
func (q Quote) Total() (Money, error) {
	var c moneyCalc
	total := c.add(q.Instance, q.Bandwidth, q.Traffic, q.IP)
	if c.overflow {
		return 0, errAmountTooLarge()
	}
	return total, nil
}

// CheckTrafficPackageSize checks the trafficPackageSize of CreateInstances
// and InquiryPriceCreateInstance: from 0 to MaxTrafficPackageTB, the
// largest package ModifyInstanceTrafficPackage accepts, so that a purchase
// cannot reach a package no change could. Negative (or NaN) →
// INVALID_PARAMETER; above → INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED.
func CheckTrafficPackageSize(tb float64) *Error {
	if !(tb >= 0) {
		return invalid("trafficPackageSize must not be negative.")
	}
	if tb > MaxTrafficPackageTB {
		return Errorf("INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED", "trafficPackageSize must be at most %d TB.", MaxTrafficPackageTB)
	}
	return nil
}

// extraTrafficMilliTB is the part of the package above the free one, in
// thousandths of a TB so that prices stay integers. Both sizes are within
// 0..MaxTrafficPackageTB (checked by the caller and the catalog loader),
// so the conversions to integers are exact and small.
func extraTrafficMilliTB(in PriceInput) int64 {
	if in.InternetChargeType != InternetByTrafficPackage {
		return 0
	}
	extra := int64(in.TrafficPackageTB*1000+0.5) - int64(in.Offer.DefaultTrafficPackageTB*1000+0.5)
	return max(extra, 0)
}

// PriceOf returns the price of one instance. An input out of its bounds is
// refused before anything is computed from it: a PREPAID period outside
// 1..MaxPrepaidPeriod (INVALID_PARAMETER), a traffic package outside
// 0..MaxTrafficPackageTB (CheckTrafficPackageSize). A price that does not
// fit in a Money is refused with INVALID_PARAMETER, never wrapped.
// Bandwidth at or below the offer's included bandwidth costs nothing; its
// upper bound is the instance type's, which the caller checks.
func PriceOf(in PriceInput) (Quote, error) {
	p := in.Offer.Prices
	var milliTB int64
	if in.InternetChargeType == InternetByTrafficPackage {
		if err := CheckTrafficPackageSize(in.TrafficPackageTB); err != nil {
			return Quote{}, err
		}
		milliTB = extraTrafficMilliTB(in)
	}
	var extraMbps int64
	if in.InternetChargeType == InternetByBandwidth && in.BandwidthMbps > in.Offer.DefaultBandwidthMbps {
		// Only flat-rate bandwidth is priced per Mbps; the other models
		// bill usage (95th percentile, traffic) after the fact. Both
		// values are ≥ 0 here, so the difference cannot wrap.
		extraMbps = int64(in.BandwidthMbps - in.Offer.DefaultBandwidthMbps)
	}
	var c moneyCalc
	var q Quote
	if in.ChargeType == ChargeTypePrepaid {
		if in.Period < 1 || in.Period > MaxPrepaidPeriod {
			return Quote{}, invalid("instanceChargePrepaid.period must be between 1 and %d months.", MaxPrepaidPeriod)
		}
		months := int64(in.Period)
		q = Quote{
			Instance:  c.times(p.InstanceMonthly, months),
			Bandwidth: c.times(c.times(p.BandwidthMonthlyPerMbps, extraMbps), months),
			Traffic:   c.times(c.times(p.TrafficPerTB, milliTB)/1000, months),
			IP:        c.times(p.IPMonthly, months),
		}
	} else {
		q = Quote{
			Instance:  p.InstanceHourly,
			Bandwidth: c.times(p.BandwidthHourlyPerMbps, extraMbps),
			Traffic:   c.times(p.TrafficPerTB, milliTB) / 1000 / HoursPerMonth,
			IP:        p.IPHourly,
		}
	}
	if c.overflow {
		return Quote{}, errAmountTooLarge()
	}
	return q, nil
}

// CheckDebit is the last check before a PREPAID charge, a renewal or an
// upgrade charge is written: the amount debited is never negative (a
// negative debit would credit the team), and it is not zero while the list
// price of the instance (listPrice, 0 when unknown) is positive. Checked
// pricing cannot produce either; this keeps a future pricing bug from
// turning into money. The error is internal (nothing the client sent
// explains it): the request fails and nothing is written.
func CheckDebit(what string, amount, listPrice Money) error {
	if amount < 0 || amount == 0 && listPrice > 0 {
		return fmt.Errorf("refusing to debit %s for %s: a charge must be positive when the list price is %s", amount, what, listPrice)
	}
	return nil
}

// BilledByPercentile95 reports whether the internet charge type bills the
// monthly 95th percentile of the bandwidth used (per Mbps, by MONTH)
// rather than a cap or a package paid in advance.
func BilledByPercentile95(internetChargeType string) bool {
	return internetChargeType == InternetByInstanceBandwidth95 || internetChargeType == InternetByClusterBandwidth95
}
