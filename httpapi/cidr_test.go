package httpapi_test

import (
	"context"
	"net/netip"
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

// heldBy counts the pool addresses held for a resource.
func heldBy(t *testing.T, env *apitest.Env, id string) int {
	t.Helper()
	var n int
	if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM public_ips WHERE held_by = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
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
	if n := heldBy(t, env, b.CidrBlockID); int64(n) != metalplane.BlockSize(p) {
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
				if n := heldBy(t, env, post[0]); n != 0 {
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
				if _, ok := describeBlock(t, env, c, pre[0]); ok || heldBy(t, env, pre[0]) != 0 {
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
