package httpapi

import (
	"slices"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

func handleCreateInstances(r *request) (any, error) {
	var in metalplane.CreateInstancesInput
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	team, err := r.server.DB.FindTeam(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	plan, err := metalplane.ValidateCreate(r.ctx, &in, metalplane.CreateContext{
		Catalog: r.server.Catalog, Team: team, Version: r.version, Lookups: r.server.DB.Lookups(),
	})
	if err != nil {
		return nil, err
	}
	res, err := r.server.DB.CreateInstances(r.ctx, plan, r.server.Enqueue)
	if err != nil {
		return nil, err
	}
	if r.server.PurchasedFunc != nil {
		r.server.PurchasedFunc(len(res.InstanceIDSet))
	}
	return res, nil
}

// priceItem is PriceItem (2026) / Price (2022); the superset is sent.
type priceItem struct {
	Discount          float64  `json:"discount"`
	DiscountPrice     *float64 `json:"discountPrice"`
	OriginalPrice     *float64 `json:"originalPrice"`
	UnitPrice         *float64 `json:"unitPrice"`
	DiscountUnitPrice *float64 `json:"discountUnitPrice"`
	ChargeUnit        string   `json:"chargeUnit,omitempty"`
	AmountUnit        string   `json:"amountUnit,omitempty"`
	Category          string   `json:"category"`
}

// toPriceItem renders a PREPAID amount (for the whole period) or a
// POSTPAID hourly unit price. No discounts exist, so discount is 100.
func toPriceItem(m metalplane.Money, chargeType, amountUnit string) priceItem {
	v := m.Float()
	item := priceItem{Discount: 100, Category: "STANDARD", AmountUnit: amountUnit}
	if chargeType == metalplane.ChargeTypePrepaid {
		item.OriginalPrice, item.DiscountPrice = &v, &v
	} else {
		item.UnitPrice, item.DiscountUnitPrice = &v, &v
		item.ChargeUnit = "HOUR"
	}
	return item
}

func handleInquiryPriceCreateInstance(r *request) (any, error) {
	var in struct {
		ZoneID                  *string                   `json:"zoneId"`
		InstanceTypeID          *string                   `json:"instanceTypeId"`
		InstanceChargeType      *string                   `json:"instanceChargeType"`
		InstanceChargePrepaid   *metalplane.ChargePrepaid `json:"instanceChargePrepaid"`
		InternetChargeType      *string                   `json:"internetChargeType"`
		InternetMaxBandwidthOut *int                      `json:"internetMaxBandwidthOut"`
		TrafficPackageSize      *float64                  `json:"trafficPackageSize"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("instanceTypeId", in.InstanceTypeID)); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"zoneId", in.ZoneID}, {"instanceTypeId", in.InstanceTypeID}, {"instanceChargeType", in.InstanceChargeType}, {"internetChargeType", in.InternetChargeType}} {
		if f.v == nil || *f.v == "" {
			return nil, metalplane.Errorf("MISSING_PARAMETER", "The parameter %s is required.", f.name)
		}
	}
	if err := checkEnum("instanceChargeType", *in.InstanceChargeType, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
		return nil, err
	}
	if err := checkEnum("internetChargeType", *in.InternetChargeType, metalplane.InternetChargeTypes...); err != nil {
		return nil, err
	}
	period := 0
	if *in.InstanceChargeType == metalplane.ChargeTypePrepaid {
		if in.InstanceChargePrepaid == nil || in.InstanceChargePrepaid.Period == nil {
			return nil, metalplane.Errorf("MISSING_PARAMETER", "The parameter instanceChargePrepaid.period is required.")
		}
		if period = *in.InstanceChargePrepaid.Period; period < 1 || period > metalplane.MaxPrepaidPeriod {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "instanceChargePrepaid.period must be between 1 and %d months.", metalplane.MaxPrepaidPeriod)
		}
	}
	bandwidth := 1
	if in.InternetMaxBandwidthOut != nil {
		if bandwidth = *in.InternetMaxBandwidthOut; bandwidth < 0 {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "internetMaxBandwidthOut must not be negative.")
		}
	}
	if in.TrafficPackageSize != nil {
		if err := metalplane.CheckTrafficPackageForm(*in.TrafficPackageSize); err != nil {
			return nil, err
		}
	}
	cat := r.server.Catalog
	zone, ok := cat.FindZone(*in.ZoneID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
	}
	t, ok := cat.FindInstanceType(*in.InstanceTypeID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_INSTANCE_TYPE_NOT_FOUND", "The specified instanceTypeId `%s` is not found.", *in.InstanceTypeID)
	}
	offer, ok := cat.FindOffer(zone.ID, t.ID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_INSTANCE_TYPE_ZONE_NO_SELL", "%s is not sold in %s.", t.ID, zone.ID)
	}
	team, err := r.server.DB.FindTeam(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	if *in.InstanceChargeType == metalplane.ChargeTypePostpaid && !team.PostpaidAllowed || !zoneOffersCharge(zone, *in.InstanceChargeType) {
		return nil, metalplane.Errorf("INVALID_CHARGE_TYPE_NOT_SUPPORT", "%s is not available here for this account.", *in.InstanceChargeType)
	}
	if !slices.Contains(offer.InternetChargeTypes, *in.InternetChargeType) {
		return nil, metalplane.Errorf("INVALID_INSTANCE_BANDWIDTH_ZONE_NO_SELL", "%s is not sold for %s in %s.", *in.InternetChargeType, t.ID, zone.ID)
	}
	if bandwidth > t.MaxBandwidthMbps {
		return nil, metalplane.Errorf("INVALID_BANDWIDTH_VALUE_EXCEED_MAXIMUM", "internetMaxBandwidthOut must be at most %d Mbps for %s.", t.MaxBandwidthMbps, t.ID)
	}
	traffic := offer.DefaultTrafficPackageTB
	if in.TrafficPackageSize != nil && *in.InternetChargeType == metalplane.InternetByTrafficPackage {
		traffic = *in.TrafficPackageSize
		if err := metalplane.CheckTrafficPackageFloor(offer, traffic); err != nil {
			return nil, err
		}
	}
	q, err := metalplane.PriceOf(metalplane.PriceInput{Offer: offer, ChargeType: *in.InstanceChargeType, Period: period,
		InternetChargeType: *in.InternetChargeType, BandwidthMbps: bandwidth, TrafficPackageTB: traffic})
	if err != nil {
		return nil, err
	}
	bandwidthPrice := []priceItem{toPriceItem(q.Bandwidth, *in.InstanceChargeType, "Mbps")}
	if metalplane.BilledByPercentile95(*in.InternetChargeType) {
		// Nothing is paid for bandwidth up front; the 95th percentile of
		// each month is billed per Mbps at the month's end.
		unit := offer.Prices.BandwidthMonthlyPerMbps.Float()
		bandwidthPrice[0].UnitPrice, bandwidthPrice[0].DiscountUnitPrice, bandwidthPrice[0].ChargeUnit = &unit, &unit, "MONTH"
	}
	if *in.InternetChargeType == metalplane.InternetByTrafficPackage {
		bandwidthPrice = append(bandwidthPrice, toPriceItem(q.Traffic, *in.InstanceChargeType, "TB"))
	}
	return map[string]any{
		"instancePrice":  toPriceItem(q.Instance, *in.InstanceChargeType, ""),
		"bandwidthPrice": bandwidthPrice,
		"primaryIpPrice": toPriceItem(q.IP, *in.InstanceChargeType, ""),
	}, nil
}

// instanceInfo is InstanceInfo (ACTIONS.md §5.13), the 2026-02-01 superset.
type instanceInfo struct {
	InstanceID               string                 `json:"instanceId"`
	ZoneID                   string                 `json:"zoneId"`
	InstanceName             string                 `json:"instanceName"`
	Hostname                 string                 `json:"hostname"`
	InstanceTypeID           string                 `json:"instanceTypeId"`
	InstanceType             *instanceTypeInfo      `json:"instanceType,omitempty"`
	ImageID                  *string                `json:"imageId"`
	ImageName                *string                `json:"imageName"`
	IpxeURL                  *string                `json:"ipxeUrl"`
	InstanceChargeType       string                 `json:"instanceChargeType"`
	BandwidthOutMbps         int                    `json:"bandwidthOutMbps"`
	InternetChargeType       string                 `json:"internetChargeType"`
	Period                   *int                   `json:"period"`
	PrimaryPublicIPAddress   *string                `json:"primaryPublicIpAddress"`
	PrimaryPublicIPv6Address *string                `json:"primaryPublicIPv6Address"`
	PublicIPAddresses        []string               `json:"publicIpAddresses"`
	PrivateIPAddresses       []string               `json:"privateIpAddresses"`
	IPv6Addresses            []string               `json:"ipv6Addresses"`
	SubnetIDs                []string               `json:"subnetIds"`
	CreateTime               string                 `json:"createTime"`
	ExpiredTime              *string                `json:"expiredTime"`
	ResourceGroupID          string                 `json:"resourceGroupId"`
	ResourceGroupName        string                 `json:"resourceGroupName"`
	InstanceStatus           string                 `json:"instanceStatus"`
	TrafficPackageSize       *float64               `json:"trafficPackageSize"`
	RaidConfig               *metalplane.RaidConfig `json:"raidConfig"`
	Partitions               []metalplane.Partition `json:"partitions"`
	Nic                      metalplane.Nic         `json:"nic"`
	AutoRenew                bool                   `json:"autoRenew"`
	KeyID                    *string                `json:"keyId"`
	Tags                     tagsInfo               `json:"tags"`
	EnableGatewayMode        bool                   `json:"enableGatewayMode"`
}

type tagsInfo struct {
	Tags []metalplane.Tag `json:"tags"`
}

// APITime formats a time as every API body does: UTC to the second.
func APITime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toInstanceInfo renders an instance; types holds the instanceType objects
// already made for the same answer, by ID, and gets the new ones.
func toInstanceInfo(cat *metalplane.Catalog, groups map[string]string, types map[string]*instanceTypeInfo, in *metalplane.Instance) instanceInfo {
	info := instanceInfo{
		InstanceID: in.ID, ZoneID: in.ZoneID, InstanceName: in.Name, Hostname: in.Hostname, InstanceTypeID: in.InstanceTypeID,
		ImageID: optional(in.ImageID), IpxeURL: optional(in.IpxeURL), InstanceChargeType: in.ChargeType,
		BandwidthOutMbps: in.BandwidthOutMbps, InternetChargeType: in.InternetChargeType,
		PrimaryPublicIPAddress: optional(in.PublicIPv4), PrimaryPublicIPv6Address: optional(in.PublicIPv6),
		PublicIPAddresses: []string{}, PrivateIPAddresses: []string{}, SubnetIDs: []string{},
		CreateTime: APITime(in.CreateTime), ResourceGroupID: in.ResourceGroupID, ResourceGroupName: groups[in.ResourceGroupID],
		InstanceStatus: string(in.Status), RaidConfig: in.RaidConfig, Partitions: in.Partitions, Nic: in.Nic,
		AutoRenew: in.AutoRenew, KeyID: optional(in.KeyID), Tags: tagsInfo{Tags: in.Tags}, EnableGatewayMode: in.EnableGatewayMode,
	}
	if ti, ok := types[in.InstanceTypeID]; ok {
		info.InstanceType = ti
	} else if t, ok := cat.FindInstanceType(in.InstanceTypeID); ok {
		ti := toInstanceTypeInfo(t)
		info.InstanceType = &ti
		types[in.InstanceTypeID] = &ti
	}
	if img, ok := cat.FindImage(in.ImageID); ok {
		info.ImageName = &img.Name
	}
	if in.ChargeType == metalplane.ChargeTypePrepaid {
		info.Period = &in.Period
	}
	if !in.ExpiredTime.IsZero() {
		info.ExpiredTime = optional(APITime(in.ExpiredTime))
	}
	if in.PublicIPv4 != "" {
		info.PublicIPAddresses = append(info.PublicIPAddresses, in.PublicIPv4)
	}
	if in.PublicIPv6 != "" {
		info.IPv6Addresses = []string{in.PublicIPv6}
	}
	if in.PrivateIP != "" {
		info.PrivateIPAddresses = append(info.PrivateIPAddresses, in.PrivateIP)
	}
	if in.SubnetID != "" {
		info.SubnetIDs = append(info.SubnetIDs, in.SubnetID)
	}
	if in.InternetChargeType == metalplane.InternetByTrafficPackage {
		info.TrafficPackageSize = &in.TrafficPackageTB
	}
	if info.Partitions == nil {
		info.Partitions = []metalplane.Partition{}
	}
	if info.Tags.Tags == nil {
		info.Tags.Tags = []metalplane.Tag{}
	}
	return info
}

var instanceStatuses = []string{"PENDING", "CREATING", "CREATE_FAILED", "INSTALLING", "INSTALL_FAILED", "RUNNING", "STOPPED", "BOOTING", "STOPPING", "RECYCLE"}

func handleDescribeInstances(r *request) (any, error) {
	var in struct {
		InstanceIDs        []string         `json:"instanceIds"`
		ZoneID             *string          `json:"zoneId"`
		ResourceGroupID    *string          `json:"resourceGroupId"`
		InstanceTypeID     *string          `json:"instanceTypeId"`
		InternetChargeType *string          `json:"internetChargeType"`
		ImageID            *string          `json:"imageId"`
		SubnetID           *string          `json:"subnetId"`
		InstanceStatus     *string          `json:"instanceStatus"`
		InstanceName       *string          `json:"instanceName"`
		Hostname           *string          `json:"hostname"`
		PublicIPAddresses  []string         `json:"publicIpAddresses"`
		PrivateIPAddresses []string         `json:"privateIpAddresses"`
		TagKeys            []string         `json:"tagKeys"`
		Tags               []metalplane.Tag `json:"tags"`
		PageNum            *int             `json:"pageNum"`
		PageSize           *int             `json:"pageSize"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	// Name filters may end with '*' (a prefix match), hence one more
	// character than a name.
	if err := metalplane.FirstError(
		metalplane.CheckIDList("instanceIds", in.InstanceIDs, metalplane.MaxListItems),
		metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
		metalplane.CheckID("instanceTypeId", in.InstanceTypeID), metalplane.CheckID("internetChargeType", in.InternetChargeType),
		metalplane.CheckID("imageId", in.ImageID), metalplane.CheckID("subnetId", in.SubnetID),
		metalplane.CheckID("instanceStatus", in.InstanceStatus),
		metalplane.CheckLength("instanceName", in.InstanceName, metalplane.MaxNameLength+1),
		metalplane.CheckLength("hostname", in.Hostname, metalplane.MaxNameLength+1),
		metalplane.CheckIDList("publicIpAddresses", in.PublicIPAddresses, metalplane.MaxListItems),
		metalplane.CheckIDList("privateIpAddresses", in.PrivateIPAddresses, metalplane.MaxListItems),
		metalplane.CheckList("tagKeys", in.TagKeys, metalplane.MaxTagFilters, metalplane.MaxTagLength),
		metalplane.CheckTagFilters(in.Tags),
	); err != nil {
		return nil, err
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	cat := r.server.Catalog
	f := sqlstore.InstanceFilter{TeamID: r.caller.TeamID, IDs: in.InstanceIDs, PublicIPs: in.PublicIPAddresses, PrivateIPs: in.PrivateIPAddresses,
		TagKeys: in.TagKeys, Offset: pageOffset(num, size), Limit: size}
	if v := deref(in.ZoneID); v != "" {
		if _, ok := cat.FindZone(v); !ok {
			return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", v)
		}
		f.ZoneID = v
	}
	if v := deref(in.InstanceTypeID); v != "" {
		if _, ok := cat.FindInstanceType(v); !ok {
			return nil, metalplane.Errorf("INVALID_INSTANCE_TYPE_NOT_FOUND", "The specified instanceTypeId `%s` is not found.", v)
		}
		f.InstanceTypeID = v
	}
	if v := deref(in.ImageID); v != "" {
		if _, ok := cat.FindImage(v); !ok {
			return nil, metalplane.Errorf("INVALID_IMAGE_NOT_FOUND", "The specified imageId `%s` is not found.", v)
		}
		f.ImageID = v
	}
	if v := deref(in.InstanceStatus); v != "" {
		if err := checkEnum("instanceStatus", v, instanceStatuses...); err != nil {
			return nil, err
		}
		f.Status = v
	}
	if v := deref(in.InternetChargeType); v != "" {
		if err := checkEnum("internetChargeType", v, metalplane.InternetChargeTypes...); err != nil {
			return nil, err
		}
		f.InternetChargeType = v
	}
	f.ResourceGroupID, f.SubnetID, f.Name, f.Hostname = deref(in.ResourceGroupID), deref(in.SubnetID), deref(in.InstanceName), deref(in.Hostname)
	for _, tag := range in.Tags {
		f.Tags = append(f.Tags, [2]string{*tag.Key, deref(tag.Value)})
	}
	found, total, err := r.server.DB.FindListedInstances(r.ctx, f)
	if err != nil {
		return nil, err
	}
	groupIDs := make([]string, len(found))
	for i, inst := range found {
		groupIDs[i] = inst.ResourceGroupID
	}
	groups, err := r.server.DB.ResourceGroupNamesOf(r.ctx, r.caller.TeamID, groupIDs)
	if err != nil {
		return nil, err
	}
	data := make([]instanceInfo, len(found))
	types := map[string]*instanceTypeInfo{}
	for i, inst := range found {
		data[i] = toInstanceInfo(cat, groups, types, inst)
	}
	answer, err := encodeDescribeInstances(data, total)
	return encodedOutput(answer), err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
