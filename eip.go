package metalplane

import (
	"strconv"
	"strings"
	"time"
)

// Elastic IPs and DDoS-protected IPs (bmc: *EipAddress*, *DdosIpAddress*)
// are one family: an address taken from a zone's public pool, billed like
// an instance (PREPAID for a period, or POSTPAID by the hour), associated
// with one instance at a time, terminated into the recycle bin and
// released back to the pool. They share one store and one lifecycle; the
// Kind tells them apart, and gives each its wire names and error codes.
//
// [decision] Allocation needs no hardware: the address is taken from the
// pool in the request's transaction and the EIP is AVAILABLE at once (never
// CREATING or CREATE_FAILED, which are accepted as filters only).
// Association and unassociation do need the network: they move the EIP to
// ASSOCIATING / UNASSOCIATING and a job asks the host's driver to route the
// address (provision.AddressAssigner), ending in ASSOCIATED / AVAILABLE.

// AddressKind says which family member an address resource is.
type AddressKind string

// The two kinds. The values are stored and appear in error codes.
const (
	KindEIP    AddressKind = "EIP"
	KindDdosIP AddressKind = "DDOS_IP"
)

// Noun names the kind in messages.
func (k AddressKind) Noun() string {
	if k == KindDdosIP {
		return "DDoS-protected IP"
	}
	return "elastic IP"
}

// Code returns the kind's code for a pattern in which "{K}" stands for the
// kind: "INVALID_{K}_NOT_FOUND" is INVALID_EIP_NOT_FOUND or
// INVALID_DDOS_IP_NOT_FOUND.
func (k AddressKind) Code(pattern string) Code {
	return Code(strings.ReplaceAll(pattern, "{K}", string(k)))
}

// Errorf is Errorf with the kind's code for pattern (see Code).
func (k AddressKind) Errorf(pattern, format string, args ...any) *Error {
	return Errorf(k.Code(pattern), format, args...)
}

// EIPStatus is an EipStatus (and DdosIpStatus) value.
type EIPStatus string

// EIP states (the CLI's EipStatus list).
const (
	EIPCreating      EIPStatus = "CREATING"
	EIPCreateFailed  EIPStatus = "CREATE_FAILED"
	EIPAssociating   EIPStatus = "ASSOCIATING"
	EIPUnassociating EIPStatus = "UNASSOCIATING"
	EIPAssociated    EIPStatus = "ASSOCIATED"
	EIPAvailable     EIPStatus = "AVAILABLE"
	EIPRecycling     EIPStatus = "RECYCLING"
	EIPRecycle       EIPStatus = "RECYCLE"
)

// EIPStatuses lists every status, for the describe filters.
var EIPStatuses = []string{string(EIPCreating), string(EIPCreateFailed), string(EIPAssociating), string(EIPUnassociating),
	string(EIPAssociated), string(EIPAvailable), string(EIPRecycling), string(EIPRecycle)}

// Recycled reports whether the status is the recycle bin or the way into it.
func (s EIPStatus) Recycled() bool { return s == EIPRecycle || s == EIPRecycling }

// EIP is an elastic IP or a DDoS-protected IP.
type EIP struct {
	ID     string
	Kind   AddressKind
	TeamID string
	ZoneID string
	// Address is the IPv4 address taken from the zone's pool.
	Address string
	// Netmask is always EIPNetmask: one address per EIP.
	Netmask int
	// InstanceID is the instance the EIP is associated with, or being
	// associated with or unassociated from; "" when none.
	InstanceID      string
	ChargeType      string
	Period          int // months, PREPAID only
	Status          EIPStatus
	ResourceGroupID string
	OrderNumber     string
	// PeriodPrice is what one period costs (PREPAID, renewals);
	// HourlyPrice what one hour costs (POSTPAID).
	PeriodPrice Money
	HourlyPrice Money
	CreatedAt   time.Time
	// ExpiredTime is the end of the paid period (PREPAID); zero for
	// POSTPAID.
	ExpiredTime time.Time
	// RecycledAt is when it entered the recycle bin (billing stops);
	// zero until then.
	RecycledAt time.Time
	Tags       []Tag
}

// EIPNetmask is the netmask of every EIP [decision]: an EIP is one
// address. DescribeEipAvailableResources offers only this netmask, and
// another netmask is refused.
const EIPNetmask = 32

// MaxEIPAmount is the most addresses one Allocate call takes (docs:
// "A maximum of 100 elastic IPs can be created in one request").
const MaxEIPAmount = 100

// MaxEIPsPerInstance bounds the addresses (EIPs and DDoS-protected IPs
// together) associated with one instance [decision]: the docs say only
// that the number is limited; 16 covers every use we know of and bounds
// the driver's work per host.
const MaxEIPsPerInstance = 16

// EIPStockShortage is the stock under which a zone's addresses are sold as
// SELL_SHORTAGE rather than SELL (the docs' "stock < 10").
const EIPStockShortage = 10

// Sale states of DescribeEipAvailableResources.
const (
	SellStatusSell     = "SELL"
	SellStatusShortage = "SELL_SHORTAGE"
	SellStatusSoldOut  = "SOLD_OUT"
)

// EIPSellStatus is the sale state of a zone with free addresses free.
func EIPSellStatus(free int) string {
	switch {
	case free <= 0:
		return SellStatusSoldOut
	case free < EIPStockShortage:
		return SellStatusShortage
	}
	return SellStatusSell
}

// AddressPrices are the prices of one EIP or DDoS-protected IP in a zone:
// Monthly per month of a PREPAID period, Hourly per hour of POSTPAID.
type AddressPrices struct {
	Monthly Money `yaml:"monthly"`
	Hourly  Money `yaml:"hourly"`
}

// AddressPrices returns the zone's prices of the kind, and false when the
// zone does not sell it.
func (z *Zone) AddressPrices(k AddressKind) (AddressPrices, bool) {
	p := z.EIPPrices
	if k == KindDdosIP {
		p = z.DdosIPPrices
	}
	if p == nil {
		return AddressPrices{}, false
	}
	return *p, true
}

// EIPOrder is a validated Allocate request.
type EIPOrder struct {
	Kind       AddressKind
	ChargeType string
	// Period in months, PREPAID only.
	Period int
	Amount int
	Tags   []Tag
	// UsePocVoucher: the PREPAID order is paid by one POC voucher.
	UsePocVoucher bool
	// UnitPrice is one address's price: a whole period (PREPAID) or an
	// hour (POSTPAID).
	UnitPrice Money
	// Total is what the order debits at once: UnitPrice × Amount for
	// PREPAID without a voucher, else 0.
	Total Money
}

// EIPOrderInput is the part of an Allocate or InquiryPrice request the
// order rules read; pointer fields are absent when nil.
type EIPOrderInput struct {
	ChargeType *string
	Period     *int
	Amount     *int
	Netmask    *int
	Tags       *TagAssociation
	// UsePocVoucher is marketingOptions.usePocVoucher.
	UsePocVoucher bool
	// PostpaidAllowed comes from the team.
	PostpaidAllowed bool
}

// ValidateEIPOrder checks, in order: the charge type (MISSING_PARAMETER,
// INVALID_PARAMETER), the zone sells the kind ({K}_TYPE_ZONE_NO_SELL) and
// the charge type (INVALID_CHARGE_TYPE_NOT_SUPPORT, also for POSTPAID on
// an account without it), the period of a PREPAID order (MISSING_PARAMETER
// when absent, INVALID_PARAMETER outside 1–MaxPrepaidPeriod), the amount
// (default 1, 1–MaxEIPAmount), the netmask (EIPNetmask only), the tags;
// then prices the order. pocVouchers is the team's voucher count.
func ValidateEIPOrder(k AddressKind, z *Zone, in EIPOrderInput, pocVouchers int) (*EIPOrder, *Error) {
	o := &EIPOrder{Kind: k, Amount: 1}
	field := "eipChargeType"
	if k == KindDdosIP {
		field = "ddosIpChargeType"
	}
	if in.ChargeType == nil || *in.ChargeType == "" {
		return nil, Errorf("MISSING_PARAMETER", "%s is required.", field)
	}
	o.ChargeType = *in.ChargeType
	if o.ChargeType != ChargeTypePrepaid && o.ChargeType != ChargeTypePostpaid {
		return nil, Errorf("INVALID_PARAMETER", "%s must be PREPAID or POSTPAID.", field)
	}
	prices, ok := z.AddressPrices(k)
	if !ok {
		return nil, k.Errorf("INVALID_{K}_TYPE_ZONE_NO_SELL", "%ss are not sold in %s.", k.Noun(), z.ID)
	}
	if !z.OffersCharge(o.ChargeType) || o.ChargeType == ChargeTypePostpaid && !in.PostpaidAllowed {
		return nil, Errorf("INVALID_CHARGE_TYPE_NOT_SUPPORT", "%s is not available in %s for this account.", o.ChargeType, z.ID)
	}
	if o.ChargeType == ChargeTypePrepaid {
		prepaid := strings.TrimSuffix(field, "Type") + "Prepaid.period"
		if in.Period == nil {
			return nil, Errorf("MISSING_PARAMETER", "%s is required for PREPAID.", prepaid)
		}
		if o.Period = *in.Period; o.Period < 1 || o.Period > MaxPrepaidPeriod {
			return nil, Errorf("INVALID_PARAMETER", "%s must be between 1 and %d months.", prepaid, MaxPrepaidPeriod)
		}
	}
	if in.Amount != nil {
		if o.Amount = *in.Amount; o.Amount < 1 || o.Amount > MaxEIPAmount {
			return nil, Errorf("INVALID_PARAMETER", "amount must be between 1 and %d.", MaxEIPAmount)
		}
	}
	if in.Netmask != nil && *in.Netmask != EIPNetmask {
		return nil, Errorf("INVALID_PARAMETER", "netmask must be %d: each elastic IP is one address.", EIPNetmask)
	}
	tags, tagErr := checkTags(in.Tags)
	if tagErr != nil {
		return nil, tagErr
	}
	o.Tags = tags
	if in.UsePocVoucher && o.ChargeType == ChargeTypePrepaid {
		if pocVouchers < 1 {
			return nil, Errorf("OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", "The account has no POC voucher.")
		}
		o.UsePocVoucher = true
	}
	var fits bool
	if o.ChargeType == ChargeTypePrepaid {
		o.UnitPrice, fits = prices.Monthly.Times(int64(o.Period))
	} else {
		o.UnitPrice, fits = prices.Hourly, true
	}
	if fits && o.ChargeType == ChargeTypePrepaid && !o.UsePocVoucher {
		o.Total, fits = o.UnitPrice.Times(int64(o.Amount))
	}
	if !fits {
		return nil, errAmountTooLarge()
	}
	return o, nil
}

// OffersCharge reports whether the zone sells the charge type: its
// chargeTypes list, or both when empty.
func (z *Zone) OffersCharge(chargeType string) bool {
	if len(z.ChargeTypes) == 0 {
		return true
	}
	for _, c := range z.ChargeTypes {
		if c == chargeType {
			return true
		}
	}
	return false
}

// EIPHourlyKey is the dedupe key of hour k (from 0) of a POSTPAID EIP:
// charges of EIPs use the instances' ledger kinds (prepaid_charge with the
// order, renewal, hourly_charge), and their keys name the EIP.
func EIPHourlyKey(eipID string, k int64) string {
	return EIPHourlyKeyPrefix(eipID) + strconv.FormatInt(k, 10)
}

// EIPHourlyKeyPrefix is what every hourly key of the EIP starts with.
func EIPHourlyKeyPrefix(eipID string) string { return "eip-hourly:" + eipID + ":" }

// NewEIPID returns an EIP or DDoS-protected IP ID: 18 digits, like the
// other numeric IDs.
func NewEIPID() string { return numericID(18) }
