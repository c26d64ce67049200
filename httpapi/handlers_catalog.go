package httpapi

import (
	"slices"
	"strings"

	"github.com/metalplane/metalplane"
)

// Wire shapes of the catalog actions (ACTIONS.md §5.2–§5.5). The 2026-02-01
// superset is returned on both versions; older clients ignore extra fields.

type zoneInfo struct {
	ZoneID                 string `json:"zoneId"`
	ZoneName               string `json:"zoneName"`
	CityName               string `json:"cityName"`
	AreaName               string `json:"areaName"`
	IsCloudRouterAvailable bool   `json:"isCloudRouterAvailable"`
	IsByoipEnabled         bool   `json:"isByoipEnabled"`
}

type diskInfo struct {
	DiskSize  int `json:"diskSize"`
	DiskCount int `json:"diskCount"`
}

type instanceDiskInfo struct {
	TotalDiskSize   int        `json:"totalDiskSize"`
	DiskDescription string     `json:"diskDescription"`
	Disks           []diskInfo `json:"disks"`
}

type instanceTypeInfo struct {
	InstanceTypeID   string           `json:"instanceTypeId"`
	Description      string           `json:"description"`
	ImageIDs         []string         `json:"imageIds,omitempty"`
	CPUCoreCount     int              `json:"cpuCoreCount"`
	CPUDetail        string           `json:"cpuDetail"`
	CPUCores         int              `json:"cpuCores"`
	CPUThreads       int              `json:"cpuThreads"`
	BaseFrequency    string           `json:"baseFrequency"`
	MemorySize       int              `json:"memorySize"`
	MaximumBandwidth int              `json:"maximumBandwidth"`
	SupportRaids     []int            `json:"supportRaids"`
	SupportSubnet    bool             `json:"supportSubnet"`
	IsHA             bool             `json:"isHA"`
	DiskInfo         instanceDiskInfo `json:"diskInfo"`
	VpuVendor        string           `json:"vpuVendor,omitempty"`
	VpuCard          string           `json:"vpuCard,omitempty"`
	VpuCount         int              `json:"vpuCount,omitempty"`
}

func toInstanceTypeInfo(t *metalplane.InstanceType) instanceTypeInfo {
	info := instanceTypeInfo{
		InstanceTypeID: t.ID, Description: t.Description, CPUCoreCount: t.CPUCount, CPUDetail: t.CPUDetail,
		CPUCores: t.CPUCores, CPUThreads: t.CPUThreads, BaseFrequency: t.BaseFrequency, MemorySize: t.MemoryGB,
		MaximumBandwidth: t.MaxBandwidthMbps, SupportRaids: t.SupportRaids, SupportSubnet: t.SupportSubnet, IsHA: t.HA,
		DiskInfo:  instanceDiskInfo{TotalDiskSize: t.TotalDiskGB, DiskDescription: t.DiskDescription, Disks: []diskInfo{}},
		VpuVendor: t.VPUVendor, VpuCard: t.VPUCard, VpuCount: t.VPUCount,
	}
	if info.SupportRaids == nil {
		info.SupportRaids = []int{}
	}
	for _, d := range t.Disks {
		info.DiskInfo.Disks = append(info.DiskInfo.Disks, diskInfo{DiskSize: d.SizeGB, DiskCount: d.Count})
	}
	return info
}

type describeZonesRequest struct {
	AcceptLanguage         *string `json:"acceptLanguage"`
	IsCloudRouterAvailable *bool   `json:"isCloudRouterAvailable"`
}

func handleDescribeZones(r *request) (any, error) {
	var in describeZonesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.CheckID("acceptLanguage", in.AcceptLanguage); err != nil {
		return nil, err
	}
	chinese := in.AcceptLanguage != nil && *in.AcceptLanguage == "zh-CN"
	zones := []zoneInfo{}
	for _, z := range r.server.Catalog.Zones {
		if in.IsCloudRouterAvailable != nil && z.CloudRouterAvailable != *in.IsCloudRouterAvailable {
			continue
		}
		info := zoneInfo{ZoneID: z.ID, ZoneName: z.Name, CityName: z.City, AreaName: z.Area,
			IsCloudRouterAvailable: z.CloudRouterAvailable, IsByoipEnabled: z.BYOIPEnabled}
		if chinese {
			info.ZoneName = firstNonEmpty(z.NameZH, z.Name)
			info.CityName = firstNonEmpty(z.CityZH, z.City)
			info.AreaName = firstNonEmpty(z.AreaZH, z.Area)
		}
		zones = append(zones, info)
	}
	return map[string]any{"zoneSet": zones}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

type describeInstanceTypesRequest struct {
	ImageID             *string  `json:"imageId"`
	InstanceTypeIDs     []string `json:"instanceTypeIds"`
	MinimumCPUCoreCount *int     `json:"minimumCpuCoreCount"`
	MaximumCPUCoreCount *int     `json:"maximumCpuCoreCount"`
	MinimumMemorySize   *int     `json:"minimumMemorySize"`
	MaximumMemorySize   *int     `json:"maximumMemorySize"`
	MinimumBandwidth    *int     `json:"minimumBandwidth"`
	SupportRaids        []int    `json:"supportRaids"`
	SupportSubnet       *bool    `json:"supportSubnet"`
	MinimumDiskSize     *int     `json:"minimumDiskSize"`
	MaximumDiskSize     *int     `json:"maximumDiskSize"`
	IsHA                *bool    `json:"isHA"`
}

func handleDescribeInstanceTypes(r *request) (any, error) {
	var in describeInstanceTypesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckID("imageId", in.ImageID),
		metalplane.CheckIDList("instanceTypeIds", in.InstanceTypeIDs, metalplane.MaxListItems),
		metalplane.CheckCount("supportRaids", len(in.SupportRaids), metalplane.MaxListItems),
	); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		name string
		v    *int
	}{
		{"minimumCpuCoreCount", in.MinimumCPUCoreCount}, {"maximumCpuCoreCount", in.MaximumCPUCoreCount},
		{"minimumMemorySize", in.MinimumMemorySize}, {"maximumMemorySize", in.MaximumMemorySize},
		{"minimumBandwidth", in.MinimumBandwidth}, {"minimumDiskSize", in.MinimumDiskSize}, {"maximumDiskSize", in.MaximumDiskSize},
	} {
		if p.v != nil && *p.v < 1 {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "%s must be a positive integer.", p.name)
		}
	}
	for _, level := range in.SupportRaids {
		if !slices.Contains([]int{0, 1, 5, 10}, level) {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "supportRaids values must be 0, 1, 5 or 10.")
		}
	}
	cat := r.server.Catalog
	types := []instanceTypeInfo{}
	for i := range cat.InstanceTypes {
		t := &cat.InstanceTypes[i]
		if len(in.InstanceTypeIDs) > 0 && !slices.Contains(in.InstanceTypeIDs, t.ID) ||
			!intInRange(t.CPUCount, in.MinimumCPUCoreCount, in.MaximumCPUCoreCount) ||
			!intInRange(t.MemoryGB, in.MinimumMemorySize, in.MaximumMemorySize) ||
			!intInRange(t.MaxBandwidthMbps, in.MinimumBandwidth, nil) ||
			!intInRange(t.TotalDiskGB, in.MinimumDiskSize, in.MaximumDiskSize) ||
			in.SupportSubnet != nil && t.SupportSubnet != *in.SupportSubnet ||
			in.IsHA != nil && t.HA != *in.IsHA {
			continue
		}
		supportsAll := true
		for _, level := range in.SupportRaids {
			supportsAll = supportsAll && slices.Contains(t.SupportRaids, level)
		}
		if !supportsAll {
			continue
		}
		var imageIDs []string
		for _, img := range cat.ImageList() {
			if img.FitsType(t.ID) {
				imageIDs = append(imageIDs, img.ID)
			}
		}
		if in.ImageID != nil && !slices.Contains(imageIDs, *in.ImageID) {
			continue
		}
		info := toInstanceTypeInfo(t)
		info.ImageIDs = imageIDs
		types = append(types, info)
	}
	return map[string]any{"instanceTypes": types}, nil
}

func intInRange(v int, lo, hi *int) bool {
	return (lo == nil || v >= *lo) && (hi == nil || v <= *hi)
}

type availableResource struct {
	ZoneID                    string   `json:"zoneId"`
	InstanceTypeID            string   `json:"instanceTypeId"`
	SellStatus                string   `json:"sellStatus"`
	InternetChargeTypes       []string `json:"internetChargeTypes"`
	MaximumBandwidthOut       int      `json:"maximumBandwidthOut"`
	DefaultBandwidthOut       int      `json:"defaultBandwidthOut"`
	DefaultTrafficPackageSize float64  `json:"defaultTrafficPackageSize"`
	Qty                       int      `json:"qty"`
}

// SellStatus computes the sell status of an offer from its free hosts
// (ACTIONS.md §5.1: SELL above 10, SELL_SHORTAGE 1–10, SOLD_OUT at 0).
func sellStatus(free int) string {
	switch {
	case free <= 0:
		return "SOLD_OUT"
	case free <= 10:
		return "SELL_SHORTAGE"
	default:
		return "SELL"
	}
}

type describeAvailableResourcesRequest struct {
	InstanceChargeType *string `json:"instanceChargeType"`
	InstanceTypeID     *string `json:"instanceTypeId"`
	ZoneID             *string `json:"zoneId"`
	SellStatus         *string `json:"sellStatus"`
}

func handleDescribeAvailableResources(r *request) (any, error) {
	var in describeAvailableResourcesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckID("instanceChargeType", in.InstanceChargeType), metalplane.CheckID("instanceTypeId", in.InstanceTypeID),
		metalplane.CheckID("zoneId", in.ZoneID), metalplane.CheckID("sellStatus", in.SellStatus),
	); err != nil {
		return nil, err
	}
	if in.InstanceChargeType == nil || *in.InstanceChargeType == "" {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "instanceChargeType is required.")
	}
	if err := checkEnum("instanceChargeType", *in.InstanceChargeType, metalplane.ChargeTypePrepaid, metalplane.ChargeTypePostpaid); err != nil {
		return nil, err
	}
	if in.SellStatus != nil {
		if err := checkEnum("sellStatus", *in.SellStatus, "SELL", "SELL_SHORTAGE", "SOLD_OUT"); err != nil {
			return nil, err
		}
	}
	cat := r.server.Catalog
	if in.ZoneID != nil {
		if _, ok := cat.FindZone(*in.ZoneID); !ok {
			return nil, metalplane.Errorf("INVALID_ZONE_NOT_FOUND", "The specified zoneId `%s` is not found.", *in.ZoneID)
		}
	}
	if *in.InstanceChargeType == metalplane.ChargeTypePostpaid {
		team, err := r.server.DB.FindTeam(r.ctx, r.caller.TeamID)
		if err != nil {
			return nil, err
		}
		if !team.PostpaidAllowed {
			return nil, metalplane.Errorf("INVALID_CHARGE_TYPE_NOT_SUPPORT", "POSTPAID is not enabled for this account.")
		}
	}
	stock, err := r.server.DB.StockCounts(r.ctx)
	if err != nil {
		return nil, err
	}
	out := []availableResource{}
	for _, o := range cat.Offers {
		if in.ZoneID != nil && o.ZoneID != *in.ZoneID || in.InstanceTypeID != nil && o.InstanceTypeID != *in.InstanceTypeID {
			continue
		}
		zone, _ := cat.FindZone(o.ZoneID)
		if !zoneOffersCharge(zone, *in.InstanceChargeType) {
			continue
		}
		t, _ := cat.FindInstanceType(o.InstanceTypeID)
		free := stock[[2]string{o.ZoneID, o.InstanceTypeID}]
		res := availableResource{
			ZoneID: o.ZoneID, InstanceTypeID: o.InstanceTypeID, SellStatus: sellStatus(free),
			InternetChargeTypes: o.InternetChargeTypes, MaximumBandwidthOut: t.MaxBandwidthMbps,
			DefaultBandwidthOut: o.DefaultBandwidthMbps, DefaultTrafficPackageSize: o.DefaultTrafficPackageTB, Qty: free,
		}
		if in.SellStatus != nil && res.SellStatus != *in.SellStatus {
			continue
		}
		out = append(out, res)
	}
	return map[string]any{"availableResources": out}, nil
}

// zoneOffersCharge reports whether the zone sells with the charge type (an
// empty list in the catalog means both).
func zoneOffersCharge(z *metalplane.Zone, chargeType string) bool {
	return len(z.ChargeTypes) == 0 || slices.Contains(z.ChargeTypes, chargeType)
}

func checkEnum(name, value string, allowed ...string) error {
	if !slices.Contains(allowed, value) {
		return metalplane.Errorf("INVALID_PARAMETER", "%s must be one of %s.", name, strings.Join(allowed, ", "))
	}
	return nil
}

type imageInfo struct {
	ImageID   string `json:"imageId"`
	ImageName string `json:"imageName"`
	Catalog   string `json:"catalog"`
	ImageType string `json:"imageType"`
	OsType    string `json:"osType"`
}

type describeImagesRequest struct {
	ImageIDs       []string `json:"imageIds"`
	ImageName      *string  `json:"imageName"`
	Catalog        *string  `json:"catalog"`
	ImageType      *string  `json:"imageType"`
	OsType         *string  `json:"osType"`
	InstanceTypeID *string  `json:"instanceTypeId"`
}

func handleDescribeImages(r *request) (any, error) {
	var in describeImagesRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("imageIds", in.ImageIDs, metalplane.MaxListItems),
		metalplane.CheckLength("imageName", in.ImageName, metalplane.MaxImageNameLength),
		metalplane.CheckID("catalog", in.Catalog), metalplane.CheckID("imageType", in.ImageType),
		metalplane.CheckID("osType", in.OsType), metalplane.CheckID("instanceTypeId", in.InstanceTypeID),
	); err != nil {
		return nil, err
	}
	if in.ImageType != nil {
		if err := checkEnum("imageType", *in.ImageType, "PUBLIC_IMAGE", "CUSTOM_IMAGE"); err != nil {
			return nil, err
		}
	}
	if in.OsType != nil {
		if err := checkEnum("osType", strings.ToLower(*in.OsType), "linux", "windows"); err != nil {
			return nil, err
		}
	}
	cat := r.server.Catalog
	if in.InstanceTypeID != nil {
		if _, ok := cat.FindInstanceType(*in.InstanceTypeID); !ok {
			return nil, metalplane.Errorf("INVALID_INSTANCE_TYPE_NOT_FOUND", "The specified instanceTypeId `%s` is not found.", *in.InstanceTypeID)
		}
	}
	images := []imageInfo{}
	for _, img := range cat.ImageList() {
		if len(in.ImageIDs) > 0 && !slices.Contains(in.ImageIDs, img.ID) ||
			in.ImageName != nil && img.Name != *in.ImageName ||
			in.Catalog != nil && !strings.EqualFold(img.Catalog, *in.Catalog) ||
			in.ImageType != nil && img.Type != *in.ImageType ||
			in.OsType != nil && !strings.EqualFold(img.OSType, *in.OsType) ||
			in.InstanceTypeID != nil && !img.FitsType(*in.InstanceTypeID) {
			continue
		}
		images = append(images, imageInfo{ImageID: img.ID, ImageName: img.Name, Catalog: strings.ToLower(img.Catalog),
			ImageType: img.Type, OsType: strings.ToLower(img.OSType)})
	}
	return map[string]any{"images": images}, nil
}
