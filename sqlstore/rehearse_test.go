package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
)

// The rehearsal at start buys and provisions an instance and keeps none of
// it: every table reads the same before and after, while the writer has
// compiled and kept the purchase's and the finish's statements.
func TestRehearseWarmsTheWriterAndKeepsNothing(t *testing.T) {
	ctx := context.Background()
	db, cat := openDemoDB(t, filepath.Join(t.TempDir(), "metalplane.db"))
	team, err := db.CreateTeam(ctx, TeamCreate{Name: "rehearsal", PostpaidAllowed: true, InitialCredit: metalplane.Money(1_000_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	if team, err = db.FindTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	amount := 2
	in := metalplane.CreateInstancesInput{ZoneID: str("SEL-A"), InstanceChargeType: str("PREPAID"), InstanceTypeID: str("M6C"),
		InternetChargeType: str("ByBandwidth"), InstanceName: str("rehearsal"), Amount: &amount,
		InstanceChargePrepaid: &metalplane.ChargePrepaid{Period: ptr(1)}}
	plan, err := metalplane.ValidateCreate(ctx, &in, metalplane.CreateContext{Catalog: cat, Team: team, Version: "2026-02-01", Lookups: db.Lookups()})
	if err != nil {
		t.Fatal(err)
	}
	// The job insert writes in the transaction too, as River's does.
	var enqueued []string
	enqueue := func(ctx context.Context, tx *sql.Tx, ids []string) error {
		enqueued = append(enqueued, ids...)
		_, err := tx.ExecContext(ctx, `UPDATE teams SET name = name || '-enqueued' WHERE id = $1`, team.ID)
		return err
	}
	now := time.Now()
	steps := []StepDone{StartStep(now), {N: 1, Name: "power_off", At: now}, {N: 2, Name: "power_on", At: now}}

	before := tableDigests(t, db)
	if err := db.Rehearse(ctx, plan, enqueue, "sim", steps); err != nil {
		t.Fatalf("Rehearse: %v", err)
	}
	if len(enqueued) != amount {
		t.Fatalf("the rehearsal enqueued %v, want the jobs of its %d instances", enqueued, amount)
	}
	after := tableDigests(t, db)
	for table, d := range before {
		if after[table] != d {
			t.Errorf("table %s changed in the rehearsal", table)
		}
	}
	var kept []string
	db.stmtCache.mu.Lock()
	for q := range db.stmtCache.stmts {
		kept = append(kept, q)
	}
	db.stmtCache.mu.Unlock()
	for _, want := range []string{"INSERT INTO request_replays", "INSERT INTO instances", "INSERT INTO orders", "UPDATE instances SET status"} {
		if !slices.ContainsFunc(kept, func(q string) bool { return strings.Contains(q, want) }) {
			t.Errorf("no statement %q prepared on the writer after the rehearsal; kept: %d statements", want, len(kept))
		}
	}
	problems, err := db.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("audit: %v", problems)
	}

	// A refused purchase (the team's quota) is the rehearsal's error, and
	// leaves nothing either.
	if err := db.UpdateTeam(ctx, team.ID, TeamUpdate{InstanceQuota: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	if team, err = db.FindTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	plan.TeamID = team.ID
	before = tableDigests(t, db)
	if err := db.Rehearse(ctx, plan, enqueue, "sim", steps); metalplane.ErrorCode(err) != "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED" {
		t.Fatalf("Rehearse over quota: %v, want OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", err)
	}
	after = tableDigests(t, db)
	for table, d := range before {
		if after[table] != d {
			t.Errorf("table %s changed in the refused rehearsal", table)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// tableDigests hashes every row of every table of the SQLite database.
func tableDigests(t *testing.T, db *DB) map[string][32]byte {
	t.Helper()
	ctx := context.Background()
	rows, err := db.SQL.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	digests := map[string][32]byte{}
	for _, table := range tables {
		rows, err := db.SQL.QueryContext(ctx, `SELECT * FROM "`+table+`" ORDER BY rowid`)
		if err != nil {
			rows, err = db.SQL.QueryContext(ctx, `SELECT * FROM "`+table+`"`) // WITHOUT ROWID
		}
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		h := sha256.New()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(h, vals...)
		}
		rows.Close()
		var d [32]byte
		copy(d[:], h.Sum(nil))
		digests[table] = d
	}
	if len(digests) < 10 {
		t.Fatalf("only %d tables read", len(digests))
	}
	return digests
}
