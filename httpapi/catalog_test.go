package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
)

// TestCatalogActions checks the read-side catalog actions against the demo
// catalog they serve, in both bmc versions: every zone, type and image is
// listed, filters select what the catalog says, and stock is the number of
// free hosts.
func TestCatalogActions(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		cat := env.App.Catalog
		for _, c := range []struct {
			name string
			call func(action string, req map[string]any, out any) error
		}{
			{"2026-02-01", func(a string, req map[string]any, out any) error { return env.BMC().Call(ctx, a, req, out) }},
			{"2022-11-20", func(a string, req map[string]any, out any) error { return env.BMC2022().Call(ctx, a, req, out) }},
		} {
			t.Run(c.name, func(t *testing.T) {
				// DescribeZones: all zones; names by language; the flag filter.
				type zone struct{ ZoneID, ZoneName string }
				var zones struct {
					ZoneSet []zone `json:"zoneSet"`
				}
				if err := c.call("DescribeZones", map[string]any{"acceptLanguage": "zh-CN"}, &zones); err != nil {
					t.Fatal(err)
				}
				if len(zones.ZoneSet) != len(cat.Zones) {
					t.Fatalf("got %d zones, want %d", len(zones.ZoneSet), len(cat.Zones))
				}
				for i, z := range cat.Zones {
					if zones.ZoneSet[i].ZoneID != z.ID || zones.ZoneSet[i].ZoneName != z.NameZH {
						t.Errorf("zone %d: got %+v, want %s %s", i, zones.ZoneSet[i], z.ID, z.NameZH)
					}
				}
				var routed struct {
					ZoneSet []zone `json:"zoneSet"`
				}
				if err := c.call("DescribeZones", map[string]any{"isCloudRouterAvailable": false}, &routed); err != nil {
					t.Fatal(err)
				}
				for _, z := range cat.Zones {
					listed := slices.ContainsFunc(routed.ZoneSet, func(r zone) bool { return r.ZoneID == z.ID })
					if listed != !z.CloudRouterAvailable {
						t.Errorf("isCloudRouterAvailable=false: zone %s listed %t", z.ID, listed)
					}
				}

				// DescribeInstanceTypes: filters against the catalog.
				type instanceType struct {
					InstanceTypeID string   `json:"instanceTypeId"`
					ImageIDs       []string `json:"imageIds"`
				}
				types := func(req map[string]any) []string {
					t.Helper()
					var out struct {
						InstanceTypes []instanceType `json:"instanceTypes"`
					}
					if err := c.call("DescribeInstanceTypes", req, &out); err != nil {
						t.Fatal(err)
					}
					var ids []string
					for _, it := range out.InstanceTypes {
						ids = append(ids, it.InstanceTypeID)
					}
					slices.Sort(ids)
					return ids
				}
				want := func(keep func(it metalplane.InstanceType) bool) []string {
					var ids []string
					for _, it := range cat.InstanceTypes {
						if keep(it) {
							ids = append(ids, it.ID)
						}
					}
					slices.Sort(ids)
					return ids
				}
				check := func(what string, got, want []string) {
					t.Helper()
					if !slices.Equal(got, want) {
						t.Errorf("%s: got %v, want %v", what, got, want)
					}
				}
				check("all types", types(map[string]any{}), want(func(metalplane.InstanceType) bool { return true }))
				check("isHA", types(map[string]any{"isHA": true}), want(func(it metalplane.InstanceType) bool { return it.HA }))
				check("cpuCoreCount ≥ 2", types(map[string]any{"minimumCpuCoreCount": 2}), want(func(it metalplane.InstanceType) bool { return it.CPUCount >= 2 }))
				check("memory ≤ 64", types(map[string]any{"maximumMemorySize": 64}), want(func(it metalplane.InstanceType) bool { return it.MemoryGB <= 64 }))
				check("RAID 10", types(map[string]any{"supportRaids": []int{10}}), want(func(it metalplane.InstanceType) bool { return slices.Contains(it.SupportRaids, 10) }))
				check("instanceTypeIds", types(map[string]any{"instanceTypeIds": []string{"M6C", "ST12"}}), []string{"M6C", "ST12"})
				windows := cat.Images[slices.IndexFunc(cat.Images, func(im metalplane.Image) bool { return im.OSType == "windows" })]
				check("imageId", types(map[string]any{"imageId": windows.ID}), want(func(it metalplane.InstanceType) bool { return slices.Contains(windows.InstanceTypeIDs, it.ID) }))

				// DescribeAvailableResources: stock is the free hosts, and
				// sellStatus follows it.
				var res struct {
					AvailableResources []struct {
						ZoneID         string `json:"zoneId"`
						InstanceTypeID string `json:"instanceTypeId"`
						SellStatus     string `json:"sellStatus"`
					} `json:"availableResources"`
				}
				if err := c.call("DescribeAvailableResources", map[string]any{"instanceChargeType": "PREPAID", "zoneId": "HKG-A"}, &res); err != nil {
					t.Fatal(err)
				}
				seen := 0
				for _, r := range res.AvailableResources {
					if r.ZoneID != "HKG-A" {
						t.Errorf("zone filter: got %s", r.ZoneID)
					}
					o := cat.Offers[slices.IndexFunc(cat.Offers, func(o metalplane.Offer) bool { return o.ZoneID == r.ZoneID && o.InstanceTypeID == r.InstanceTypeID })]
					wantStatus := "SELL"
					switch {
					case o.Hosts == 0:
						wantStatus = "SOLD_OUT"
					case o.Hosts <= 10:
						wantStatus = "SELL_SHORTAGE"
					}
					if r.SellStatus != wantStatus {
						t.Errorf("%s/%s with %d hosts: sellStatus %s, want %s", r.ZoneID, r.InstanceTypeID, o.Hosts, r.SellStatus, wantStatus)
					}
					seen++
				}
				if seen == 0 || !slices.ContainsFunc(res.AvailableResources, func(r struct {
					ZoneID         string `json:"zoneId"`
					InstanceTypeID string `json:"instanceTypeId"`
					SellStatus     string `json:"sellStatus"`
				}) bool {
					return r.SellStatus == "SOLD_OUT"
				}) {
					t.Errorf("HKG-A: want its sold-out offer listed, got %+v", res.AvailableResources)
				}
				err := c.call("DescribeAvailableResources", map[string]any{}, nil)
				apitest.ExpectCode(t, err, "MISSING_PARAMETER")
				err = c.call("DescribeAvailableResources", map[string]any{"instanceChargeType": "PREPAID", "zoneId": "XXX-A"}, nil)
				apitest.ExpectCode(t, err, "INVALID_ZONE_NOT_FOUND")

				// DescribeImages: catalog and osType case-insensitively,
				// answered in lower case; an unknown type is an error.
				var images struct {
					Images []struct {
						ImageID string `json:"imageId"`
						Catalog string `json:"catalog"`
						OSType  string `json:"osType"`
					} `json:"images"`
				}
				if err := c.call("DescribeImages", map[string]any{"catalog": "Ubuntu", "osType": "LINUX"}, &images); err != nil {
					t.Fatal(err)
				}
				wantImages := 0
				for _, im := range cat.Images {
					if strings.EqualFold(im.Catalog, "ubuntu") && strings.EqualFold(im.OSType, "linux") {
						wantImages++
					}
				}
				if len(images.Images) != wantImages || wantImages == 0 {
					t.Errorf("ubuntu images: got %d, want %d", len(images.Images), wantImages)
				}
				for _, im := range images.Images {
					if im.Catalog != "ubuntu" || im.OSType != "linux" {
						t.Errorf("image %s: catalog %q osType %q, want lower case", im.ImageID, im.Catalog, im.OSType)
					}
				}
				err = c.call("DescribeImages", map[string]any{"instanceTypeId": "NOPE"}, nil)
				apitest.ExpectCode(t, err, "INVALID_INSTANCE_TYPE_NOT_FOUND")
			})
		}
	})
}
