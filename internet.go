package metalplane

import (
	"math"
	"math/bits"
	"time"
)

// Public network changes of an existing instance: its bandwidth cap
// (ModifyInstanceBandwidth) and its traffic package
// (ModifyInstanceTrafficPackage), with their inquiry and cancel actions.
//
// [decision] How a change takes effect (docs/api.md):
//   - A change that does not move the price (POSTPAID, both values inside
//     the free bandwidth or package, or a charge type whose cap is not
//     priced, such as ByInstanceBandwidth95) takes effect at once.
//   - POSTPAID: every change takes effect at once; the hourly price is
//     recomputed and used from then on.
//   - PREPAID upgrade (the period price rises): takes effect at once; the
//     difference for the rest of the current period is debited at once as
//     one ledger row (prorated by the second, rounded to the nearest
//     Money unit), and the period price used by renewals rises.
//   - PREPAID downgrade (the period price falls): scheduled for the next
//     billing cycle (the instance's expiredTime); nothing is refunded.
//     DescribeInstanceInternetStatus shows it as WaitToEnable until then,
//     the Cancel…Downgrade action removes it, and while it is pending a new
//     change of the same kind is refused.
// Every change is applied inside the request's transaction, so the status
// Processing is never reported.

// LedgerInternetUpgrade is the ledger kind of a PREPAID bandwidth or
// traffic package upgrade.
const LedgerInternetUpgrade = "internet_upgrade"

// Internet change statuses (modifiedBandwidthStatus,
// modifiedTrafficPackageStatus).
const (
	InternetStatusProcessing   = "Processing"
	InternetStatusEnable       = "Enable"
	InternetStatusWaitToEnable = "WaitToEnable"
)

// InternetChangeKind says what a change modifies.
type InternetChangeKind string

// The two kinds of change; each instance has at most one pending
// downgrade of each kind.
const (
	ChangeBandwidth InternetChangeKind = "bandwidth"
	ChangeTraffic   InternetChangeKind = "traffic"
)

// MaxTrafficPackageTB is the largest traffic package ModifyInstanceTrafficPackage
// accepts [decision]: no source gives the limit behind
// INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED.
const MaxTrafficPackageTB = 1000

// trafficStepMilliTB: packages are multiples of 0.05 TB (CLI definition).
const trafficStepMilliTB = 50

// PendingInternetChange is a scheduled downgrade.
type PendingInternetChange struct {
	InstanceID       string
	Kind             InternetChangeKind
	BandwidthMbps    int
	TrafficPackageTB float64
	// PeriodPriceDelta is added to the instance's period price when the
	// change takes effect (negative for a downgrade).
	PeriodPriceDelta Money
	OrderNumber      string
	EffectiveAt      time.Time
}

// InternetChangeRequest is a validated-in-form change: the instance and the
// target value of one kind.
type InternetChangeRequest struct {
	Kind             InternetChangeKind
	BandwidthMbps    int
	TrafficPackageTB float64
}

// InternetChangePlan is how a change takes effect, decided by
// PlanInternetChange.
type InternetChangePlan struct {
	// Immediate changes are written to the instance now; the others are
	// stored as a PendingInternetChange effective at EffectiveAt.
	Immediate   bool
	EffectiveAt time.Time
	// Charge is debited now (PREPAID upgrades only).
	Charge Money
	// PeriodPriceDelta moves the period price (PREPAID) when the change
	// takes effect.
	PeriodPriceDelta Money
	// HourlyPrice is the new hourly price (POSTPAID), set when Immediate.
	HourlyPrice Money
}

// milliTB converts a package size to thousandths of a TB, reporting whether
// it is an exact multiple of 0.05 TB.
func milliTB(tb float64) (int64, bool) {
	m := math.Round(tb * 1000)
	if math.Abs(m-tb*1000) > 1e-6 || int64(m)%trafficStepMilliTB != 0 {
		return int64(m), false
	}
	return int64(m), true
}

// ValidateBandwidthTarget checks the form of bandwidthOutMbps: at least 1
// Mbps (the maximum depends on the instance type).
func ValidateBandwidthTarget(mbps int) *Error {
	if mbps < 1 {
		return Errorf("INVALID_PARAMETER", "bandwidthOutMbps must be at least 1.")
	}
	return nil
}

// ValidateTrafficTarget checks the form of trafficPackageSize: not
// negative and a multiple of 0.05 TB; else
// INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR.
func ValidateTrafficTarget(tb float64) *Error {
	if _, ok := milliTB(tb); tb < 0 || math.IsNaN(tb) || !ok {
		return Errorf("INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR", "trafficPackageSize must be a non-negative multiple of 0.05 TB.")
	}
	return nil
}

// CheckInternetState applies the state rules of the internet actions, in
// the order of ACTIONS.md §1.3 (recycle bin, then state):
// RECYCLE → OPERATION_DENIED_INSTANCE_RECYCLED; PENDING, CREATING →
// OPERATION_DENIED_INSTANCE_CREATING; any other state not in allowed →
// notAllowed (OPERATION_DENIED_INSTANCE_NOT_RUNNING for bandwidth, which
// only RUNNING instances may change; OPERATION_DENIED_INSTANCE_STATUS for
// traffic packages, which RUNNING and STOPPED ones may). An empty allowed
// list allows every state outside the recycle bin.
func CheckInternetState(in *Instance, notAllowed Code, allowed ...InstanceStatus) *Error {
	switch {
	case in.Status == StatusRecycle:
		return Errorf("OPERATION_DENIED_INSTANCE_RECYCLED", "The instance %s is in the recycle bin.", in.ID)
	case len(allowed) == 0:
		return nil
	case in.Status == StatusPending || in.Status == StatusCreating:
		return Errorf("OPERATION_DENIED_INSTANCE_CREATING", "The instance %s is being created.", in.ID)
	}
	for _, s := range allowed {
		if in.Status == s {
			return nil
		}
	}
	return Errorf(notAllowed, "The instance %s is %s.", in.ID, in.Status)
}

// CheckInternetChargeType refuses the traffic package actions on instances
// not billed ByTrafficPackage, and the bandwidth inquiry and cancel
// actions on instances not billed ByBandwidth:
// OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT.
func CheckInternetChargeType(in *Instance, kind InternetChangeKind) *Error {
	want := InternetByBandwidth
	if kind == ChangeTraffic {
		want = InternetByTrafficPackage
	}
	if in.InternetChargeType != want {
		return Errorf("OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT", "The instance %s is billed %s, not %s.", in.ID, in.InternetChargeType, want)
	}
	return nil
}

// InstanceOffer returns the catalog offer an instance was bought from, or
// INVALID_INSTANCE_TYPE_ZONE_NO_SELL when the operator no longer sells it
// there (its prices are then unknown).
func InstanceOffer(cat *Catalog, in *Instance) (*Offer, *Error) {
	offer, ok := cat.FindOffer(in.ZoneID, in.InstanceTypeID)
	if !ok {
		return nil, Errorf("INVALID_INSTANCE_TYPE_ZONE_NO_SELL", "%s is no longer sold in %s.", in.InstanceTypeID, in.ZoneID)
	}
	return offer, nil
}

// CheckInternetTarget checks the target value against the instance's type
// and offer: bandwidth above the type maximum →
// INVALID_PARAMETER_BANDWIDTH_EXCEED; a package below the offer's free
// package → INVALID_PARAMETER_TRAFFIC_PACKAGE_LESS, above
// MaxTrafficPackageTB → INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED.
func CheckInternetTarget(cat *Catalog, in *Instance, offer *Offer, req InternetChangeRequest) *Error {
	if req.Kind == ChangeBandwidth {
		t, ok := cat.FindInstanceType(in.InstanceTypeID)
		if ok && req.BandwidthMbps > t.MaxBandwidthMbps {
			return Errorf("INVALID_PARAMETER_BANDWIDTH_EXCEED", "bandwidthOutMbps must be at most %d Mbps for %s.", t.MaxBandwidthMbps, t.ID)
		}
		return nil
	}
	if err := CheckTrafficPackageFloor(offer, req.TrafficPackageTB); err != nil {
		return err
	}
	return checkTrafficPackageCeiling(req.TrafficPackageTB)
}

// CheckTrafficPackageForm checks a trafficPackageSize before anything is
// looked up, with the rules of ModifyInstanceTrafficPackage, so that
// CreateInstances, InquiryPriceCreateInstance and the traffic package
// actions accept the same sizes: a non-negative multiple of 0.05 TB
// (INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR), at most MaxTrafficPackageTB
// (INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED).
func CheckTrafficPackageForm(tb float64) *Error {
	if err := ValidateTrafficTarget(tb); err != nil {
		return err
	}
	return checkTrafficPackageCeiling(tb)
}

func checkTrafficPackageCeiling(tb float64) *Error {
	if target, _ := milliTB(tb); target > MaxTrafficPackageTB*1000 {
		return Errorf("INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED", "trafficPackageSize must be at most %d TB.", MaxTrafficPackageTB)
	}
	return nil
}

// CheckTrafficPackageFloor refuses a package below the offer's free one
// (INVALID_PARAMETER_TRAFFIC_PACKAGE_LESS): no change could ever return to
// it, so no purchase may start there either.
func CheckTrafficPackageFloor(offer *Offer, tb float64) *Error {
	target, _ := milliTB(tb)
	free, _ := milliTB(offer.DefaultTrafficPackageTB)
	if target < free {
		return Errorf("INVALID_PARAMETER_TRAFFIC_PACKAGE_LESS", "trafficPackageSize must be at least the free package of %g TB.", offer.DefaultTrafficPackageTB)
	}
	return nil
}

// InternetPrice returns the price of the instance with its bandwidth or
// traffic package replaced by the target: PREPAID for one period, POSTPAID
// per hour (PriceOf, whose errors it returns).
func InternetPrice(in *Instance, offer *Offer, req InternetChangeRequest) (Quote, error) {
	pi := PriceInput{Offer: offer, ChargeType: in.ChargeType, Period: in.Period, InternetChargeType: in.InternetChargeType,
		BandwidthMbps: in.BandwidthOutMbps, TrafficPackageTB: in.TrafficPackageTB}
	switch req.Kind {
	case ChangeBandwidth:
		pi.BandwidthMbps = req.BandwidthMbps
	case ChangeTraffic:
		pi.TrafficPackageTB = req.TrafficPackageTB
	}
	return PriceOf(pi)
}

// internetTotal is the total of InternetPrice.
func internetTotal(in *Instance, offer *Offer, req InternetChangeRequest) (Money, error) {
	q, err := InternetPrice(in, offer, req)
	if err != nil {
		return 0, err
	}
	return q.Total()
}

// PlanInternetChange decides how a checked change of a checked instance
// takes effect at now (see the comment at the top of this file). It does
// not look at the balance. A price out of bounds or too large for a Money
// is refused (PriceOf) before anything is decided.
func PlanInternetChange(in *Instance, offer *Offer, req InternetChangeRequest, now time.Time) (InternetChangePlan, error) {
	current, err := internetTotal(in, offer, InternetChangeRequest{})
	if err != nil {
		return InternetChangePlan{}, err
	}
	target, err := internetTotal(in, offer, req)
	if err != nil {
		return InternetChangePlan{}, err
	}
	if in.ChargeType != ChargeTypePrepaid {
		return InternetChangePlan{Immediate: true, HourlyPrice: target}, nil
	}
	// Both totals are ≥ 0, so the difference cannot wrap.
	diff := target - current
	switch {
	case diff == 0:
		return InternetChangePlan{Immediate: true}, nil
	case diff < 0 && !in.ExpiredTime.IsZero():
		return InternetChangePlan{EffectiveAt: in.ExpiredTime, PeriodPriceDelta: diff}, nil
	case diff < 0:
		// No period has started (cannot happen in the states allowed to
		// change): nothing was paid for, so apply it now.
		return InternetChangePlan{Immediate: true, PeriodPriceDelta: diff}, nil
	}
	return InternetChangePlan{Immediate: true, PeriodPriceDelta: diff, Charge: ProrateUpgrade(diff, in.Period, in.ExpiredTime, now)}, nil
}

// ProrateUpgrade returns the part of a period price difference due for the
// rest of the current period: diff × remaining / period length, counted in
// seconds and rounded half up to a Money unit. The current period is the
// `period` months before expired; a zero expired time charges the whole
// difference. diff is an upgrade's, > 0; anything else is due as 0. The
// product is formed in 128 bits: a large diff times the seconds of a
// 36-month period does not fit in 64, while the result, at most diff,
// always does.
func ProrateUpgrade(diff Money, period int, expired, now time.Time) Money {
	if diff <= 0 {
		return 0
	}
	if expired.IsZero() || period < 1 {
		return diff
	}
	start := expired.AddDate(0, -period, 0)
	total := int64(expired.Sub(start) / time.Second)
	remaining := int64(expired.Sub(now) / time.Second)
	if remaining <= 0 || total <= 0 {
		return 0
	}
	if remaining > total {
		remaining = total
	}
	hi, lo := bits.Mul64(uint64(diff), uint64(remaining))
	lo, carry := bits.Add64(lo, uint64(total/2), 0)
	// remaining ≤ total, so the quotient is at most diff < 2^63: the high
	// word is below total and Div64 cannot panic.
	q, _ := bits.Div64(hi+carry, lo, uint64(total))
	return Money(q)
}

// ShiftPeriodPrice returns the stored period price of an instance moved by
// a change's PeriodPriceDelta. [decision] It never goes below zero: the
// delta is priced at today's catalog, the stored price at the purchase's,
// so a downgrade after a catalog price rise could take away more than was
// ever added, and a negative period price means nothing. A sum too large
// for a Money is INVALID_PARAMETER.
func ShiftPeriodPrice(price, delta Money) (Money, error) {
	shifted, ok := price.Add(delta)
	if !ok {
		return 0, errAmountTooLarge()
	}
	return max(shifted, 0), nil
}
