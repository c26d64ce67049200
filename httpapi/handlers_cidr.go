package httpapi

import (
	"net/netip"
	"slices"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The CIDR block and BYOIP actions (metalplane.CidrBlock), one handler per
// action for both bmc versions: their models differ only in Go types
// (pointers or values), not in JSON names. Every call sees only the
// caller's team; another team's block is "not found".

// cidrBlockInfo is CidrBlockInfo of DescribeCidrBlocks. Every field is
// present; expireTime is null for POSTPAID blocks.
type cidrBlockInfo struct {
	CidrBlockID       string   `json:"cidrBlockId"`
	CidrBlockType     string   `json:"cidrBlockType"`
	CidrType          string   `json:"cidrType"`
	CidrBlockName     string   `json:"cidrBlockName"`
	ZoneID            string   `json:"zoneId"`
	CidrBlock         string   `json:"cidrBlock"`
	Gateway           string   `json:"gateway"`
	AvailableIPStart  string   `json:"availableIpStart"`
	AvailableIPEnd    string   `json:"availableIpEnd"`
	AvailableIPCount  int      `json:"availableIpCount"`
	InstanceIDs       []string `json:"instanceIds"`
	Status            string   `json:"status"`
	ChargeType        string   `json:"chargeType"`
	CreateTime        string   `json:"createTime"`
	ExpireTime        *string  `json:"expireTime"`
	ResourceGroupID   string   `json:"resourceGroupId"`
	ResourceGroupName string   `json:"resourceGroupName"`
	Tags              tagsInfo `json:"tags"`
}

// blockPrefix parses a stored block.
func blockPrefix(b *metalplane.CidrBlock) netip.Prefix {
	p, _ := netip.ParsePrefix(b.CIDR)
	return p
}

func toCidrBlockInfo(b *metalplane.CidrBlock, ips []sqlstore.BlockIP, groupNames map[string]string) cidrBlockInfo {
	p := blockPrefix(b)
	info := cidrBlockInfo{
		CidrBlockID: b.ID, CidrBlockType: metalplane.CidrBlockType(b.Family), CidrType: b.CidrType, CidrBlockName: b.Name,
		ZoneID: b.ZoneID, CidrBlock: b.CIDR, Gateway: metalplane.BlockGateway(p).String(),
		AvailableIPCount: max(0, metalplane.BlockUsableCount(p)-len(ips)), InstanceIDs: []string{}, Status: b.Status,
		ChargeType: b.ChargeType, CreateTime: wireTime(b.CreatedAt), ResourceGroupID: b.ResourceGroupID,
		ResourceGroupName: groupNames[b.ResourceGroupID], Tags: tagsInfo{Tags: b.Tags},
	}
	if first, ok := metalplane.BlockUsableIP(p, 0); ok {
		last, _ := metalplane.BlockUsableIP(p, metalplane.BlockUsableCount(p)-1)
		info.AvailableIPStart, info.AvailableIPEnd = first.String(), last.String()
	}
	for _, ip := range ips {
		if !slices.Contains(info.InstanceIDs, ip.InstanceID) {
			info.InstanceIDs = append(info.InstanceIDs, ip.InstanceID)
		}
	}
	if !b.ExpiredAt.IsZero() {
		t := wireTime(b.ExpiredAt)
		info.ExpireTime = &t
	}
	if info.Tags.Tags == nil {
		info.Tags.Tags = []metalplane.Tag{}
	}
	return info
}

type describeAvailableIpv4Request struct {
	ChargeType *string `json:"chargeType"`
	ZoneID     *string `json:"zoneId"`
}

type availableIpv4Resource struct {
	ZoneID     string `json:"zoneId"`
	Netmask    int    `json:"netmask"`
	SellStatus string `json:"sellStatus"`
	CidrType   string `json:"cidrType"`
}

// findZones returns the zone named by zoneId, or every zone when it is
// absent or "". Returns INVALID_ZONE_NOT_FOUND.
func (r *request) findZones(zoneID *string) ([]*metalplane.Zone, error) {
	if zoneID != nil && *zoneID != "" {
		z, ok := r.server.Catalog.FindZone(*zoneID)
		if !ok {
			return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *zoneID)
		}
		return []*metalplane.Zone{z}, nil
	}
	zones := make([]*metalplane.Zone, len(r.server.Catalog.Zones))
	for i := range r.server.Catalog.Zones {
		zones[i] = &r.server.Catalog.Zones[i]
	}
	return zones, nil
}

// handleDescribeAvailableIpv4Resources lists, per zone that sells the
// charge type and has IPv4 pools, every netmask sold (/24–/30) with its
// stock: the free aligned blocks of the pools.
func handleDescribeAvailableIpv4Resources(r *request) (any, error) {
	var in describeAvailableIpv4Request
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := requireString("chargeType", in.ChargeType); err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("zoneId", in.ZoneID); err != nil {
		return nil, err
	}
	if err := checkEnum("chargeType", *in.ChargeType, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
		return nil, err
	}
	zones, err := r.findZones(in.ZoneID)
	if err != nil {
		return nil, err
	}
	out := []availableIpv4Resource{}
	for _, z := range zones {
		if len(z.IPv4Pools) == 0 || !zoneOffersCharge(z, *in.ChargeType) {
			continue
		}
		var sizes []int
		for bits := metalplane.MinIPv4BlockBits; bits <= metalplane.MaxIPv4BlockBits; bits++ {
			sizes = append(sizes, bits)
		}
		stock, err := r.server.DB.CidrStock(r.ctx, z.ID, 4, sizes...)
		if err != nil {
			return nil, err
		}
		for _, bits := range sizes {
			out = append(out, availableIpv4Resource{ZoneID: z.ID, Netmask: bits, SellStatus: metalplane.SellStatus(stock[bits]), CidrType: metalplane.CidrTypeBGP})
		}
	}
	return struct {
		AvailableIpv4Resources []availableIpv4Resource `json:"availableIpv4Resources"`
	}{out}, nil
}

type describeAvailableIpv6Request struct {
	ZoneID *string `json:"zoneId"`
}

type availableIpv6Resource struct {
	ZoneID     string `json:"zoneId"`
	SellStatus string `json:"sellStatus"`
}

// handleDescribeAvailableIpv6Resources lists the stock of IPv6 blocks of
// every zone with IPv6 pools.
func handleDescribeAvailableIpv6Resources(r *request) (any, error) {
	var in describeAvailableIpv6Request
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("zoneId", in.ZoneID); err != nil {
		return nil, err
	}
	zones, err := r.findZones(in.ZoneID)
	if err != nil {
		return nil, err
	}
	out := []availableIpv6Resource{}
	for _, z := range zones {
		if len(z.IPv6Pools) == 0 {
			continue
		}
		stock, err := r.server.DB.CidrStock(r.ctx, z.ID, 6, metalplane.IPv6BlockBits)
		if err != nil {
			return nil, err
		}
		out = append(out, availableIpv6Resource{ZoneID: z.ID, SellStatus: metalplane.SellStatus(stock[metalplane.IPv6BlockBits])})
	}
	return struct {
		AvailableIpv6Resources []availableIpv6Resource `json:"availableIpv6Resources"`
	}{out}, nil
}

// ipv4BlockOrder is the part CreateIpv4Block shares with its price
// inquiry.
type ipv4BlockOrder struct {
	ZoneID        *string                   `json:"zoneId"`
	ChargeType    *string                   `json:"chargeType"`
	CidrType      *string                   `json:"cidrType"`
	ChargePrepaid *metalplane.ChargePrepaid `json:"chargePrepaid"`
	Netmask       *int                      `json:"netmask"`
	Amount        *int                      `json:"amount"`
}

// checkedIpv4Order is an order that passed checkIpv4Order.
type checkedIpv4Order struct {
	zone        *metalplane.Zone
	chargeType  string
	cidrType    string
	period      int
	bits        int
	amount      int
	periodPrice metalplane.Money // one block, one period
	hourlyPrice metalplane.Money // one block, one hour
}

// checkIpv4Order checks, in order ([decision]): zoneId, chargeType and
// netmask present; the zone exists; chargeType and cidrType are known
// values and the zone sells the charge type; PREPAID has a period of 1 to
// 36 months; the netmask is sold; amount is 1 to 20 (default 1).
func checkIpv4Order(r *request, in *ipv4BlockOrder) (*checkedIpv4Order, error) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"zoneId", in.ZoneID}, {"chargeType", in.ChargeType}} {
		if err := requireString(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if in.Netmask == nil {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "netmask is required.")
	}
	if err := metalplane.FirstError(metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("cidrType", in.CidrType)); err != nil {
		return nil, err
	}
	z, ok := r.server.Catalog.FindZone(*in.ZoneID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
	}
	if err := checkEnum("chargeType", *in.ChargeType, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
		return nil, err
	}
	o := &checkedIpv4Order{zone: z, chargeType: *in.ChargeType, cidrType: metalplane.CidrTypeBGP, bits: *in.Netmask, amount: 1}
	if in.CidrType != nil && *in.CidrType != "" {
		if err := checkEnum("cidrType", *in.CidrType, metalplane.CidrTypeBGP, metalplane.CidrTypeLocal); err != nil {
			return nil, err
		}
		o.cidrType = *in.CidrType
	}
	if !zoneOffersCharge(z, o.chargeType) {
		return nil, metalplane.Errorf("OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", "%s is not offered in %s.", o.chargeType, z.ID)
	}
	if o.chargeType == metalplane.ChargeTypePrepaid {
		if in.ChargePrepaid == nil || in.ChargePrepaid.Period == nil {
			return nil, metalplane.Errorf("MISSING_PARAMETER", "chargePrepaid.period is required for PREPAID.")
		}
		o.period = *in.ChargePrepaid.Period
		if o.period < 1 || o.period > metalplane.MaxPrepaidPeriod {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "chargePrepaid.period must be between 1 and %d months.", metalplane.MaxPrepaidPeriod)
		}
	}
	if err := metalplane.ValidateIPv4Netmask(o.bits); err != nil {
		return nil, err
	}
	if in.Amount != nil {
		o.amount = *in.Amount
		if o.amount < 1 || o.amount > metalplane.MaxBlocksPerOrder {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "amount must be between 1 and %d.", metalplane.MaxBlocksPerOrder)
		}
	}
	monthly, hourly, perr := metalplane.BlockPrices(z, 4, metalplane.BlockSize(netip.PrefixFrom(netip.IPv4Unspecified(), o.bits)))
	if perr != nil {
		return nil, perr
	}
	o.hourlyPrice = hourly
	if o.chargeType == metalplane.ChargeTypePrepaid {
		var ok bool
		if o.periodPrice, ok = monthly.Times(int64(o.period)); !ok {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "The price of this block is out of range.")
		}
		o.hourlyPrice = 0
	}
	return o, nil
}

// handleInquiryPriceCreateIpv4Block prices an order: PREPAID the whole
// period of every block, POSTPAID the hourly price of every block.
func handleInquiryPriceCreateIpv4Block(r *request) (any, error) {
	var in ipv4BlockOrder
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	o, err := checkIpv4Order(r, &in)
	if err != nil {
		return nil, err
	}
	unit := o.hourlyPrice
	if o.chargeType == metalplane.ChargeTypePrepaid {
		unit = o.periodPrice
	}
	total, ok := unit.Times(int64(o.amount))
	if !ok {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "The price of this order is out of range.")
	}
	return struct {
		Price priceItem `json:"price"`
	}{toPriceItem(total, o.chargeType, "")}, nil
}

type createIpv4BlockRequest struct {
	ipv4BlockOrder
	Name             *string                    `json:"name"`
	ResourceGroupID  *string                    `json:"resourceGroupId"`
	MarketingOptions *metalplane.MarketingInfo  `json:"marketingOptions"`
	Tags             *metalplane.TagAssociation `json:"tags"`
}

type createIpv4BlockResponse struct {
	OrderNumber  string   `json:"orderNumber"`
	CidrBlockIDs []string `json:"cidrBlockIds"`
}

// checkBlockExtras checks what CreateIpv4Block and CreateIpv6Block share:
// the name (1 to 64 characters), the resource group ID's length and the
// tags. [decision] The blocks are put in resourceGroupId, or the team's
// default group; no VLAN overrides it.
func checkBlockExtras(name, group *string, tags *metalplane.TagAssociation) ([]metalplane.Tag, error) {
	if name != nil && *name != "" {
		if err := metalplane.ValidateBlockName("name", *name); err != nil {
			return nil, err
		}
	}
	if err := metalplane.CheckID("resourceGroupId", group); err != nil {
		return nil, err
	}
	t, err := metalplane.CheckTags(tags)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// handleCreateIpv4Block carves blocks from the zone's pools and charges
// them: PREPAID at once for the period, POSTPAID by the hour (the sweep).
// [decision] discountCode is ignored (no discounts exist) and
// usePocVoucher is refused: POC vouchers cover instances only.
func handleCreateIpv4Block(r *request) (any, error) {
	var in createIpv4BlockRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	o, err := checkIpv4Order(r, &in.ipv4BlockOrder)
	if err != nil {
		return nil, err
	}
	tags, err := checkBlockExtras(in.Name, in.ResourceGroupID, in.Tags)
	if err != nil {
		return nil, err
	}
	if m := in.MarketingOptions; m != nil {
		if err := metalplane.CheckLength("marketingOptions.discountCode", m.DiscountCode, metalplane.MaxDiscountCodeLength); err != nil {
			return nil, err
		}
		if m.UsePocVoucher != nil && *m.UsePocVoucher {
			return nil, metalplane.Errorf("OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", "POC vouchers apply to instances only.")
		}
	}
	create := sqlstore.CidrBlocksCreate{
		OrderNumber: metalplane.NewOrderNumber(), TeamID: r.caller.TeamID, ZoneID: o.zone.ID, Family: 4, Bits: o.bits, CidrType: o.cidrType,
		Name: str(in.Name), ChargeType: o.chargeType, Period: o.period, PeriodPrice: o.periodPrice, HourlyPrice: o.hourlyPrice,
		ResourceGroupID: str(in.ResourceGroupID), Tags: tags,
	}
	for range o.amount {
		create.IDs = append(create.IDs, metalplane.NewCidrBlockID())
	}
	answer := createIpv4BlockResponse{OrderNumber: create.OrderNumber, CidrBlockIDs: create.IDs}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if _, err := r.server.DB.CreateCidrBlocks(r.ctx, create); err != nil {
		return nil, err
	}
	return answer, nil
}

type createIpv6BlockRequest struct {
	ZoneID          *string                    `json:"zoneId"`
	Name            *string                    `json:"name"`
	Amount          *int                       `json:"amount"`
	ResourceGroupID *string                    `json:"resourceGroupId"`
	Tags            *metalplane.TagAssociation `json:"tags"`
}

// handleCreateIpv6Block carves /119 blocks from the zone's IPv6 pools,
// free of charge (POSTPAID at 0).
func handleCreateIpv6Block(r *request) (any, error) {
	var in createIpv6BlockRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := requireString("zoneId", in.ZoneID); err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("zoneId", in.ZoneID); err != nil {
		return nil, err
	}
	z, ok := r.server.Catalog.FindZone(*in.ZoneID)
	if !ok {
		return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
	}
	amount := 1
	if in.Amount != nil {
		amount = *in.Amount
		if amount < 1 || amount > metalplane.MaxBlocksPerOrder {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "amount must be between 1 and %d.", metalplane.MaxBlocksPerOrder)
		}
	}
	tags, err := checkBlockExtras(in.Name, in.ResourceGroupID, in.Tags)
	if err != nil {
		return nil, err
	}
	create := sqlstore.CidrBlocksCreate{
		OrderNumber: metalplane.NewOrderNumber(), TeamID: r.caller.TeamID, ZoneID: z.ID, Family: 6, Bits: metalplane.IPv6BlockBits,
		CidrType: metalplane.CidrTypeBGP, Name: str(in.Name), ChargeType: metalplane.ChargeTypePostpaid,
		ResourceGroupID: str(in.ResourceGroupID), Tags: tags,
	}
	for range amount {
		create.IDs = append(create.IDs, metalplane.NewCidrBlockID())
	}
	answer := struct {
		CidrBlockIDs []string `json:"cidrBlockIds"`
	}{create.IDs}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if _, err := r.server.DB.CreateCidrBlocks(r.ctx, create); err != nil {
		return nil, err
	}
	return answer, nil
}

type createByoipRequest struct {
	IPType                   *string `json:"ipType"`
	Cidr                     *string `json:"cidr"`
	Asn                      *int64  `json:"asn"`
	PublicVirtualInterfaceID *string `json:"publicVirtualInterfaceId"`
}

// handleCreateByoip stores the customer's prefix as a block of the zone
// whose public VLAN is named. [decision] metalplane has no public VLAN
// resource: each zone has one public VLAN, whose ID is the zone's ID, and
// a zone must have byoipEnabled. Checks, in order: the four fields
// present, their lengths, the VLAN (OPERATION_FAILED_RESOURCE_NOT_FOUND;
// INVALID_PARAMETER when the zone takes no BYOIP), the prefix and ASN
// (metalplane.ValidateByoip), no overlap with any zone's pools, then the
// store's overlap check with live blocks.
func handleCreateByoip(r *request) (any, error) {
	var in createByoipRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"ipType", in.IPType}, {"cidr", in.Cidr}} {
		if err := requireString(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if in.Asn == nil {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "asn is required.")
	}
	if err := requireString("publicVirtualInterfaceId", in.PublicVirtualInterfaceID); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("ipType", in.IPType), metalplane.CheckID("cidr", in.Cidr),
		metalplane.CheckID("publicVirtualInterfaceId", in.PublicVirtualInterfaceID)); err != nil {
		return nil, err
	}
	if err := checkEnum("ipType", *in.IPType, metalplane.CidrBlockTypeIPv4, metalplane.CidrBlockTypeIPv6); err != nil {
		return nil, err
	}
	z, ok := r.server.Catalog.FindZone(*in.PublicVirtualInterfaceID)
	if !ok {
		return nil, metalplane.Errorf("OPERATION_FAILED_RESOURCE_NOT_FOUND", "The public virtual interface %s does not exist; use the ID of a zone.", *in.PublicVirtualInterfaceID)
	}
	if !z.BYOIPEnabled {
		return nil, metalplane.Errorf("INVALID_PARAMETER", "The zone %s does not accept BYOIP.", z.ID)
	}
	prefix, perr := metalplane.ValidateByoip(*in.IPType, *in.Cidr, *in.Asn)
	if perr != nil {
		return nil, perr
	}
	for _, zone := range r.server.Catalog.Zones {
		for _, pool := range slices.Concat(zone.IPv4Pools, zone.IPv6Pools) {
			if p, err := netip.ParsePrefix(pool); err == nil && p.Overlaps(prefix) {
				return nil, metalplane.Errorf("INVALID_PARAMETER", "The cidr %s overlaps this cloud's own addresses.", prefix)
			}
		}
	}
	create := sqlstore.ByoipCreate{ID: metalplane.NewCidrBlockID(), ByoipID: metalplane.NewByoipID(), TeamID: r.caller.TeamID, ZoneID: z.ID,
		Prefix: prefix, ASN: *in.Asn, PublicVirtualInterfaceID: *in.PublicVirtualInterfaceID}
	answer := struct {
		ByoipID     string `json:"byoipId"`
		CidrBlockID string `json:"cidrBlockId"`
	}{create.ByoipID, create.ID}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if _, err := r.server.DB.CreateByoip(r.ctx, create); err != nil {
		return nil, err
	}
	return answer, nil
}

type describeCidrBlocksRequest struct {
	CidrBlockIDs    []string         `json:"cidrBlockIds"`
	CidrBlock       *string          `json:"cidrBlock"`
	CidrBlockName   *string          `json:"cidrBlockName"`
	ZoneID          *string          `json:"zoneId"`
	CidrBlockType   *string          `json:"cidrBlockType"`
	Gateway         *string          `json:"gateway"`
	ChargeType      *string          `json:"chargeType"`
	ResourceGroupID *string          `json:"resourceGroupId"`
	PageNum         *int             `json:"pageNum"`
	PageSize        *int             `json:"pageSize"`
	TagKeys         []string         `json:"tagKeys"`
	Tags            []metalplane.Tag `json:"tags"`
}

// handleDescribeCidrBlocks lists the team's live blocks (the recycle bin
// included). [decision] Filters are exact matches and "" filters nothing,
// as in DescribeSubnets.
func handleDescribeCidrBlocks(r *request) (any, error) {
	var in describeCidrBlocksRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("cidrBlockIds", in.CidrBlockIDs, metalplane.MaxListItems),
		metalplane.CheckID("cidrBlock", in.CidrBlock), metalplane.CheckLength("cidrBlockName", in.CidrBlockName, metalplane.MaxBlockNameLength),
		metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("cidrBlockType", in.CidrBlockType), metalplane.CheckID("gateway", in.Gateway),
		metalplane.CheckID("chargeType", in.ChargeType), metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
		metalplane.CheckList("tagKeys", in.TagKeys, metalplane.MaxTagFilters, metalplane.MaxTagLength), metalplane.CheckTagFilters(in.Tags),
	); err != nil {
		return nil, err
	}
	f := sqlstore.CidrBlockFilter{TeamID: r.caller.TeamID, IDs: in.CidrBlockIDs, CIDR: str(in.CidrBlock), Name: str(in.CidrBlockName),
		ZoneID: str(in.ZoneID), Gateway: str(in.Gateway), ChargeType: str(in.ChargeType), ResourceGroupID: str(in.ResourceGroupID),
		TagKeys: in.TagKeys, Tags: in.Tags}
	switch str(in.CidrBlockType) {
	case "":
	case metalplane.CidrBlockTypeIPv4:
		f.Family = 4
	case metalplane.CidrBlockTypeIPv6:
		f.Family = 6
	default:
		return nil, checkEnum("cidrBlockType", *in.CidrBlockType, metalplane.CidrBlockTypeIPv4, metalplane.CidrBlockTypeIPv6)
	}
	if c := str(in.ChargeType); c != "" {
		if err := checkEnum("chargeType", c, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
			return nil, err
		}
	}
	var err error
	if f.PageNum, f.PageSize, err = pageParams(in.PageNum, in.PageSize); err != nil {
		return nil, err
	}
	blocks, total, err := r.server.DB.FindCidrBlocks(r.ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		TotalCount int             `json:"totalCount"`
		DataSet    []cidrBlockInfo `json:"dataSet"`
	}{total, make([]cidrBlockInfo, 0, len(blocks))}
	if len(blocks) == 0 {
		return out, nil
	}
	ids := make([]string, len(blocks))
	for i, b := range blocks {
		ids[i] = b.ID
	}
	ips, err := r.server.DB.CidrBlockIPs(r.ctx, ids)
	if err != nil {
		return nil, err
	}
	groupNames, err := r.server.DB.ResourceGroupNames(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		out.DataSet = append(out.DataSet, toCidrBlockInfo(b, ips[b.ID], groupNames))
	}
	return out, nil
}

type describeCidrBlockIpsRequest struct {
	InstanceID  *string `json:"instanceId"`
	IP          *string `json:"ip"`
	CidrBlockID *string `json:"cidrBlockId"`
}

type cidrBlockIP struct {
	CidrBlockID   string  `json:"cidrBlockId"`
	CidrBlockType string  `json:"cidrBlockType"`
	IP            string  `json:"ip"`
	InstanceID    *string `json:"instanceId"`
	Status        string  `json:"status"`
}

// handleDescribeCidrBlockIps lists every usable address of a block with
// its state: AVAILABLE (instanceId null) or bound. [decision] Both
// versions answer the key cidrBlockIps (the 2022-11-20 SDK spells it
// CidrBlockIps; Go decodes either), an unknown block is
// INVALID_CIDRBLOCK_NOT_FOUND, and instanceId and ip filter exactly.
func handleDescribeCidrBlockIps(r *request) (any, error) {
	var in describeCidrBlockIpsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("cidrBlockId", in.CidrBlockID)
	if err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("instanceId", in.InstanceID), metalplane.CheckID("ip", in.IP)); err != nil {
		return nil, err
	}
	b, err := r.server.DB.FindCidrBlock(r.ctx, r.caller.TeamID, id, "INVALID_CIDRBLOCK_NOT_FOUND")
	if err != nil {
		return nil, err
	}
	bound, err := r.server.DB.CidrBlockIPs(r.ctx, []string{b.ID})
	if err != nil {
		return nil, err
	}
	byAddr := map[string]sqlstore.BlockIP{}
	for _, ip := range bound[b.ID] {
		byAddr[ip.Address] = ip
	}
	p := blockPrefix(b)
	out := []cidrBlockIP{}
	for i := range metalplane.BlockUsableCount(p) {
		a, _ := metalplane.BlockUsableIP(p, i)
		item := cidrBlockIP{CidrBlockID: b.ID, CidrBlockType: metalplane.CidrBlockType(b.Family), IP: a.String(), Status: metalplane.CidrIPAvailable}
		if ip, ok := byAddr[item.IP]; ok {
			item.InstanceID, item.Status = &ip.InstanceID, ip.Status
		}
		if str(in.IP) != "" && item.IP != *in.IP || str(in.InstanceID) != "" && (item.InstanceID == nil || *item.InstanceID != *in.InstanceID) {
			continue
		}
		out = append(out, item)
	}
	return struct {
		CidrBlockIps []cidrBlockIP `json:"cidrBlockIps"`
	}{out}, nil
}

type describeInstanceAvailableCidrBlockRequest struct {
	InstanceID    *string `json:"instanceId"`
	CidrBlockType *string `json:"cidrBlockType"`
}

type instanceAvailableCidrBlock struct {
	CidrBlockID      string   `json:"cidrBlockId"`
	ZoneID           string   `json:"zoneId"`
	CidrBlockType    string   `json:"cidrBlockType"`
	CidrType         string   `json:"cidrType"`
	CidrBlock        string   `json:"cidrBlock"`
	AvailableIps     []string `json:"availableIps"`
	AvailableIPCount int      `json:"availableIpCount"`
}

// handleDescribeInstanceAvailableCidrBlock lists the team's AVAILABLE
// blocks in the instance's zone with their unbound addresses.
func handleDescribeInstanceAvailableCidrBlock(r *request) (any, error) {
	var in describeInstanceAvailableCidrBlockRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("cidrBlockType", in.CidrBlockType); err != nil {
		return nil, err
	}
	family := 0
	if t := str(in.CidrBlockType); t != "" {
		if err := checkEnum("cidrBlockType", t, metalplane.CidrBlockTypeIPv4, metalplane.CidrBlockTypeIPv6); err != nil {
			return nil, err
		}
		family = map[string]int{metalplane.CidrBlockTypeIPv4: 4, metalplane.CidrBlockTypeIPv6: 6}[t]
	}
	inst, err := r.server.DB.FindInstance(r.ctx, r.caller.TeamID, id)
	if err != nil {
		return nil, err
	}
	blocks, _, err := r.server.DB.FindCidrBlocks(r.ctx, sqlstore.CidrBlockFilter{TeamID: r.caller.TeamID, ZoneID: inst.ZoneID, Family: family})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(blocks))
	for i, b := range blocks {
		ids[i] = b.ID
	}
	bound, err := r.server.DB.CidrBlockIPs(r.ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []instanceAvailableCidrBlock{}
	for _, b := range blocks {
		if b.Status != metalplane.CidrBlockAvailable {
			continue
		}
		taken := map[string]bool{}
		for _, ip := range bound[b.ID] {
			taken[ip.Address] = true
		}
		p := blockPrefix(b)
		item := instanceAvailableCidrBlock{CidrBlockID: b.ID, ZoneID: b.ZoneID, CidrBlockType: metalplane.CidrBlockType(b.Family),
			CidrType: b.CidrType, CidrBlock: b.CIDR, AvailableIps: []string{}}
		for i := range metalplane.BlockUsableCount(p) {
			if a, _ := metalplane.BlockUsableIP(p, i); !taken[a.String()] {
				item.AvailableIps = append(item.AvailableIps, a.String())
			}
		}
		item.AvailableIPCount = len(item.AvailableIps)
		out = append(out, item)
	}
	return struct {
		InstanceAvailableCidrBlocks []instanceAvailableCidrBlock `json:"instanceAvailableCidrBlocks"`
	}{out}, nil
}

type bindCidrBlockIpsRequest struct {
	IPBindList []struct {
		InstanceID *string `json:"instanceId"`
		IP         *string `json:"ip"`
	} `json:"ipBindList"`
	CidrBlockID *string `json:"cidrBlockId"`
}

// parseBlockIP reads an address of a list; INVALID_PARAMETER when it is
// not one.
func parseBlockIP(field, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, metalplane.Errorf("INVALID_PARAMETER", "%s `%s` is not an IP address.", field, s)
	}
	return a, nil
}

// handleBindCidrBlockIps binds addresses of a block to instances; the
// driver configures them asynchronously (BINDING, then BOUND). The list
// holds 1 to 100 items, each with both fields and a distinct address
// (INVALID_PARAMETER); the store checks the rest.
func handleBindCidrBlockIps(r *request) (any, error) {
	var in bindCidrBlockIpsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("cidrBlockId", in.CidrBlockID)
	if err != nil {
		return nil, err
	}
	if len(in.IPBindList) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "ipBindList is required.")
	}
	if err := metalplane.CheckCount("ipBindList", len(in.IPBindList), metalplane.MaxListItems); err != nil {
		return nil, err
	}
	items := make([]sqlstore.BindIP, 0, len(in.IPBindList))
	seen := map[netip.Addr]bool{}
	for i, it := range in.IPBindList {
		if _, err := requiredID("ipBindList.instanceId", it.InstanceID); err != nil {
			return nil, err
		}
		if _, err := requiredID("ipBindList.ip", it.IP); err != nil {
			return nil, err
		}
		a, err := parseBlockIP("ipBindList.ip", *it.IP)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "ipBindList[%d]: %s is given twice.", i, a)
		}
		seen[a] = true
		items = append(items, sqlstore.BindIP{InstanceID: *it.InstanceID, IP: a})
	}
	if err := r.server.DB.BindCidrBlockIPs(r.ctx, r.caller.TeamID, id, items, r.server.EnqueueBlockIPs); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type unbindCidrBlockIpsRequest struct {
	IPList      []string `json:"ipList"`
	CidrBlockID *string  `json:"cidrBlockId"`
}

// handleUnbindCidrBlockIps unbinds addresses of a block; the driver removes
// them asynchronously (UNBINDING, then AVAILABLE).
func handleUnbindCidrBlockIps(r *request) (any, error) {
	var in unbindCidrBlockIpsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("cidrBlockId", in.CidrBlockID)
	if err != nil {
		return nil, err
	}
	if len(in.IPList) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "ipList is required.")
	}
	if err := metalplane.CheckIDList("ipList", in.IPList, metalplane.MaxListItems); err != nil {
		return nil, err
	}
	ips := make([]netip.Addr, 0, len(in.IPList))
	for i, s := range in.IPList {
		a, err := parseBlockIP("ipList", s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(ips, a) {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "ipList[%d]: %s is given twice.", i, a)
		}
		ips = append(ips, a)
	}
	if err := r.server.DB.UnbindCidrBlockIPs(r.ctx, r.caller.TeamID, id, ips, r.server.EnqueueBlockIPs); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type modifyCidrBlocksAttributeRequest struct {
	Name         *string  `json:"name"`
	CidrBlockIDs []string `json:"cidrBlockIds"`
}

// blockIDList checks a required list of 1 to 100 block IDs; repeats are
// dropped.
func blockIDList(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "cidrBlockIds is required.")
	}
	if err := metalplane.CheckIDList("cidrBlockIds", ids, metalplane.MaxListItems); err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// handleModifyCidrBlocksAttribute renames blocks, all or nothing.
func handleModifyCidrBlocksAttribute(r *request) (any, error) {
	var in modifyCidrBlocksAttributeRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := requireString("name", in.Name); err != nil {
		return nil, err
	}
	ids, err := blockIDList(in.CidrBlockIDs)
	if err != nil {
		return nil, err
	}
	if err := metalplane.ValidateBlockName("name", *in.Name); err != nil {
		return nil, err
	}
	if err := r.server.DB.ModifyCidrBlocksName(r.ctx, r.caller.TeamID, ids, *in.Name); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type cidrBlockIDRequest struct {
	CidrBlockID *string `json:"cidrBlockId"`
}

// handleCidrBlockAction serves RenewCidrBlock and TerminateCidrBlock: one
// required cidrBlockId and a store method.
func handleCidrBlockAction(act func(db *sqlstore.DB, r *request, id string) error) func(r *request) (any, error) {
	return func(r *request) (any, error) {
		var in cidrBlockIDRequest
		if err := r.decode(&in); err != nil {
			return nil, err
		}
		id, err := requiredID("cidrBlockId", in.CidrBlockID)
		if err != nil {
			return nil, err
		}
		if err := act(r.server.DB, r, id); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	}
}

var (
	handleRenewCidrBlock = handleCidrBlockAction(func(db *sqlstore.DB, r *request, id string) error {
		return db.RenewCidrBlock(r.ctx, r.caller.TeamID, id)
	})
	handleTerminateCidrBlock = handleCidrBlockAction(func(db *sqlstore.DB, r *request, id string) error {
		return db.TerminateCidrBlock(r.ctx, r.caller.TeamID, id)
	})
)

type releaseCidrBlocksRequest struct {
	CidrBlockIDs []string `json:"cidrBlockIds"`
}

// handleReleaseCidrBlocks releases blocks of the recycle bin, all or
// nothing.
func handleReleaseCidrBlocks(r *request) (any, error) {
	var in releaseCidrBlocksRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ids, err := blockIDList(in.CidrBlockIDs)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.ReleaseCidrBlocks(r.ctx, r.caller.TeamID, ids); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
