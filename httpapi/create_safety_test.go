package httpapi_test

import (
	"context"
	"fmt"
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
		offer, _ := env.App.Catalog.FindOffer("SEL-A", "M6C")
		quote, err := metalplane.PriceOf(metalplane.PriceInput{Offer: offer, ChargeType: "PREPAID", Period: 1, InternetChargeType: "ByBandwidth", BandwidthMbps: 1})
		if err != nil {
			t.Fatal(err)
		}
		price, err := quote.Total()
		if err != nil {
			t.Fatal(err)
		}
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
