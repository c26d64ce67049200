package httpapi_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// eipOut decodes EipAddress (with the DdosIpAddress names too, so one
// helper reads both kinds).
type eipOut struct {
	EipID             string  `json:"eipId"`
	DdosIPID          string  `json:"ddosIpId"`
	ZoneID            string  `json:"zoneId"`
	IPAddress         string  `json:"ipAddress"`
	Netmask           int     `json:"netmask"`
	InstanceID        *string `json:"instanceId"`
	InstanceName      *string `json:"instanceName"`
	EipChargeType     string  `json:"eipChargeType"`
	DdosIPChargeType  string  `json:"ddosIpChargeType"`
	Period            *int    `json:"period"`
	CreateTime        string  `json:"createTime"`
	ExpiredTime       *string `json:"expiredTime"`
	ResourceGroupID   string  `json:"resourceGroupId"`
	ResourceGroupName string  `json:"resourceGroupName"`
	EipStatus         string  `json:"eipStatus"`
	DdosIPStatus      string  `json:"ddosIpStatus"`
	Tags              *struct {
		Tags []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"tags"`
	} `json:"tags"`
}

func (e eipOut) status() string { return e.EipStatus + e.DdosIPStatus }

// addressNames are the wire names of one kind.
type addressNames struct {
	kind                                                           string
	describe, allocate, associate, unassociate, terminate, release string
	renew, modifyGroup, available, instanceAvailable, inquiry      string
	id, ids, chargeType, prepaid, idSet, price                     string
}

var eipNames = addressNames{kind: "EIP", describe: "DescribeEipAddresses", allocate: "AllocateEipAddresses", associate: "AssociateEipAddress",
	unassociate: "UnAssociateEipAddress", terminate: "TerminateEipAddress", release: "ReleaseEipAddresses", renew: "RenewEipAddress",
	modifyGroup: "ModifyEipAddressesResourceGroup", available: "DescribeEipAvailableResources",
	instanceAvailable: "DescribeInstanceAvailableEipResources", inquiry: "InquiryPriceCreateEipAddress",
	id: "eipId", ids: "eipIds", chargeType: "eipChargeType", prepaid: "eipChargePrepaid", idSet: "eipIdSet", price: "eipPrice"}

var ddosNames = addressNames{kind: "DDOS_IP", describe: "DescribeDdosIpAddresses", allocate: "AllocateDdosIpAddresses", associate: "AssociateDdosIpAddress",
	unassociate: "UnAssociateDdosIpAddress", terminate: "TerminateDdosIpAddress", release: "ReleaseDdosIpAddresses", renew: "RenewDdosIpAddress",
	modifyGroup: "ModifyDdosIpAddressesResourceGroup", available: "DescribeDdosIpAvailableResources",
	instanceAvailable: "DescribeInstanceAvailableDdosIpResources", inquiry: "InquiryPriceCreateDdosIpAddress",
	id: "ddosIpId", ids: "ddosIpIds", chargeType: "ddosIpChargeType", prepaid: "ddosIpChargePrepaid", idSet: "ddosIdSet", price: "ddosIpPrice"}

// code is the kind's error code for a pattern with {K}.
func (n addressNames) code(pattern string) metalplane.Code {
	return metalplane.Code(strings.ReplaceAll(pattern, "{K}", n.kind))
}

func allocateAddresses(t *testing.T, env *apitest.Env, c *httpapi.Client, n addressNames, req map[string]any) []string {
	t.Helper()
	var out map[string]any
	mustTickCall(t, env, c, n.allocate, req, &out)
	raw, _ := out[n.idSet].([]any)
	ids := make([]string, len(raw))
	for i, v := range raw {
		ids[i], _ = v.(string)
	}
	return ids
}

func describeAddress(t *testing.T, c *httpapi.Client, n addressNames, id string) *eipOut {
	t.Helper()
	var out struct {
		TotalCount int      `json:"totalCount"`
		DataSet    []eipOut `json:"dataSet"`
	}
	if err := c.Call(context.Background(), n.describe, map[string]any{n.ids: []string{id}}, &out); err != nil {
		t.Fatalf("%s: %v", n.describe, err)
	}
	if out.DataSet == nil {
		t.Fatalf("%s: dataSet null, want an array", n.describe)
	}
	if len(out.DataSet) == 0 {
		return nil
	}
	return &out.DataSet[0]
}

// waitAddress polls until the address has the status.
func waitAddress(t *testing.T, c *httpapi.Client, n addressNames, id, want string) *eipOut {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		e := describeAddress(t, c, n, id)
		if e != nil && e.status() == want {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: got %+v, want status %s", n.kind, id, e, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLedger asserts balance = ledger for the demo team.
func checkLedger(t *testing.T, env *apitest.Env) metalplane.Money {
	t.Helper()
	ctx := context.Background()
	team, err := env.DB.FindTeam(ctx, env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := env.DB.LedgerSum(ctx, env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	if team.Balance != sum {
		t.Fatalf("balance %s, ledger sums to %s", team.Balance, sum)
	}
	return team.Balance
}

func auditClean(t *testing.T, env *apitest.Env) {
	t.Helper()
	problems, err := env.DB.Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("audit: %v", problems)
	}
}

// TestAddressLife is the whole life of an elastic IP (both versions) and
// of a DDoS-protected IP (2022-11-20): for sale, priced, allocated from
// the zone's pool, described with every field, associated with a running
// instance through the sim driver (gateway mode shown in the driver's
// record), unassociated, terminated into the recycle bin, released back to
// the pool; POSTPAID hours charged by the clock; balance = ledger and the
// audit clean throughout.
func TestAddressLife(t *testing.T) {
	cases := []struct {
		names   addressNames
		version string
	}{
		{eipNames, httpapi.BMCVersion2026},
		{eipNames, httpapi.BMCVersion2022},
		{ddosNames, httpapi.BMCVersion2022},
	}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		yes := true
		if err := env.DB.UpdateTeam(ctx, env.Team.ID, sqlstore.TeamUpdate{GatewayModeAllowed: &yes}); err != nil {
			t.Fatal(err)
		}
		env.Clock.Set(clockT0)
		inst := createRunning(t, env, map[string]any{"zoneId": "SEL-A", "instanceChargeType": "POSTPAID", "instanceTypeId": "M6C",
			"internetChargeType": "ByBandwidth", "enableGatewayMode": true})
		instanceID, primary := inst["instanceId"].(string), inst["primaryPublicIpAddress"].(string)
		for _, tc := range cases {
			n := tc.names
			c := env.Client("bmc", tc.version)
			t.Run(n.kind+"/"+tc.version, func(t *testing.T) {
				// For sale: the zones with prices, netmask 32 for EIPs.
				var avail struct {
					EipResources    []map[string]any `json:"eipResources"`
					DdosIPResources []map[string]any `json:"ddosIpResources"`
				}
				mustTickCall(t, env, c, n.available, map[string]any{n.chargeType: "POSTPAID"}, &avail)
				zones := map[string]map[string]any{}
				for _, z := range append(avail.EipResources, avail.DdosIPResources...) {
					zones[z["zoneId"].(string)] = z
				}
				if zones["SEL-A"]["status"] != "SELL" || zones["SAO-A"] != nil {
					t.Fatalf("%s: got %v, want SEL-A on sale and SAO-A absent", n.available, zones)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, n.available, map[string]any{n.chargeType: "POSTPAID", "zoneId": "XXX-A"}, nil), "INVALID_ZONE_NOT_FOUND")
				if n.kind == "EIP" && zones["SEL-A"]["netmask"] != float64(32) {
					t.Fatalf("netmask: got %v, want 32", zones["SEL-A"]["netmask"])
				}

				// Prices: PREPAID the whole order, POSTPAID one address for an hour.
				monthly, hourly := 3.0, 0.005
				if n.kind == "DDOS_IP" {
					monthly, hourly = 50.0, 0.0833
				}
				var price map[string]any
				priceOf := func() map[string]any { p, _ := price[n.price].(map[string]any); return p }
				mustTickCall(t, env, c, n.inquiry, map[string]any{"zoneId": "SEL-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 2}, "amount": 3}, &price)
				if got := priceOf()["originalPrice"]; got != monthly*6 {
					t.Fatalf("PREPAID price: got %v, want %v", got, monthly*6)
				}
				mustTickCall(t, env, c, n.inquiry, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID"}, &price)
				if got := priceOf(); got["unitPrice"] != hourly || got["chargeUnit"] != "HOUR" {
					t.Fatalf("POSTPAID price: got %v, want unitPrice %v per HOUR", got, hourly)
				}

				// Refusals of Allocate.
				for _, bad := range []struct {
					req  map[string]any
					code metalplane.Code
				}{
					{map[string]any{n.chargeType: "POSTPAID"}, "MISSING_PARAMETER"},
					{map[string]any{"zoneId": "SEL-A"}, "MISSING_PARAMETER"},
					{map[string]any{"zoneId": "XXX-A", n.chargeType: "POSTPAID"}, "INVALID_ZONE_NOT_FOUND"},
					{map[string]any{"zoneId": "SAO-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 1}}, n.code("INVALID_{K}_TYPE_ZONE_NO_SELL")},
					{map[string]any{"zoneId": "SEL-A", n.chargeType: "MONTHLY"}, "INVALID_PARAMETER"},
					{map[string]any{"zoneId": "SEL-A", n.chargeType: "PREPAID"}, "MISSING_PARAMETER"},
					{map[string]any{"zoneId": "SEL-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 37}}, "INVALID_PARAMETER"},
					{map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID", "amount": 101}, "INVALID_PARAMETER"},
					{map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID", "resourceGroupId": "rg-nope"}, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
				} {
					apitest.ExpectCode(t, tickCall(t, env, c, n.allocate, bad.req, nil), bad.code)
				}
				if n.kind == "EIP" {
					apitest.ExpectCode(t, tickCall(t, env, c, n.allocate, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID", "netmask": 29}, nil), "INVALID_PARAMETER")
				}
				checkLedger(t, env)

				// Allocate two POSTPAID addresses.
				req := map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID", "amount": 2}
				if n.kind == "EIP" {
					req["tags"] = map[string]any{"tags": []map[string]any{{"key": "env", "value": "prod"}}}
				}
				ids := allocateAddresses(t, env, c, n, req)
				if len(ids) != 2 {
					t.Fatalf("%s: got %d IDs, want 2", n.allocate, len(ids))
				}
				e := describeAddress(t, c, n, ids[0])
				pool := netip.MustParsePrefix("198.18.0.0/21")
				if e == nil || e.status() != "AVAILABLE" || e.ZoneID != "SEL-A" || !pool.Contains(netip.MustParseAddr(e.IPAddress)) ||
					e.InstanceID != nil || e.InstanceName != nil || e.Period != nil || e.ExpiredTime != nil || e.ResourceGroupID == "" ||
					e.ResourceGroupName == "" || e.CreateTime == "" ||
					e.EipChargeType+e.DdosIPChargeType != "POSTPAID" || e.EipID+e.DdosIPID != ids[0] {
					t.Fatalf("described: %+v", e)
				}
				if n.kind == "EIP" && (e.Netmask != 32 || e.Tags == nil || len(e.Tags.Tags) != 1 || e.Tags.Tags[0].Key != "env") {
					t.Fatalf("EIP fields: netmask %d, tags %+v", e.Netmask, e.Tags)
				}
				if other := describeAddress(t, c, n, ids[1]); other.IPAddress == e.IPAddress || other.IPAddress == primary {
					t.Fatalf("two addresses %s and %s (primary %s): want distinct", e.IPAddress, other.IPAddress, primary)
				}

				// Instance side: both are available to the instance.
				var ia struct {
					InstanceEipResources    []map[string]any `json:"instanceEipResources"`
					InstanceDdosIPResources []map[string]any `json:"instanceDdosIpResources"`
				}
				mustTickCall(t, env, c, n.instanceAvailable, map[string]any{"instanceId": instanceID}, &ia)
				if len(ia.InstanceEipResources)+len(ia.InstanceDdosIPResources) != 2 {
					t.Fatalf("%s: got %v, want the two addresses", n.instanceAvailable, ia)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, n.instanceAvailable, map[string]any{"instanceId": "123"}, nil), "INVALID_INSTANCE_NOT_FOUND")

				// Associate through the driver.
				apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: "123", "instanceId": instanceID}, nil), n.code("INVALID_{K}_NOT_FOUND"))
				apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: ids[0], "instanceId": "123"}, nil), "INVALID_INSTANCE_NOT_FOUND")
				mustTickCall(t, env, c, n.associate, map[string]any{n.id: ids[0], "instanceId": instanceID}, nil)
				e = waitAddress(t, c, n, ids[0], "ASSOCIATED")
				if e.InstanceID == nil || *e.InstanceID != instanceID || e.InstanceName == nil || *e.InstanceName == "" {
					t.Fatalf("associated: instance %v %v", e.InstanceID, e.InstanceName)
				}
				var detail string
				if err := env.DB.SQL.QueryRowContext(ctx, `SELECT driver || ' ' || detail FROM instance_events WHERE instance_id = $1 AND step = 'eip' AND detail LIKE $2 ORDER BY id DESC LIMIT 1`,
					instanceID, ids[0]+"%ASSOCIATED%").Scan(&detail); err != nil {
					t.Fatalf("the driver's record of the association: %v", err)
				}
				if want := "sim " + ids[0] + " ASSOCIATING → ASSOCIATED: assigned " + e.IPAddress + "/32 routed via " + primary + " (gateway mode)"; detail != want {
					t.Fatalf("driver record: got %q, want %q", detail, want)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: ids[0], "instanceId": instanceID}, nil), n.code("OPERATION_DENIED_{K}_STATUS_NOT_AVAILABLE"))
				var byInstance struct {
					TotalCount int `json:"totalCount"`
				}
				mustTickCall(t, env, c, n.describe, map[string]any{"instanceId": instanceID}, &byInstance)
				if byInstance.TotalCount != 1 {
					t.Fatalf("filter by instance: got %d, want 1", byInstance.TotalCount)
				}

				// Unassociate: back to AVAILABLE; again is no change.
				mustTickCall(t, env, c, n.unassociate, map[string]any{n.id: ids[0]}, nil)
				e = waitAddress(t, c, n, ids[0], "AVAILABLE")
				if e.InstanceID != nil {
					t.Fatalf("unassociated: instance %v", *e.InstanceID)
				}
				mustTickCall(t, env, c, n.unassociate, map[string]any{n.id: ids[0]}, nil)

				// Renew is for subscriptions; release for the recycle bin.
				apitest.ExpectCode(t, tickCall(t, env, c, n.renew, map[string]any{n.id: ids[0]}, nil), "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT")
				apitest.ExpectCode(t, tickCall(t, env, c, n.release, map[string]any{n.ids: []string{ids[0]}}, nil), n.code("OPERATION_DENIED_{K}_NOT_RECYCLED"))

				// Resource group.
				apitest.ExpectCode(t, tickCall(t, env, c, n.modifyGroup, map[string]any{n.ids: ids, "resourceGroupId": "rg-nope"}, nil), "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND")
				g, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "eips-"+n.kind+"-"+tc.version)
				if err != nil {
					t.Fatal(err)
				}
				mustTickCall(t, env, c, n.modifyGroup, map[string]any{n.ids: ids, "resourceGroupId": g.ID}, nil)
				if e := describeAddress(t, c, n, ids[1]); e.ResourceGroupID != g.ID || e.ResourceGroupName != g.Name {
					t.Fatalf("moved: got %s %s, want %s %s", e.ResourceGroupID, e.ResourceGroupName, g.ID, g.Name)
				}

				// Two hours later: two hours of each address charged.
				before := checkLedger(t, env)
				env.Clock.Advance(2 * time.Hour)
				clockSweep(t, env)
				after := checkLedger(t, env)
				hourlyUnits := metalplane.Money(50)
				if n.kind == "DDOS_IP" {
					hourlyUnits = 833
				}
				// The instance accrues too: at least the 4 address-hours.
				if before-after < 4*hourlyUnits {
					t.Fatalf("two hours of two addresses: charged %s, want at least %s", before-after, 4*hourlyUnits)
				}

				// Terminate an associated address: RECYCLE once withdrawn.
				mustTickCall(t, env, c, n.associate, map[string]any{n.id: ids[1], "instanceId": instanceID}, nil)
				waitAddress(t, c, n, ids[1], "ASSOCIATED")
				mustTickCall(t, env, c, n.terminate, map[string]any{n.id: ids[1]}, nil)
				e = waitAddress(t, c, n, ids[1], "RECYCLE")
				if e.InstanceID != nil {
					t.Fatalf("recycled: still with instance %s", *e.InstanceID)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, n.terminate, map[string]any{n.id: ids[1]}, nil), n.code("OPERATION_DENIED_{K}_RECYCLED"))
				for _, action := range []string{n.associate, n.unassociate, n.renew} {
					apitest.ExpectCode(t, tickCall(t, env, c, action, map[string]any{n.id: ids[1], "instanceId": instanceID}, nil), "FAILED_OPERATION_FOR_RECYCLE_RESOURCE")
				}
				mustTickCall(t, env, c, n.terminate, map[string]any{n.id: ids[0]}, nil)
				waitAddress(t, c, n, ids[0], "RECYCLE")

				// Release both: gone, addresses free again.
				mustTickCall(t, env, c, n.release, map[string]any{n.ids: ids}, nil)
				for _, id := range ids {
					if e := describeAddress(t, c, n, id); e != nil {
						t.Fatalf("released %s still described: %+v", id, e)
					}
				}
				var held int
				if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM public_ips WHERE held_by IN ($1, $2)`, ids[0], ids[1]).Scan(&held); err != nil || held != 0 {
					t.Fatalf("addresses still held after release: %d (%v)", held, err)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, n.release, map[string]any{n.ids: ids}, nil), n.code("INVALID_{K}_NOT_FOUND"))
				checkLedger(t, env)
				auditClean(t, env)
			})
		}
		// DDoS-protected IPs do not exist in 2026-02-01.
		apitest.ExpectCode(t, tickCall(t, env, env.BMC(), "DescribeDdosIpAddresses", map[string]any{}, nil), "INVALID_ACTION")
	})
}

// TestAddressPrepaid: a PREPAID EIP is charged its period at once, in an
// order; Terminate refuses it (subscription); Renew extends it by its
// period for its price; at expiry it goes to the recycle bin, which the
// clock empties 24 hours later, returning the address.
func TestAddressPrepaid(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		env.Clock.Set(clockT0)
		c := env.BMC2022()
		n := eipNames
		before := checkLedger(t, env)
		var out struct {
			EipIDSet    []string `json:"eipIdSet"`
			OrderNumber *string  `json:"orderNumber"`
		}
		mustTickCall(t, env, c, n.allocate, map[string]any{"zoneId": "HKG-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 2}}, &out)
		if out.OrderNumber == nil || len(out.EipIDSet) != 1 {
			t.Fatalf("PREPAID allocate: got %+v, want one ID and an order number", out)
		}
		id := out.EipIDSet[0]
		if got := before - checkLedger(t, env); got != metalplane.Money(60000) {
			t.Fatalf("charged %s, want 6.0000 (2 months × 3.00)", got)
		}
		e := describeAddress(t, c, n, id)
		if e.Period == nil || *e.Period != 2 || e.ExpiredTime == nil || *e.ExpiredTime != clockT0.Add(time.Second).AddDate(0, 2, 0).Format("2006-01-02T15:04:05Z") {
			t.Fatalf("PREPAID fields: period %v, expiredTime %v", e.Period, e.ExpiredTime)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, n.terminate, map[string]any{n.id: id}, nil), "OPERATION_DENIED_EIP_SUBSCRIPTION")
		mustTickCall(t, env, c, n.renew, map[string]any{n.id: id}, nil)
		if got := before - checkLedger(t, env); got != metalplane.Money(120000) {
			t.Fatalf("after renewal charged %s, want 12.0000", got)
		}
		e = describeAddress(t, c, n, id)
		if *e.ExpiredTime != clockT0.Add(time.Second).AddDate(0, 4, 0).Format("2006-01-02T15:04:05Z") {
			t.Fatalf("renewed expiredTime: %s", *e.ExpiredTime)
		}
		// Expiry, then 24 h in the recycle bin.
		env.Clock.Set(clockT0.AddDate(0, 4, 0).Add(time.Minute))
		clockSweep(t, env)
		if e := describeAddress(t, c, n, id); e == nil || e.status() != "RECYCLE" {
			t.Fatalf("after expiry: %+v, want RECYCLE", e)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, n.renew, map[string]any{n.id: id}, nil), "FAILED_OPERATION_FOR_RECYCLE_RESOURCE")
		env.Clock.Advance(25 * time.Hour)
		clockSweep(t, env)
		if e := describeAddress(t, c, n, id); e != nil {
			t.Fatalf("24 h after expiry: %+v, want released", e)
		}
		checkLedger(t, env)
		auditClean(t, env)
	})
}

// TestAddressRefusals: zones, ESXi, another team's addresses and
// instances, a team without POSTPAID.
func TestAddressRefusals(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		n := eipNames
		inst := createRunning(t, env, minimalCreate())
		instanceID := inst["instanceId"].(string)
		hkg := allocateAddresses(t, env, c, n, map[string]any{"zoneId": "HKG-A", n.chargeType: "POSTPAID"})
		apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: hkg[0], "instanceId": instanceID}, nil), "OPERATION_DENIED_EIP_ZONE_NOT_SAME")
		apitest.ExpectCode(t, tickCall(t, env, env.BMC2022(), ddosNames.allocate, map[string]any{"zoneId": "FRA-A", ddosNames.chargeType: "POSTPAID"}, nil),
			"INVALID_DDOS_IP_TYPE_ZONE_NO_SELL")

		// Another team sees nothing of ours, and cannot use our instance.
		other, key := env.NewTeam(t, "eip-other")
		oc := env.ClientWithKey("bmc", httpapi.BMCVersion2026, key)
		var list struct {
			TotalCount int `json:"totalCount"`
		}
		mustTickCall(t, env, oc, n.describe, map[string]any{}, &list)
		if list.TotalCount != 0 {
			t.Fatalf("team %s sees %d EIPs of another team", other.ID, list.TotalCount)
		}
		for _, call := range []struct {
			action string
			req    map[string]any
		}{
			{n.unassociate, map[string]any{n.id: hkg[0]}},
			{n.terminate, map[string]any{n.id: hkg[0]}},
			{n.renew, map[string]any{n.id: hkg[0]}},
			{n.release, map[string]any{n.ids: hkg}},
			{n.modifyGroup, map[string]any{n.ids: hkg, "resourceGroupId": "rg-x"}},
			{n.associate, map[string]any{n.id: hkg[0], "instanceId": instanceID}},
		} {
			apitest.ExpectCode(t, tickCall(t, env, oc, call.action, call.req, nil), "INVALID_EIP_NOT_FOUND")
		}
		theirs := allocateAddresses(t, env, oc, n, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID"})
		apitest.ExpectCode(t, tickCall(t, env, oc, n.associate, map[string]any{n.id: theirs[0], "instanceId": instanceID}, nil), "INVALID_INSTANCE_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, oc, n.instanceAvailable, map[string]any{"instanceId": instanceID}, nil), "INVALID_INSTANCE_NOT_FOUND")

		// A team without POSTPAID.
		no := false
		if err := env.DB.UpdateTeam(context.Background(), other.ID, sqlstore.TeamUpdate{PostpaidAllowed: &no}); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, oc, n.allocate, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID"}, nil), "INVALID_CHARGE_TYPE_NOT_SUPPORT")

		// The per-instance limit counts both kinds.
		many := allocateAddresses(t, env, c, n, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID", "amount": metalplane.MaxEIPsPerInstance})
		for _, id := range many {
			mustTickCall(t, env, c, n.associate, map[string]any{n.id: id, "instanceId": instanceID}, nil)
		}
		ddos := allocateAddresses(t, env, env.BMC2022(), ddosNames, map[string]any{"zoneId": "SEL-A", ddosNames.chargeType: "POSTPAID"})
		apitest.ExpectCode(t, tickCall(t, env, env.BMC2022(), ddosNames.associate, map[string]any{ddosNames.id: ddos[0], "instanceId": instanceID}, nil),
			"OPERATION_DENIED_EIP_INSTANCE_EXCEED_LIMIT")
		for _, id := range many {
			waitAddress(t, c, n, id, "ASSOCIATED")
		}

		// Another team sees none of our DDoS-protected IPs either.
		oc22 := env.ClientWithKey("bmc", httpapi.BMCVersion2022, key)
		mustTickCall(t, env, oc22, ddosNames.describe, map[string]any{}, &list)
		if list.TotalCount != 0 {
			t.Fatalf("team %s sees %d DDoS IPs of another team", other.ID, list.TotalCount)
		}
		apitest.ExpectCode(t, tickCall(t, env, oc22, ddosNames.terminate, map[string]any{ddosNames.id: ddos[0]}, nil), "INVALID_DDOS_IP_NOT_FOUND")

		// A stopped instance, an ESXi instance, an instance in the recycle bin.
		spare := allocateAddresses(t, env, c, n, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID"})[0]
		stopped := createRunning(t, env, minimalCreate())["instanceId"].(string)
		mustTickCall(t, env, c, "StopInstances", map[string]any{"instanceIds": []string{stopped}}, nil)
		waitStatus(t, env, []string{stopped}, "STOPPED")
		apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: spare, "instanceId": stopped}, nil), "OPERATION_DENIED_INSTANCE_NOT_RUNNING")
		esxiReq := minimalCreate()
		esxiReq["imageId"], esxiReq["password"] = "193a76aa-e709-4b13-91a9-40259dab2e11", "Esxi-Passw0rd!"
		esxi := createRunning(t, env, esxiReq)["instanceId"].(string)
		apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: spare, "instanceId": esxi}, nil), "OPERATION_DENIED_EIP_ESXI_INSTANCE_ASSIGN")
		apitest.ExpectCode(t, tickCall(t, env, env.BMC2022(), ddosNames.associate, map[string]any{ddosNames.id: ddos[0], "instanceId": esxi}, nil),
			"OPERATION_DENIED_DDOS_IP_ESXI_INSTANCE_ASSIGN")

		// The instance goes to the recycle bin with its addresses, takes
		// no new one there, and lets go of them when it is released.
		mustTickCall(t, env, c, "TerminateInstance", map[string]any{"instanceId": instanceID}, nil)
		apitest.ExpectCode(t, tickCall(t, env, c, n.associate, map[string]any{n.id: spare, "instanceId": instanceID}, nil), "OPERATION_DENIED_INSTANCE_RECYCLED")
		if e := describeAddress(t, c, n, many[0]); e.status() != "ASSOCIATED" {
			t.Fatalf("EIP of an instance in the recycle bin: %s, want ASSOCIATED", e.status())
		}
		mustTickCall(t, env, c, "ReleaseInstances", map[string]any{"instanceIds": []string{instanceID}}, nil)
		for _, id := range many {
			if e := describeAddress(t, c, n, id); e.status() != "AVAILABLE" || e.InstanceID != nil {
				t.Fatalf("EIP of a released instance: %s with %v, want AVAILABLE without instance", e.status(), e.InstanceID)
			}
		}
		auditClean(t, env)

		// Money: PREPAID needs the whole order, POSTPAID a positive
		// balance; a POC voucher pays a PREPAID order.
		poor, poorKey := env.NewTeam(t, "eip-poor")
		pc := env.ClientWithKey("bmc", httpapi.BMCVersion2026, poorKey)
		if err := env.DB.AddLedgerEntry(context.Background(), metalplane.LedgerEntry{TeamID: poor.ID, Amount: -poor.Balance, Kind: metalplane.LedgerDebit, Note: "test: empty the balance"}); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, pc, n.allocate, map[string]any{"zoneId": "SEL-A", n.chargeType: "POSTPAID"}, nil), "OPERATION_DENIED_BALANCE_INSUFFICIENT")
		apitest.ExpectCode(t, tickCall(t, env, pc, n.allocate, map[string]any{"zoneId": "SEL-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 1}}, nil),
			"OPERATION_DENIED_BALANCE_INSUFFICIENT")
		apitest.ExpectCode(t, tickCall(t, env, pc, n.allocate, map[string]any{"zoneId": "SEL-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 1},
			"marketingOptions": map[string]any{"usePocVoucher": true}}, nil), "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND")
		one := 1
		if err := env.DB.UpdateTeam(context.Background(), poor.ID, sqlstore.TeamUpdate{PocVouchers: &one}); err != nil {
			t.Fatal(err)
		}
		mustTickCall(t, env, pc, n.allocate, map[string]any{"zoneId": "SEL-A", n.chargeType: "PREPAID", n.prepaid: map[string]any{"period": 1},
			"marketingOptions": map[string]any{"usePocVoucher": true}}, nil)
		if team, err := env.DB.FindTeam(context.Background(), poor.ID); err != nil || team.PocVouchers != 0 || team.Balance != 0 {
			t.Fatalf("after a voucher order: %+v, %v; want no voucher left and nothing charged", team, err)
		}
		auditClean(t, env)
	})
}

// TestAddressConcurrentAllocations: many allocations at once, from many
// clients, never share an address, and none is an instance's.
func TestAddressConcurrentAllocations(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		const callers, each = 12, 5
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Distinct bodies: identical signed requests in one second
				// would be one request.
				req := map[string]any{"zoneId": "SEL-A", "eipChargeType": "POSTPAID", "amount": each,
					"tags": map[string]any{"tags": []map[string]any{{"key": "caller", "value": fmt.Sprint(i)}}}}
				if err := env.BMC().Call(context.Background(), "AllocateEipAddresses", req, nil); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var out struct {
			TotalCount int      `json:"totalCount"`
			DataSet    []eipOut `json:"dataSet"`
		}
		if err := env.BMC().Call(context.Background(), "DescribeEipAddresses", map[string]any{"pageSize": 1000}, &out); err != nil {
			t.Fatal(err)
		}
		if out.TotalCount != callers*each {
			t.Fatalf("got %d EIPs, want %d", out.TotalCount, callers*each)
		}
		seen := map[string]string{}
		for _, e := range out.DataSet {
			if prev, dup := seen[e.IPAddress]; dup {
				t.Fatalf("address %s given to %s and %s", e.IPAddress, prev, e.EipID)
			}
			seen[e.IPAddress] = e.EipID
		}
		auditClean(t, env)
	})
}

// TestAddressAudit: `metalplane admin db check` reports an EIP that lost
// its address, an address still held by a released EIP, an association
// with no live instance, and an hourly charge the EIP did not owe.
func TestAddressAudit(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		ids := allocateAddresses(t, env, env.BMC(), eipNames, map[string]any{"zoneId": "SEL-A", "eipChargeType": "POSTPAID", "amount": 2})
		auditClean(t, env)
		var addr string
		if err := env.DB.SQL.QueryRowContext(ctx, `SELECT address FROM eips WHERE id = $1`, ids[0]).Scan(&addr); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, break_, repair, want string
		}{
			{"address lost", `UPDATE public_ips SET held_by = NULL WHERE held_by = '` + ids[0] + `'`,
				`UPDATE public_ips SET held_by = '` + ids[0] + `' WHERE address = '` + addr + `'`, "does not hold its address " + addr},
			{"released but holding", `UPDATE eips SET released = TRUE WHERE id = '` + ids[0] + `'`,
				`UPDATE eips SET released = FALSE WHERE id = '` + ids[0] + `'`, "is held by address resource " + ids[0] + ", which is released"},
			{"associated with nothing", `UPDATE eips SET status = 'ASSOCIATED', instance_id = '42' WHERE id = '` + ids[1] + `'`,
				`UPDATE eips SET status = 'AVAILABLE', instance_id = '' WHERE id = '` + ids[1] + `'`, "is ASSOCIATED with instance \"42\""},
			{"hour not owed", `UPDATE eips SET billed_hours = 1 WHERE id = '` + ids[1] + `'`,
				`UPDATE eips SET billed_hours = 0 WHERE id = '` + ids[1] + `'`, "1 hours billed, 0 hourly ledger rows"},
		} {
			if _, err := env.DB.SQL.ExecContext(ctx, tc.break_); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			problems, err := env.DB.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("%s: audit says %q, want a line containing %q", tc.name, problems, tc.want)
			}
			if _, err := env.DB.SQL.ExecContext(ctx, tc.repair); err != nil {
				t.Fatalf("%s: repair: %v", tc.name, err)
			}
			auditClean(t, env)
		}
	})
}

// TestAddressDriverFailure: when the driver fails to route the address the
// EIP goes back to AVAILABLE without instance, and the failure is in the
// instance's events; a failed withdrawal leaves it ASSOCIATED.
func TestAddressDriverFailure(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		instanceID := createRunning(t, env, minimalCreate())["instanceId"].(string)
		id := allocateAddresses(t, env, c, eipNames, map[string]any{"zoneId": "SEL-A", "eipChargeType": "POSTPAID"})[0]
		if err := env.DB.InjectFault(ctx, sqlstore.Fault{Step: provision.StepEIP, Mode: sqlstore.FaultFail, Remaining: 1}); err != nil {
			t.Fatal(err)
		}
		mustTickCall(t, env, c, "AssociateEipAddress", map[string]any{"eipId": id, "instanceId": instanceID}, nil)
		e := waitAddress(t, c, eipNames, id, "AVAILABLE")
		if e.InstanceID != nil {
			t.Fatalf("after a failed association: instance %s, want none", *e.InstanceID)
		}
		var n int
		if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_events WHERE instance_id = $1 AND kind = 'failed' AND step = 'eip' AND detail LIKE $2`,
			instanceID, id+" ASSOCIATING → AVAILABLE: associate failed%").Scan(&n); err != nil || n != 1 {
			t.Fatalf("failure events: %d (%v), want 1", n, err)
		}
		mustTickCall(t, env, c, "AssociateEipAddress", map[string]any{"eipId": id, "instanceId": instanceID}, nil)
		waitAddress(t, c, eipNames, id, "ASSOCIATED")
		if err := env.DB.InjectFault(ctx, sqlstore.Fault{Step: provision.StepEIP, Mode: sqlstore.FaultFail, Remaining: 1}); err != nil {
			t.Fatal(err)
		}
		mustTickCall(t, env, c, "UnAssociateEipAddress", map[string]any{"eipId": id}, nil)
		deadline := time.Now().Add(time.Minute)
		for {
			if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_events WHERE instance_id = $1 AND kind = 'failed' AND detail LIKE $2`,
				instanceID, id+" UNASSOCIATING → ASSOCIATED%").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if e := describeAddress(t, c, eipNames, id); e.status() != "ASSOCIATED" || *e.InstanceID != instanceID {
			t.Fatalf("after a failed withdrawal: %s with %v, want ASSOCIATED with the instance", e.status(), e.InstanceID)
		}
	})
}
