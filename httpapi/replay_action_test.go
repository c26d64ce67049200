package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
)

// The SDK does not sign X-ZC-Action: StopInstances and StartInstances with
// the same body at the same second carry the same signature. They are two
// requests, each with its own stored answer for identical retries.
func TestReplayIsPerAction(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		var created createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", minimalCreate(), &created); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, created.InstanceIDSet, "RUNNING")
		// From here every request is signed at the same second.
		env.Clock.Set(time.Now().Truncate(time.Second))
		body := map[string]any{"instanceIds": created.InstanceIDSet}
		if err := env.BMC().Call(ctx, "StopInstances", body, nil); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, created.InstanceIDSet, "STOPPED")
		// Same signature, another action: it must run, not replay Stop.
		if err := env.BMC().Call(ctx, "StartInstances", body, nil); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, created.InstanceIDSet, "RUNNING")
		// Identical retries of either answer their own stored success and
		// change nothing.
		for _, action := range []string{"StartInstances", "StopInstances"} {
			if err := env.BMC().Call(ctx, action, body, nil); err != nil {
				t.Fatalf("retry of %s: %v", action, err)
			}
		}
		// A retry run again would have changed the status before answering.
		var out describeResponse
		if err := env.BMC().Call(ctx, "DescribeInstances", body, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.DataSet) != 1 || out.DataSet[0]["instanceStatus"] != "RUNNING" {
			t.Fatalf("after the retries: %v", out.DataSet)
		}
	})
}
