package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// TestCidrBlocksConcurrentWithInstances creates IPv4 and IPv6 blocks of
// two teams and instances at the same moment in one zone: every request
// succeeds, no two blocks overlap, and no block holds an address an
// instance shows (the audit after the test checks the pool's holders too).
func TestCidrBlocksConcurrentWithInstances(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		_, otherKey := env.NewTeam(t, "other")
		var mu sync.Mutex
		var blockIDs []string
		var instanceIDs []string
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				c := env.BMC()
				if i%2 == 1 {
					c = env.ClientWithKey("bmc", "2026-02-01", otherKey)
				}
				var out struct {
					CidrBlockIDs []string `json:"cidrBlockIds"`
				}
				// Distinct names: identical requests signed in the same
				// second would be one request retried.
				req := map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 28 - i%3, "name": fmt.Sprintf("race-%d", i)}
				action := "CreateIpv4Block"
				if i%4 == 3 {
					req, action = map[string]any{"zoneId": "SEL-A", "name": fmt.Sprintf("race-%d", i)}, "CreateIpv6Block"
				}
				if err := c.Call(context.Background(), action, req, &out); err != nil {
					t.Errorf("%s %d: %v", action, i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				blockIDs = append(blockIDs, out.CidrBlockIDs...)
			})
		}
		for i := range 6 {
			wg.Go(func() {
				req := minimalCreate()
				req["amount"], req["instanceName"], req["enableIpv6"] = 5, fmt.Sprintf("race-%d", i), true
				var out createResponse
				if err := env.BMC().Call(context.Background(), "CreateInstances", req, &out); err != nil {
					t.Errorf("CreateInstances %d: %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				instanceIDs = append(instanceIDs, out.InstanceIDSet...)
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		if len(blockIDs) != 12 || len(instanceIDs) != 30 {
			t.Fatalf("got %d blocks and %d instances, want 12 and 30", len(blockIDs), len(instanceIDs))
		}
		var prefixes []netip.Prefix
		for _, id := range blockIDs {
			var cidr string
			if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT cidr FROM cidr_blocks WHERE id = $1`, id).Scan(&cidr); err != nil {
				t.Fatal(err)
			}
			p := netip.MustParsePrefix(cidr)
			for _, q := range prefixes {
				if p.Overlaps(q) {
					t.Fatalf("blocks %s and %s overlap", p, q)
				}
			}
			prefixes = append(prefixes, p)
		}
		rows, err := env.DB.SQL.QueryContext(context.Background(), `SELECT public_ipv4, public_ipv6 FROM instances`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var v4, v6 string
			if err := rows.Scan(&v4, &v6); err != nil {
				t.Fatal(err)
			}
			n++
			for _, s := range []string{v4, v6} {
				a, err := netip.ParseAddr(s)
				if err != nil {
					t.Fatalf("instance address %q: %v", s, err)
				}
				for _, p := range prefixes {
					if p.Contains(a) {
						t.Fatalf("block %s contains instance address %s", p, a)
					}
				}
			}
		}
		if n != 30 {
			t.Fatalf("%d instances with addresses, want 30", n)
		}
	})
}

// TestCidrBlocksContendWithInstances shrinks SEL-A's pools to one /26 (62
// addresses) and buys instances and /29 blocks at once, more than fit:
// every request either succeeds or is refused as sold out, the blocks
// never overlap and never contain an instance's address, and the pool
// hands out no address twice (the audit after the test).
func TestCidrBlocksContendWithInstances(t *testing.T) {
	catalog := strings.Replace(string(metalplane.DemoCatalog()), "ipv4Pools: [198.18.0.0/22, 198.18.4.0/22]", "ipv4Pools: [198.18.0.0/26]", 1)
	if !strings.Contains(catalog, "198.18.0.0/26") {
		t.Fatal("the demo catalog no longer has SEL-A's pools where this test expects them")
	}
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, []byte(catalog), 0o600); err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{CatalogPath: path, NoWorkers: true})
		soldOut := map[metalplane.Code]bool{"RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT": true, "OPERATION_DENIED_NETMASK_OUT_OF_STOCK": true}
		var mu sync.Mutex
		var blocks []netip.Prefix
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				var err error
				if i%3 == 0 {
					var out struct {
						CidrBlockIDs []string `json:"cidrBlockIds"`
					}
					req := map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29, "name": fmt.Sprintf("c-%d", i)}
					if err = env.BMC().Call(context.Background(), "CreateIpv4Block", req, &out); err == nil {
						var cidr string
						if qerr := env.DB.SQL.QueryRowContext(context.Background(), `SELECT cidr FROM cidr_blocks WHERE id = $1`, out.CidrBlockIDs[0]).Scan(&cidr); qerr != nil {
							t.Error(qerr)
							return
						}
						mu.Lock()
						blocks = append(blocks, netip.MustParsePrefix(cidr))
						mu.Unlock()
					}
				} else {
					req := minimalCreate()
					req["instanceName"] = fmt.Sprintf("c-%d", i)
					err = env.BMC().Call(context.Background(), "CreateInstances", req, nil)
				}
				var apiErr *httpapi.APIError
				if err != nil && !(errors.As(err, &apiErr) && soldOut[apiErr.Code]) {
					t.Errorf("request %d: %v, want success or sold out", i, err)
				}
			})
		}
		wg.Wait()
		rows, err := env.DB.SQL.QueryContext(context.Background(), `SELECT public_ipv4 FROM instances WHERE zone_id = 'SEL-A'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		used := 0
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			used++
			for _, p := range blocks {
				if p.Contains(netip.MustParseAddr(s)) {
					t.Fatalf("block %s contains instance address %s", p, s)
				}
			}
		}
		for i, p := range blocks {
			for _, q := range blocks[:i] {
				if p.Overlaps(q) {
					t.Fatalf("blocks %s and %s overlap", p, q)
				}
			}
		}
		t.Logf("%d instances and %d blocks got addresses", used, len(blocks))
		if used+8*len(blocks) > 62 || len(blocks) == 0 || used == 0 {
			t.Fatalf("%d instances and %d /29 blocks from 62 addresses", used, len(blocks))
		}
	})
}
