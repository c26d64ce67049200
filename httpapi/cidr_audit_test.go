package httpapi_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// TestAuditFindsCidrBlockCorruption: each kind of damage to blocks a bug
// could do is reported by the audit behind `metalplane admin db check`,
// and the healthy database with blocks, bindings and charges reports
// nothing.
func TestAuditFindsCidrBlockCorruption(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{SkipAudit: true})
		ctx := context.Background()
		c := env.BMC()
		inst := createRunning(t, env, minimalCreate())["instanceId"].(string)
		_, post := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "POSTPAID", "netmask": 29})
		_, pre := createIpv4Block(t, env, c, map[string]any{"zoneId": "SEL-A", "chargeType": "PREPAID", "netmask": 30, "chargePrepaid": map[string]any{"period": 1}})
		mustTickCall(t, env, c, "RenewCidrBlock", map[string]any{"cidrBlockId": pre[0]}, nil)
		prefix := netip.MustParsePrefix(mustBlock(t, env, c, post[0]).CidrBlock)
		ip, _ := metalplane.BlockUsableIP(prefix, 0)
		mustTickCall(t, env, c, "BindCidrBlockIps", map[string]any{"cidrBlockId": post[0], "ipBindList": []map[string]any{{"instanceId": inst, "ip": ip.String()}}}, nil)
		waitBlockIPs(t, env, c, post[0], "BOUND", ip.String())
		env.Clock.Advance(3 * time.Hour)
		if _, err := env.App.Provisioner.RunPeriodic(ctx); err != nil {
			t.Fatal(err)
		}
		waitNoUnfinishedJobs(t, env)
		if problems, err := env.DB.Audit(ctx); err != nil || len(problems) != 0 {
			t.Fatalf("healthy database: %v %v", problems, err)
		}
		for _, d := range []struct {
			name, sql string
			args      []any
			want      string
		}{
			{"a block's address handed back", `UPDATE public_ips SET held_by = NULL WHERE address = $1`, []any{metalplane.AddrAdd(prefix.Addr(), 7).String()}, "has 8 addresses but the pool holds 7"},
			{"a block moved to another zone", `UPDATE cidr_blocks SET zone_id = 'HKG-A' WHERE id = $1`, []any{pre[0]}, "held by CIDR block " + pre[0] + " of zone HKG-A"},
			{"a binding outside the pool's holds", `UPDATE public_ips SET held_by = NULL WHERE address = $1`, []any{ip.String()}, "is bound to " + inst},
			{"an hourly charge lost", `DELETE FROM ledger WHERE dedupe_key = $1`, []any{"cidr-hourly:" + post[0] + ":0"}, "hourly units 3 but 2 ledger rows"},
			{"a renewal not recorded", `UPDATE cidr_blocks SET renewals = 0 WHERE id = $1`, []any{pre[0]}, "renewal units 0 but 1 ledger rows"},
			{"a block released under its binding", `UPDATE cidr_blocks SET released = TRUE WHERE id = $1`, []any{post[0]}, "which is released"},
		} {
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
