package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// TestAuditFindsCorruption checks the checker that runs after every API
// test and behind `metalplane admin db check`: each kind of damage a bug
// could do is reported, and a healthy database reports nothing.
func TestAuditFindsCorruption(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{SkipAudit: true})
		ctx := context.Background()
		req := minimalCreate()
		req["instanceChargeType"] = "PREPAID"
		req["instanceChargePrepaid"] = map[string]any{"period": 1}
		var created createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", req, &created); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, created.InstanceIDSet, "RUNNING")
		id := created.InstanceIDSet[0]
		// River marks the job completed a moment after the instance is
		// RUNNING; until then it still counts as the job that moves it on.
		waitNoUnfinishedJobs(t, env)
		if problems, err := env.DB.Audit(ctx); err != nil || len(problems) != 0 {
			t.Fatalf("healthy database: %v %v", problems, err)
		}
		damage := []struct {
			name, sql string
			args      []any
			want      string
		}{
			{"host back in stock while used", `UPDATE hosts SET state = 'available', instance_id = NULL WHERE instance_id = $1`, []any{id}, "its host"},
			{"address freed while used", `UPDATE public_ips SET instance_id = NULL WHERE instance_id = $1`, []any{id}, "which the pool does not hold"},
			{"balance without ledger", `UPDATE teams SET balance = balance + 1 WHERE id = $1`, []any{env.Team.ID}, "its ledger sums to"},
			{"order charged twice", `INSERT INTO ledger (team_id, amount, kind, order_number, note, created_at) VALUES ($1, -1, 'prepaid_charge', $2, 'x', 0)`, []any{env.Team.ID, created.OrderNumber}, "but charged"},
			{"refund of a running instance", `INSERT INTO ledger (team_id, amount, kind, instance_id, note, created_at) VALUES ($1, 1, 'refund', $2, 'x', 0)`, []any{env.Team.ID, id}, "was refunded"},
			{"provisioned twice", `INSERT INTO instance_events (instance_id, at_ms, kind, step, driver, detail) VALUES ($1, 0, 'status', '', 'sim', 'CREATING → RUNNING')`, []any{id}, "recorded 2 times"},
			// A provision whose job is gone (it ran out of attempts
			// without recording the failure, or was lost) stays CREATING.
			{"stranded in CREATING", `UPDATE instances SET status = 'CREATING' WHERE id = $1`, []any{id}, "is CREATING, but no job will move it on"},
		}
		for _, d := range damage {
			if _, err := env.DB.SQL.ExecContext(ctx, d.sql, d.args...); err != nil {
				t.Fatalf("%s: %v", d.name, err)
			}
			problems, err := env.DB.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(problems, "\n"), d.want) {
				t.Errorf("%s: the audit said %q, want a line with %q", d.name, problems, d.want)
			}
		}
	})
}

// waitNoUnfinishedJobs waits until River has recorded every job as
// finished.
func waitNoUnfinishedJobs(t *testing.T, env *apitest.Env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE finalized_at IS NULL`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still unfinished", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
