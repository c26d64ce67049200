package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/testdb"
)

// A start with the catalog of the last sync leaves hosts and addresses
// alone without reading them; a catalog with another host count or pool
// is synced at once.
func TestCatalogSyncRunsOnlyWhenTheCatalogChanged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := migratedTestDB(t, dsn)
		now := time.Unix(1_800_000_000, 0)
		db.NowFunc = func() time.Time { return now }
		cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
		if err != nil {
			t.Fatal(err)
		}
		hostsOf := func() int {
			t.Helper()
			hosts, err := db.FindHosts(ctx, HostFilter{ZoneID: "SEL-A", InstanceTypeID: "M6C", State: HostAvailable})
			if err != nil {
				t.Fatal(err)
			}
			return len(hosts)
		}
		lastSync := func() int64 {
			t.Helper()
			var at int64
			if err := db.SQL.QueryRowContext(ctx, `SELECT synced_at FROM catalog_syncs WHERE id = 1`).Scan(&at); err != nil {
				t.Fatal(err)
			}
			return at
		}
		if err := db.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		first, stock := lastSync(), hostsOf()

		now = now.Add(time.Hour)
		if err := db.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		if got := lastSync(); got != first {
			t.Errorf("the same catalog was synced again (at %d, first at %d)", got, first)
		}
		if got := hostsOf(); got != stock {
			t.Errorf("free M6C hosts in SEL-A after a start with the same catalog: %d, want %d", got, stock)
		}

		for i := range cat.Offers {
			if o := &cat.Offers[i]; o.ZoneID == "SEL-A" && o.InstanceTypeID == "M6C" {
				o.Hosts += 5
			}
		}
		now = now.Add(time.Hour)
		if err := db.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		if got := lastSync(); got != now.Unix() {
			t.Errorf("a changed catalog was not synced (last sync at %d, want %d)", got, now.Unix())
		}
		if got := hostsOf(); got != stock+5 {
			t.Errorf("free M6C hosts in SEL-A after 5 more in the catalog: %d, want %d", got, stock+5)
		}
	})
}
