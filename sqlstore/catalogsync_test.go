package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/testdb"
)

// clockedTestDB returns a migrated database whose clock reads *now.
func clockedTestDB(t *testing.T, dsn string) (*DB, *time.Time) {
	t.Helper()
	db := migratedTestDB(t, dsn)
	now := time.Unix(1_800_000_000, 0)
	db.NowFunc = func() time.Time { return now }
	return db, &now
}

// syncTestCatalog is the demo catalog with an offer past 9,999 hosts
// (where OfferHostID's numbers grow a fifth digit) and pools at the edges
// of what a pool can sell: a /30 (two addresses), a /31 and a /32 (none).
func syncTestCatalog(t *testing.T) *metalplane.Catalog {
	t.Helper()
	cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Offers {
		if o := &cat.Offers[i]; o.ZoneID == "SEL-A" && o.InstanceTypeID == "M6C" {
			o.Hosts = 10_050
		}
	}
	for i := range cat.Zones {
		if z := &cat.Zones[i]; z.ID == "SEL-A" {
			z.IPv4Pools = append(z.IPv4Pools, "203.0.113.0/30", "203.0.113.4/31", "203.0.113.8/32", "100.64.0.0/18")
		}
	}
	return cat
}

// catalogRows returns every host and public address row, each as text of
// all its columns, in key order.
func catalogRows(t *testing.T, db *DB) (hosts, ips []string) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, zone_id, instance_type_id, state, COALESCE(instance_id, '-'), note, updated_at,
		source, driver, bmc_address, bmc_password, mac, power_state, power_drift, power_error, last_contact_at FROM hosts`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, zone, typ, state, inst, note, source, driver, bmc, pw, mac, ps, pd, pe string
		var at, contact int64
		if err := rows.Scan(&id, &zone, &typ, &state, &inst, &note, &at, &source, &driver, &bmc, &pw, &mac, &ps, &pd, &pe, &contact); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, fmt.Sprintf("%s %s %s %s %s %q %d %s %s %q %q %q %q %q %q %d", id, zone, typ, state, inst, note, at, source, driver, bmc, pw, mac, ps, pd, pe, contact))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = db.SQL.QueryContext(ctx, `SELECT address, zone_id, family, seq, COALESCE(instance_id, '-'), COALESCE(held_by, '-'), retired FROM public_ips`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var addr, zone, inst, held string
		var family, seq int
		var retired bool
		if err := rows.Scan(&addr, &zone, &family, &seq, &inst, &held, &retired); err != nil {
			t.Fatal(err)
		}
		ips = append(ips, fmt.Sprintf("%s %s %d %d %s %s %t", addr, zone, family, seq, inst, held, retired))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	slices.Sort(hosts)
	slices.Sort(ips)
	return hosts, ips
}

// expectedCatalogRows returns the rows a sync of cat at now must leave in
// a new database, in catalogRows's form, written from the catalog's
// rules: host n of an offer is OfferHostID(zone, type, n), available; a
// zone's addresses are numbered from 1 across its IPv4 pools and then its
// IPv6 pools, network and broadcast addresses left out, IPv6 pools cut at
// IPv6PoolLimit.
func expectedCatalogRows(t *testing.T, cat *metalplane.Catalog, now int64) (hosts, ips []string) {
	t.Helper()
	for _, o := range cat.Offers {
		for n := 1; n <= o.Hosts; n++ {
			hosts = append(hosts, fmt.Sprintf("%s %s %s available - \"\" %d offer sim \"\" \"\" \"\" \"\" \"\" \"\" 0",
				metalplane.OfferHostID(o.ZoneID, o.InstanceTypeID, n), o.ZoneID, o.InstanceTypeID, now))
		}
	}
	for _, z := range cat.Zones {
		seq := 0
		for _, p := range []struct {
			cidrs  []string
			family int
		}{{z.IPv4Pools, 4}, {z.IPv6Pools, 6}} {
			for _, cidr := range p.cidrs {
				addrs, err := poolAddresses(cidr)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range addrs {
					seq++
					ips = append(ips, fmt.Sprintf("%s %s %d %d - - false", a, z.ID, p.family, seq))
				}
			}
		}
	}
	slices.Sort(hosts)
	slices.Sort(ips)
	return hosts, ips
}

// schemaOf lists the database's indexes and constraints with their
// definitions.
func schemaOf(t *testing.T, db *DB) []string {
	t.Helper()
	q := `SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE type IN ('table', 'index')`
	if db.Dialect == Postgres {
		q = `SELECT 'index ' || indexrelid::regclass || ' ' || pg_get_indexdef(indexrelid) FROM pg_index
				WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
			UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
				FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`
	}
	rows, err := db.SQL.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var defs []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(defs)
	return defs
}

func diffRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	shown := 0
	for _, g := range got {
		if _, found := slices.BinarySearch(want, g); !found && shown < 5 {
			t.Errorf("%s: unexpected row %s", what, g)
			shown++
		}
	}
	for _, w := range want {
		if _, found := slices.BinarySearch(got, w); !found && shown < 10 {
			t.Errorf("%s: missing row %s", what, w)
			shown++
		}
	}
}

// The first sync of a new database writes exactly the hosts and addresses
// the catalog describes, and leaves the schema as it found it (on
// PostgreSQL it drops and rebuilds the indexes of the empty tables).
func TestFreshCatalogSyncRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, now := clockedTestDB(t, dsn)
		cat := syncTestCatalog(t)
		schema := schemaOf(t, db)
		if err := db.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		diffRows(t, "indexes and constraints", schemaOf(t, db), schema)
		gotHosts, gotIPs := catalogRows(t, db)
		wantHosts, wantIPs := expectedCatalogRows(t, cat, now.Unix())
		diffRows(t, "hosts", gotHosts, wantHosts)
		diffRows(t, "public_ips", gotIPs, wantIPs)
		problems, err := db.Audit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Errorf("db check after the first sync: %q", problems)
		}
	})
}

// A sync of a changed catalog into a database that has hosts and
// addresses leaves it as a first sync of that catalog would, except for
// the removed ones, retired, and the time of rows that stayed.
func TestCatalogResyncMatchesFreshSync(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, now := clockedTestDB(t, dsn)
		cat := syncTestCatalog(t)
		if err := db.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		first := now.Unix()

		// 50 hosts fewer in one offer, 7 more in another; one pool fewer,
		// one more.
		grown := syncTestCatalog(t)
		var shrunk, added metalplane.Offer
		for i := range grown.Offers {
			o := &grown.Offers[i]
			switch {
			case o.ZoneID == "SEL-A" && o.InstanceTypeID == "M6C":
				o.Hosts -= 50
				shrunk = *o
			case o.ZoneID == "SEL-A" && o.InstanceTypeID == "S8I":
				o.Hosts += 7
				added = *o
			}
		}
		for i := range grown.Zones {
			if z := &grown.Zones[i]; z.ID == "SEL-A" {
				z.IPv4Pools = slices.DeleteFunc(z.IPv4Pools, func(p string) bool { return p == "203.0.113.0/30" })
				z.IPv4Pools = append(z.IPv4Pools, "203.0.113.16/29")
			}
		}
		*now = now.Add(time.Hour)
		if err := db.SyncCatalog(ctx, grown); err != nil {
			t.Fatal(err)
		}

		gotHosts, gotIPs := catalogRows(t, db)
		// What stayed keeps its row; what was removed is retired (hosts
		// only when free); what is new is added as a fresh sync of the
		// new catalog would add it.
		var wantHosts []string
		for _, o := range cat.Offers {
			for n := 1; n <= o.Hosts; n++ {
				state, note := "available", `""`
				if o.ZoneID == shrunk.ZoneID && o.InstanceTypeID == shrunk.InstanceTypeID && n > shrunk.Hosts {
					state, note = "retired", `"removed from the catalog"`
				}
				at := first
				if state == "retired" {
					at = now.Unix()
				}
				wantHosts = append(wantHosts, fmt.Sprintf("%s %s %s %s - %s %d offer sim \"\" \"\" \"\" \"\" \"\" \"\" 0",
					metalplane.OfferHostID(o.ZoneID, o.InstanceTypeID, n), o.ZoneID, o.InstanceTypeID, state, note, at))
			}
		}
		for n := added.Hosts - 6; n <= added.Hosts; n++ {
			wantHosts = append(wantHosts, fmt.Sprintf("%s %s %s available - \"\" %d offer sim \"\" \"\" \"\" \"\" \"\" \"\" 0",
				metalplane.OfferHostID(added.ZoneID, added.InstanceTypeID, n), added.ZoneID, added.InstanceTypeID, now.Unix()))
		}
		slices.Sort(wantHosts)
		diffRows(t, "hosts", gotHosts, wantHosts)

		// Addresses: the new pool's are numbered as in the new catalog;
		// the others keep their rows, retired if their pool was removed.
		_, oldIPs := expectedCatalogRows(t, cat, first)
		_, newIPs := expectedCatalogRows(t, grown, now.Unix())
		key := func(row string) string { addr, _, _ := strings.Cut(row, " "); return addr }
		var wantIPs []string
		oldByAddr := map[string]string{}
		for _, r := range oldIPs {
			oldByAddr[key(r)] = r
		}
		newAddrs := map[string]bool{}
		for _, r := range newIPs {
			newAddrs[key(r)] = true
			if old, ok := oldByAddr[key(r)]; ok {
				wantIPs = append(wantIPs, old)
			} else {
				wantIPs = append(wantIPs, r)
			}
		}
		for _, r := range oldIPs {
			if !newAddrs[key(r)] {
				wantIPs = append(wantIPs, r[:len(r)-len("false")]+"true")
			}
		}
		slices.Sort(wantIPs)
		diffRows(t, "public_ips", gotIPs, wantIPs)
	})
}

// Two offers whose host IDs meet ("X-Y" selling "Z", "X" selling "Y-Z")
// leave each shared ID to the later offer, as the sync always did.
func TestFreshCatalogSyncSharedHostIDs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, _ := clockedTestDB(t, dsn)
		cat := &metalplane.Catalog{Offers: []metalplane.Offer{
			{ZoneID: "X-Y", InstanceTypeID: "Z", Hosts: 3},
			{ZoneID: "X", InstanceTypeID: "Y-Z", Hosts: 2},
		}}
		if err := db.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		hosts, err := db.FindHosts(ctx, HostFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hosts {
			got = append(got, h.ID+" "+h.ZoneID+"/"+h.InstanceTypeID)
		}
		want := []string{"X-Y-Z-0001 X/Y-Z", "X-Y-Z-0002 X/Y-Z", "X-Y-Z-0003 X-Y/Z"}
		if !slices.Equal(got, want) {
			t.Errorf("hosts: %q, want %q", got, want)
		}
	})
}

// syncedAlike syncs cat into db and checks that it left what a first sync
// of cat must: the rows, the schema, a clean audit, no scratch file.
func syncedAlike(t *testing.T, db *DB, cat *metalplane.Catalog, now int64) {
	t.Helper()
	ctx := context.Background()
	schema := schemaOf(t, db)
	if err := db.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	diffRows(t, "indexes and constraints", schemaOf(t, db), schema)
	gotHosts, gotIPs := catalogRows(t, db)
	wantHosts, wantIPs := expectedCatalogRows(t, cat, now)
	diffRows(t, "hosts", gotHosts, wantHosts)
	diffRows(t, "public_ips", gotIPs, wantIPs)
	if problems, err := db.Audit(ctx); err != nil || len(problems) > 0 {
		t.Errorf("db check after the sync: %q, %v", problems, err)
	}
	if _, err := os.Stat(ipv4BuildPath(db.path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the scratch file is still there after the sync (%v)", err)
	}
}

// On SQLite a first sync builds the IPv4 addresses in a scratch file
// while the hosts go in, and copies them: the rows are those of a sync
// that makes them itself, a scratch file left by a start that died is
// replaced, and a sync whose second transaction was lost is done again.
func TestFreshCatalogSyncBuildsIPv4Beside(t *testing.T) {
	ctx := context.Background()
	cat := syncTestCatalog(t)
	db, now := clockedTestDB(t, testdb.SQLiteDSN(t))
	if db.path == "" {
		t.Fatal("the test database has no file path: nothing would be built")
	}
	db.ipv4BuildMin = 1

	// The build itself: a scratch file holding every IPv4 address, and a
	// transaction told that it was built.
	b := db.startIPv4Build(ctx, cat)
	if b == nil {
		t.Fatal("no build started for an empty public_ips")
	}
	<-b.done
	if b.err != nil {
		t.Fatalf("build: %v", b.err)
	}
	copied := false
	err := b.finish(ctx, func(tx *sql.Tx, built bool) error {
		copied = built
		return db.syncIPsTx(ctx, tx, cat, built)
	})
	b.discard()
	if err != nil {
		t.Fatal(err)
	}
	if !copied {
		t.Fatal("finish did not copy the built addresses")
	}
	_, gotIPs := catalogRows(t, db)
	_, wantIPs := expectedCatalogRows(t, cat, now.Unix())
	diffRows(t, "public_ips copied from the build", gotIPs, wantIPs)
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM public_ips`); err != nil {
		t.Fatal(err)
	}

	// A scratch file left by a start that died is not read.
	if err := os.WriteFile(ipv4BuildPath(db.path), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	syncedAlike(t, db, cat, now.Unix())
	if !db.addressesBeside.Load() {
		t.Fatal("the sync did not copy built addresses")
	}

	// The start died after the hosts' transaction: no addresses and no
	// fingerprint. The next start syncs again.
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM public_ips`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM catalog_syncs`); err != nil {
		t.Fatal(err)
	}
	syncedAlike(t, db, cat, now.Unix())

	// Below the threshold nothing is built, and the rows are the same.
	plain, plainNow := clockedTestDB(t, testdb.SQLiteDSN(t))
	plain.ipv4BuildMin = 1 << 30
	if b := plain.startIPv4Build(ctx, cat); b != nil {
		b.discard()
		t.Fatal("a build started below the threshold")
	}
	syncedAlike(t, plain, cat, plainNow.Unix())
}

// On PostgreSQL a first sync of many addresses adds them in a transaction
// of its own beside the hosts': the rows are those of one transaction, and
// a sync whose addresses or fingerprint were lost is done again.
func TestFreshCatalogSyncPostgresAddressesBeside(t *testing.T) {
	ctx := context.Background()
	cat := syncTestCatalog(t)
	db, now := clockedTestDB(t, testdb.PostgresDSN(t))
	db.ipv4BuildMin = 1
	syncedAlike(t, db, cat, now.Unix())
	if !db.addressesBeside.Load() {
		t.Fatal("the sync did not add the addresses beside the hosts")
	}

	// The start died after the hosts' and the addresses' transactions,
	// before the fingerprint's; then after the hosts' alone.
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM catalog_syncs`); err != nil {
		t.Fatal(err)
	}
	syncedAlike(t, db, cat, now.Unix())
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM public_ips`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM catalog_syncs`); err != nil {
		t.Fatal(err)
	}
	syncedAlike(t, db, cat, now.Unix())
	if !db.addressesBeside.Load() {
		t.Fatal("the sync after a lost one did not add the addresses beside the hosts")
	}

	// Two replicas starting together on a new database: each waits on
	// the other's locks in turn, and the rows are there once.
	dsn := testdb.PostgresDSN(t)
	first, firstNow := clockedTestDB(t, dsn)
	second := openTestDB(t, dsn)
	second.NowFunc, first.ipv4BuildMin, second.ipv4BuildMin = first.NowFunc, 1, 1
	errs := make(chan error, 2)
	for _, replica := range []*DB{first, second} {
		go func() { errs <- replica.SyncCatalog(ctx, cat) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	syncedAlike(t, first, cat, firstNow.Unix())

	// Below the threshold: one transaction, the same rows.
	plain, plainNow := clockedTestDB(t, testdb.PostgresDSN(t))
	plain.ipv4BuildMin = 1 << 30
	syncedAlike(t, plain, cat, plainNow.Unix())
	if plain.addressesBeside.Load() {
		t.Fatal("the addresses went beside the hosts below the threshold")
	}
}
