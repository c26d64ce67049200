package httpapi_test

import (
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
