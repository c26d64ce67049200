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
	"github.com/metalplane/metalplane/internal/testdb"
)

// The rehearsal at start buys and provisions an instance and keeps none of
// it: every table reads the same before and after, while the connections
// have compiled and kept the purchase's and the finish's statements.
func TestRehearseWarmsTheWriterAndKeepsNothing(t *testing.T) {
	db, cat := openDemoDB(t, filepath.Join(t.TempDir(), "metalplane.db"))
	rehearseAndCompare(t, db, cat, 1)
	var kept []string
	db.stmtCache.mu.Lock()
	for q := range db.stmtCache.stmts {
		kept = append(kept, q)
	}
	db.stmtCache.mu.Unlock()
	for _, want := range rehearsedStatements {
		if !slices.ContainsFunc(kept, func(q string) bool { return strings.Contains(q, want) }) {
			t.Errorf("no statement %q prepared on the writer after the rehearsal; kept: %d statements", want, len(kept))
		}
	}
	auditClean(t, db, "after the rehearsals")
}

// On PostgreSQL each of the n connections rehearses: each has prepared
// the purchase's and the finish's statements.
func TestRehearsePostgresWarmsEachConnectionAndKeepsNothing(t *testing.T) {
	ctx := context.Background()
	db, cat := openDemoDB(t, testdb.PostgresDSN(t))
	const n = 3
	rehearseAndCompare(t, db, cat, n)
	conns := make([]*sql.Conn, n) // held at once: n different ones
	for i := range conns {
		c, err := db.SQL.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		for _, want := range rehearsedStatements {
			var prepared int
			if err := c.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE strpos(statement, $1) > 0`, want).Scan(&prepared); err != nil {
				t.Fatal(err)
			}
			if prepared == 0 {
				t.Errorf("connection %d of %d: no statement %q prepared after the rehearsal", i+1, n, want)
			}
		}
	}
	auditClean(t, db, "after the rehearsals")
}

// rehearsedStatements are parts of statements a rehearsal runs: the
// purchase's claim, order and instance, the finish.
var rehearsedStatements = []string{"INSERT INTO request_replays", "INSERT INTO instances", "INSERT INTO orders", "UPDATE instances SET status"}

// rehearseAndCompare rehearses a PREPAID purchase of two instances on n
// connections and then one over the team's quota, and checks that neither
// changed a row of any table.
func rehearseAndCompare(t *testing.T, db *DB, cat *metalplane.Catalog, n int) {
	t.Helper()
	ctx := context.Background()
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
	if err := db.Rehearse(ctx, plan, enqueue, "sim", steps, n); err != nil {
		t.Fatalf("Rehearse: %v", err)
	}
	if len(enqueued) != n*amount {
		t.Fatalf("the rehearsal enqueued %v, want the jobs of %d × %d instances", enqueued, n, amount)
	}
	sameTables(t, "the rehearsal", before, tableDigests(t, db))

	// A refused purchase (the team's quota) is the rehearsal's error, and
	// leaves nothing either.
	if err := db.UpdateTeam(ctx, team.ID, TeamUpdate{InstanceQuota: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	before = tableDigests(t, db)
	if err := db.Rehearse(ctx, plan, enqueue, "sim", steps, n); metalplane.ErrorCode(err) != "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED" {
		t.Fatalf("Rehearse over quota: %v, want OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", err)
	}
	sameTables(t, "the refused rehearsal", before, tableDigests(t, db))
}

func sameTables(t *testing.T, what string, before, after map[string][32]byte) {
	t.Helper()
	for table, d := range before {
		if after[table] != d {
			t.Errorf("table %s changed in %s", table, what)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// tableDigests hashes the rows of every table of the database, in an
// order of their own.
func tableDigests(t *testing.T, db *DB) map[string][32]byte {
	t.Helper()
	ctx := context.Background()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect == Postgres {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.SQL.QueryContext(ctx, list)
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
		rows, err := db.SQL.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintln(vals...))
		}
		rows.Close()
		slices.Sort(lines)
		digests[table] = sha256.Sum256([]byte(strings.Join(lines, "")))
	}
	if len(digests) < 10 {
		t.Fatalf("only %d tables read", len(digests))
	}
	return digests
}
