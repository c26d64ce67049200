package httpapi_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// TestConcurrentCreatesNeverOversell sends 50 concurrent purchases at a
// zone and type with 10 free hosts: exactly 10 succeed, the others are
// sold out, and stock, addresses and money add up.
func TestConcurrentCreatesNeverOversell(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		hosts, err := env.DB.FindHosts(ctx, sqlstore.HostFilter{ZoneID: "SEL-A", InstanceTypeID: "M6C", State: sqlstore.HostAvailable})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts[10:] {
			if err := env.DB.SetHostMaintenance(ctx, h.ID, true, "test: leave 10 free"); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := env.DB.FindTeam(ctx, env.Team.ID)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok       []createResponse
			soldOut  int
			failures []error
		)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out createResponse
				err := env.BMC().Call(ctx, "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceChargeType": "PREPAID",
					"instanceChargePrepaid": map[string]any{"period": 1}, "instanceTypeId": "M6C", "internetChargeType": "ByBandwidth",
					// Distinct bodies: identical signed requests are one purchase.
					"instanceName": fmt.Sprintf("buyer-%d", i)}, &out)
				mu.Lock()
				defer mu.Unlock()
				var apiErr *httpapi.APIError
				switch {
				case err == nil:
					ok = append(ok, out)
				case asAPIError(err, &apiErr) && apiErr.Code == "RESOURCES_SOLDOUT_INSTANCE_TYPE":
					soldOut++
				default:
					failures = append(failures, err)
				}
			}()
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("unexpected failures: %v", failures)
		}
		if len(ok) != 10 || soldOut != 40 {
			t.Fatalf("got %d purchases and %d sold out, want 10 and 40", len(ok), soldOut)
		}
		var out describeResponse
		if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"pageSize": 100}, &out); err != nil {
			t.Fatal(err)
		}
		if out.TotalCount != 10 {
			t.Fatalf("got %d instances, want 10", out.TotalCount)
		}
		seenHost, seenIP := map[string]bool{}, map[string]bool{}
		for _, d := range out.DataSet {
			ip := d["primaryPublicIpAddress"].(string)
			if seenIP[ip] {
				t.Fatalf("address %s given twice", ip)
			}
			seenIP[ip] = true
		}
		allocated, _ := env.DB.FindHosts(ctx, sqlstore.HostFilter{ZoneID: "SEL-A", InstanceTypeID: "M6C", State: sqlstore.HostAllocated})
		for _, h := range allocated {
			if seenHost[h.InstanceID] {
				t.Fatalf("instance %s holds two hosts", h.InstanceID)
			}
			seenHost[h.InstanceID] = true
		}
		if len(allocated) != 10 {
			t.Fatalf("got %d allocated hosts, want 10", len(allocated))
		}
		free, _ := env.DB.FindHosts(ctx, sqlstore.HostFilter{ZoneID: "SEL-A", InstanceTypeID: "M6C", State: sqlstore.HostAvailable})
		if len(free) != 0 {
			t.Fatalf("got %d free hosts, want 0", len(free))
		}
		after, _ := env.DB.FindTeam(ctx, env.Team.ID)
		sum, _ := env.DB.LedgerSum(ctx, env.Team.ID)
		price := prepaidMonthOfM6C(t, env)
		if before.Balance-after.Balance != 10*price || sum != after.Balance {
			t.Fatalf("balance %s → %s (ledger %s), want a drop of exactly 10 × %s", before.Balance, after.Balance, sum, price)
		}
	})
}

func asAPIError(err error, target **httpapi.APIError) bool {
	e, ok := err.(*httpapi.APIError)
	if ok {
		*target = e
	}
	return ok
}

// TestConcurrentCreatesKeepQuotaBalanceAndVouchers races purchases of one
// team for its last instances of quota, its last money and its last POC
// vouchers: exactly as many succeed as each allows, the rest get the
// documented refusal, and the audit is clean. Whatever order the purchase
// takes its locks in (sqlstore/create.go), this is what must keep holding.
func TestConcurrentCreatesKeepQuotaBalanceAndVouchers(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		price := prepaidMonthOfM6C(t, env)
		prepaid := func(name string) map[string]any {
			return map[string]any{"zoneId": "SEL-A", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
				"instanceTypeId": "M6C", "internetChargeType": "ByBandwidth", "instanceName": name}
		}
		// race sends n purchases at once and counts the outcomes by code.
		race := func(n int, body func(i int) map[string]any) map[string]int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[string]int{}
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var out createResponse
					err := env.BMC().Call(ctx, "CreateInstances", body(i), &out)
					code := "ok"
					var apiErr *httpapi.APIError
					if err != nil {
						code = err.Error()
						if asAPIError(err, &apiErr) {
							code = string(apiErr.Code)
						}
					}
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return codes
		}
		audit := func(stage string) {
			t.Helper()
			if problems, err := env.DB.Audit(ctx); err != nil || len(problems) > 0 {
				t.Fatalf("%s: audit: %v %q", stage, err, problems)
			}
		}

		// Quota: 3 instances live, quota 10, 20 buyers of one.
		for i := range 3 {
			if err := env.BMC().Call(ctx, "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceChargeType": "POSTPAID", "instanceTypeId": "M6C",
				"internetChargeType": "ByBandwidth", "instanceName": fmt.Sprintf("first-%d", i)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		quota := 10
		if err := env.DB.UpdateTeam(ctx, env.Team.ID, sqlstore.TeamUpdate{InstanceQuota: &quota}); err != nil {
			t.Fatal(err)
		}
		// Half of them POSTPAID: on PostgreSQL those touch the team's row
		// only through the count at commit (migration 0034).
		got := race(20, func(i int) map[string]any {
			b := prepaid(fmt.Sprintf("quota-%d", i))
			if i%2 == 1 {
				b["instanceChargeType"] = "POSTPAID"
				delete(b, "instanceChargePrepaid")
			}
			return b
		})
		if want := map[string]int{"ok": 7, "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED": 13}; !maps.Equal(got, want) {
			t.Fatalf("quota race: got %v, want %v", got, want)
		}
		audit("after the quota race")

		// Balance: room for exactly 4 more PREPAID purchases.
		quota = 1000
		if err := env.DB.UpdateTeam(ctx, env.Team.ID, sqlstore.TeamUpdate{InstanceQuota: &quota}); err != nil {
			t.Fatal(err)
		}
		team, _ := env.DB.FindTeam(ctx, env.Team.ID)
		if excess := team.Balance - 4*price - price/2; excess > 0 {
			if err := env.DB.AddLedgerEntry(ctx, metalplane.LedgerEntry{TeamID: env.Team.ID, Amount: -excess, Kind: metalplane.LedgerDebit, Note: "test: leave 4.5 purchases"}); err != nil {
				t.Fatal(err)
			}
		}
		got = race(12, func(i int) map[string]any { return prepaid(fmt.Sprintf("money-%d", i)) })
		if want := map[string]int{"ok": 4, "OPERATION_DENIED_BALANCE_INSUFFICIENT": 8}; !maps.Equal(got, want) {
			t.Fatalf("balance race: got %v, want %v", got, want)
		}
		if team, _ = env.DB.FindTeam(ctx, env.Team.ID); team.Balance != price/2 {
			t.Fatalf("balance after the race: %s, want %s", team.Balance, price/2)
		}
		audit("after the balance race")

		// POC vouchers: 2 left, 10 buyers who use one (a voucher pays the
		// instance, so the low balance does not matter).
		vouchers := 2
		if err := env.DB.UpdateTeam(ctx, env.Team.ID, sqlstore.TeamUpdate{PocVouchers: &vouchers}); err != nil {
			t.Fatal(err)
		}
		got = race(10, func(i int) map[string]any {
			b := prepaid(fmt.Sprintf("voucher-%d", i))
			b["marketingOptions"] = map[string]any{"usePocVoucher": true}
			return b
		})
		if got["ok"] != 2 || got["ok"]+got["OPERATION_DENIED_POC_VOUCHER_NOT_FOUND"] != 10 {
			t.Fatalf("voucher race: got %v, want 2 ok and 8 OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", got)
		}
		if team, _ = env.DB.FindTeam(ctx, env.Team.ID); team.PocVouchers != 0 {
			t.Fatalf("vouchers after the race: %d, want 0", team.PocVouchers)
		}
		audit("after the voucher race")
	})
}

// prepaidMonthOfM6C is what one month of one M6C in SEL-A costs PREPAID
// (1 Mbps ByBandwidth), the purchases of these tests.
func prepaidMonthOfM6C(t *testing.T, env *apitest.Env) metalplane.Money {
	t.Helper()
	offer, _ := env.App.Catalog.FindOffer("SEL-A", "M6C")
	quote, err := metalplane.PriceOf(metalplane.PriceInput{Offer: offer, ChargeType: "PREPAID", Period: 1, InternetChargeType: "ByBandwidth", BandwidthMbps: 1})
	if err != nil {
		t.Fatal(err)
	}
	price, err := quote.Total()
	if err != nil {
		t.Fatal(err)
	}
	return price
}
