package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// TestAuditFindsLoadBalancerDamage damages a healthy load balancer one way
// after another and checks that `metalplane admin db check` (sqlstore.Audit)
// reports each: a VIP's address given back to the pool, an address held
// for a load balancer that has no VIP of it, a load balancer without its
// DEFAULT VIP, a backend of another team, and hours charged ahead.
func TestAuditFindsLoadBalancerDamage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{SkipAudit: true})
		ctx := context.Background()
		c := env.BMC()
		instances := twoInstances(t, env)
		waitNoUnfinishedJobs(t, env)
		lb := createLB(t, env, c, with(lbPostpaid(""), map[string]any{"vipCount": 1}))
		var lsn struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "web", "portList": []int{80},
			"protocol": "TCP", "backendProtocol": "TCP"}, &lsn)
		mustTickCall(t, env, c, "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "a", "instanceId": instances[0]}, nil)
		if problems, err := env.DB.Audit(ctx); err != nil || len(problems) != 0 {
			t.Fatalf("healthy database: %v %v", problems, err)
		}
		other, _ := env.NewTeam(t, "audit-b")
		vips := describeLB(t, env, c, lb.LoadBalancerID).VipList
		var free string
		if err := env.DB.SQL.QueryRowContext(ctx, `SELECT address FROM public_ips WHERE zone_id = 'SEL-A' AND family = 4 AND instance_id IS NULL AND held_by IS NULL ORDER BY seq LIMIT 1`).Scan(&free); err != nil {
			t.Fatal(err)
		}
		damage := []struct {
			name, sql string
			args      []any
			want      string
		}{
			{"VIP address back in the pool", `UPDATE public_ips SET held_by = NULL WHERE address = $1`, []any{vips[1].IPAddress}, "the pool holds the address for \"\""},
			{"address held without a VIP", `UPDATE public_ips SET held_by = $1 WHERE address = $2`, []any{lb.LoadBalancerID, free}, "which has no VIP of it"},
			{"DEFAULT VIP gone", `DELETE FROM load_balancer_vips WHERE id = $1`, []any{vips[0].VipID}, "has no DEFAULT VIP"},
			{"backend of another team", `UPDATE load_balancer_backends SET team_id = $1`, []any{other.ID}, "which is not a live instance of its team"},
			{"hours charged ahead", `INSERT INTO ledger (team_id, amount, kind, order_number, note, created_at) VALUES ($1, -1, 'lb_hourly_charge', $2, 'x', 0)`,
				[]any{env.Team.ID, lb.OrderNumber}, "hours charged, at most 0"},
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
