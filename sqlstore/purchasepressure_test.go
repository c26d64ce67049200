package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/testdb"
)

// What the provisioning workers learn of the purchases: a lone buyer is
// never a crowd; purchases waiting together are one; the work counts each
// instance bought and each purchase refused once.
func TestPurchaseCrowdAndWork(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": testdb.SQLiteDSN, "postgres": testdb.PostgresDSN} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, cat := openDemoDB(t, dsn(t))
			team := newQuotaTeam(t, db, "crowd", 13)
			buy := func(name string, amount int) error {
				str := func(s string) *string { return &s }
				in := metalplane.CreateInstancesInput{ZoneID: str("SEL-A"), InstanceChargeType: str("POSTPAID"), InstanceTypeID: str("M6C"),
					InternetChargeType: str("ByBandwidth"), InstanceName: str(name), Amount: &amount}
				plan, err := metalplane.ValidateCreate(ctx, &in, metalplane.CreateContext{Catalog: cat, Team: team, Version: "2026-02-01", Lookups: db.Lookups()})
				if err != nil {
					t.Fatal(err)
				}
				_, err = db.CreateInstances(ctx, plan, nil)
				return err
			}

			// One buyer, one purchase after the other: never a crowd.
			for i, amount := range []int{1, 3, 2} {
				if err := buy(fmt.Sprintf("alone-%d", i), amount); err != nil {
					t.Fatal(err)
				}
				if crowd, _ := db.PurchaseCrowd(time.Now()); crowd {
					t.Fatalf("after purchase %d of a lone buyer: a crowd", i)
				}
			}
			if got := db.PurchaseWork(); got != 6 {
				t.Fatalf("PurchaseWork = %d after buying 1, 3 and 2", got)
			}

			// Five buyers at once, held up by a lock that every purchase
			// needs: they wait together, a crowd.
			release := holdPurchases(t, db)
			defer release()
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for i := range errs {
				wg.Go(func() { errs[i] = buy(fmt.Sprintf("crowd-%d", i), 1) })
			}
			deadline := time.Now().Add(30 * time.Second)
			for crowd, _ := db.PurchaseCrowd(time.Now()); !crowd; crowd, _ = db.PurchaseCrowd(time.Now()) {
				if time.Now().After(deadline) {
					t.Fatal("five purchases waiting at once are not a crowd")
				}
				time.Sleep(time.Millisecond)
			}
			release()
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("crowd-%d: %v", i, err)
				}
			}
			// Over the quota (13): refused, one unit of work.
			if err := buy("refused", 3); metalplane.ErrorCode(err) != "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED" {
				t.Fatalf("a purchase beyond the quota: %v", err)
			}
			if got := db.PurchaseWork(); got != 12 {
				t.Fatalf("PurchaseWork = %d after 6 bought alone, 5 in a crowd and a purchase of 3 refused, want 12", got)
			}
			// Once they are answered, a crowd lasts at most crowdWindow
			// after its last batch of several.
			crowd, until := db.PurchaseCrowd(time.Now())
			if crowd && !time.Now().Before(until) {
				t.Fatal("nobody waits and no batch of several is recent, but a crowd")
			}
			if crowd, _ := db.PurchaseCrowd(until.Add(time.Nanosecond)); crowd {
				t.Fatalf("a crowd still after %v", until)
			}
		})
	}
}

// holdPurchases takes a lock that every purchase needs (SQLite: the one
// writer; PostgreSQL: the orders table) until release.
func holdPurchases(t *testing.T, db *DB) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !db.singleWriter() {
		if _, err := tx.ExecContext(ctx, `LOCK TABLE orders IN EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { tx.Rollback() }) }
}
