package sqlstore

import (
	"context"
	"testing"

	"github.com/metalplane/metalplane/internal/testdb"
)

// A start's warm-up leaves the PostgreSQL pool holding the connections, each
// a backend of its own on the database, ready for the first requests.
func TestWarmConnectionsOpensThePool(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.PostgresDSN(t)
	db := migratedTestDB(t, dsn)
	const n = 5
	db.WarmConnections(ctx, n)
	if st := db.SQL.Stats(); st.Idle < n {
		t.Fatalf("after warming %d connections the pool holds %d idle (%d open)", n, st.Idle, st.OpenConnections)
	}
	var backends int
	if err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&backends); err != nil {
		t.Fatal(err)
	}
	if backends < n {
		t.Fatalf("%d backends on the database after warming %d connections", backends, n)
	}
	// SQLite opens its connections with the database: nothing to do.
	migratedTestDB(t, testdb.SQLiteDSN(t)).WarmConnections(ctx, n)
}
