package metalplane

import (
	"context"
	"net/url"
	"slices"
	"strings"
)

// MaxUserDataBytes bounds userData (ACTIONS.md §3.1.1: 32 KB, counted in
// bytes of the string as received).
const MaxUserDataBytes = 32768

// MaxPrepaidPeriod is the longest subscription, in months [decision].
const MaxPrepaidPeriod = 36

// MaxCreateAmount is the most instances one CreateInstances may buy.
const MaxCreateAmount = 100

// CreateLookups answers the questions CreateInstances validation asks the
// database. Each method returns an *Error with the action's code when the
// thing does not exist.
type CreateLookups interface {
	// KeyPairExists reports whether the team owns the key pair.
	KeyPairExists(ctx context.Context, teamID, keyID string) (bool, error)
	// SubnetForCreate returns the team's subnet, or nil if it has none
	// with this id.
	SubnetForCreate(ctx context.Context, teamID, subnetID string) (*SubnetState, error)
	// ResourceGroupID returns id if the team owns that group, or the
	// team's default group when id is "".
	ResourceGroupID(ctx context.Context, teamID, id string) (string, error)
}

// SubnetState is what CreateInstances needs to know of a subnet.
type SubnetState struct {
	ZoneID  string
	Status  string
	FreeIPs int
}

// CreatePlan is a validated CreateInstances request: everything the
// transaction needs, with defaults applied and names expanded.
type CreatePlan struct {
	TeamID             string
	Zone               *Zone
	Type               *InstanceType
	Offer              *Offer
	Image              *Image // nil without an image
	IpxeURL            string
	ChargeType         string
	Period             int
	InternetChargeType string
	BandwidthMbps      int
	TrafficPackageTB   float64
	ClusterID          string
	Amount             int
	Names              []string
	Hostnames          []string
	// Password is the requested password; "" means one is generated per
	// instance (also when keys are ignored on a Windows image).
	Password          string
	KeyID             string
	SSHKeys           []string
	RaidConfig        *RaidConfig
	Partitions        []Partition
	Nic               Nic
	UserData          string
	EnableIPv6        bool
	SubnetID          string
	ResourceGroupID   string
	Tags              []Tag
	UsePocVoucher     bool
	EnableGatewayMode bool
	// Price of one instance: PREPAID for the whole period, POSTPAID per hour.
	Price Quote
}

// Total returns what the order debits: amount × the PREPAID price, or 0
// for POSTPAID (which accrues) and for orders paid by a POC voucher. A
// total too large for a Money is INVALID_PARAMETER (ValidateCreate has
// refused such a plan already).
func (p *CreatePlan) Total() (Money, error) {
	if p.ChargeType != ChargeTypePrepaid || p.UsePocVoucher {
		return 0, nil
	}
	one, err := p.Price.Total()
	if err != nil {
		return 0, err
	}
	total, ok := one.Times(int64(p.Amount))
	if !ok {
		return 0, errAmountTooLarge()
	}
	return total, nil
}

// CreateContext is what ValidateCreate checks a request against.
type CreateContext struct {
	Catalog *Catalog
	Team    *Team
	// Version is the API version: sshKeys only exist in 2022-11-20.
	Version string
	Lookups CreateLookups
}

// Version2022 is the bmc API version that still takes sshKeys.
const Version2022 = "2022-11-20"

func missing(field string) *Error {
	return Errorf("MISSING_PARAMETER", "The parameter %s is required.", field)
}

func invalid(format string, args ...any) *Error {
	return Errorf("INVALID_PARAMETER", format, args...)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ValidateCreate checks a CreateInstances request in the order of
// ACTIONS.md §3.1.9 (steps 1–14; quota, stock and balance are checked in
// the transaction) and returns the plan or the first failure.
func ValidateCreate(ctx context.Context, in *CreateInstancesInput, c CreateContext) (*CreatePlan, error) {
	plan := &CreatePlan{TeamID: c.Team.ID, Amount: 1, BandwidthMbps: 1, EnableIPv6: true}

	// 1. Required fields, enums, ranges and sizes.
	for _, f := range []struct {
		name string
		v    *string
	}{{"zoneId", in.ZoneID}, {"instanceChargeType", in.InstanceChargeType}, {"instanceTypeId", in.InstanceTypeID}, {"internetChargeType", in.InternetChargeType}} {
		if str(f.v) == "" {
			return nil, missing(f.name)
		}
	}
	plan.ChargeType = *in.InstanceChargeType
	if plan.ChargeType != ChargeTypePrepaid && plan.ChargeType != ChargeTypePostpaid {
		return nil, invalid("instanceChargeType must be PREPAID or POSTPAID.")
	}
	if plan.ChargeType == ChargeTypePrepaid {
		if in.InstanceChargePrepaid == nil || in.InstanceChargePrepaid.Period == nil {
			return nil, missing("instanceChargePrepaid.period")
		}
		plan.Period = *in.InstanceChargePrepaid.Period
		if plan.Period < 1 || plan.Period > MaxPrepaidPeriod {
			return nil, invalid("instanceChargePrepaid.period must be between 1 and %d months.", MaxPrepaidPeriod)
		}
	}
	plan.InternetChargeType = *in.InternetChargeType
	if !slices.Contains(InternetChargeTypes, plan.InternetChargeType) {
		return nil, invalid("internetChargeType must be one of %s.", strings.Join(InternetChargeTypes, ", "))
	}
	if in.Amount != nil {
		plan.Amount = *in.Amount
		if plan.Amount < 1 || plan.Amount > MaxCreateAmount {
			return nil, invalid("amount must be between 1 and %d.", MaxCreateAmount)
		}
	}
	if in.InternetMaxBandwidthOut != nil {
		plan.BandwidthMbps = *in.InternetMaxBandwidthOut
		if plan.BandwidthMbps < 1 {
			return nil, invalid("internetMaxBandwidthOut must be at least 1.")
		}
	}
	if in.TrafficPackageSize != nil {
		if err := CheckTrafficPackageForm(*in.TrafficPackageSize); err != nil {
			return nil, err
		}
	}
	if len(str(in.UserData)) > MaxUserDataBytes {
		return nil, invalid("userData must be at most %d bytes.", MaxUserDataBytes)
	}
	if err := checkCreateTokens(in); err != nil {
		return nil, err
	}
	plan.UserData = str(in.UserData)
	if in.EnablePrimaryIPv6 != nil {
		plan.EnableIPv6 = *in.EnablePrimaryIPv6
	}

	// 2. Zone. 3. Instance type.
	zone, ok := c.Catalog.FindZone(*in.ZoneID)
	if !ok {
		return nil, Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
	}
	plan.Zone = zone
	t, ok := c.Catalog.FindInstanceType(*in.InstanceTypeID)
	if !ok {
		return nil, Errorf("INVALID_INSTANCE_TYPE_NOT_FOUND", "The specified instanceTypeId `%s` is not found.", *in.InstanceTypeID)
	}
	plan.Type = t

	// 4. Charge type: the account, then the zone. A type the zone does not
	// sell at all can never be bought there: sold out [decision].
	if plan.ChargeType == ChargeTypePostpaid && !c.Team.PostpaidAllowed {
		return nil, Errorf("INVALID_CHARGE_TYPE_NOT_SUPPORT", "POSTPAID is not enabled for this account.")
	}
	if len(zone.ChargeTypes) > 0 && !slices.Contains(zone.ChargeTypes, plan.ChargeType) {
		return nil, Errorf("OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", "%s is not offered in %s.", plan.ChargeType, zone.ID)
	}
	offer, ok := c.Catalog.FindOffer(zone.ID, t.ID)
	if !ok {
		return nil, Errorf("RESOURCES_SOLDOUT_INSTANCE_TYPE", "%s is not sold in %s.", t.ID, zone.ID)
	}
	plan.Offer = offer

	// 5. Network offer.
	if !slices.Contains(offer.InternetChargeTypes, plan.InternetChargeType) {
		return nil, Errorf("OPERATION_FILED_INTERNET_CHARGE_TYPE_NOT_SUPPORT", "%s is not offered for %s in %s.", plan.InternetChargeType, t.ID, zone.ID)
	}
	if plan.BandwidthMbps > t.MaxBandwidthMbps {
		return nil, Errorf("INVALID_BANDWIDTH_VALUE_EXCEED_MAXIMUM", "internetMaxBandwidthOut must be at most %d Mbps for %s.", t.MaxBandwidthMbps, t.ID)
	}
	if plan.InternetChargeType == InternetByTrafficPackage {
		plan.TrafficPackageTB = offer.DefaultTrafficPackageTB
		if in.TrafficPackageSize != nil {
			plan.TrafficPackageTB = *in.TrafficPackageSize
			if err := CheckTrafficPackageFloor(offer, plan.TrafficPackageTB); err != nil {
				return nil, err
			}
		}
	}
	if plan.InternetChargeType == InternetByBandwidthCluster {
		if str(in.ClusterID) == "" {
			return nil, missing("clusterId")
		}
		if err := CheckBandwidthCluster(zone, *in.ClusterID); err != nil {
			return nil, err
		}
		plan.ClusterID = *in.ClusterID
	}

	// 6. Image or iPXE. 7. Login.
	var err error
	if plan.Image, plan.IpxeURL, err = resolveBoot(c.Catalog, t, str(in.ImageID), str(in.IpxeURL)); err != nil {
		return nil, err
	}
	login, err := resolveLogin(ctx, c, plan.Image, str(in.Password), str(in.KeyID), in.SSHKeys)
	if err != nil {
		return nil, err
	}
	plan.Password, plan.KeyID, plan.SSHKeys = login.Password, login.KeyID, login.SSHKeys

	// 8. Names.
	var nameErr *Error
	if plan.Names, nameErr = ExpandInstanceNames(defaultString(str(in.InstanceName), "instance"), plan.Amount); nameErr != nil {
		return nil, nameErr
	}
	if plan.Hostnames, nameErr = ExpandHostnames(defaultString(str(in.Hostname), "hostname"), plan.Amount); nameErr != nil {
		return nil, nameErr
	}

	// 9. RAID. 10. Partitions. 11. NIC.
	if plan.RaidConfig, plan.Partitions, plan.Nic, err = resolveDisksAndNic(in.RaidConfig, in.Partitions, in.Nic, plan.Image, t); err != nil {
		return nil, err
	}

	// 12. Subnet.
	if id := str(in.SubnetID); id != "" {
		sub, err := c.Lookups.SubnetForCreate(ctx, c.Team.ID, id)
		if err != nil {
			return nil, err
		}
		switch {
		case sub == nil:
			return nil, Errorf("INVALID_SUBNET_NOT_FOUND", "The subnet %s does not exist.", id)
		case sub.ZoneID != zone.ID:
			return nil, Errorf("INVALID_SUBNET_ZONE_MISMATCH", "The subnet %s is in %s, not %s.", id, sub.ZoneID, zone.ID)
		case sub.Status != "AVAILABLE":
			return nil, Errorf("OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT", "The subnet %s is %s.", id, sub.Status)
		case !t.SupportSubnet:
			return nil, Errorf("OPERATION_DENIED_INSTANCE_NOT_SUPPORT_SUBNET", "%s does not support subnets.", t.ID)
		case sub.FreeIPs < plan.Amount:
			return nil, Errorf("INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT", "The subnet %s has %d free IPs, %d needed.", id, sub.FreeIPs, plan.Amount)
		}
		plan.SubnetID = id
	}

	// 13. Resource group.
	if plan.ResourceGroupID, err = c.Lookups.ResourceGroupID(ctx, c.Team.ID, str(in.ResourceGroupID)); err != nil {
		return nil, err
	}

	// 14. Tags, marketing, gateway mode.
	tags, tagErr := checkTags(in.Tags)
	if tagErr != nil {
		return nil, tagErr
	}
	plan.Tags = tags
	if m := in.MarketingOptions; m != nil && m.UsePocVoucher != nil && *m.UsePocVoucher {
		if c.Team.PocVouchers < 1 {
			return nil, Errorf("OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", "The account has no POC voucher.")
		}
		plan.UsePocVoucher = true
	}
	if in.EnableGatewayMode != nil && *in.EnableGatewayMode {
		if !c.Team.GatewayModeAllowed {
			return nil, Errorf("UNAUTHORIZED_OPERATION", "Gateway mode is not enabled for this account.")
		}
		plan.EnableGatewayMode = true
	}

	// The price, before the store's quota, stock and balance (steps
	// 15–17): every input is within its bounds by now, and a price too
	// large for a Money is still refused here, before any write.
	if plan.Price, err = PriceOf(PriceInput{Offer: offer, ChargeType: plan.ChargeType, Period: plan.Period,
		InternetChargeType: plan.InternetChargeType, BandwidthMbps: plan.BandwidthMbps, TrafficPackageTB: plan.TrafficPackageTB}); err != nil {
		return nil, err
	}
	if _, err := plan.Total(); err != nil {
		return nil, err
	}
	return plan, nil
}

// checkCreateTokens bounds the IDs and other short strings of a
// CreateInstances request (step 1): they are echoed in error messages,
// stored, or both, so their size is checked before anything reads them.
// Names, the password, ipxeUrl, keys, partitions and tags are bounded by
// their own rules in the later steps, still before any write.
func checkCreateTokens(in *CreateInstancesInput) *Error {
	var discountCode *string
	if in.MarketingOptions != nil {
		discountCode = in.MarketingOptions.DiscountCode
	}
	return FirstError(
		CheckID("zoneId", in.ZoneID), CheckID("instanceTypeId", in.InstanceTypeID), CheckID("imageId", in.ImageID),
		CheckID("resourceGroupId", in.ResourceGroupID), CheckID("keyId", in.KeyID), CheckID("subnetId", in.SubnetID),
		CheckID("clusterId", in.ClusterID),
		CheckLength("marketingOptions.discountCode", discountCode, MaxDiscountCodeLength),
	)
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// The operating-system options below are shared by CreateInstances and
// ReinstallInstance (ACTIONS.md §3.6: "as CreateInstances"), so both
// answer the same codes for the same mistakes.

// resolveBoot checks imageId and ipxeUrl (CreateInstances step 6): at most
// one of them, an image installable on the type, an http(s) iPXE script or
// the literal netboot.
func resolveBoot(cat *Catalog, t *InstanceType, imageID, ipxeURL string) (*Image, string, error) {
	if imageID != "" && ipxeURL != "" {
		return nil, "", invalid("Give either imageId or ipxeUrl, not both.")
	}
	var img *Image
	if imageID != "" {
		found, ok := cat.FindImage(imageID)
		if !ok || !found.FitsType(t.ID) {
			return nil, "", Errorf("INVALID_IMAGE_NOT_FOUND", "The specified imageId `%s` is not found for %s.", imageID, t.ID)
		}
		img = found
	}
	if len(ipxeURL) > MaxIpxeURLLength {
		return nil, "", invalid("ipxeUrl must be at most %d bytes.", MaxIpxeURLLength)
	}
	if u := ipxeURL; u != "" {
		if parsed, err := url.Parse(u); u != "netboot" && (err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "") {
			return nil, "", invalid("ipxeUrl must be an http(s) URL or netboot.")
		}
	}
	return img, ipxeURL, nil
}

// Login is the validated login of an OS installation.
type Login struct {
	// Password is the requested password; "" means one is generated.
	Password string
	KeyID    string
	SSHKeys  []string
}

// resolveLogin checks password, keyId and sshKeys (CreateInstances step
// 7) for an installation of img (nil: no image).
func resolveLogin(ctx context.Context, c CreateContext, img *Image, password, keyID string, sshKeys []string) (Login, error) {
	var l Login
	if c.Version != Version2022 {
		sshKeys = nil // unknown field on 2026-02-01: ignored
	}
	given := 0
	for _, set := range []bool{password != "", keyID != "", len(sshKeys) > 0} {
		if set {
			given++
		}
	}
	if given > 1 {
		return l, Errorf("INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT", "Give only one of password, keyId and sshKeys.")
	}
	if password != "" {
		if err := ValidatePassword(password); err != nil {
			return l, err
		}
		l.Password = password
	}
	if keyID != "" {
		ok, err := c.Lookups.KeyPairExists(ctx, c.Team.ID, keyID)
		if err != nil {
			return l, err
		}
		if !ok {
			return l, Errorf("INVALID_KEY_PAIR_NOT_FOUND", "The key pair %s does not exist.", keyID)
		}
		l.KeyID = keyID
	}
	if len(sshKeys) > 0 {
		if err := ValidateSSHKeys(sshKeys); err != nil {
			return l, err
		}
		l.SSHKeys = sshKeys
	}
	if (l.KeyID != "" || len(l.SSHKeys) > 0) && img != nil && img.OSType == "windows" {
		// The seed: "SSH key pairs are not supported for Windows
		// operating system." Refused rather than ignored, so that no one
		// waits for a key login that will never work.
		return l, invalid("SSH key pairs are not supported for Windows images; give a password or none.")
	}
	if img == nil || img.OSType != "linux" {
		// Keys need a Linux image; on ESXi or without an image a password
		// is generated (ACTIONS.md §3.1.3). keyId is still echoed.
		l.SSHKeys = nil
	}
	return l, nil
}

// resolveDisksAndNic checks raidConfig, partitions and nic
// (CreateInstances steps 9–11) for an installation of img on type t. It
// returns the RAID as requested (nil when none), the partitions as
// requested and the effective NIC names.
func resolveDisksAndNic(raid *RaidConfig, parts []Partition, nic *Nic, img *Image, t *InstanceType) (*RaidConfig, []Partition, Nic, error) {
	if raid != nil && raid.RaidType == nil && len(raid.CustomRaids) == 0 {
		raid = nil
	}
	if raid != nil {
		if err := ValidateRaid(raid, t); err != nil {
			return nil, nil, Nic{}, err
		}
	}
	if len(parts) > 0 {
		if err := ValidatePartitions(parts, img, RaidUsableGB(raid, t)); err != nil {
			return nil, nil, Nic{}, err
		}
	} else {
		parts = nil
	}
	resolved, err := ResolveNic(nic, t)
	if err != nil {
		return nil, nil, Nic{}, err
	}
	return raid, parts, resolved, nil
}
