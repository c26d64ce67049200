package httpapi

import (
	"strings"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The bmc load balancer actions (docs/loadbalancers.md). Every call sees
// only the caller's team: another team's load balancer, listener, backend
// or VIP is "not found". ModifyBackendWeight and
// ModifyLoadBalancerBandwidth exist in 2022-11-20 only (only2022).

// only2022 serves an action of the 2022-11-20 SDK only; 2026-02-01 has no
// such action, so a call of it there is INVALID_ACTION.
func only2022(h func(r *request) (any, error)) func(r *request) (any, error) {
	return func(r *request) (any, error) {
		if r.version != BMCVersion2022 {
			return nil, metalplane.Errorf("INVALID_ACTION", "The action %s does not exist in version %s of service %s.", r.action, r.version, r.service)
		}
		return h(r)
	}
}

// str returns *p, or "" for nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// lbOfferIn returns the zone's load balancer offer. An unknown zone, and
// [decision] a zone that sells no load balancer, is INVALID_ZONE_NOT_FOUND:
// for these actions it is no zone.
func lbOfferIn(r *request, zoneID string) (*metalplane.Zone, *metalplane.LoadBalancerOffer, error) {
	zone, ok := r.server.Catalog.FindZone(zoneID)
	if !ok {
		return nil, nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", zoneID)
	}
	offer, ok := r.server.Catalog.FindLoadBalancerOffer(zoneID)
	if !ok {
		return nil, nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The zone %s sells no load balancers.", zoneID)
	}
	return zone, offer, nil
}

// checkLBChargeType checks a chargeType: one of PREPAID and POSTPAID
// (INVALID_PARAMETER otherwise).
func checkLBChargeType(v *string) error {
	if err := requireString("chargeType", v); err != nil {
		return err
	}
	return checkEnum("chargeType", *v, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid)
}

type describeLoadBalancerZonesRequest struct {
	ChargeType *string `json:"chargeType"`
}

type describeLoadBalancerZonesResponse struct {
	ZoneIDSet []string `json:"zoneIdSet"`
}

// handleDescribeLoadBalancerZones lists the zones whose load balancer offer
// sells with the charge type, in catalog order.
func handleDescribeLoadBalancerZones(r *request) (any, error) {
	var in describeLoadBalancerZonesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := checkLBChargeType(in.ChargeType); err != nil {
		return nil, err
	}
	out := describeLoadBalancerZonesResponse{ZoneIDSet: []string{}}
	for _, o := range r.server.Catalog.LoadBalancers {
		if z, ok := r.server.Catalog.FindZone(o.ZoneID); ok && o.OffersCharge(z, *in.ChargeType) {
			out.ZoneIDSet = append(out.ZoneIDSet, o.ZoneID)
		}
	}
	return out, nil
}

type describeLoadBalancerSpecsRequest struct {
	ChargeType *string `json:"chargeType"`
	ZoneID     *string `json:"zoneId"`
}

type loadBalancerSpecInfo struct {
	SpecName      string `json:"specName"`
	MaxConnection int    `json:"maxConnection"`
	Cps           int    `json:"cps"`
	Qps           int    `json:"qps"`
}

type describeLoadBalancerSpecsResponse struct {
	SpecSet []loadBalancerSpecInfo `json:"specSet"`
}

// handleDescribeLoadBalancerSpecs lists the specs of the zone's offer; a
// charge type the zone does not sell lists none.
func handleDescribeLoadBalancerSpecs(r *request) (any, error) {
	var in describeLoadBalancerSpecsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := checkLBChargeType(in.ChargeType); err != nil {
		return nil, err
	}
	zoneID, err := requiredID("zoneId", in.ZoneID)
	if err != nil {
		return nil, err
	}
	zone, offer, err := lbOfferIn(r, zoneID)
	if err != nil {
		return nil, err
	}
	out := describeLoadBalancerSpecsResponse{SpecSet: []loadBalancerSpecInfo{}}
	if !offer.OffersCharge(zone, *in.ChargeType) {
		return out, nil
	}
	for _, s := range offer.Specs {
		out.SpecSet = append(out.SpecSet, loadBalancerSpecInfo{SpecName: s.Name, MaxConnection: s.MaxConnection, Cps: s.CPS, Qps: s.QPS})
	}
	return out, nil
}

// lbChargePrepaid is instanceChargePrepaid of CreateLoadBalancer: the
// 2022-11-20 SDK also sends periodUnit and noConfirmPay.
type lbChargePrepaid struct {
	Period       *int    `json:"period"`
	PeriodUnit   *string `json:"periodUnit"`
	NoConfirmPay *bool   `json:"noConfirmPay"`
}

type createLoadBalancerRequest struct {
	ClientToken           *string                    `json:"clientToken"`
	ZoneID                *string                    `json:"zoneId"`
	LoadBalancerName      *string                    `json:"loadBalancerName"`
	SpecName              *string                    `json:"specName"`
	ChargeType            *string                    `json:"chargeType"`
	InstanceChargePrepaid *lbChargePrepaid           `json:"instanceChargePrepaid"`
	Bandwidth             *int                       `json:"bandwidth"`
	IPType                *string                    `json:"ipType"`
	VipCount              *int                       `json:"vipCount"`
	SubnetID              *string                    `json:"subnetId"`
	CidrBlockID           *string                    `json:"cidrBlockId"`
	MasterIP              *string                    `json:"masterIp"`
	BackupIP              *string                    `json:"backupIp"`
	MarketingOptions      *metalplane.MarketingInfo  `json:"marketingOptions"`
	Tags                  *metalplane.TagAssociation `json:"tags"`
	// ResourceGroupID is metalplane's: no SDK sends it, and no action
	// moves a load balancer between groups, so it is the one way to put
	// one in a group other than the default.
	ResourceGroupID *string `json:"resourceGroupId"`
}

// handleCreateLoadBalancer checks, in order ([decision]): the required
// fields (specName is not one: 2026-02-01 has no such field, and a
// request without it buys the zone's first spec), the bounds of every string, the zone and its offer, the charge
// type (offered in the zone, then PREPAID's period), the spec, the
// bandwidth (1 to the offer's maximum), ipType and a pool of it, vipCount,
// cidrBlockId (none exist), the subnet's IPs' form, the name, the tags and
// the POC voucher; the store checks the team's charge type, the group,
// the subnet, the money and the pool.
func handleCreateLoadBalancer(r *request) (any, error) {
	var in createLoadBalancerRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"zoneId", in.ZoneID}, {"loadBalancerName", in.LoadBalancerName}, {"chargeType", in.ChargeType}, {"ipType", in.IPType}} {
		if err := requireString(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if in.Bandwidth == nil {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "bandwidth is required.")
	}
	if err := metalplane.FirstError(
		metalplane.CheckID("clientToken", in.ClientToken), metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("specName", in.SpecName),
		metalplane.CheckID("chargeType", in.ChargeType), metalplane.CheckID("ipType", in.IPType), metalplane.CheckID("subnetId", in.SubnetID),
		metalplane.CheckID("cidrBlockId", in.CidrBlockID), metalplane.CheckID("masterIp", in.MasterIP), metalplane.CheckID("backupIp", in.BackupIP),
		metalplane.CheckID("resourceGroupId", in.ResourceGroupID), metalplane.CheckLength("loadBalancerName", in.LoadBalancerName, metalplane.MaxLoadBalancerNameLength),
	); err != nil {
		return nil, err
	}
	if m := in.MarketingOptions; m != nil {
		if err := metalplane.CheckLength("marketingOptions.discountCode", m.DiscountCode, metalplane.MaxDiscountCodeLength); err != nil {
			return nil, err
		}
	}
	zone, offer, err := lbOfferIn(r, *in.ZoneID)
	if err != nil {
		return nil, err
	}
	if err := checkLBChargeType(in.ChargeType); err != nil {
		return nil, err
	}
	if !offer.OffersCharge(zone, *in.ChargeType) {
		return nil, metalplane.Errorf("OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", "Load balancers are not sold %s in %s.", *in.ChargeType, zone.ID)
	}
	period := 0
	if *in.ChargeType == metalplane.ChargeTypePrepaid {
		p := in.InstanceChargePrepaid
		if p == nil || p.Period == nil {
			return nil, metalplane.Errorf("MISSING_PARAMETER", "instanceChargePrepaid.period is required for PREPAID.")
		}
		if *p.Period < 1 || *p.Period > metalplane.MaxPrepaidPeriod {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "instanceChargePrepaid.period must be between 1 and %d months.", metalplane.MaxPrepaidPeriod)
		}
		if p.PeriodUnit != nil && *p.PeriodUnit != "" && !strings.EqualFold(*p.PeriodUnit, "month") {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "instanceChargePrepaid.periodUnit must be Month: periods are counted in months.")
		}
		period = *p.Period
	}
	// The 2026-02-01 request has no specName: the zone's first spec.
	spec, ok := &offer.Specs[0], true
	if str(in.SpecName) != "" {
		spec, ok = offer.FindSpec(*in.SpecName)
	}
	if !ok {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "specName `%s` is not sold in %s; DescribeLoadBalancerSpecs lists the specs.", *in.SpecName, zone.ID)
	}
	if *in.Bandwidth < 1 {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "bandwidth must be at least 1 Mbps.")
	}
	if *in.Bandwidth > offer.MaxBandwidthMbps {
		return nil, metalplane.Errorf("INVALID_PARAMETER_BANDWIDTH_EXCEED", "bandwidth must be at most %d Mbps in %s.", offer.MaxBandwidthMbps, zone.ID)
	}
	if err := checkEnum("ipType", *in.IPType, metalplane.LoadBalancerIPTypes...); err != nil {
		return nil, err
	}
	if (*in.IPType == metalplane.LoadBalancerIPv4 && len(zone.IPv4Pools) == 0) || (*in.IPType == metalplane.LoadBalancerIPv6 && len(zone.IPv6Pools) == 0) {
		return nil, metalplane.Errorf("RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", "The zone %s has no public %s addresses.", zone.ID, *in.IPType)
	}
	extra := 0
	if in.VipCount != nil {
		if *in.VipCount < 0 || *in.VipCount > metalplane.MaxLoadBalancerVIPs-1 {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "vipCount must be between 0 and %d: a load balancer holds at most %d VIPs.", metalplane.MaxLoadBalancerVIPs-1, metalplane.MaxLoadBalancerVIPs)
		}
		extra = *in.VipCount
	}
	if str(in.CidrBlockID) != "" {
		return nil, metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The CIDR block %s does not exist.", *in.CidrBlockID)
	}
	if str(in.SubnetID) == "" && (str(in.MasterIP) != "" || str(in.BackupIP) != "") {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "masterIp and backupIp are addresses of subnetId; give the subnet.")
	}
	if err := metalplane.ValidateLoadBalancerName("loadBalancerName", *in.LoadBalancerName); err != nil {
		return nil, err
	}
	tags, tagErr := metalplane.CheckLoadBalancerTags(in.Tags)
	if tagErr != nil {
		return nil, tagErr
	}
	if m := in.MarketingOptions; m != nil && m.UsePocVoucher != nil && *m.UsePocVoucher {
		return nil, metalplane.Errorf("OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", "POC vouchers apply to instances only.")
	}
	price, priceErr := offer.PriceOf(spec, *in.Bandwidth, extra)
	if priceErr != nil {
		return nil, priceErr
	}
	return r.server.DB.CreateLoadBalancer(r.ctx, sqlstore.LoadBalancerCreate{
		TeamID: r.caller.TeamID, ZoneID: zone.ID, Name: *in.LoadBalancerName, SpecName: spec.Name, ChargeType: *in.ChargeType, Period: period,
		IPType: *in.IPType, BandwidthMbps: *in.Bandwidth, ExtraVIPs: extra, SubnetID: str(in.SubnetID), MasterIP: str(in.MasterIP),
		BackupIP: str(in.BackupIP), Tags: tags, ResourceGroupID: str(in.ResourceGroupID), ClientToken: str(in.ClientToken), Price: price,
	})
}

// lbPriceFunc prices a load balancer at today's catalog.
func lbPriceFunc(r *request) sqlstore.LoadBalancerPriceFunc {
	return func(lb *metalplane.LoadBalancer, mbps, extraVIPs int) (metalplane.LoadBalancerPrice, error) {
		_, offer, err := lbOfferIn(r, lb.ZoneID)
		if err != nil {
			return metalplane.LoadBalancerPrice{}, err
		}
		spec, ok := offer.FindSpec(lb.SpecName)
		if !ok {
			return metalplane.LoadBalancerPrice{}, metalplane.Errorf("INVALID_PARAMETER", "The spec %s of %s is no longer sold; the load balancer cannot be changed.", lb.SpecName, lb.ID)
		}
		if mbps > offer.MaxBandwidthMbps {
			return metalplane.LoadBalancerPrice{}, metalplane.Errorf("INVALID_PARAMETER_BANDWIDTH_EXCEED", "bandwidth must be at most %d Mbps in %s.", offer.MaxBandwidthMbps, lb.ZoneID)
		}
		p, perr := offer.PriceOf(spec, mbps, extraVIPs)
		if perr != nil {
			return metalplane.LoadBalancerPrice{}, perr
		}
		return p, nil
	}
}

type describeLoadBalancersRequest struct {
	LoadBalancerIDs  []string         `json:"loadBalancerIds"`
	ZoneID           *string          `json:"zoneId"`
	LoadBalancerName *string          `json:"loadBalancerName"`
	PageNum          *int             `json:"pageNum"`
	PageSize         *int             `json:"pageSize"`
	ResourceGroupID  *string          `json:"resourceGroupId"`
	TagKeys          []string         `json:"tagKeys"`
	Tags             []metalplane.Tag `json:"tags"`
}

// loadBalancerInfo is LoadBalancerInfo; every field is always present.
type loadBalancerInfo struct {
	LoadBalancerID    string           `json:"loadBalancerId"`
	ZoneID            string           `json:"zoneId"`
	LoadBalancerName  string           `json:"loadBalancerName"`
	SpecName          string           `json:"specName"`
	VipList           []loadBalancerIP `json:"vipList"`
	ChargeType        string           `json:"chargeType"`
	Period            int              `json:"period"`
	CreateTime        string           `json:"createTime"`
	ExpiredTime       string           `json:"expiredTime"`
	Status            string           `json:"status"`
	ResourceGroupID   string           `json:"resourceGroupId"`
	ResourceGroupName string           `json:"resourceGroupName"`
	MasterIP          string           `json:"masterIp"`
	BackupIP          string           `json:"backupIp"`
	IPType            string           `json:"ipType"`
	Bandwidth         int              `json:"bandwidth"`
	IsWorking         bool             `json:"isWorking"`
	ListenerList      []listenerInfo   `json:"listenerList"`
	BackendList       []backendInfo    `json:"backendList"`
	Tags              tagsInfo         `json:"tags"`
}

type loadBalancerIP struct {
	VipID     string `json:"vipId"`
	IPAddress string `json:"ipAddress"`
	Type      string `json:"type"`
	Status    string `json:"status"`
}

type listenerInfo struct {
	LoadBalancerID  string                 `json:"loadBalancerId"`
	ListenerID      string                 `json:"listenerId"`
	ListenerName    string                 `json:"listenerName"`
	Status          string                 `json:"status"`
	Port            string                 `json:"port"`
	Protocol        string                 `json:"protocol"`
	BackendProtocol string                 `json:"backendProtocol"`
	Scheduler       string                 `json:"scheduler"`
	Kind            string                 `json:"kind"`
	HealthCheck     metalplane.HealthCheck `json:"healthCheck"`
	Notify          metalplane.Notify      `json:"notify"`
	CreateTime      string                 `json:"createTime"`
}

type backendInfo struct {
	ListenerID   string `json:"listenerId"`
	BackendID    string `json:"backendId"`
	BackendName  string `json:"backendName"`
	Status       string `json:"status"`
	Port         string `json:"port"`
	Weight       int    `json:"weight"`
	InstanceID   string `json:"instanceId"`
	InstanceType string `json:"instanceType"`
	InstanceName string `json:"instanceName"`
	CreateTime   string `json:"createTime"`
}

type describeLoadBalancersResponse struct {
	TotalCount int                `json:"totalCount"`
	DataSet    []loadBalancerInfo `json:"dataSet"`
}

// instanceTypeBM is the one backend instanceType: every instance here is
// bare metal.
const instanceTypeBM = "BM"

func toListenerInfo(l *metalplane.Listener) listenerInfo {
	return listenerInfo{
		LoadBalancerID: l.LoadBalancerID, ListenerID: l.ID, ListenerName: l.Name, Status: metalplane.ListenerRunning, Port: metalplane.PortsText(l.Ports),
		Protocol: l.Protocol, BackendProtocol: l.BackendProtocol, Scheduler: l.Scheduler, Kind: l.Kind, HealthCheck: l.HealthCheck, Notify: l.Notify,
		CreateTime: wireTime(l.CreatedAt),
	}
}

func toBackendInfo(b *metalplane.Backend) backendInfo {
	return backendInfo{
		ListenerID: b.ListenerID, BackendID: b.ID, BackendName: b.Name, Status: metalplane.BackendRunning, Port: metalplane.PortsText(b.Ports),
		Weight: b.Weight, InstanceID: b.InstanceID, InstanceType: instanceTypeBM, InstanceName: b.InstanceName, CreateTime: wireTime(b.CreatedAt),
	}
}

// handleDescribeLoadBalancers lists the team's live load balancers with
// their VIPs, listeners and backends. [decision] The name filter matches
// names that contain it (the docs' fuzzy search); other filters are exact;
// an empty string filters nothing; unknown IDs match nothing.
func handleDescribeLoadBalancers(r *request) (any, error) {
	var in describeLoadBalancersRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("loadBalancerIds", in.LoadBalancerIDs, metalplane.MaxListItems), metalplane.CheckID("zoneId", in.ZoneID),
		metalplane.CheckLength("loadBalancerName", in.LoadBalancerName, metalplane.MaxLoadBalancerNameLength),
		metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
		metalplane.CheckList("tagKeys", in.TagKeys, metalplane.MaxTagFilters, metalplane.MaxTagLength), metalplane.CheckTagFilters(in.Tags),
	); err != nil {
		return nil, err
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	lbs, total, err := r.server.DB.FindLoadBalancers(r.ctx, sqlstore.LoadBalancerFilter{
		TeamID: r.caller.TeamID, IDs: in.LoadBalancerIDs, ZoneID: str(in.ZoneID), Name: str(in.LoadBalancerName),
		ResourceGroupID: str(in.ResourceGroupID), TagKeys: in.TagKeys, Tags: in.Tags, PageNum: num, PageSize: size,
	})
	if err != nil {
		return nil, err
	}
	out := describeLoadBalancersResponse{TotalCount: total, DataSet: make([]loadBalancerInfo, 0, len(lbs))}
	if len(lbs) == 0 {
		return out, nil
	}
	ids := make([]string, len(lbs))
	for i, lb := range lbs {
		ids[i] = lb.ID
	}
	vips, err := r.server.DB.LoadBalancerVIPs(r.ctx, ids)
	if err != nil {
		return nil, err
	}
	listeners, _, err := r.server.DB.FindListeners(r.ctx, sqlstore.ListenerFilter{TeamID: r.caller.TeamID, LoadBalancerIDs: ids})
	if err != nil {
		return nil, err
	}
	backends, _, err := r.server.DB.FindBackends(r.ctx, sqlstore.BackendFilter{TeamID: r.caller.TeamID, LoadBalancerIDs: ids})
	if err != nil {
		return nil, err
	}
	groupNames, err := r.server.DB.ResourceGroupNames(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	for _, lb := range lbs {
		info := loadBalancerInfo{
			LoadBalancerID: lb.ID, ZoneID: lb.ZoneID, LoadBalancerName: lb.Name, SpecName: lb.SpecName, VipList: []loadBalancerIP{},
			ChargeType: lb.ChargeType, Period: lb.Period, CreateTime: wireTime(lb.CreatedAt), Status: lb.Status,
			ResourceGroupID: lb.ResourceGroupID, ResourceGroupName: groupNames[lb.ResourceGroupID], MasterIP: lb.MasterIP, BackupIP: lb.BackupIP,
			IPType: lb.IPType, Bandwidth: lb.BandwidthMbps, IsWorking: lb.Status == metalplane.LoadBalancerRunning,
			ListenerList: []listenerInfo{}, BackendList: []backendInfo{}, Tags: tagsInfo{Tags: lb.Tags},
		}
		if info.Tags.Tags == nil {
			info.Tags.Tags = []metalplane.Tag{}
		}
		if !lb.ExpiredTime.IsZero() {
			info.ExpiredTime = wireTime(lb.ExpiredTime)
		}
		for _, v := range vips[lb.ID] {
			info.VipList = append(info.VipList, loadBalancerIP{VipID: v.ID, IPAddress: v.Address, Type: v.Type, Status: metalplane.VIPAssigned})
		}
		for _, l := range listeners {
			if l.LoadBalancerID == lb.ID {
				info.ListenerList = append(info.ListenerList, toListenerInfo(l))
			}
		}
		for _, b := range backends {
			if b.LoadBalancerID == lb.ID {
				info.BackendList = append(info.BackendList, toBackendInfo(b))
			}
		}
		out.DataSet = append(out.DataSet, info)
	}
	return out, nil
}

type modifyLoadBalancersNameRequest struct {
	LoadBalancerName *string  `json:"loadBalancerName"`
	LoadBalancerIDs  []string `json:"loadBalancerIds"`
}

// handleModifyLoadBalancersName renames every load balancer listed, or
// none.
func handleModifyLoadBalancersName(r *request) (any, error) {
	var in modifyLoadBalancersNameRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := requireString("loadBalancerName", in.LoadBalancerName); err != nil {
		return nil, err
	}
	if len(in.LoadBalancerIDs) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "loadBalancerIds is required.")
	}
	if err := metalplane.FirstError(metalplane.CheckIDList("loadBalancerIds", in.LoadBalancerIDs, metalplane.MaxListItems),
		metalplane.ValidateLoadBalancerName("loadBalancerName", *in.LoadBalancerName)); err != nil {
		return nil, err
	}
	if err := r.server.DB.RenameLoadBalancers(r.ctx, r.caller.TeamID, in.LoadBalancerIDs, *in.LoadBalancerName); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type modifyLoadBalancerBandwidthRequest struct {
	LoadBalancerID *string `json:"loadBalancerId"`
	Bandwidth      *int    `json:"bandwidth"`
}

// handleModifyLoadBalancerBandwidth sets the bandwidth (2022-11-20 only).
func handleModifyLoadBalancerBandwidth(r *request) (any, error) {
	var in modifyLoadBalancerBandwidthRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("loadBalancerId", in.LoadBalancerID)
	if err != nil {
		return nil, err
	}
	if in.Bandwidth == nil {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "bandwidth is required.")
	}
	if *in.Bandwidth < 1 {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "bandwidth must be at least 1 Mbps.")
	}
	if *in.Bandwidth > metalplane.MaxLoadBalancerBandwidthMbps {
		return nil, metalplane.Errorf("INVALID_PARAMETER_BANDWIDTH_EXCEED", "bandwidth must be at most %d Mbps.", metalplane.MaxLoadBalancerBandwidthMbps)
	}
	if err := r.server.DB.ModifyLoadBalancerBandwidth(r.ctx, r.caller.TeamID, id, *in.Bandwidth, lbPriceFunc(r)); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type loadBalancerIDRequest struct {
	LoadBalancerID *string `json:"loadBalancerId"`
}

// decodeLoadBalancerID decodes a request whose one field is loadBalancerId.
func decodeLoadBalancerID(r *request) (string, error) {
	var in loadBalancerIDRequest
	if err := r.decode(&in); err != nil {
		return "", err
	}
	return requiredID("loadBalancerId", in.LoadBalancerID)
}

func handleTerminateLoadBalancer(r *request) (any, error) {
	id, err := decodeLoadBalancerID(r)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.TerminateLoadBalancer(r.ctx, r.caller.TeamID, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type restoreLoadBalancerResponse struct {
	OrderNumber string `json:"orderNumber"`
}

func handleRestoreLoadBalancer(r *request) (any, error) {
	id, err := decodeLoadBalancerID(r)
	if err != nil {
		return nil, err
	}
	order, err := r.server.DB.RestoreLoadBalancer(r.ctx, r.caller.TeamID, id)
	if err != nil {
		return nil, err
	}
	return restoreLoadBalancerResponse{OrderNumber: order}, nil
}

func handleReleaseLoadBalancer(r *request) (any, error) {
	id, err := decodeLoadBalancerID(r)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.ReleaseLoadBalancer(r.ctx, r.caller.TeamID, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type createLoadBalancerVIPsRequest struct {
	LoadBalancerID *string `json:"loadBalancerId"`
	Count          *int    `json:"count"`
}

func handleCreateLoadBalancerVIPs(r *request) (any, error) {
	var in createLoadBalancerVIPsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("loadBalancerId", in.LoadBalancerID)
	if err != nil {
		return nil, err
	}
	if in.Count == nil {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "count is required.")
	}
	if *in.Count < 1 || *in.Count > metalplane.MaxLoadBalancerVIPs-1 {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "count must be between 1 and %d.", metalplane.MaxLoadBalancerVIPs-1)
	}
	return r.server.DB.CreateLoadBalancerVIPs(r.ctx, r.caller.TeamID, id, *in.Count, lbPriceFunc(r))
}

type deleteLoadBalancerVIPRequest struct {
	VipID *string `json:"vipId"`
}

func handleDeleteLoadBalancerVIP(r *request) (any, error) {
	var in deleteLoadBalancerVIPRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("vipId", in.VipID)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.DeleteLoadBalancerVIP(r.ctx, r.caller.TeamID, id, lbPriceFunc(r)); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
