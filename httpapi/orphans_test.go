package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// jobAbout is a condition on River's jobs: about the instance in $1.
func jobAbout(env *apitest.Env) string {
	if env.DB.Dialect == sqlstore.Postgres {
		return `args->>'instance_id' = $1`
	}
	return `json_extract(args, '$.instance_id') = $1`
}

// unfinishedJobs lists the unfinished jobs about an instance as "kind" or
// "kind op".
func unfinishedJobs(t *testing.T, env *apitest.Env, id string) []string {
	t.Helper()
	op := `COALESCE(json_extract(args, '$.op'), '')`
	if env.DB.Dialect == sqlstore.Postgres {
		op = `COALESCE(args->>'op', '')`
	}
	rows, err := env.DB.SQL.QueryContext(context.Background(), `SELECT kind, `+op+` FROM river_job WHERE finalized_at IS NULL AND `+jobAbout(env)+` ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind, op string
		if err := rows.Scan(&kind, &op); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(kind+" "+op))
	}
	return out
}

// TestOrphanCheckEveryTransientStatus strands an instance in each
// transient status by taking its job away (or marking it discarded, as
// when a process dies in its last attempt), with the workers stopped so
// that nothing moves meanwhile. The audit reports each; one orphan check
// gives each the job that moves it on, or fails it as its job would have;
// a second check finds nothing.
func TestOrphanCheckEveryTransientStatus(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		ins := createIDs(t, env, c, prepaidM6C(), 4)
		for _, id := range ins {
			waitForStatus(t, env, c, id, "RUNNING")
		}
		mustTickCall(t, env, c, "StopInstances", ids(ins[3]), nil)
		waitForStatus(t, env, c, ins[3], "STOPPED")
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := env.App.Provisioner.StopAndCancel(stopCtx); err != nil {
			t.Fatal(err)
		}
		stopping, rebooting, installing, starting := ins[0], ins[1], ins[2], ins[3]
		mustTickCall(t, env, c, "StopInstances", ids(stopping), nil)
		mustTickCall(t, env, c, "RebootInstances", ids(rebooting), nil)
		mustTickCall(t, env, c, "ReinstallInstance", one(installing), nil)
		mustTickCall(t, env, c, "StartInstances", ids(starting), nil)
		pending := createIDs(t, env, c, prepaidM6C(), 1)[0]

		// starting keeps its job: it is not stranded.
		for _, id := range []string{stopping, rebooting, pending} {
			if _, err := env.DB.SQL.ExecContext(ctx, `DELETE FROM river_job WHERE `+jobAbout(env), id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = CURRENT_TIMESTAMP WHERE finalized_at IS NULL AND `+jobAbout(env), installing); err != nil {
			t.Fatal(err)
		}
		problems, err := env.DB.Audit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for id, status := range map[string]string{stopping: "STOPPING", rebooting: "BOOTING", installing: "INSTALLING", pending: "PENDING"} {
			want := "instance " + id + " is " + status + ", but no job will move it on"
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
				t.Errorf("audit: got %q, want a line %q", problems, want)
			}
		}
		if len(problems) != 4 {
			t.Errorf("audit: got %d problems, want the 4 stranded instances: %q", len(problems), problems)
		}

		res, err := env.App.Provisioner.ResumeOrphans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (provision.OrphanResult{Resumed: 3, Failed: 1}); res != want {
			t.Errorf("orphan check: got %+v, want %+v", res, want)
		}
		for id, want := range map[string][]string{
			stopping:  {"power_instance StopInstances"},
			rebooting: {"power_instance StartInstances"},
			pending:   {"provision_instance"},
			starting:  {"power_instance StartInstances"}, // its own, untouched
		} {
			if got := unfinishedJobs(t, env, id); !slices.Equal(got, want) {
				t.Errorf("instance %s: unfinished jobs %q, want %q", id, got, want)
			}
		}
		for id, want := range map[string]string{stopping: "STOPPING", rebooting: "BOOTING", installing: "INSTALL_FAILED", starting: "BOOTING", pending: "PENDING"} {
			if got := statusOf(t, c, id); got != want {
				t.Errorf("instance %s: got %s, want %s", id, got, want)
			}
		}
		if res, err := env.App.Provisioner.ResumeOrphans(ctx); err != nil || res != (provision.OrphanResult{}) {
			t.Errorf("second orphan check: got %+v, %v; want nothing to do", res, err)
		}
	})
}
