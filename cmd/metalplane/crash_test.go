package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// fleetOrder is one CreateInstances of the crash and replica tests.
type fleetOrder struct {
	zone, instanceType, chargeType string
}

// fleetOrders cycles through zones, types and both charge types; each
// offer has at least 100 hosts in the demo catalog. The failing zone/type
// of the tests (FRA-A S8I) is PREPAID, so its failures are refunded.
var fleetOrders = []fleetOrder{
	{"SEL-A", "S8I", "PREPAID"},
	{"LAX-A", "S8I", "POSTPAID"},
	{"FRA-A", "S8I", "PREPAID"},
	{"HKG-A", "S8I", "POSTPAID"},
	{"SEL-A", "M6C", "POSTPAID"},
}

// createFleet buys total instances in orders of batch, sending order i to
// clients[i % len(clients)], and returns their ids.
func createFleet(t *testing.T, clients []*httpapi.Client, total, batch int) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := 0; len(ids) < total; i++ {
		o := fleetOrders[i%len(fleetOrders)]
		req := map[string]any{"zoneId": o.zone, "instanceTypeId": o.instanceType, "instanceChargeType": o.chargeType,
			"internetChargeType": "ByBandwidth", "amount": min(batch, total-len(ids)), "imageId": "3477e9ab-df3e-4ce2-a492-d42b431cbf53", "password": "Fleet-pass-123",
			"instanceName": fmt.Sprintf("fleet-%d-[1,3]", i)}
		if o.chargeType == "PREPAID" {
			req["instanceChargePrepaid"] = map[string]any{"period": 1}
		}
		var out struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := clients[i%len(clients)].Call(ctx, "CreateInstances", req, &out); err != nil {
			t.Fatalf("order %d (%+v): %v", i, o, err)
		}
		ids = append(ids, out.InstanceIDSet...)
	}
	return ids
}

// statuses returns the status of every instance of the demo team.
func statuses(c *httpapi.Client) (map[string]string, error) {
	var out struct {
		DataSet []struct {
			InstanceID     string `json:"instanceId"`
			InstanceStatus string `json:"instanceStatus"`
		} `json:"dataSet"`
	}
	if err := c.Call(context.Background(), "DescribeInstances", map[string]any{"pageSize": 1000}, &out); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, in := range out.DataSet {
		m[in.InstanceID] = in.InstanceStatus
	}
	return m, nil
}

// countStatus counts instances in the status.
func countStatus(m map[string]string, status string) int {
	n := 0
	for _, s := range m {
		if s == status {
			n++
		}
	}
	return n
}

// waitUntil polls the statuses until done says so.
func waitUntil(t *testing.T, c *httpapi.Client, timeout time.Duration, what string, done func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last map[string]string
	for time.Now().Before(deadline) {
		m, err := statuses(c)
		if err == nil {
			last = m
			if done(m) {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s; last statuses: %v", what, summarize(last))
	return nil
}

func summarize(m map[string]string) map[string]int {
	out := map[string]int{}
	for _, s := range m {
		out[s]++
	}
	return out
}

// allSettled reports whether every instance ended RUNNING or CREATE_FAILED.
func allSettled(ids []string) func(map[string]string) bool {
	return func(m map[string]string) bool {
		for _, id := range ids {
			if s := m[id]; s != "RUNNING" && s != "CREATE_FAILED" {
				return false
			}
		}
		return true
	}
}

// verifyFleet checks, on the stopped servers' database, what a crash must
// never cause: every instance finished exactly once, failures are exactly
// the injected ones and were cleaned up and refunded, and hosts, addresses
// and money add up (`metalplane admin db check`).
func verifyFleet(t *testing.T, dataDir, dsn string, ids []string, failZone, failType string, wantFailed int) {
	t.Helper()
	ctx := context.Background()
	db := openStore(t, dsn)
	team, err := db.FindTeam(ctx, app.DemoTeamName)
	if err != nil {
		t.Fatal(err)
	}
	instances, total, err := db.FindInstances(ctx, sqlstore.InstanceFilter{TeamID: team.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(ids) {
		t.Fatalf("the team has %d instances, want the %d bought", total, len(ids))
	}
	var failed []string
	for _, in := range instances {
		events, err := db.InstanceEvents(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]int{}
		running := 0
		for _, e := range events {
			if e.Kind == "step" && e.Detail == "done" {
				done[e.Step]++
			}
			if e.Kind == "status" && strings.HasSuffix(e.Detail, "→ RUNNING") {
				running++
			}
		}
		switch in.Status {
		case metalplane.StatusRunning:
			for _, step := range provision.Steps {
				if done[step] != 1 {
					t.Errorf("instance %s: step %s recorded done %d times, want once (events %+v)", in.ID, step, done[step], events)
				}
			}
			if running != 1 {
				t.Errorf("instance %s became RUNNING %d times", in.ID, running)
			}
		case metalplane.StatusCreateFailed:
			failed = append(failed, in.ID)
			if in.ZoneID != failZone || in.InstanceTypeID != failType {
				t.Errorf("instance %s in %s/%s failed, but faults were injected only for %s/%s: %s", in.ID, in.ZoneID, in.InstanceTypeID, failZone, failType, in.FailureReason)
			}
			if in.FailureReason == "" || in.PublicIPv4 != "" {
				t.Errorf("failed instance %s: reason %q, still holds %q", in.ID, in.FailureReason, in.PublicIPv4)
			}
			hosts, err := db.FindHosts(ctx, sqlstore.HostFilter{ZoneID: in.ZoneID, InstanceTypeID: in.InstanceTypeID, State: sqlstore.HostMaintenance})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(hosts, func(h sqlstore.Host) bool { return h.ID == in.HostID }) {
				t.Errorf("failed instance %s: its host %s is not in maintenance", in.ID, in.HostID)
			}
		default:
			t.Errorf("instance %s ended %s", in.ID, in.Status)
		}
	}
	if len(failed) != wantFailed {
		t.Errorf("%d instances failed, want the %d injected failures", len(failed), wantFailed)
	}
	// Each failure is refunded once, with what its order charged for it.
	ledger, err := db.Ledger(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	var refunded []string
	for _, e := range ledger {
		if e.Kind == metalplane.LedgerRefund {
			refunded = append(refunded, e.InstanceID)
		}
	}
	slices.Sort(failed)
	slices.Sort(refunded)
	if !slices.Equal(failed, refunded) {
		t.Errorf("refunded %v, want exactly the failed %v", refunded, failed)
	}
	out, err := runAdmin(t, dataDir, dsn, true, "db", "check")
	if err != nil || !strings.HasPrefix(out, "ok:") {
		t.Errorf("admin db check: %v\n%s", err, out)
	}
}

// TestCrashMidProvisioning kills the server with SIGKILL while 200
// instances are being provisioned slowly, with injected failures and hung
// steps, restarts it on the same data dir and database, and checks that
// every instance finishes exactly once and nothing leaked.
func TestCrashMidProvisioning(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for tens of seconds")
	}
	eachDialect(t, func(t *testing.T, dialect string) {
		dataDir := t.TempDir()
		dsn := processDSN(t, dialect, dataDir)
		// 200 ms steps and 20 workers: about 12 s of provisioning, so
		// the kill lands mid-way. A short step timeout lets the restarted
		// server rescue the killed jobs (River rescues a job once it has
		// run longer than any live job could) within seconds.
		flags := []string{"--sim-step-delay", "200ms", "--provision-step-timeout", "2s", "--workers", "20"}
		first := startProcess(t, "first server", dataDir, dsn, flags...)
		const failing = 4
		runAdmin(t, dataDir, dsn, false, "faults", "inject", "--zone", "FRA-A", "--type", "S8I", "--step", provision.StepInstallOS, "--count", fmt.Sprint(failing))
		runAdmin(t, dataDir, dsn, false, "faults", "inject", "--zone", "LAX-A", "--step", provision.StepRaid, "--count", "2", "--hang")

		ids := createFleet(t, []*httpapi.Client{first.client()}, 200, 20)
		waitUntil(t, first.client(), 2*time.Minute, "some instances are RUNNING", func(m map[string]string) bool {
			return countStatus(m, "RUNNING") >= 20
		})
		first.kill()
		second := startProcess(t, "restarted server", dataDir, dsn, flags...)
		before, err := statuses(second.client())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("right after the restart: %v", summarize(before))
		if countStatus(before, "RUNNING")+countStatus(before, "CREATE_FAILED") == len(ids) {
			t.Fatal("every instance had finished before the kill: the test did not crash mid-way")
		}
		after := waitUntil(t, second.client(), 3*time.Minute, "every instance is RUNNING or CREATE_FAILED", allSettled(ids))
		t.Logf("settled: %v", summarize(after))
		second.stop()
		verifyFleet(t, dataDir, dsn, ids, "FRA-A", "S8I", failing)
		// Every injected fault was used: the hung steps timed out and
		// were retried (their instances are RUNNING, checked above).
		faults, err := openStore(t, dsn).Faults(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range faults {
			if f.Remaining != 0 {
				t.Errorf("fault %+v was not used up", f)
			}
		}
	})
}
