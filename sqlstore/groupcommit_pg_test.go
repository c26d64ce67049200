package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/testdb"
)

// openDemoDB opens the database at dsn, migrated, with a secret key and
// the demo catalog; it is closed when the test ends.
func openDemoDB(t *testing.T, dsn string) (*DB, *metalplane.Catalog) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	useNewSecretKey(t, db)
	cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	return db, cat
}

// newPurchaseTestDB returns a migrated PostgreSQL database with the demo
// catalog and a POSTPAID team whose quota is quota.
func newPurchaseTestDB(t *testing.T, quota int) (*DB, *metalplane.Catalog, *metalplane.Team) {
	t.Helper()
	db, cat := openDemoDB(t, testdb.PostgresDSN(t))
	return db, cat, newQuotaTeam(t, db, "batch", quota)
}

// newQuotaTeam creates a POSTPAID team with credit and the instance quota.
func newQuotaTeam(t *testing.T, db *DB, name string, quota int) *metalplane.Team {
	t.Helper()
	ctx := context.Background()
	team, err := db.CreateTeam(ctx, TeamCreate{Name: name, PostpaidAllowed: true, InitialCredit: metalplane.Money(1_000_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateTeam(ctx, team.ID, TeamUpdate{InstanceQuota: &quota}); err != nil {
		t.Fatal(err)
	}
	if team, err = db.FindTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	return team
}

// pgPurchase returns a validated POSTPAID purchase of amount M6C in
// zone, or with voucher a PREPAID one paid by a POC voucher, with random
// IDs as CreateInstances gives them on PostgreSQL.
func pgPurchase(t *testing.T, db *DB, cat *metalplane.Catalog, team *metalplane.Team, zone, name string, amount int, voucher bool) *purchase {
	t.Helper()
	str := func(s string) *string { return &s }
	in := metalplane.CreateInstancesInput{ZoneID: str(zone), InstanceChargeType: str("POSTPAID"), InstanceTypeID: str("M6C"),
		InternetChargeType: str("ByBandwidth"), InstanceName: str(name), Amount: &amount}
	if voucher {
		period, yes := 1, true
		in.InstanceChargeType = str("PREPAID")
		in.InstanceChargePrepaid = &metalplane.ChargePrepaid{Period: &period}
		in.MarketingOptions = &metalplane.MarketingInfo{UsePocVoucher: &yes}
	}
	plan, err := metalplane.ValidateCreate(context.Background(), &in, metalplane.CreateContext{Catalog: cat, Team: team, Version: "2026-02-01", Lookups: db.Lookups()})
	if err != nil {
		t.Fatal(err)
	}
	result := &CreateResult{OrderNumber: metalplane.NewOrderNumber()}
	for range amount {
		result.InstanceIDSet = append(result.InstanceIDSet, metalplane.NewInstanceID())
	}
	return &purchase{plan: plan, result: result}
}

// liveInstances lists the team's instances that were committed.
func liveInstances(t *testing.T, db *DB, teamID string) map[string]bool {
	t.Helper()
	ids, err := queryStrings(context.Background(), db.SQL, `SELECT id FROM instances WHERE team_id = $1`, teamID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func auditClean(t *testing.T, db *DB, stage string) {
	t.Helper()
	problems, err := db.Audit(context.Background())
	if err != nil || len(problems) > 0 {
		t.Fatalf("%s: audit: %v %q", stage, err, problems)
	}
}

// On PostgreSQL a batch of purchases runs in one transaction, each inside
// its own savepoint (groupcommit_pg.go). A purchase refused in the middle
// of the batch must leave nothing behind and cost the others nothing; a
// commit the quota refuses must leave nothing of the batch, and the
// purchases run again alone must then get exactly what the quota allows.
func TestPostgresBatchRefusesOnePurchaseAlone(t *testing.T) {
	ctx := context.Background()
	db, cat, team := newPurchaseTestDB(t, 1000)
	// The demo catalog's zone with the fewest M6C hosts, bought out but
	// one in the middle of the batch.
	free, err := queryStrings(ctx, db.SQL, `SELECT zone_id FROM hosts WHERE instance_type_id = 'M6C' AND state = 'available' GROUP BY zone_id ORDER BY COUNT(*), zone_id LIMIT 1`)
	if err != nil || len(free) != 1 {
		t.Fatalf("zones with M6C hosts: %v %v", free, err)
	}
	scarce := free[0]
	var hostsLeft int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM hosts WHERE zone_id = $1 AND instance_type_id = 'M6C' AND state = 'available'`, scarce).Scan(&hostsLeft); err != nil {
		t.Fatal(err)
	}
	// One POC voucher, which both voucher purchases saw when validated:
	// the second is refused by its last statement, after its rows were
	// written.
	vouchers := 1
	if err := db.UpdateTeam(ctx, team.ID, TeamUpdate{PocVouchers: &vouchers}); err != nil {
		t.Fatal(err)
	}
	if team, err = db.FindTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	first := pgPurchase(t, db, cat, team, "SEL-A", "first", 2, false)
	voucher := pgPurchase(t, db, cat, team, "SEL-A", "voucher", 1, true)
	noVoucher := pgPurchase(t, db, cat, team, "SEL-A", "no-voucher", 1, true)
	tooMany := pgPurchase(t, db, cat, team, scarce, "too-many", hostsLeft+1, false)
	last := pgPurchase(t, db, cat, team, "SEL-A", "last", 3, false)
	batch := []*purchase{first, voucher, noVoucher, tooMany, last}
	if err := db.pipelinedBatch(ctx, batch); err != nil {
		t.Fatalf("batch did not commit: %v", err)
	}
	for _, p := range []*purchase{first, voucher, last} {
		if p.err != nil {
			t.Fatalf("purchase %s beside the refused ones: %v", p.plan.Names[0], p.err)
		}
	}
	refusals := map[*purchase]string{noVoucher: "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", tooMany: "RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT"}
	for p, code := range refusals {
		var apiErr *metalplane.Error
		if !errors.As(p.err, &apiErr) || string(apiErr.Code) != code {
			t.Fatalf("purchase %s: got %v, want %s", p.plan.Names[0], p.err, code)
		}
		var orders int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE order_number = $1`, p.result.OrderNumber).Scan(&orders); err != nil || orders != 0 {
			t.Fatalf("the refused order of %s left %d rows (%v)", p.plan.Names[0], orders, err)
		}
	}
	live := liveInstances(t, db, team.ID)
	for _, p := range []*purchase{first, voucher, last} {
		for _, id := range p.result.InstanceIDSet {
			if !live[id] {
				t.Fatalf("instance %s of order %s was not committed", id, p.result.OrderNumber)
			}
		}
	}
	if len(live) != 6 {
		t.Fatalf("got %d instances, want the 6 of the three purchases that were not refused", len(live))
	}
	if team, err = db.FindTeam(ctx, team.ID); err != nil || team.PocVouchers != 0 {
		t.Fatalf("vouchers left: %d (%v), want 0", team.PocVouchers, err)
	}
	auditClean(t, db, "after the batch")
}

func TestPostgresBatchBeyondTheQuotaIsRunAlone(t *testing.T) {
	ctx := context.Background()
	db, cat, team := newPurchaseTestDB(t, 4)
	// Each read the team with no instance; together they are 6 of 4.
	var batch []*purchase
	for i := range 3 {
		batch = append(batch, pgPurchase(t, db, cat, team, "SEL-A", fmt.Sprintf("two-%d", i), 2, false))
	}
	if err := db.pipelinedBatch(ctx, batch); err == nil {
		t.Fatal("a batch beyond the team's quota committed")
	}
	if live := liveInstances(t, db, team.ID); len(live) != 0 {
		t.Fatalf("the refused batch left %d instances", len(live))
	}
	auditClean(t, db, "after the refused batch")

	// What the committer does with it: each purchase alone.
	db.committer().commitPipelined(ctx, batch)
	var ok, refused int
	for _, p := range batch {
		var apiErr *metalplane.Error
		switch {
		case p.err == nil:
			ok++
		case errors.As(p.err, &apiErr) && apiErr.Code == "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED":
			refused++
		default:
			t.Fatalf("purchase %s: %v", p.plan.Names[0], p.err)
		}
	}
	if ok != 2 || refused != 1 {
		t.Fatalf("got %d bought and %d refused, want 2 and 1 (quota 4, three purchases of 2)", ok, refused)
	}
	if live := liveInstances(t, db, team.ID); len(live) != 4 {
		t.Fatalf("got %d instances, want the quota of 4", len(live))
	}
	auditClean(t, db, "after the purchases alone")
}
