package httpapi_test

import (
	"context"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// The fidelity defects of issue 14, each a regression test that failed
// before its fix.

// TestTrafficPackageSameRuleOnCreateAndModify: a trafficPackageSize that
// ModifyInstanceTrafficPackage refuses is refused by CreateInstances and
// InquiryPriceCreateInstance with the same code (0.01 TB used to be
// bought).
func TestTrafficPackageSameRuleOnCreateAndModify(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		// M6C in SEL-A: ByTrafficPackage with a free package of 10 TB.
		pkg := func(tb float64) map[string]any {
			return postpaidWith(map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": tb})
		}
		inquiry := func(tb float64) map[string]any {
			return map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "POSTPAID",
				"internetChargeType": "ByTrafficPackage", "trafficPackageSize": tb}
		}
		cases := []struct {
			tb   float64
			want metalplane.Code
		}{
			{0.01, "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR"},
			{10.02, "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR"},
			{-1, "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR"},
			{5, "INVALID_PARAMETER_TRAFFIC_PACKAGE_LESS"},
			{1000.05, "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED"},
		}
		for _, tc := range cases {
			apitest.ExpectCode(t, callAction(ctx, c, "CreateInstances", pkg(tc.tb)), tc.want)
			apitest.ExpectCode(t, callAction(ctx, c, "InquiryPriceCreateInstance", inquiry(tc.tb)), tc.want)
		}
		expectNothingBought(t, env, balanceBefore)

		// What the purchase accepts, the change accepts, and the other way.
		var created createResponse
		if err := c.Call(ctx, "CreateInstances", pkg(10.05), &created); err != nil {
			t.Fatalf("CreateInstances with 10.05 TB: %v", err)
		}
		waitStatus(t, env, created.InstanceIDSet, "RUNNING")
		id := created.InstanceIDSet[0]
		for _, tc := range cases {
			apitest.ExpectCode(t, tickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": tc.tb}, nil), tc.want)
		}
		mustTickCall(t, env, c, "ModifyInstanceTrafficPackage", map[string]any{"instanceId": id, "trafficPackageSize": 10.1}, nil)
	})
}

// TestBandwidth95PricedByMonth: the bandwidth of a 95th-percentile charge
// type is quoted per Mbps by MONTH at the offer's monthly price, not as 0
// per HOUR.
func TestBandwidth95PricedByMonth(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		type item struct {
			DiscountPrice     *float64 `json:"discountPrice"`
			UnitPrice         *float64 `json:"unitPrice"`
			DiscountUnitPrice *float64 `json:"discountUnitPrice"`
			ChargeUnit        string   `json:"chargeUnit"`
			AmountUnit        string   `json:"amountUnit"`
		}
		// M9E in SEL-A sells both percentile types at 2.00 per Mbps a month.
		for _, internet := range []string{"ByInstanceBandwidth95", "ByClusterBandwidth95"} {
			for _, charge := range []string{"POSTPAID", "PREPAID"} {
				req := map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M9E", "instanceChargeType": charge,
					"internetChargeType": internet, "internetMaxBandwidthOut": 200}
				if charge == "PREPAID" {
					req["instanceChargePrepaid"] = map[string]any{"period": 1}
				}
				for _, c := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
					var out struct {
						BandwidthPrice []item `json:"bandwidthPrice"`
					}
					if err := c.Call(context.Background(), "InquiryPriceCreateInstance", req, &out); err != nil {
						t.Fatal(err)
					}
					if len(out.BandwidthPrice) != 1 {
						t.Fatalf("%s %s: got %d bandwidth items, want 1", internet, charge, len(out.BandwidthPrice))
					}
					got := out.BandwidthPrice[0]
					if got.ChargeUnit != "MONTH" || got.UnitPrice == nil || *got.UnitPrice != 2 || got.DiscountUnitPrice == nil || *got.DiscountUnitPrice != 2 || got.AmountUnit != "Mbps" {
						t.Errorf("%s %s %s: got %+v, want 2.00 per Mbps by MONTH", c.Version, internet, charge, got)
					}
					// Nothing of it is paid with a PREPAID order.
					if charge == "PREPAID" && (got.DiscountPrice == nil || *got.DiscountPrice != 0) {
						t.Errorf("%s %s PREPAID: got discountPrice %v, want 0 paid up front", c.Version, internet, got.DiscountPrice)
					}
				}
			}
		}
	})
}

// TestClusterIDChecked: a ByBandwidthCluster purchase names one of the
// zone's bandwidth clusters; any other clusterId used to be accepted.
func TestClusterIDChecked(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		cluster := func(id string) map[string]any {
			return postpaidWith(map[string]any{"instanceTypeId": "M9E", "internetChargeType": "ByBandwidthCluster", "clusterId": id})
		}
		for _, id := range []string{"c-1", "bwc-hkg-1", "BWC-SEL-1"} {
			apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", cluster(id)), "INVALID_PARAMETER")
		}
		expectNothingBought(t, env, balanceBefore)
		var created createResponse
		if err := env.BMC2022().Call(ctx, "CreateInstances", cluster("bwc-sel-1"), &created); err != nil {
			t.Fatalf("clusterId of SEL-A: %v", err)
		}
		if got := describeOne(t, env, created.InstanceIDSet[0])["internetChargeType"]; got != "ByBandwidthCluster" {
			t.Fatalf("got internetChargeType %v, want ByBandwidthCluster", got)
		}
	})
}

// TestWindowsRefusesKeyPairs: the seed says key pairs are not supported
// for Windows; a Windows image with keyId (or sshKeys) is refused, on
// CreateInstances and ReinstallInstance, instead of silently getting a
// password.
func TestWindowsRefusesKeyPairs(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		keyID := importKeyPair(t, env.CCS(), "win-key")
		apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", postpaidWith(map[string]any{"imageId": demoImageWin2022, "keyId": keyID})), "INVALID_PARAMETER")
		apitest.ExpectCode(t, callAction(ctx, env.BMC2022(), "CreateInstances",
			postpaidWith(map[string]any{"imageId": demoImageWin2022, "sshKeys": []string{newAuthorizedKey(t, "w@x")}})), "INVALID_PARAMETER")
		expectNothingBought(t, env, balanceBefore)

		// A Linux instance reinstalled with Windows and its key: refused too.
		var created createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"imageId": demoImageCentOS79, "keyId": keyID}), &created); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, created.InstanceIDSet, "RUNNING")
		apitest.ExpectCode(t, tickCall(t, env, env.BMC(), "ReinstallInstance",
			map[string]any{"instanceId": created.InstanceIDSet[0], "imageId": demoImageWin2022, "keyId": keyID}, nil), "INVALID_PARAMETER")
		// Windows with a password, and Linux with the key, still work.
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"imageId": demoImageWin2022, "password": "Example~123"}), nil); err != nil {
			t.Fatalf("Windows with a password: %v", err)
		}
	})
}
