package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/seal"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/provision"
)

// TestTwoReplicasOnePostgres runs two servers on one PostgreSQL database,
// buys 500 instances alternately through both, kills one with SIGKILL
// mid-way: the survivor provisions every instance exactly once (the log
// says how long after the kill the last one settled), the killed one
// restarts, and hosts, addresses and money add up. The same signed bytes sent to one
// replica and, once answered, to the other are two purchases (a lost
// answer's retry on the other replica is TestLostAnswerAcrossReplicas in
// httpapi).
func TestTwoReplicasOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two binaries for tens of seconds")
	}
	dsn := testdb.PostgresDSN(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	// Replicas share the database's secret key (docs/secrets.md).
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	if _, err := seal.CreateFile(keyFile); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--sim-step-delay", "100ms", "--workers", "25", "--secret-key-file", keyFile}
	// The documented deploy: migrate once, then start the replicas
	// together with --no-migrate (they race to create the demo team and
	// load the catalog).
	if out, err := exec.Command(metalplaneBinary(t), "migrate", "--database", dsn).CombinedOutput(); err != nil {
		t.Fatalf("metalplane migrate: %v\n%s", err, out)
	}
	flags = append(flags, "--no-migrate")
	var a, b *process
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startProcess(t, "replica A", dirA, dsn, flags...) }()
	go func() { defer wg.Done(); b = startProcess(t, "replica B", dirB, dsn, flags...) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	const failing = 5
	runAdmin(t, dirA, dsn, false, "faults", "inject", "--zone", "FRA-A", "--type", "S8I", "--step", provision.StepNetwork, "--count", fmt.Sprint(failing))

	// Identical bytes, each answer delivered: two purchases, wherever
	// they land.
	retried := identicalAcross(t, a.client(), b.client())

	ids := createFleet(t, []*httpapi.Client{a.client(), b.client()}, 500, 20)
	ids = append(ids, retried...)
	waitUntil(t, a.client(), 2*time.Minute, "some instances are RUNNING", func(m map[string]string) bool {
		return countStatus(m, "RUNNING") >= 50
	})
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b.kill()
	killedAt := time.Now()
	creating := creatingAt(t, db)
	mid, err := statuses(a.client())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("when B was killed: %v", summarize(mid))
	if countStatus(mid, "RUNNING")+countStatus(mid, "CREATE_FAILED") == len(ids) {
		t.Fatal("every instance had finished before the kill: the test did not crash mid-way")
	}
	// A serves and provisions alone while B is down.
	if _, err := statuses(a.client()); err != nil {
		t.Fatalf("replica A stopped answering when B died: %v", err)
	}
	// A takes over what B was provisioning (its heartbeat stops), without
	// waiting for B to come back.
	resumed := waitResumed(t, db, creating, killedAt)
	t.Logf("the %d instances CREATING at B's SIGKILL all moved on %v after it (default step timeout, heartbeat every %v, dead after %v)",
		len(creating), resumed.Round(10*time.Millisecond), provision.DefaultHeartbeatInterval, provision.DefaultDeadAfter)
	after := waitUntil(t, a.client(), 3*time.Minute, "every instance is RUNNING or CREATE_FAILED on A alone", allSettled(ids))
	t.Logf("settled %v after B's SIGKILL, on A alone: %v", time.Since(killedAt).Round(10*time.Millisecond), summarize(after))
	b = startProcess(t, "replica B (restarted)", dirB, dsn, flags...)
	if _, err := statuses(b.client()); err != nil {
		t.Fatalf("restarted replica B does not answer: %v", err)
	}
	a.stop()
	b.stop()
	verifyFleet(t, dirA, dsn, ids, "FRA-A", "S8I", failing)
}

// identicalAcross sends one signed CreateInstances to first and, once it is
// answered, the identical bytes to second, and checks that they are two
// purchases; it returns the instances of both.
func identicalAcross(t *testing.T, first, second *httpapi.Client) []string {
	t.Helper()
	ctx := context.Background()
	body, _ := json.Marshal(map[string]any{"zoneId": "SEL-A", "instanceTypeId": "S8I", "instanceChargeType": "PREPAID",
		"instanceChargePrepaid": map[string]any{"period": 1}, "internetChargeType": "ByBandwidth", "amount": 2})
	req, err := first.SignedRequest(ctx, "CreateInstances", body)
	if err != nil {
		t.Fatal(err)
	}
	send := func(endpoint string) (out struct {
		InstanceIDSet []string `json:"instanceIdSet"`
		OrderNumber   string   `json:"orderNumber"`
	}) {
		r := req.Clone(ctx)
		r.Body, _ = req.GetBody()
		// Behind a load balancer the Host header, which is signed, stays
		// the balancer's; only the replica behind it changes.
		r.URL.Host = endpoint
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
		}
		var env struct{ Response json.RawMessage }
		json.Unmarshal(raw, &env)
		json.Unmarshal(env.Response, &out)
		return out
	}
	one := send(hostOf(t, first.Endpoint))
	two := send(hostOf(t, second.Endpoint))
	if one.OrderNumber == "" || two.OrderNumber == "" || one.OrderNumber == two.OrderNumber {
		t.Fatalf("the other replica answered %+v, the first %+v; want two purchases", two, one)
	}
	return append(one.InstanceIDSet, two.InstanceIDSet...)
}

func hostOf(t *testing.T, endpoint string) string {
	t.Helper()
	req, err := http.NewRequest("GET", endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req.URL.Host
}

// creatingAt returns the instances in CREATING now: those of the killed
// replica among them stay where they are until the survivor takes them over.
func creatingAt(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM instances WHERE status = 'CREATING'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// waitResumed waits until every instance of ids has recorded an event
// since the kill or left CREATING, and returns how long after the kill
// that was: the failover time of the killed replica's provisions.
func waitResumed(t *testing.T, db *sql.DB, ids []string, killedAt time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var stuck int
		err := db.QueryRow(`SELECT COUNT(*) FROM instances i WHERE i.id = ANY($1) AND i.status = 'CREATING'
			AND NOT EXISTS (SELECT 1 FROM instance_events e WHERE e.instance_id = i.id AND e.at_ms > $2)`, ids, killedAt.UnixMilli()).Scan(&stuck)
		if err != nil {
			t.Fatal(err)
		}
		if stuck == 0 {
			return time.Since(killedAt)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d instances CREATING at the kill never moved on", stuck, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
