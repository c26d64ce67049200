package httpapi

import (
	"slices"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The elastic IP actions (both bmc versions) and the DDoS-protected IP
// actions (2022-11-20 only) share these handlers: the kind picks the wire
// names (eipId / ddosIpId, eipChargeType / ddosIpChargeType, ...), the
// error codes (metalplane.AddressKind.Code) and the rows of the one store.
// Every call sees only the caller's team: another team's address is "not
// found".

// addressAction binds a handler to a kind. DDoS-protected IPs do not exist
// in 2026-02-01 (its SDK has none of their actions): INVALID_ACTION there.
func addressAction(k metalplane.AddressKind, h func(r *request, w addressWire) (any, error)) func(r *request) (any, error) {
	w := wireOf(k)
	return func(r *request) (any, error) {
		if k == metalplane.KindDdosIP && r.version != BMCVersion2022 {
			return nil, metalplane.Errorf("INVALID_ACTION", "The action %s exists in bmc %s only.", r.action, BMCVersion2022)
		}
		return h(r, w)
	}
}

// addressWire is the kind's wire vocabulary.
type addressWire struct {
	kind metalplane.AddressKind
	// Field names of requests, for messages.
	id, ids, chargeType, prepaid string
}

func wireOf(k metalplane.AddressKind) addressWire {
	if k == metalplane.KindDdosIP {
		return addressWire{kind: k, id: "ddosIpId", ids: "ddosIpIds", chargeType: "ddosIpChargeType", prepaid: "ddosIpChargePrepaid"}
	}
	return addressWire{kind: k, id: "eipId", ids: "eipIds", chargeType: "eipChargeType", prepaid: "eipChargePrepaid"}
}

// addressRequest holds the members of every address action under both
// kinds' names; a handler reads the kind's own (pick) and ignores the
// others, as it ignores any unknown member.
type addressRequest struct {
	ZoneID              *string                   `json:"zoneId"`
	EipChargeType       *string                   `json:"eipChargeType"`
	DdosIPChargeType    *string                   `json:"ddosIpChargeType"`
	EipChargePrepaid    *metalplane.ChargePrepaid `json:"eipChargePrepaid"`
	DdosIPChargePrepaid *metalplane.ChargePrepaid `json:"ddosIpChargePrepaid"`
	EipID               *string                   `json:"eipId"`
	DdosIPID            *string                   `json:"ddosIpId"`
	EipIDs              []string                  `json:"eipIds"`
	DdosIPIDs           []string                  `json:"ddosIpIds"`
	EipStatus           *string                   `json:"eipStatus"`
	DdosIPStatus        *string                   `json:"ddosIpStatus"`
	InstanceID          *string                   `json:"instanceId"`
	InstanceName        *string                   `json:"instanceName"`
	ResourceGroupID     *string                   `json:"resourceGroupId"`
	IPAddress           *string                   `json:"ipAddress"`
	Amount              *int                      `json:"amount"`
	Netmask             *int                      `json:"netmask"`
	MarketingOptions    *metalplane.MarketingInfo `json:"marketingOptions"`
	PageSize            *int                      `json:"pageSize"`
	PageNum             *int                      `json:"pageNum"`
	TagKeys             []string                  `json:"tagKeys"`
}

func pick[T any](k metalplane.AddressKind, eip, ddos T) T {
	if k == metalplane.KindDdosIP {
		return ddos
	}
	return eip
}

func (q *addressRequest) chargeType(k metalplane.AddressKind) *string {
	return pick(k, q.EipChargeType, q.DdosIPChargeType)
}

func (q *addressRequest) period(k metalplane.AddressKind) *int {
	if p := pick(k, q.EipChargePrepaid, q.DdosIPChargePrepaid); p != nil {
		return p.Period
	}
	return nil
}

func (q *addressRequest) id(k metalplane.AddressKind) *string { return pick(k, q.EipID, q.DdosIPID) }

func (q *addressRequest) ids(k metalplane.AddressKind) []string {
	return pick(k, q.EipIDs, q.DdosIPIDs)
}

func (q *addressRequest) status(k metalplane.AddressKind) *string {
	return pick(k, q.EipStatus, q.DdosIPStatus)
}

// addressAvailable is EipAvailable / DdosIpAvailableResource.
type addressAvailable struct {
	ZoneID  string `json:"zoneId"`
	Status  string `json:"status"`
	Netmask *int   `json:"netmask,omitempty"`
}

// handleDescribeAddressAvailable lists the zones selling the kind for the
// charge type ([decision] in catalog order; a zone whose chargeTypes lack
// it is left out), each with its sale state from the free addresses of
// its pools, which instances' primary addresses draw from too.
func handleDescribeAddressAvailable(r *request, w addressWire) (any, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	chargeType := in.chargeType(w.kind)
	if err := requireString(w.chargeType, chargeType); err != nil {
		return nil, err
	}
	if err := checkEnum(w.chargeType, *chargeType, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("zoneId", in.ZoneID); err != nil {
		return nil, err
	}
	if z := deref(in.ZoneID); z != "" {
		if _, ok := r.server.Catalog.FindZone(z); !ok {
			return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", z)
		}
	}
	out := []addressAvailable{}
	for i := range r.server.Catalog.Zones {
		z := &r.server.Catalog.Zones[i]
		if in.ZoneID != nil && *in.ZoneID != "" && *in.ZoneID != z.ID {
			continue
		}
		if _, sold := z.AddressPrices(w.kind); !sold || !z.OffersCharge(*chargeType) {
			continue
		}
		free, err := r.server.DB.FreeIPv4Count(r.ctx, z.ID)
		if err != nil {
			return nil, err
		}
		a := addressAvailable{ZoneID: z.ID, Status: metalplane.EIPSellStatus(free)}
		if w.kind == metalplane.KindEIP {
			n := metalplane.EIPNetmask
			a.Netmask = &n
		}
		out = append(out, a)
	}
	return map[string]any{pick(w.kind, "eipResources", "ddosIpResources"): out}, nil
}

// addressOrder reads and checks the common part of Allocate and
// InquiryPrice: zone, charge type, period, amount, netmask, tags.
func addressOrder(r *request, w addressWire, in *addressRequest, tags *metalplane.TagAssociation) (*metalplane.Zone, *metalplane.EIPOrder, error) {
	if err := requireString("zoneId", in.ZoneID); err != nil {
		return nil, nil, err
	}
	if err := requireString(w.chargeType, in.chargeType(w.kind)); err != nil {
		return nil, nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID(w.chargeType, in.chargeType(w.kind)),
		metalplane.CheckID("resourceGroupId", in.ResourceGroupID)); err != nil {
		return nil, nil, err
	}
	zone, ok := r.server.Catalog.FindZone(*in.ZoneID)
	if !ok {
		return nil, nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
	}
	team, err := r.server.DB.FindTeam(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, nil, err
	}
	input := metalplane.EIPOrderInput{ChargeType: in.chargeType(w.kind), Period: in.period(w.kind), Amount: in.Amount, PostpaidAllowed: team.PostpaidAllowed}
	if w.kind == metalplane.KindEIP {
		// The DDoS-protected IP requests have no netmask, tags or
		// marketing options.
		input.Netmask, input.Tags = in.Netmask, tags
		if m := in.MarketingOptions; m != nil {
			if err := metalplane.CheckLength("marketingOptions.discountCode", m.DiscountCode, metalplane.MaxDiscountCodeLength); err != nil {
				return nil, nil, err
			}
			input.UsePocVoucher = m.UsePocVoucher != nil && *m.UsePocVoucher
		}
	}
	order, orderErr := metalplane.ValidateEIPOrder(w.kind, zone, input, team.PocVouchers)
	if orderErr != nil {
		return nil, nil, orderErr
	}
	return zone, order, nil
}

// handleInquiryPriceAddress prices an order [decision]: PREPAID, the whole
// order (every address for the whole period); POSTPAID, one address for
// one hour (the unit price), whatever the amount.
func handleInquiryPriceAddress(r *request, w addressWire) (any, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	_, order, err := addressOrder(r, w, &in, nil)
	if err != nil {
		return nil, err
	}
	price := order.UnitPrice
	if order.ChargeType == metalplane.ChargeTypePrepaid {
		// Total is 0 when a voucher pays: the price is still the price.
		var ok bool
		if price, ok = order.UnitPrice.Times(int64(order.Amount)); !ok {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "The price of this request is too large to be charged.")
		}
	}
	return map[string]any{pick(w.kind, "eipPrice", "ddosIpPrice"): toPriceItem(price, order.ChargeType, "")}, nil
}

type allocateAddressRequest struct {
	addressRequest
	Tags *metalplane.TagAssociation `json:"tags"`
}

// handleAllocateAddresses allocates addresses: AVAILABLE at once (see
// metalplane.EIP). orderNumber is answered for PREPAID only (docs).
func handleAllocateAddresses(r *request, w addressWire) (any, error) {
	var in allocateAddressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	zone, order, err := addressOrder(r, w, &in.addressRequest, in.Tags)
	if err != nil {
		return nil, err
	}
	alloc := sqlstore.EIPAllocate{TeamID: r.caller.TeamID, ZoneID: zone.ID, ResourceGroupID: deref(in.ResourceGroupID), Order: order}
	for range order.Amount {
		alloc.IDs = append(alloc.IDs, metalplane.NewEIPID())
	}
	var orderNumber *string
	if order.ChargeType == metalplane.ChargeTypePrepaid {
		alloc.OrderNumber = metalplane.NewOrderNumber()
		orderNumber = &alloc.OrderNumber
	}
	answer := map[string]any{pick(w.kind, "eipIdSet", "ddosIdSet"): alloc.IDs, "orderNumber": orderNumber}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if err := r.server.DB.AllocateEIPs(r.ctx, alloc); err != nil {
		return nil, err
	}
	return answer, nil
}

// eipAddress is EipAddress; ddosIPAddress is DdosIpAddress. Every field is
// always present; instanceId and instanceName are null when the address is
// not associated, period and expiredTime null for POSTPAID (docs).
type eipAddress struct {
	EipID             string          `json:"eipId"`
	ZoneID            string          `json:"zoneId"`
	IPAddress         string          `json:"ipAddress"`
	Netmask           int             `json:"netmask"`
	InstanceID        *string         `json:"instanceId"`
	InstanceName      *string         `json:"instanceName"`
	EipChargeType     string          `json:"eipChargeType"`
	Period            *int            `json:"period"`
	CreateTime        string          `json:"createTime"`
	ExpiredTime       *string         `json:"expiredTime"`
	ResourceGroupID   string          `json:"resourceGroupId"`
	ResourceGroupName string          `json:"resourceGroupName"`
	EipStatus         string          `json:"eipStatus"`
	Tags              wireTagsWrapper `json:"tags"`
}

type ddosIPAddress struct {
	DdosIPID          string  `json:"ddosIpId"`
	ZoneID            string  `json:"zoneId"`
	IPAddress         string  `json:"ipAddress"`
	InstanceID        *string `json:"instanceId"`
	InstanceName      *string `json:"instanceName"`
	DdosIPChargeType  string  `json:"ddosIpChargeType"`
	Period            *int    `json:"period"`
	CreateTime        string  `json:"createTime"`
	ExpiredTime       *string `json:"expiredTime"`
	ResourceGroupID   string  `json:"resourceGroupId"`
	ResourceGroupName string  `json:"resourceGroupName"`
	DdosIPStatus      string  `json:"ddosIpStatus"`
}

type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireTagsWrapper struct {
	Tags []wireTag `json:"tags"`
}

type describeAddressesRequest struct {
	addressRequest
	Tags []metalplane.Tag `json:"tags"`
}

// handleDescribeAddresses lists the team's live addresses of the kind.
// [decision] As DescribeSubnets: filters match exactly, an empty string
// filters nothing, unknown IDs match nothing.
func handleDescribeAddresses(r *request, w addressWire) (any, error) {
	var in describeAddressesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	status := in.status(w.kind)
	if err := metalplane.FirstError(
		metalplane.CheckIDList(w.ids, in.ids(w.kind), metalplane.MaxListItems),
		metalplane.CheckID(w.chargeType, in.chargeType(w.kind)), metalplane.CheckID("ipAddress", in.IPAddress),
		metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
		metalplane.CheckID("status", status), metalplane.CheckID("instanceId", in.InstanceID),
		metalplane.CheckLength("instanceName", in.InstanceName, metalplane.MaxNameLength),
		metalplane.CheckList("tagKeys", in.TagKeys, metalplane.MaxTagFilters, metalplane.MaxTagLength),
		metalplane.CheckTagFilters(in.Tags),
	); err != nil {
		return nil, err
	}
	if deref(status) != "" {
		if err := checkEnum(pick(w.kind, "eipStatus", "ddosIpStatus"), *status, metalplane.EIPStatuses...); err != nil {
			return nil, err
		}
	}
	if ct := deref(in.chargeType(w.kind)); ct != "" {
		if err := checkEnum(w.chargeType, ct, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
			return nil, err
		}
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	f := sqlstore.EIPFilter{TeamID: r.caller.TeamID, Kind: w.kind, IDs: in.ids(w.kind), ChargeType: deref(in.chargeType(w.kind)),
		Address: deref(in.IPAddress), ZoneID: deref(in.ZoneID), ResourceGroupID: deref(in.ResourceGroupID), Status: deref(status),
		InstanceID: deref(in.InstanceID), InstanceName: deref(in.InstanceName), PageNum: num, PageSize: size}
	if w.kind == metalplane.KindEIP {
		f.TagKeys, f.Tags = in.TagKeys, in.Tags
	}
	eips, total, err := r.server.DB.FindEIPs(r.ctx, f)
	if err != nil {
		return nil, err
	}
	instanceIDs := make([]string, 0, len(eips))
	for _, e := range eips {
		instanceIDs = append(instanceIDs, e.InstanceID)
	}
	names, err := r.server.DB.InstanceNames(r.ctx, r.caller.TeamID, slices.DeleteFunc(instanceIDs, func(s string) bool { return s == "" }))
	if err != nil {
		return nil, err
	}
	groups, err := r.server.DB.ResourceGroupNames(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	eipSet, ddosSet := []eipAddress{}, []ddosIPAddress{}
	for _, e := range eips {
		var instanceID, instanceName, expired *string
		if e.InstanceID != "" {
			id, name := e.InstanceID, names[e.InstanceID]
			instanceID, instanceName = &id, &name
		}
		var period *int
		if e.ChargeType == metalplane.ChargeTypePrepaid {
			p, t := e.Period, wireTime(e.ExpiredTime)
			period, expired = &p, &t
		}
		if w.kind == metalplane.KindDdosIP {
			ddosSet = append(ddosSet, ddosIPAddress{DdosIPID: e.ID, ZoneID: e.ZoneID, IPAddress: e.Address, InstanceID: instanceID, InstanceName: instanceName,
				DdosIPChargeType: e.ChargeType, Period: period, CreateTime: wireTime(e.CreatedAt), ExpiredTime: expired,
				ResourceGroupID: e.ResourceGroupID, ResourceGroupName: groups[e.ResourceGroupID], DdosIPStatus: string(e.Status)})
			continue
		}
		tags := wireTagsWrapper{Tags: []wireTag{}}
		for _, t := range e.Tags {
			tags.Tags = append(tags.Tags, wireTag{Key: *t.Key, Value: *t.Value})
		}
		eipSet = append(eipSet, eipAddress{EipID: e.ID, ZoneID: e.ZoneID, IPAddress: e.Address, Netmask: e.Netmask, InstanceID: instanceID,
			InstanceName: instanceName, EipChargeType: e.ChargeType, Period: period, CreateTime: wireTime(e.CreatedAt), ExpiredTime: expired,
			ResourceGroupID: e.ResourceGroupID, ResourceGroupName: groups[e.ResourceGroupID], EipStatus: string(e.Status), Tags: tags})
	}
	if w.kind == metalplane.KindDdosIP {
		return map[string]any{"totalCount": total, "dataSet": ddosSet}, nil
	}
	return map[string]any{"totalCount": total, "dataSet": eipSet}, nil
}

// handleDescribeInstanceAvailableAddresses lists the team's AVAILABLE
// addresses of the kind in the instance's zone, which the instance could
// take. Returns INVALID_INSTANCE_NOT_FOUND for an unknown instance.
func handleDescribeInstanceAvailableAddresses(r *request, w addressWire) (any, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	inst, err := r.server.DB.FindInstance(r.ctx, r.caller.TeamID, id)
	if err != nil {
		return nil, err
	}
	eips, _, err := r.server.DB.FindEIPs(r.ctx, sqlstore.EIPFilter{TeamID: r.caller.TeamID, Kind: w.kind, ZoneID: inst.ZoneID, Status: string(metalplane.EIPAvailable)})
	if err != nil {
		return nil, err
	}
	if w.kind == metalplane.KindDdosIP {
		out := []map[string]any{}
		for _, e := range eips {
			out = append(out, map[string]any{"ddosIpId": e.ID, "ipAddress": e.Address})
		}
		return map[string]any{"instanceDdosIpResources": out}, nil
	}
	out := []map[string]any{}
	for _, e := range eips {
		out = append(out, map[string]any{"eipId": e.ID, "ipAddress": e.Address, "netmask": e.Netmask})
	}
	return map[string]any{"instanceEipResources": out}, nil
}

// handleAssociateAddress starts associating an address with an instance
// (ASSOCIATING until the network job ends). After the store's checks of
// the address: the instance must not be in the recycle bin
// (OPERATION_DENIED_INSTANCE_RECYCLED), must be RUNNING
// (OPERATION_DENIED_INSTANCE_NOT_RUNNING, docs), in the same zone
// ({K}_ZONE_NOT_SAME) and not run ESXi ({K}_ESXI_INSTANCE_ASSIGN).
func handleAssociateAddress(r *request, w addressWire) (any, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	eipID, err := requiredID(w.id, in.id(w.kind))
	if err != nil {
		return nil, err
	}
	instanceID, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	check := func(e *metalplane.EIP, inst *metalplane.Instance) error {
		switch {
		case inst.Status == metalplane.StatusRecycle:
			return metalplane.Errorf("OPERATION_DENIED_INSTANCE_RECYCLED", "The instance %s is in the recycle bin.", inst.ID)
		case inst.Status != metalplane.StatusRunning:
			return metalplane.Errorf("OPERATION_DENIED_INSTANCE_NOT_RUNNING", "The instance %s is %s; only a RUNNING instance can take an address.", inst.ID, inst.Status)
		case inst.ZoneID != e.ZoneID:
			return w.kind.Errorf("OPERATION_DENIED_{K}_ZONE_NOT_SAME", "The %s %s is in %s, the instance %s in %s.", w.kind.Noun(), e.ID, e.ZoneID, inst.ID, inst.ZoneID)
		}
		if im, ok := r.server.Catalog.FindImage(inst.ImageID); ok && im.Catalog == "esxi" {
			return w.kind.Errorf("OPERATION_DENIED_{K}_ESXI_INSTANCE_ASSIGN", "The instance %s runs ESXi, which cannot take a %s.", inst.ID, w.kind.Noun())
		}
		return nil
	}
	return struct{}{}, r.server.DB.AssociateEIP(r.ctx, r.caller.TeamID, w.kind, eipID, instanceID, check, r.server.EnqueueEIP)
}

// oneAddress reads the one ID of Unassociate, Terminate and Renew.
func oneAddress(r *request, w addressWire) (string, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return "", err
	}
	return requiredID(w.id, in.id(w.kind))
}

func handleUnassociateAddress(r *request, w addressWire) (any, error) {
	id, err := oneAddress(r, w)
	if err != nil {
		return nil, err
	}
	return struct{}{}, r.server.DB.UnassociateEIP(r.ctx, r.caller.TeamID, w.kind, id, r.server.EnqueueEIP)
}

func handleTerminateAddress(r *request, w addressWire) (any, error) {
	id, err := oneAddress(r, w)
	if err != nil {
		return nil, err
	}
	return struct{}{}, r.server.DB.TerminateEIP(r.ctx, r.caller.TeamID, w.kind, id, r.server.EnqueueEIP)
}

func handleRenewAddress(r *request, w addressWire) (any, error) {
	id, err := oneAddress(r, w)
	if err != nil {
		return nil, err
	}
	return struct{}{}, r.server.DB.RenewEIP(r.ctx, r.caller.TeamID, w.kind, id)
}

// addressIDs reads the ID list of Release and ModifyResourceGroup: 1 to
// MaxListItems IDs, no duplicates ([decision] a repeated ID is
// INVALID_PARAMETER, as for the instance batch actions).
func addressIDs(w addressWire, ids []string) error {
	if len(ids) == 0 {
		return metalplane.Errorf("MISSING_PARAMETER", "The parameter %s is required.", w.ids)
	}
	if err := metalplane.CheckIDList(w.ids, ids, metalplane.MaxListItems); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			return metalplane.Errorf("INVALID_PARAMETER", "%s must list distinct, non-empty IDs.", w.ids)
		}
		seen[id] = true
	}
	return nil
}

func handleReleaseAddresses(r *request, w addressWire) (any, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := addressIDs(w, in.ids(w.kind)); err != nil {
		return nil, err
	}
	return struct{}{}, r.server.DB.ReleaseEIPs(r.ctx, r.caller.TeamID, w.kind, in.ids(w.kind))
}

func handleModifyAddressesResourceGroup(r *request, w addressWire) (any, error) {
	var in addressRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := addressIDs(w, in.ids(w.kind)); err != nil {
		return nil, err
	}
	group, err := requiredID("resourceGroupId", in.ResourceGroupID)
	if err != nil {
		return nil, err
	}
	return struct{}{}, r.server.DB.MoveEIPsToResourceGroup(r.ctx, r.caller.TeamID, w.kind, in.ids(w.kind), group)
}
