package httpapi_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// blockOut decodes CidrBlockInfo of DescribeCidrBlocks.
type blockOut struct {
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
	Tags              struct {
		Tags []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"tags"`
	} `json:"tags"`
}

type blocksOut struct {
	TotalCount int        `json:"totalCount"`
	DataSet    []blockOut `json:"dataSet"`
}

type blockIPOut struct {
	CidrBlockID   string  `json:"cidrBlockId"`
	CidrBlockType string  `json:"cidrBlockType"`
	IP            string  `json:"ip"`
	InstanceID    *string `json:"instanceId"`
	Status        string  `json:"status"`
}

// bmcClients are the two versions of the bmc API, each test of an action
// running on both.
func bmcClients(env *apitest.Env) map[string]*httpapi.Client {
	return map[string]*httpapi.Client{httpapi.BMCVersion2026: env.BMC(), httpapi.BMCVersion2022: env.BMC2022()}
}

func createIpv4Block(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) (order string, ids []string) {
	t.Helper()
	var out struct {
		OrderNumber  string   `json:"orderNumber"`
		CidrBlockIDs []string `json:"cidrBlockIds"`
	}
	mustTickCall(t, env, c, "CreateIpv4Block", req, &out)
	if out.OrderNumber == "" || len(out.CidrBlockIDs) == 0 {
		t.Fatalf("CreateIpv4Block %v: got %+v, want an order number and block IDs", req, out)
	}
	return out.OrderNumber, out.CidrBlockIDs
}

func describeBlock(t *testing.T, env *apitest.Env, c *httpapi.Client, id string) (blockOut, bool) {
	t.Helper()
	var out blocksOut
	mustTickCall(t, env, c, "DescribeCidrBlocks", map[string]any{"cidrBlockIds": []string{id}}, &out)
	if out.DataSet == nil {
		t.Fatal("DescribeCidrBlocks: got dataSet null, want an array")
	}
	if len(out.DataSet) == 0 {
		return blockOut{}, false
	}
	return out.DataSet[0], true
}

func mustBlock(t *testing.T, env *apitest.Env, c *httpapi.Client, id string) blockOut {
	t.Helper()
	b, ok := describeBlock(t, env, c, id)
	if !ok {
		t.Fatalf("DescribeCidrBlocks: block %s is missing", id)
	}
	return b
}

// checkCarved asserts that b is an aligned /bits block of one of pools,
// with the gateway and usable range metalplane documents, and that the
// pool holds every one of its addresses for it.
func checkCarved(t *testing.T, env *apitest.Env, b blockOut, bits int, pools ...string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(b.CidrBlock)
	if err != nil || p.Bits() != bits || p.Masked() != p {
		t.Fatalf("cidrBlock %q: want an aligned /%d", b.CidrBlock, bits)
	}
	inPool := false
	for _, s := range pools {
		inPool = inPool || netip.MustParsePrefix(s).Contains(p.Addr()) && netip.MustParsePrefix(s).Bits() <= bits
	}
	if !inPool {
		t.Fatalf("cidrBlock %s: want it inside %v", p, pools)
	}
	gw := p.Addr().Next()
	if b.Gateway != gw.String() || b.AvailableIPStart != gw.Next().String() {
		t.Fatalf("gateway %s, first usable %s: want %s and %s", b.Gateway, b.AvailableIPStart, gw, gw.Next())
	}
	if n := len(heldBy(t, env, b.CidrBlockID)); int64(n) != metalplane.BlockSize(p) {
		t.Fatalf("the pool holds %d addresses for %s, want all %d", n, p, metalplane.BlockSize(p))
	}
	return p
}

// TestCidrBlockIPv4Lifecycle walks a POSTPAID and a PREPAID IPv4 block
// through every action that changes them, on both versions, checking what
// a user reads back and what the ledger charged.
func TestCidrBlockIPv4Lifecycle(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		for version, c := range bmcClients(env) {
			t.Run(version, func(t *testing.T) {
				ctx := context.Background()
				var stock struct {
					AvailableIpv4Resources []struct {
						ZoneID     string `json:"zoneId"`
						Netmask    int    `json:"netmask"`
						SellStatus string `json:"sellStatus"`
						CidrType   string `json:"cidrType"`
					} `json:"availableIpv4Resources"`
				}
				mustTickCall(t, env, c, "DescribeAvailableIpv4Resources", map[string]any{"chargeType": "POSTPAID", "zoneId": "SEL-A"}, &stock)
				if len(stock.AvailableIpv4Resources) != 7 {
					t.Fatalf("DescribeAvailableIpv4Resources SEL-A: got %+v, want netmasks 24 to 30", stock.AvailableIpv4Resources)
				}
				for _, r := range stock.AvailableIpv4Resources {
					if r.ZoneID != "SEL-A" || r.CidrType != "BGP" || r.SellStatus == "" || r.SellStatus == "SOLD_OUT" {
						t.Fatalf("stock %+v: want SEL-A BGP on sale", r)
					}
				}

				var price struct {
					Price struct {
						UnitPrice     *float64 `json:"unitPrice"`
						OriginalPrice *float64 `json:"originalPrice"`
						ChargeUnit    string   `json:"chargeUnit"`
					} `json:"price"`
				}
				mustTickCall(t, env, c, "InquiryPriceCreateIpv4Block", map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29, "amount": 2}, &price)
				// 0.0028 per address and hour × 8 addresses × 2 blocks.
				if price.Price.UnitPrice == nil || *price.Price.UnitPrice != 0.0448 || price.Price.ChargeUnit != "HOUR" {
					t.Fatalf("POSTPAID /29 ×2: got %+v, want 0.0448 per HOUR", price.Price)
				}
				mustTickCall(t, env, c, "InquiryPriceCreateIpv4Block", map[string]any{"zoneId": "SEL-A", "chargeType": "PREPAID", "netmask": 28,
					"chargePrepaid": map[string]any{"period": 2}}, &price)
				// 2 per address and month × 16 addresses × 2 months.
				if price.Price.OriginalPrice == nil || *price.Price.OriginalPrice != 64 {
					t.Fatalf("PREPAID /28 for 2 months: got %+v, want 64", price.Price)
				}

				balance0, _ := teamMoney(t, env, env.Team.ID)
				_, post := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29, "name": "web",
					"tags": map[string]any{"tags": []map[string]any{{"key": "env", "value": "prod"}}}})
				_, pre := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "PREPAID", "netmask": 28, "chargePrepaid": map[string]any{"period": 1}})
				balance1, _ := teamMoney(t, env, env.Team.ID)
				if want := balance0 - 32*metalplane.MoneyScale; balance1 != want {
					t.Fatalf("after a PREPAID /28 for a month: balance %s, want %s (32 debited)", balance1, want)
				}

				b := mustBlock(t, env, c, post[0])
				checkCarved(t, env, b, 29, "198.18.0.0/22", "198.18.4.0/22")
				if b.CidrBlockType != "IPV4" || b.CidrType != "BGP" || b.CidrBlockName != "web" || b.ZoneID != "SEL-A" || b.Status != "AVAILABLE" ||
					b.ChargeType != "POSTPAID" || b.ExpireTime != nil || b.AvailableIPCount != 5 || len(b.InstanceIDs) != 0 || b.CreateTime == "" ||
					b.ResourceGroupID == "" || b.ResourceGroupName == "" || len(b.Tags.Tags) != 1 || b.Tags.Tags[0].Key != "env" {
					t.Fatalf("POSTPAID block: got %+v", b)
				}
				p := mustBlock(t, env, c, pre[0])
				checkCarved(t, env, p, 28, "198.18.0.0/22", "198.18.4.0/22")
				if p.ChargeType != "PREPAID" || p.ExpireTime == nil || p.AvailableIPCount != 13 || p.CidrBlockName != p.CidrBlock {
					t.Fatalf("PREPAID block: got %+v, want an expiry, 13 usable addresses and its CIDR as name", p)
				}
				expiry, _ := time.Parse(time.RFC3339, *p.ExpireTime)

				// Renewal: PREPAID only, one period more, debited.
				mustTickCall(t, env, c, "RenewCidrBlock", map[string]any{"cidrBlockId": pre[0]}, nil)
				p = mustBlock(t, env, c, pre[0])
				if renewed, _ := time.Parse(time.RFC3339, *p.ExpireTime); !renewed.Equal(expiry.AddDate(0, 1, 0)) {
					t.Fatalf("after RenewCidrBlock: expireTime %s, want %s", renewed, expiry.AddDate(0, 1, 0))
				}
				if balance2, _ := teamMoney(t, env, env.Team.ID); balance2 != balance1-32*metalplane.MoneyScale {
					t.Fatalf("after RenewCidrBlock: balance %s, want %s", balance2, balance1-32*metalplane.MoneyScale)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "RenewCidrBlock", map[string]any{"cidrBlockId": post[0]}, nil), "OPERATION_DENIED_CIDRBLOCK_TYPE_NOT_SUPPORTED")
				apitest.ExpectCode(t, tickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": pre[0]}, nil), "OPERATION_DENIED_CIDRBLOCK_SUBSCRIPTION")
				apitest.ExpectCode(t, tickCall(t, env, c, "ReleaseCidrBlocks", map[string]any{"cidrBlockIds": []string{post[0]}}, nil), "OPERATION_DENIED_CIDRBLOCK_NOT_RECYCLED")

				// Renaming is all or nothing.
				apitest.ExpectCode(t, tickCall(t, env, c, "ModifyCidrBlocksAttribute", map[string]any{"cidrBlockIds": []string{post[0], "cidr-nosuchblock"}, "name": "x"}, nil),
					"OPERATION_FAILED_RESOURCE_NOT_FOUND")
				if got := mustBlock(t, env, c, post[0]).CidrBlockName; got != "web" {
					t.Fatalf("a refused rename changed the name to %q", got)
				}
				mustTickCall(t, env, c, "ModifyCidrBlocksAttribute", map[string]any{"cidrBlockIds": []string{post[0], pre[0]}, "name": "edge"}, nil)
				var byName blocksOut
				mustTickCall(t, env, c, "DescribeCidrBlocks", map[string]any{"cidrBlockName": "edge", "zoneId": "SEL-A", "cidrBlockType": "IPV4"}, &byName)
				if byName.TotalCount != 2 {
					t.Fatalf("DescribeCidrBlocks by name: got %d blocks, want 2", byName.TotalCount)
				}

				// POSTPAID accrues by the hour: two ended hours, two rows.
				env.Clock.Advance(2*time.Hour + time.Minute)
				if _, err := env.App.Provisioner.RunPeriodic(ctx); err != nil {
					t.Fatal(err)
				}
				if got := blockLedgerRows(t, env, "cidr-hourly:"+post[0]+":%"); got != 2 {
					t.Fatalf("after 2 h: %d hourly rows for the POSTPAID block, want 2", got)
				}

				// Terminate: the recycle bin, where nothing else is allowed,
				// then Release gives the addresses back.
				mustTickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": post[0]}, nil)
				if st := mustBlock(t, env, c, post[0]).Status; st != "RECYCLE" {
					t.Fatalf("after TerminateCidrBlock: status %s, want RECYCLE", st)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": post[0]}, nil), "OPERATION_DENIED_CIDRBLOCK_RECYCLED")
				apitest.ExpectCode(t, tickCall(t, env, c, "RenewCidrBlock", map[string]any{"cidrBlockId": post[0]}, nil), "OPERATION_DENIED_CIDRBLOCK_RECYCLED")
				mustTickCall(t, env, c, "ReleaseCidrBlocks", map[string]any{"cidrBlockIds": []string{post[0]}}, nil)
				if _, ok := describeBlock(t, env, c, post[0]); ok {
					t.Fatal("a released block is still listed")
				}
				if n := len(heldBy(t, env, post[0])); n != 0 {
					t.Fatalf("a released block still holds %d pool addresses", n)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "ReleaseCidrBlocks", map[string]any{"cidrBlockIds": []string{post[0]}}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
				// The hour it was terminated in is charged in full, once.
				if _, err := env.App.Provisioner.RunPeriodic(ctx); err != nil {
					t.Fatal(err)
				}
				if got := blockLedgerRows(t, env, "cidr-hourly:"+post[0]+":%"); got != 3 {
					t.Fatalf("after terminating in hour 3: %d hourly rows, want 3", got)
				}

				// A PREPAID block expires into the recycle bin and leaves it
				// after 24 h, its addresses back in the pool.
				env.Clock.Advance(expiry.AddDate(0, 1, 0).Sub(env.Clock.Now()) + time.Hour)
				if _, err := env.App.Provisioner.RunPeriodic(ctx); err != nil {
					t.Fatal(err)
				}
				if st := mustBlock(t, env, c, pre[0]).Status; st != "RECYCLE" {
					t.Fatalf("after its expiry: status %s, want RECYCLE", st)
				}
				env.Clock.Advance(25 * time.Hour)
				if _, err := env.App.Provisioner.RunPeriodic(ctx); err != nil {
					t.Fatal(err)
				}
				if _, ok := describeBlock(t, env, c, pre[0]); ok || len(heldBy(t, env, pre[0])) != 0 {
					t.Fatal("24 h after its expiry the PREPAID block is still there")
				}
			})
		}
	})
}

// blockLedgerRows counts the ledger rows whose dedupe key matches.
func blockLedgerRows(t *testing.T, env *apitest.Env, like string) int {
	t.Helper()
	var n int
	if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM ledger WHERE dedupe_key LIKE $1`, like).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func describeBlockIPs(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) []blockIPOut {
	t.Helper()
	var out struct {
		CidrBlockIps []blockIPOut `json:"cidrBlockIps"`
	}
	mustTickCall(t, env, c, "DescribeCidrBlockIps", req, &out)
	if out.CidrBlockIps == nil {
		t.Fatal("DescribeCidrBlockIps: got null, want an array")
	}
	return out.CidrBlockIps
}

// waitBlockIPs polls DescribeCidrBlockIps until every address has the
// status (the driver job runs in the background).
func waitBlockIPs(t *testing.T, env *apitest.Env, c *httpapi.Client, blockID string, want string, ips ...string) []blockIPOut {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		all := describeBlockIPs(t, env, c, map[string]any{"cidrBlockId": blockID})
		done := 0
		for _, ip := range all {
			for _, a := range ips {
				if ip.IP == a && ip.Status == want {
					done++
				}
			}
		}
		if done == len(ips) {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, %d of %v are %s: %+v", done, ips, want, all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCidrBlockBinding binds addresses of a block to a running instance
// and back, on both versions: the driver's job moves them from BINDING to
// BOUND (recording an event), the block shows the instance, and every
// documented refusal leaves the bindings as they were.
func TestCidrBlockBinding(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)
		_, far := createIpv4Block(t, env, env.BMC(), map[string]any{"zoneId": "HKG-A", "chargeType": "POSTPAID", "netmask": 30})
		for version, c := range bmcClients(env) {
			t.Run(version, func(t *testing.T) {
				_, ids := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29})
				block := ids[0]
				prefix := netip.MustParsePrefix(mustBlock(t, env, c, block).CidrBlock)
				first, _ := metalplane.BlockUsableIP(prefix, 0)
				second, _ := metalplane.BlockUsableIP(prefix, 1)

				var avail struct {
					InstanceAvailableCidrBlocks []struct {
						CidrBlockID      string   `json:"cidrBlockId"`
						ZoneID           string   `json:"zoneId"`
						CidrBlockType    string   `json:"cidrBlockType"`
						CidrType         string   `json:"cidrType"`
						CidrBlock        string   `json:"cidrBlock"`
						AvailableIps     []string `json:"availableIps"`
						AvailableIPCount int      `json:"availableIpCount"`
					} `json:"instanceAvailableCidrBlocks"`
				}
				mustTickCall(t, env, c, "DescribeInstanceAvailableCidrBlock", map[string]any{"instanceId": inst, "cidrBlockType": "IPV4"}, &avail)
				found := false
				for _, a := range avail.InstanceAvailableCidrBlocks {
					if a.ZoneID != "SEL-A" {
						t.Fatalf("DescribeInstanceAvailableCidrBlock lists %s of %s for an instance in SEL-A", a.CidrBlockID, a.ZoneID)
					}
					if a.CidrBlockID == block {
						found = true
						if a.AvailableIPCount != 5 || len(a.AvailableIps) != 5 || a.AvailableIps[0] != first.String() || a.CidrBlock != prefix.String() ||
							a.CidrBlockType != "IPV4" || a.CidrType != "BGP" {
							t.Fatalf("available block: got %+v, want 5 addresses from %s", a, first)
						}
					}
				}
				if !found {
					t.Fatalf("DescribeInstanceAvailableCidrBlock: block %s missing from %+v", block, avail)
				}

				bind := func(ip string) map[string]any {
					return map[string]any{"cidrBlockId": block, "ipBindList": []map[string]any{{"instanceId": inst, "ip": ip}}}
				}
				mustTickCall(t, env, c, "BindCidrBlockIps", map[string]any{"cidrBlockId": block,
					"ipBindList": []map[string]any{{"instanceId": inst, "ip": first.String()}, {"instanceId": inst, "ip": second.String()}}}, nil)
				ips := waitBlockIPs(t, env, c, block, "BOUND", first.String(), second.String())
				if len(ips) != 5 {
					t.Fatalf("DescribeCidrBlockIps: got %d addresses, want the 5 usable ones", len(ips))
				}
				for _, ip := range ips {
					bound := ip.IP == first.String() || ip.IP == second.String()
					if ip.CidrBlockID != block || ip.CidrBlockType != "IPV4" || bound != (ip.InstanceID != nil && *ip.InstanceID == inst) ||
						!bound && ip.Status != "AVAILABLE" {
						t.Fatalf("block address %+v", ip)
					}
				}
				if got := describeBlockIPs(t, env, c, map[string]any{"cidrBlockId": block, "instanceId": inst}); len(got) != 2 {
					t.Fatalf("DescribeCidrBlockIps by instance: got %d, want 2", len(got))
				}
				if got := describeBlockIPs(t, env, c, map[string]any{"cidrBlockId": block, "ip": second.String()}); len(got) != 1 || got[0].Status != "BOUND" {
					t.Fatalf("DescribeCidrBlockIps by ip: got %+v", got)
				}
				b := mustBlock(t, env, c, block)
				if len(b.InstanceIDs) != 1 || b.InstanceIDs[0] != inst || b.AvailableIPCount != 3 {
					t.Fatalf("after binding 2: got instanceIds %v and %d available, want [%s] and 3", b.InstanceIDs, b.AvailableIPCount, inst)
				}
				var events int
				if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM instance_events WHERE instance_id = $1 AND kind = 'network' AND driver = 'sim' AND detail LIKE $2`,
					inst, "%"+first.String()+"%").Scan(&events); err != nil || events == 0 {
					t.Fatalf("no driver event records the binding of %s (%v)", first, err)
				}

				// Refusals, each changing nothing.
				outside := metalplane.AddrAdd(prefix.Addr(), 8).String()
				broadcast := metalplane.AddrAdd(prefix.Addr(), 7).String()
				third, _ := metalplane.BlockUsableIP(prefix, 2)
				for _, tc := range []struct {
					name string
					req  map[string]any
					code metalplane.Code
				}{
					{"no block", map[string]any{"ipBindList": []map[string]any{{"instanceId": inst, "ip": first.String()}}}, "MISSING_PARAMETER"},
					{"no list", map[string]any{"cidrBlockId": block}, "MISSING_PARAMETER"},
					{"not an address", bind("a.b.c.d"), "INVALID_PARAMETER"},
					{"twice in one list", map[string]any{"cidrBlockId": block, "ipBindList": []map[string]any{{"instanceId": inst, "ip": third.String()}, {"instanceId": inst, "ip": third.String()}}}, "INVALID_PARAMETER"},
					{"unknown block", map[string]any{"cidrBlockId": "cidr-nosuchblock", "ipBindList": []map[string]any{{"instanceId": inst, "ip": first.String()}}}, "INVALID_CIDRBLOCK_NOT_FOUND"},
					{"unknown instance", map[string]any{"cidrBlockId": block, "ipBindList": []map[string]any{{"instanceId": "123", "ip": third.String()}}}, "INVALID_INSTANCE_NOT_FOUND"},
					{"other zone", map[string]any{"cidrBlockId": far[0], "ipBindList": []map[string]any{{"instanceId": inst, "ip": first.String()}}}, "OPERATION_DENIED_DIFFERENT_ZONE"},
					{"outside the block", bind(outside), "OPERATION_DENIED_IP_NOT_BELONG"},
					{"broadcast", bind(broadcast), "OPERATION_DENIED_IP_NOT_BELONG"},
					{"gateway", bind(prefix.Addr().Next().String()), "OPERATION_DENIED_IP_NOT_BELONG"},
					{"already bound", bind(first.String()), "OPERATION_DENIED_INVALID_STATUS"},
				} {
					apitest.ExpectCode(t, tickCall(t, env, c, "BindCidrBlockIps", tc.req, nil), tc.code)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": block}, nil), "OPERATION_DENIED_INSTANCE_EXIST")
				apitest.ExpectCode(t, tickCall(t, env, c, "UnbindCidrBlockIps", map[string]any{"cidrBlockId": block, "ipList": []string{outside}}, nil), "OPERATION_DENIED_IP_NOT_BELONG")
				apitest.ExpectCode(t, tickCall(t, env, c, "UnbindCidrBlockIps", map[string]any{"cidrBlockId": block, "ipList": []string{third.String()}}, nil), "OPERATION_DENIED_INVALID_STATUS")
				apitest.ExpectCode(t, tickCall(t, env, c, "UnbindCidrBlockIps", map[string]any{"cidrBlockId": "cidr-nosuchblock", "ipList": []string{first.String()}}, nil), "INVALID_CIDRBLOCK_NOT_FOUND")
				apitest.ExpectCode(t, tickCall(t, env, c, "UnbindCidrBlockIps", map[string]any{"cidrBlockId": block}, nil), "MISSING_PARAMETER")
				if b := mustBlock(t, env, c, block); b.AvailableIPCount != 3 {
					t.Fatalf("refusals changed the bindings: %d available, want 3", b.AvailableIPCount)
				}

				mustTickCall(t, env, c, "UnbindCidrBlockIps", map[string]any{"cidrBlockId": block, "ipList": []string{first.String(), second.String()}}, nil)
				waitBlockIPs(t, env, c, block, "AVAILABLE", first.String(), second.String())
				if b := mustBlock(t, env, c, block); len(b.InstanceIDs) != 0 || b.AvailableIPCount != 5 {
					t.Fatalf("after unbinding: got %+v", b)
				}
				mustTickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": block}, nil)
				apitest.ExpectCode(t, tickCall(t, env, c, "BindCidrBlockIps", bind(first.String()), nil), "OPERATION_DENIED_CIDRBLOCK_RECYCLED")
				apitest.ExpectCode(t, tickCall(t, env, c, "UnbindCidrBlockIps", map[string]any{"cidrBlockId": block, "ipList": []string{first.String()}}, nil), "OPERATION_DENIED_CIDRBLOCK_RECYCLED")
			})
		}
	})
}

// TestCidrBlockBindingNeedsRunningInstance: a stopped instance is refused
// and keeps no binding; releasing an instance drops its bindings.
func TestCidrBlockBindingNeedsRunningInstance(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)
		_, ids := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 30})
		prefix := netip.MustParsePrefix(mustBlock(t, env, c, ids[0]).CidrBlock)
		ip, _ := metalplane.BlockUsableIP(prefix, 0)
		req := map[string]any{"cidrBlockId": ids[0], "ipBindList": []map[string]any{{"instanceId": inst, "ip": ip.String()}}}
		mustTickCall(t, env, c, "StopInstances", map[string]any{"instanceIds": []string{inst}}, nil)
		waitStatus(t, env, []string{inst}, "STOPPED")
		apitest.ExpectCode(t, tickCall(t, env, c, "BindCidrBlockIps", req, nil), "OPERATION_DENIED_INSTANCE_NOT_RUNNING")
		mustTickCall(t, env, c, "StartInstances", map[string]any{"instanceIds": []string{inst}}, nil)
		waitStatus(t, env, []string{inst}, "RUNNING")
		mustTickCall(t, env, c, "BindCidrBlockIps", req, nil)
		waitBlockIPs(t, env, c, ids[0], "BOUND", ip.String())
		mustTickCall(t, env, c, "TerminateInstance", map[string]any{"instanceId": inst}, nil)
		mustTickCall(t, env, c, "ReleaseInstances", map[string]any{"instanceIds": []string{inst}}, nil)
		if b := mustBlock(t, env, c, ids[0]); len(b.InstanceIDs) != 0 || b.AvailableIPCount != 1 {
			t.Fatalf("after the instance's release: got %+v, want no binding", b)
		}
	})
}

// TestCidrBlockIPv6: /119 blocks of the zone's IPv6 pool with 500 usable
// addresses, free, released at once by TerminateCidrBlock and refused by
// RenewCidrBlock.
func TestCidrBlockIPv6(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		for version, c := range bmcClients(env) {
			t.Run(version, func(t *testing.T) {
				var stock struct {
					AvailableIpv6Resources []struct {
						ZoneID     string `json:"zoneId"`
						SellStatus string `json:"sellStatus"`
					} `json:"availableIpv6Resources"`
				}
				mustTickCall(t, env, c, "DescribeAvailableIpv6Resources", map[string]any{"zoneId": "HKG-A"}, &stock)
				if len(stock.AvailableIpv6Resources) != 1 || stock.AvailableIpv6Resources[0].SellStatus != "SELL_SHORTAGE" {
					t.Fatalf("DescribeAvailableIpv6Resources HKG-A: got %+v, want a few blocks on sale", stock)
				}
				var out struct {
					CidrBlockIDs []string `json:"cidrBlockIds"`
				}
				balance, _ := teamMoney(t, env, env.Team.ID)
				mustTickCall(t, env, c, "CreateIpv6Block", map[string]any{"zoneId": "HKG-A", "name": "v6", "amount": 2}, &out)
				if len(out.CidrBlockIDs) != 2 {
					t.Fatalf("CreateIpv6Block amount 2: got %v", out.CidrBlockIDs)
				}
				a, b := mustBlock(t, env, c, out.CidrBlockIDs[0]), mustBlock(t, env, c, out.CidrBlockIDs[1])
				pa := checkCarved(t, env, a, 119, "2001:db8:0:2::/64")
				pb := checkCarved(t, env, b, 119, "2001:db8:0:2::/64")
				if pa.Overlaps(pb) || a.CidrBlockType != "IPV6" || a.AvailableIPCount != 500 || a.ChargeType != "POSTPAID" || a.CidrBlockName != "v6" {
					t.Fatalf("IPv6 blocks: got %+v and %+v", a, b)
				}
				if ips := describeBlockIPs(t, env, c, map[string]any{"cidrBlockId": a.CidrBlockID}); len(ips) != 500 || ips[0].CidrBlockType != "IPV6" {
					t.Fatalf("DescribeCidrBlockIps of an IPv6 block: got %d addresses, want 500", len(ips))
				}
				if after, _ := teamMoney(t, env, env.Team.ID); after != balance {
					t.Fatalf("IPv6 blocks cost %s, want nothing", balance-after)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "RenewCidrBlock", map[string]any{"cidrBlockId": a.CidrBlockID}, nil), "OPERATION_DENIED_CIDRBLOCK_TYPE_NOT_SUPPORTED")
				for _, id := range out.CidrBlockIDs {
					mustTickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": id}, nil)
					if _, ok := describeBlock(t, env, c, id); ok || len(heldBy(t, env, id)) != 0 {
						t.Fatalf("a terminated IPv6 block %s is still there", id)
					}
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateIpv6Block", map[string]any{"zoneId": "NOPE-A"}, nil), "INVALID_ZONE_NOT_FOUND")
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateIpv6Block", map[string]any{"zoneId": "HKG-A", "amount": 8}, nil), "RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT")
			})
		}
	})
}

// TestCidrBlockCreateRefusals: each documented refusal of the create
// actions, and stock running out, with nothing charged or held.
func TestCidrBlockCreateRefusals(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC2022()
		before := readMoneyState(t, env)
		order := func(kv ...any) map[string]any {
			return withFields(map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29}, kv...)
		}
		for _, tc := range []struct {
			name string
			req  map[string]any
			code metalplane.Code
			// createOnly marks fields the price inquiry does not take.
			createOnly bool
		}{
			{"no zone", order("zoneId", nil), "MISSING_PARAMETER", false},
			{"no charge type", order("chargeType", nil), "MISSING_PARAMETER", false},
			{"no netmask", order("netmask", nil), "MISSING_PARAMETER", false},
			{"unknown zone", order("zoneId", "NOPE-A"), "INVALID_ZONE_NOT_FOUND", false},
			{"bad charge type", order("chargeType", "MONTHLY"), "INVALID_PARAMETER", false},
			{"bad cidr type", order("cidrType", "Anycast"), "INVALID_PARAMETER", false},
			{"PREPAID without period", order("chargeType", "PREPAID"), "MISSING_PARAMETER", false},
			{"PREPAID period 37", order("chargeType", "PREPAID", "chargePrepaid", map[string]any{"period": 37}), "INVALID_PARAMETER", false},
			{"netmask 31", order("netmask", 31), "OPERATION_DENIED_UNAVAILABLE_NETMASK", false},
			{"netmask 16", order("netmask", 16), "OPERATION_DENIED_UNAVAILABLE_NETMASK", false},
			{"amount 0", order("amount", 0), "INVALID_PARAMETER", false},
			{"amount 21", order("amount", 21), "INVALID_PARAMETER", false},
			{"long name", order("name", strings.Repeat("n", 65)), "INVALID_PARAMETER", true},
			{"unknown group", order("resourceGroupId", "rg-nosuchgroup"), "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND", true},
			{"POC voucher", order("marketingOptions", map[string]any{"usePocVoucher": true}), "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", true},
			{"duplicate tag", order("tags", map[string]any{"tags": []map[string]any{{"key": "a", "value": "1"}, {"key": "a", "value": "2"}}}), "INVALID_PARAMETER", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateIpv4Block", tc.req, nil), tc.code)
				if !tc.createOnly {
					apitest.ExpectCode(t, tickCall(t, env, c, "InquiryPriceCreateIpv4Block", tc.req, nil), tc.code)
				}
			})
		}
		// SEL-A's two /22 pools hold four whole /24s (the first and last
		// /24 of each pool lack their network or broadcast address).
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateIpv4Block", order("netmask", 24, "amount", 5), nil), "RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT")
		if after := readMoneyState(t, env); after != before {
			t.Fatalf("refused creates changed the money: %+v → %+v", before, after)
		}
		_, ids := createIpv4Block(t, env, c, order("netmask", 24, "amount", 4))
		seen := map[string]bool{}
		for _, id := range ids {
			seen[checkCarved(t, env, mustBlock(t, env, c, id), 24, "198.18.0.0/22", "198.18.4.0/22").String()] = true
		}
		if len(seen) != 4 {
			t.Fatalf("four /24 blocks: got %v", seen)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateIpv4Block", order("netmask", 24), nil), "OPERATION_DENIED_NETMASK_OUT_OF_STOCK")
		var stock struct {
			AvailableIpv4Resources []struct {
				Netmask    int    `json:"netmask"`
				SellStatus string `json:"sellStatus"`
			} `json:"availableIpv4Resources"`
		}
		mustTickCall(t, env, c, "DescribeAvailableIpv4Resources", map[string]any{"chargeType": "POSTPAID", "zoneId": "SEL-A"}, &stock)
		if stock.AvailableIpv4Resources[0].Netmask != 24 || stock.AvailableIpv4Resources[0].SellStatus != "SOLD_OUT" {
			t.Fatalf("with every /24 taken: got %+v, want /24 SOLD_OUT", stock.AvailableIpv4Resources[0])
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DescribeAvailableIpv4Resources", map[string]any{"zoneId": "SEL-A"}, nil), "MISSING_PARAMETER")
		apitest.ExpectCode(t, tickCall(t, env, c, "DescribeAvailableIpv4Resources", map[string]any{"chargeType": "POSTPAID", "zoneId": "NOPE-A"}, nil), "INVALID_ZONE_NOT_FOUND")
	})
}

func createByoip(c *httpapi.Client, env *apitest.Env, t *testing.T, cidr string) (string, error) {
	t.Helper()
	var out struct {
		ByoipID     string `json:"byoipId"`
		CidrBlockID string `json:"cidrBlockId"`
	}
	err := tickCall(t, env, c, "CreateByoip", map[string]any{"ipType": "IPV4", "cidr": cidr, "asn": 65001, "publicVirtualInterfaceId": "HKG-A"}, &out)
	if err == nil && (out.ByoipID == "" || out.CidrBlockID == "" || out.ByoipID == out.CidrBlockID) {
		t.Fatalf("CreateByoip: got %+v, want two distinct IDs", out)
	}
	return out.CidrBlockID, err
}

// TestByoip brings a prefix on both versions: its fields, no pool address
// held, no charge; every refusal of the prefix, the ASN and the VLAN; and
// TerminateCidrBlock frees the prefix at once for a new CreateByoip.
func TestByoip(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		for version, c := range bmcClients(env) {
			t.Run(version, func(t *testing.T) {
				before := readMoneyState(t, env)
				cidr := map[string]string{httpapi.BMCVersion2026: "203.0.113.0/24", httpapi.BMCVersion2022: "192.0.2.0/24"}[version]
				id, err := createByoip(c, env, t, cidr)
				if err != nil {
					t.Fatal(err)
				}
				b := mustBlock(t, env, c, id)
				if b.CidrBlock != cidr || b.CidrBlockType != "IPV4" || b.ZoneID != "HKG-A" || b.Status != "AVAILABLE" || b.AvailableIPCount != 253 ||
					b.Gateway != strings.TrimSuffix(cidr, "0/24")+"1" || b.CidrBlockName == "" || b.ResourceGroupName == "" || b.ChargeType != "POSTPAID" {
					t.Fatalf("BYOIP block: got %+v", b)
				}
				if len(heldBy(t, env, id)) != 0 {
					t.Fatal("a BYOIP block holds pool addresses")
				}
				if after := readMoneyState(t, env); after.Balance != before.Balance {
					t.Fatalf("BYOIP cost %s, want nothing", before.Balance-after.Balance)
				}
				req := func(kv ...any) map[string]any {
					return withFields(map[string]any{"ipType": "IPV4", "cidr": "198.51.100.0/24", "asn": 65001, "publicVirtualInterfaceId": "HKG-A"}, kv...)
				}
				for _, tc := range []struct {
					name string
					req  map[string]any
					code metalplane.Code
				}{
					{"no ipType", req("ipType", nil), "MISSING_PARAMETER"},
					{"no cidr", req("cidr", nil), "MISSING_PARAMETER"},
					{"no asn", req("asn", nil), "MISSING_PARAMETER"},
					{"no VLAN", req("publicVirtualInterfaceId", nil), "MISSING_PARAMETER"},
					{"bad ipType", req("ipType", "IPv5"), "INVALID_PARAMETER"},
					{"IPv6", req("ipType", "IPV6", "cidr", "2001:db8:ff::/48"), "INVALID_PARAMETER"},
					{"unknown VLAN", req("publicVirtualInterfaceId", "vlan-123"), "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
					{"zone without BYOIP", req("publicVirtualInterfaceId", "SEL-A"), "INVALID_PARAMETER"},
					{"not a CIDR", req("cidr", "198.51.100.0"), "INVALID_PARAMETER"},
					{"too wide", req("cidr", "198.48.0.0/21"), "INVALID_PARAMETER"},
					{"too narrow", req("cidr", "198.51.100.0/25"), "INVALID_PARAMETER"},
					{"host bits", req("cidr", "198.51.100.1/24"), "INVALID_PARAMETER"},
					{"private", req("cidr", "10.1.0.0/24"), "INVALID_PARAMETER"},
					{"pool overlap", req("cidr", "198.18.8.0/23"), "INVALID_PARAMETER"},
					{"other zone's pool", req("cidr", "198.18.0.0/24"), "INVALID_PARAMETER"},
					{"overlaps a live block", req("cidr", strings.TrimSuffix(cidr, "/24")+"/23"), "INVALID_PARAMETER"},
					{"same prefix", req("cidr", cidr), "INVALID_PARAMETER"},
					{"asn 0", req("asn", 0), "INVALID_PARAMETER"},
					{"asn 23456", req("asn", 23456), "INVALID_PARAMETER"},
					{"asn too big", req("asn", int64(1)<<32), "INVALID_PARAMETER"},
				} {
					apitest.ExpectCode(t, tickCall(t, env, c, "CreateByoip", tc.req, nil), tc.code)
				}
				mustTickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": id}, nil)
				if _, ok := describeBlock(t, env, c, id); ok {
					t.Fatal("a terminated BYOIP block is still listed")
				}
				again, err := createByoip(c, env, t, cidr)
				if err != nil {
					t.Fatalf("the prefix of a terminated BYOIP block: %v", err)
				}
				mustTickCall(t, env, c, "TerminateCidrBlock", map[string]any{"cidrBlockId": again}, nil)
			})
		}
	})
}

// TestCidrBlockTeamIsolation: another team sees none of the team's blocks,
// changes none, binds none of its addresses, cannot bind its own block to
// the team's instance, and cannot bring an overlapping prefix.
func TestCidrBlockTeamIsolation(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)
		_, ids := createIpv4Block(t, env, env.BMC(), map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29})
		mine := ids[0]
		byoip, err := createByoip(env.BMC(), env, t, "203.0.113.0/24")
		if err != nil {
			t.Fatal(err)
		}
		prefix := netip.MustParsePrefix(mustBlock(t, env, env.BMC(), mine).CidrBlock)
		ip, _ := metalplane.BlockUsableIP(prefix, 0)
		_, key := env.NewTeam(t, "other")
		for _, version := range []string{httpapi.BMCVersion2026, httpapi.BMCVersion2022} {
			t.Run(version, func(t *testing.T) {
				other := env.ClientWithKey("bmc", version, key)
				var list blocksOut
				mustTickCall(t, env, other, "DescribeCidrBlocks", map[string]any{}, &list)
				mustTickCall(t, env, other, "DescribeCidrBlocks", map[string]any{"cidrBlockIds": []string{mine, byoip}}, &list)
				if list.TotalCount != 0 || len(list.DataSet) != 0 {
					t.Fatalf("another team lists %+v", list)
				}
				for _, tc := range []struct {
					action string
					req    map[string]any
					code   metalplane.Code
				}{
					{"DescribeCidrBlockIps", map[string]any{"cidrBlockId": mine}, "INVALID_CIDRBLOCK_NOT_FOUND"},
					{"BindCidrBlockIps", map[string]any{"cidrBlockId": mine, "ipBindList": []map[string]any{{"instanceId": inst, "ip": ip.String()}}}, "INVALID_CIDRBLOCK_NOT_FOUND"},
					{"UnbindCidrBlockIps", map[string]any{"cidrBlockId": mine, "ipList": []string{ip.String()}}, "INVALID_CIDRBLOCK_NOT_FOUND"},
					{"ModifyCidrBlocksAttribute", map[string]any{"cidrBlockIds": []string{mine}, "name": "stolen"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
					{"RenewCidrBlock", map[string]any{"cidrBlockId": mine}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
					{"TerminateCidrBlock", map[string]any{"cidrBlockId": byoip}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
					{"ReleaseCidrBlocks", map[string]any{"cidrBlockIds": []string{mine}}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
					{"DescribeInstanceAvailableCidrBlock", map[string]any{"instanceId": inst}, "INVALID_INSTANCE_NOT_FOUND"},
					{"CreateByoip", map[string]any{"ipType": "IPV4", "cidr": "203.0.113.0/24", "asn": 65002, "publicVirtualInterfaceId": "LAX-A"}, "INVALID_PARAMETER"},
				} {
					apitest.ExpectCode(t, tickCall(t, env, other, tc.action, tc.req, nil), tc.code)
				}
				_, theirs := createIpv4Block(t, env, other, map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 30})
				p := netip.MustParsePrefix(mustBlock(t, env, other, theirs[0]).CidrBlock)
				if p.Overlaps(prefix) {
					t.Fatalf("two teams' blocks overlap: %s and %s", p, prefix)
				}
				theirIP, _ := metalplane.BlockUsableIP(p, 0)
				apitest.ExpectCode(t, tickCall(t, env, other, "BindCidrBlockIps",
					map[string]any{"cidrBlockId": theirs[0], "ipBindList": []map[string]any{{"instanceId": inst, "ip": theirIP.String()}}}, nil), "INVALID_INSTANCE_NOT_FOUND")
				mustTickCall(t, env, other, "TerminateCidrBlock", map[string]any{"cidrBlockId": theirs[0]}, nil)
			})
		}
		b := mustBlock(t, env, env.BMC(), mine)
		if b.CidrBlockName != b.CidrBlock || b.Status != "AVAILABLE" || len(b.InstanceIDs) != 0 {
			t.Fatalf("the team's block changed: %+v", b)
		}
	})
}

// withFields returns m with the key/value pairs of kv set; a nil value
// removes the key.
func withFields(m map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

// TestCidrBlockExpiryUnbinds: a PREPAID block whose period ends goes to the
// recycle bin without its bindings, and the driver is told: the instance's
// network is attached again without the address.
func TestCidrBlockExpiryUnbinds(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)
		_, ids := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "PREPAID", "netmask": 30, "chargePrepaid": map[string]any{"period": 1}})
		b := mustBlock(t, env, c, ids[0])
		ip, _ := metalplane.BlockUsableIP(netip.MustParsePrefix(b.CidrBlock), 0)
		mustTickCall(t, env, c, "BindCidrBlockIps", map[string]any{"cidrBlockId": ids[0], "ipBindList": []map[string]any{{"instanceId": inst, "ip": ip.String()}}}, nil)
		waitBlockIPs(t, env, c, ids[0], "BOUND", ip.String())
		networkEvents := func() int {
			var n int
			if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_events WHERE instance_id = $1 AND kind = 'network'`, inst).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := networkEvents()
		expiry, _ := time.Parse(time.RFC3339, *b.ExpireTime)
		env.Clock.Advance(expiry.Sub(env.Clock.Now()) + time.Minute)
		if _, err := env.App.Provisioner.RunPeriodic(ctx); err != nil {
			t.Fatal(err)
		}
		b = mustBlock(t, env, c, ids[0])
		if b.Status != "RECYCLE" || len(b.InstanceIDs) != 0 {
			t.Fatalf("after its expiry: got %+v, want RECYCLE without instances", b)
		}
		if ips := describeBlockIPs(t, env, c, map[string]any{"cidrBlockId": ids[0], "instanceId": inst}); len(ips) != 0 {
			t.Fatalf("after its expiry the block still binds %+v", ips)
		}
		deadline := time.Now().Add(30 * time.Second)
		for networkEvents() == before {
			if time.Now().After(deadline) {
				t.Fatal("the driver was not told within 30 s that the address is gone")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestCidrBlockCreateRetried: a CreateIpv4Block or CreateByoip whose answer
// is lost (the client hangs up after the server acted) and whose very
// bytes are sent again gets the first answer, and nothing is bought or
// brought twice.
func TestCidrBlockCreateRetried(t *testing.T) {
	holder := &answerHolder{}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		for _, tc := range []struct {
			action string
			body   map[string]any
		}{
			{"CreateIpv4Block", map[string]any{"zoneId": "SEL-A", "chargeType": "PREPAID", "netmask": 29, "chargePrepaid": map[string]any{"period": 1}}},
			{"CreateByoip", map[string]any{"ipType": "IPV4", "cidr": "203.0.113.0/24", "asn": 65001, "publicVirtualInterfaceId": "HKG-A"}},
		} {
			env.Clock.Advance(time.Second)
			before := readMoneyState(t, env)
			blocks := func() int {
				var n int
				if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM cidr_blocks WHERE team_id = $1`, env.Team.ID).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			had := blocks()
			req := signOnce(t, c, tc.action, tc.body)
			holder.arm(tc.action)
			req.sendAndHangUp(func() bool { return blocks() > had })
			status, answer := req.send()
			if status != 200 || answer["cidrBlockIds"] == nil && answer["cidrBlockId"] == nil {
				t.Fatalf("%s retried: HTTP %d %v", tc.action, status, answer)
			}
			var ids []string
			if v, ok := answer["cidrBlockIds"].([]any); ok {
				for _, id := range v {
					ids = append(ids, id.(string))
				}
			} else {
				ids = append(ids, answer["cidrBlockId"].(string))
			}
			if got := blocks(); got != had+1 {
				t.Fatalf("%s retried: %d blocks more, want 1", tc.action, got-had)
			}
			mustBlock(t, env, c, ids[0])
			after := readMoneyState(t, env)
			if tc.action == "CreateIpv4Block" && (after.Orders != before.Orders+1 || after.Balance != before.Balance-16*metalplane.MoneyScale) {
				t.Fatalf("a retried purchase: %+v → %+v, want one order of 16", before, after)
			}
		}
	}, apitest.Options{BeforeAnswerFunc: holder.beforeAnswer})
}

// TestCidrBlockResourceGroupsAndFilters: blocks go to the group asked for
// (another team's group is not found), and DescribeCidrBlocks filters by
// group, tags, gateway, charge type and type, pages, and refuses bad
// filters.
func TestCidrBlockResourceGroupsAndFilters(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		g, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "edge")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := env.NewTeam(t, "other")
		theirs, err := env.DB.CreateResourceGroup(ctx, other.ID, "theirs")
		if err != nil {
			t.Fatal(err)
		}
		for version, c := range bmcClients(env) {
			t.Run(version, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateIpv4Block", map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 30, "resourceGroupId": theirs.ID}, nil),
					"OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND")
				_, tagged := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 30, "resourceGroupId": g.ID,
					"tags": map[string]any{"tags": []map[string]any{{"key": "role", "value": version}}}})
				var v6 struct {
					CidrBlockIDs []string `json:"cidrBlockIds"`
				}
				mustTickCall(t, env, c, "CreateIpv6Block", map[string]any{"zoneId": "SEL-A", "resourceGroupId": g.ID}, &v6)
				b := mustBlock(t, env, c, tagged[0])
				if b.ResourceGroupID != g.ID || b.ResourceGroupName != "edge" {
					t.Fatalf("block in group edge: got %s %s", b.ResourceGroupID, b.ResourceGroupName)
				}
				count := func(req map[string]any) int {
					var out blocksOut
					mustTickCall(t, env, c, "DescribeCidrBlocks", req, &out)
					if len(out.DataSet) > out.TotalCount {
						t.Fatalf("DescribeCidrBlocks %v: %d items of %d", req, len(out.DataSet), out.TotalCount)
					}
					return out.TotalCount
				}
				for _, tc := range []struct {
					req  map[string]any
					want int
				}{
					{map[string]any{"resourceGroupId": g.ID, "cidrBlockIds": []string{tagged[0], v6.CidrBlockIDs[0]}}, 2},
					{map[string]any{"tags": []map[string]any{{"key": "role", "value": version}}}, 1},
					{map[string]any{"tagKeys": []string{"role"}, "cidrBlockIds": []string{tagged[0]}}, 1},
					{map[string]any{"tags": []map[string]any{{"key": "role", "value": "nobody"}}}, 0},
					{map[string]any{"gateway": b.Gateway}, 1},
					{map[string]any{"cidrBlock": b.CidrBlock, "chargeType": "POSTPAID", "cidrBlockType": "IPV4", "zoneId": "SEL-A"}, 1},
					{map[string]any{"cidrBlockIds": []string{v6.CidrBlockIDs[0]}, "cidrBlockType": "IPV4"}, 0},
					{map[string]any{"cidrBlockIds": []string{tagged[0]}, "chargeType": "PREPAID"}, 0},
					{map[string]any{"zoneId": "NOPE-A"}, 0},
				} {
					if got := count(tc.req); got != tc.want {
						t.Errorf("DescribeCidrBlocks %v: %d blocks, want %d", tc.req, got, tc.want)
					}
				}
				var page blocksOut
				mustTickCall(t, env, c, "DescribeCidrBlocks", map[string]any{"resourceGroupId": g.ID, "pageSize": 1, "pageNum": 2}, &page)
				if page.TotalCount < 2 || len(page.DataSet) != 1 {
					t.Fatalf("page 2 of size 1: got %d items of %d", len(page.DataSet), page.TotalCount)
				}
				for _, req := range []map[string]any{
					{"cidrBlockType": "IPV5"}, {"chargeType": "MONTHLY"}, {"pageSize": 1001}, {"pageNum": 0},
					{"cidrBlockIds": make([]string, 101)}, {"tags": []map[string]any{{"value": "x"}}},
				} {
					apitest.ExpectCode(t, tickCall(t, env, c, "DescribeCidrBlocks", req, nil), "INVALID_PARAMETER")
				}
			})
		}
	})
}
