package httpapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// A purchase tells the workers of its job; they do not wait for their
// poll (provision/listen.go on PostgreSQL, provision/wake.go on SQLite).
// These servers poll once an hour, after one look at start, so an
// instance bought later reaches RUNNING only if a notification woke a
// worker.
const pollNever = time.Hour

func TestPurchaseWakesTheWorkers(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		// The second purchase comes when the workers are idle again:
		// each one has to wake them.
		for range 2 {
			id := createIDs(t, env, c, prepaidM6C(), 1)[0]
			waitForStatus(t, env, c, id, "RUNNING")
		}
	}, apitest.Options{JobPollInterval: pollNever})
}

func TestPurchaseOnOneReplicaWakesTheWorkersOfAnother(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	api := apitest.Start(t, dsn, apitest.Options{NoWorkers: true})
	apitest.Start(t, dsn, apitest.Options{SecretKeyFile: api.SecretKeyFile, JobPollInterval: pollNever})
	c := api.BMC()
	id := createIDs(t, api, c, prepaidM6C(), 1)[0]
	waitForStatus(t, api, c, id, "RUNNING")
}

// TestWorkersListenAgainAfterTheConnectionDrops cuts the listener's
// connection (as a database restart or a proxy would) and checks that
// River opens a new one and purchases wake the workers again, on a server
// that otherwise polls once an hour.
func TestWorkersListenAgainAfterTheConnectionDrops(t *testing.T) {
	env := apitest.Start(t, testdb.PostgresDSN(t), apitest.Options{JobPollInterval: pollNever})
	ctx := context.Background()
	listeners := func() []int {
		t.Helper()
		rows, err := env.DB.SQL.QueryContext(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var pids []int
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		return pids
	}
	// awaitListener waits for a listening connection none of old.
	awaitListener := func(old []int) []int {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			now := listeners()
			for _, pid := range now {
				if !slices.Contains(old, pid) {
					return now
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no listening connection besides %v after 60 s", old)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	cut := awaitListener(nil)
	for _, pid := range cut {
		if _, err := env.DB.SQL.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	awaitListener(cut)
	c := env.BMC()
	id := createIDs(t, env, c, prepaidM6C(), 1)[0]
	waitForStatus(t, env, c, id, "RUNNING")
}
