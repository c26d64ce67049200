package sqlstore

import (
	"context"
	"strconv"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/benchcatalog"
	"github.com/metalplane/metalplane/internal/testdb"
)

// BenchmarkSyncCatalogFresh measures the first catalog sync of a new
// database, what the first start of serve on a fresh data dir waits for:
// every host and public address of the catalog inserted. Each iteration
// gets a new migrated database (not timed).
//
//	go test -run '^$' -bench SyncCatalogFresh -benchtime 3x ./sqlstore/
func BenchmarkSyncCatalogFresh(b *testing.B) {
	for _, hosts := range []int{200_000} {
		data, err := benchcatalog.YAML(hosts)
		if err != nil {
			b.Fatal(err)
		}
		cat, err := metalplane.LoadCatalog(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, dialect := range []string{"sqlite", "postgres"} {
			b.Run(dialect+"/hosts="+strconv.Itoa(hosts), func(b *testing.B) {
				ctx := context.Background()
				for range b.N {
					b.StopTimer()
					dsn := testdb.SQLiteDSN(b)
					if dialect == "postgres" {
						dsn = testdb.PostgresDSN(b)
					}
					db, err := Open(ctx, dsn)
					if err != nil {
						b.Fatal(err)
					}
					if err := db.Migrate(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if err := db.SyncCatalog(ctx, cat); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					db.Close()
					b.StartTimer()
				}
			})
		}
	}
}
