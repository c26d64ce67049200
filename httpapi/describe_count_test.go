package httpapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// TestDescribeInstancesCountsWhileFolding checks DescribeInstances'
// totalCount per status against the instances it lists, while purchases,
// provisioning, stops and terminations change the counts and PostgreSQL's
// count differences are folded as fast as the database allows (the server
// folds every second; here the folds race every change).
func TestDescribeInstancesCountsWhileFolding(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		bmc := env.BMC()
		stopFolding := make(chan struct{})
		var folds sync.WaitGroup
		folds.Add(1)
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				close(stopFolding)
				folds.Wait()
			}
		}
		defer stop()
		go func() {
			defer folds.Done()
			for {
				select {
				case <-stopFolding:
					return
				default:
				}
				if err := env.DB.FoldInstanceCounts(ctx); err != nil {
					t.Errorf("fold: %v", err)
					return
				}
			}
		}()

		var ids []string
		var buying sync.WaitGroup
		var mu sync.Mutex
		for range 4 {
			buying.Add(1)
			go func() {
				defer buying.Done()
				req := minimalCreate()
				req["amount"] = 5
				var out createResponse
				if err := bmc.Call(ctx, "CreateInstances", req, &out); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, out.InstanceIDSet...)
				mu.Unlock()
			}()
		}
		buying.Wait()
		if t.Failed() {
			return
		}
		checkCountsPerStatus(t, env, len(ids))
		waitStatus(t, env, ids, "RUNNING")
		checkCountsPerStatus(t, env, len(ids))

		if err := bmc.Call(ctx, "StopInstances", map[string]any{"instanceIds": ids[:6]}, nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[6:9] {
			if err := bmc.Call(ctx, "TerminateInstance", map[string]any{"instanceId": id}, nil); err != nil {
				t.Fatal(err)
			}
		}
		checkCountsPerStatus(t, env, len(ids))
		waitStatus(t, env, ids[:6], "STOPPED")
		checkCountsPerStatus(t, env, len(ids))

		stop()
		if env.DB.Dialect != sqlstore.Postgres {
			return
		}
		// What the folds are for: once folded, a count is one row per
		// key, however many changes came before.
		if err := env.DB.FoldInstanceCounts(ctx); err != nil {
			t.Fatal(err)
		}
		var rows, keys, unfolded int
		if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT folded) FROM instance_count_deltas`).Scan(&rows, &unfolded); err != nil {
			t.Fatal(err)
		}
		if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_counts`).Scan(&keys); err != nil {
			t.Fatal(err)
		}
		if unfolded != 0 || rows != keys {
			t.Fatalf("after a fold: %d count rows (%d not folded) for %d keys", rows, unfolded, keys)
		}
		checkCountsPerStatus(t, env, len(ids))
	})
}

// checkCountsPerStatus lists the team's instances and checks that
// DescribeInstances filtered by zone and each status counts exactly the
// instances listed with that status, and that the whole list has the
// expected length.
func checkCountsPerStatus(t *testing.T, env *apitest.Env, want int) {
	t.Helper()
	ctx := context.Background()
	// While provisioning moves instances on, a count and a listing taken
	// a moment apart can disagree (as they could with a COUNT(*)), so
	// they are retried until they see the same fleet; once the fleet is
	// settled they must agree.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var all describeResponse
		if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"pageSize": 100}, &all); err != nil {
			t.Fatal(err)
		}
		if all.TotalCount != want || len(all.DataSet) != want {
			t.Fatalf("unfiltered: totalCount %d, %d listed, want %d", all.TotalCount, len(all.DataSet), want)
		}
		perStatus := map[string]int{}
		for _, in := range all.DataSet {
			perStatus[in["instanceStatus"].(string)]++
		}
		agree := true
		for status, n := range perStatus {
			var out describeResponse
			if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"zoneId": "SEL-A", "instanceStatus": status, "pageSize": 100}, &out); err != nil {
				t.Fatal(err)
			}
			agree = agree && out.TotalCount == n && len(out.DataSet) == n
			if !agree && time.Now().After(deadline) {
				t.Fatalf("status %s: totalCount %d and %d listed, the whole list has %d", status, out.TotalCount, len(out.DataSet), n)
			}
		}
		if agree {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
