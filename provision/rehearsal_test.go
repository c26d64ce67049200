package provision_test

import (
	"context"
	"testing"

	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/provision/sim"
	"github.com/metalplane/metalplane/sqlstore"
)

// River sends one insert notification per queue per FetchCooldown and
// counts it when it inserts, whether the transaction commits or not. The
// purchase rehearsed at start is rolled back: its job must not take the
// notification of a purchase right after it, whose job would then wait
// for the workers' poll.
func TestRehearsalLeavesTheNextPurchaseItsNotification(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, testdb.SQLiteDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := provision.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	p, err := provision.New(db, provision.Config{Driver: &sim.Driver{}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.EnqueueRehearsal(ctx, tx, []string{"rehearsed"}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()

	tx, err = db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := p.Enqueue(ctx, tx, []string{"bought"}); err != nil {
		t.Fatal(err)
	}
	var notifications int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM river_notification`).Scan(&notifications); err != nil {
		t.Fatal(err)
	}
	if notifications == 0 {
		t.Fatal("the purchase after the rehearsal wrote no insert notification: its job would wait for the workers' poll")
	}
}
