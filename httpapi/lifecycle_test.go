package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// Helpers shared by the lifecycle tests.

// createIDs buys instances and returns their IDs.
func createIDs(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any, amount int) []string {
	t.Helper()
	body := map[string]any{}
	for k, v := range req {
		body[k] = v
	}
	body["amount"] = amount
	var out createResponse
	if err := tickCall(t, env, c, "CreateInstances", body, &out); err != nil {
		t.Fatalf("CreateInstances: %v", err)
	}
	if len(out.InstanceIDSet) != amount {
		t.Fatalf("got %d instance IDs, want %d", len(out.InstanceIDSet), amount)
	}
	return out.InstanceIDSet
}

// describeInstance returns the instance as DescribeInstances shows it, or
// nil when it is not listed.
func describeInstance(t *testing.T, c *httpapi.Client, id string) map[string]any {
	t.Helper()
	var out describeResponse
	if err := c.Call(context.Background(), "DescribeInstances", map[string]any{"instanceIds": []string{id}}, &out); err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	switch len(out.DataSet) {
	case 0:
		return nil
	case 1:
		return out.DataSet[0]
	}
	t.Fatalf("DescribeInstances %s: got %d instances", id, len(out.DataSet))
	return nil
}

func statusOf(t *testing.T, c *httpapi.Client, id string) string {
	t.Helper()
	d := describeInstance(t, c, id)
	if d == nil {
		t.Fatalf("instance %s is not listed", id)
	}
	return d["instanceStatus"].(string)
}

// waitForStatus polls until the instance has the status (not a timed
// assertion: the deadline only bounds a hung test).
func waitForStatus(t *testing.T, env *apitest.Env, c *httpapi.Client, id, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d := describeInstance(t, c, id)
		if d != nil && d["instanceStatus"] == want {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s: got %v after 60 s, want %s", id, d["instanceStatus"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func injectFault(t *testing.T, env *apitest.Env, step string, mode sqlstore.FaultMode, n int) {
	t.Helper()
	if err := env.DB.InjectFault(context.Background(), sqlstore.Fault{Step: step, Mode: mode, Remaining: n}); err != nil {
		t.Fatal(err)
	}
}

func ids(id ...string) map[string]any { return map[string]any{"instanceIds": id} }
func one(id string) map[string]any    { return map[string]any{"instanceId": id} }

func prepaidM6C() map[string]any {
	return prepaidWith(map[string]any{})
}

// lifecycleAction is one column of the refusal matrix with a request.
type lifecycleAction struct {
	name string
	req  func(id string) map[string]any
}

// The spec's table (ACTIONS.md §1.3), written out again here rather than
// read from the code under test: "" is allowed, anything else the suffix
// of OPERATION_DENIED_INSTANCE_.
var specMatrix = map[string]map[string]string{
	"PENDING":        {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReinstallInstance": "CREATING", "TerminateInstance": "CREATING", "ReleaseInstances": "NOT_RECYCLED", "RenewInstance": "CREATING"},
	"CREATING":       {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReinstallInstance": "CREATING", "TerminateInstance": "CREATING", "ReleaseInstances": "NOT_RECYCLED", "RenewInstance": "CREATING"},
	"CREATE_FAILED":  {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReinstallInstance": "STATUS", "ReleaseInstances": "NOT_RECYCLED", "RenewInstance": "STATUS"},
	"INSTALLING":     {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReinstallInstance": "STATUS_INSTALLING", "TerminateInstance": "STATUS_INSTALLING", "ReleaseInstances": "NOT_RECYCLED"},
	"INSTALL_FAILED": {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReleaseInstances": "NOT_RECYCLED"},
	"RUNNING":        {"StartInstances": "NOT_STOPPED", "ReleaseInstances": "NOT_RECYCLED"},
	"STOPPED":        {"StopInstances": "NOT_RUNNING", "ReleaseInstances": "NOT_RECYCLED"},
	"BOOTING":        {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReinstallInstance": "STATUS", "ReleaseInstances": "NOT_RECYCLED"},
	"STOPPING":       {"StartInstances": "NOT_STOPPED", "StopInstances": "NOT_RUNNING", "RebootInstances": "STATUS", "ReinstallInstance": "STATUS", "ReleaseInstances": "NOT_RECYCLED"},
	"RECYCLE":        {"StartInstances": "RECYCLED", "StopInstances": "RECYCLED", "RebootInstances": "RECYCLED", "ReinstallInstance": "RECYCLED", "TerminateInstance": "RECYCLED", "RenewInstance": "RECYCLED"},
}

// TestLifecycleRefusalMatrix tries every action of ACTIONS.md §1.3 on an
// instance in every state: a refused action answers its code and changes
// nothing; an allowed one makes the transition of §1.2. The instances are
// brought into their states with workers running, then the workers are
// stopped so that the transitional states (PENDING, CREATING, BOOTING,
// STOPPING, INSTALLING) hold still while they are probed.
func TestLifecycleRefusalMatrix(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "matrix")
		if err != nil {
			t.Fatal(err)
		}
		actions := []lifecycleAction{
			{"StartInstances", func(id string) map[string]any { return ids(id) }},
			{"StopInstances", func(id string) map[string]any { return ids(id) }},
			{"RebootInstances", func(id string) map[string]any { return ids(id) }},
			{"ReinstallInstance", one},
			{"TerminateInstance", one},
			{"ReleaseInstances", func(id string) map[string]any { return ids(id) }},
			{"RenewInstance", one},
			{"ModifyInstancesAttribute", func(id string) map[string]any {
				return map[string]any{"instanceIds": []string{id}, "instanceName": "renamed"}
			}},
			{"ModifyInstancesResourceGroup", func(id string) map[string]any {
				return map[string]any{"instanceIds": []string{id}, "resourceGroupId": group.ID}
			}},
		}
		// Phase 1, workers running: stable states.
		pool := map[string][]string{}
		running := createIDs(t, env, c, prepaidM6C(), 13)
		recycled := createIDs(t, env, c, minimalCreate(), 2)
		for _, id := range append(append([]string{}, running...), recycled...) {
			waitForStatus(t, env, c, id, "RUNNING")
		}
		pool["RUNNING"] = running[0:4]
		toStop, toStopping, toInstalling, toInstallFailed := running[4:9], running[9:10], running[10:11], running[11:13]
		if err := tickCall(t, env, c, "StopInstances", ids(toStop...), nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range toStop {
			waitForStatus(t, env, c, id, "STOPPED")
		}
		pool["STOPPED"] = toStop[0:4]
		toBooting := toStop[4:5]
		for _, id := range recycled {
			if err := tickCall(t, env, c, "TerminateInstance", one(id), nil); err != nil {
				t.Fatal(err)
			}
		}
		pool["RECYCLE"] = recycled
		injectFault(t, env, "install_os", sqlstore.FaultFail, 2)
		for _, id := range toInstallFailed {
			if err := tickCall(t, env, c, "ReinstallInstance", one(id), nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range toInstallFailed {
			waitForStatus(t, env, c, id, "INSTALL_FAILED")
		}
		pool["INSTALL_FAILED"] = toInstallFailed
		injectFault(t, env, "install_os", sqlstore.FaultFail, 2)
		pool["CREATE_FAILED"] = createIDs(t, env, c, prepaidM6C(), 2)
		for _, id := range pool["CREATE_FAILED"] {
			waitForStatus(t, env, c, id, "CREATE_FAILED")
		}
		// CREATING: the provision hangs at its first step until the
		// workers are stopped, which cancels it for good.
		injectFault(t, env, "power_off", sqlstore.FaultHang, 1)
		pool["CREATING"] = createIDs(t, env, c, prepaidM6C(), 1)
		waitForStatus(t, env, c, pool["CREATING"][0], "CREATING")
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := env.App.Provisioner.StopAndCancel(stopCtx); err != nil {
			t.Fatal(err)
		}

		// Phase 2, no workers: transitional states hold.
		pool["PENDING"] = createIDs(t, env, c, prepaidM6C(), 1)
		for _, step := range []struct {
			action, id, state string
			req               map[string]any
		}{
			{"StartInstances", toBooting[0], "BOOTING", ids(toBooting[0])},
			{"StopInstances", toStopping[0], "STOPPING", ids(toStopping[0])},
			{"ReinstallInstance", toInstalling[0], "INSTALLING", one(toInstalling[0])},
		} {
			if err := tickCall(t, env, c, step.action, step.req, nil); err != nil {
				t.Fatalf("%s: %v", step.action, err)
			}
			pool[step.state] = []string{step.id}
		}
		for state, list := range pool {
			if got := statusOf(t, c, list[0]); got != state {
				t.Fatalf("setup: instance %s is %s, want %s", list[0], got, state)
			}
		}

		for _, state := range []string{"PENDING", "CREATING", "CREATE_FAILED", "INSTALLING", "INSTALL_FAILED", "RUNNING", "STOPPED", "BOOTING", "STOPPING", "RECYCLE"} {
			shared := pool[state][0]
			fresh := pool[state][1:]
			for _, a := range actions {
				t.Run(state+"/"+a.name, func(t *testing.T) {
					want := specMatrix[state][a.name]
					id := shared
					if want == "" && consumes(state, a.name) {
						if len(fresh) == 0 {
							t.Fatalf("no fresh %s instance left for %s", state, a.name)
						}
						id, fresh = fresh[0], fresh[1:]
					}
					before := describeInstance(t, c, id)
					err := tickCall(t, env, c, a.name, a.req(id), nil)
					after := describeInstance(t, c, id)
					if want != "" {
						apitest.ExpectCode(t, err, metalplane.Code("OPERATION_DENIED_INSTANCE_"+want))
						if !reflect.DeepEqual(before, after) {
							t.Fatalf("refused %s changed the instance:\nbefore %v\nafter  %v", a.name, before, after)
						}
						return
					}
					if err != nil {
						t.Fatalf("got %v, want success", err)
					}
					checkAllowed(t, state, a.name, group.ID, before, after)
				})
			}
		}
	})
}

// consumes reports whether an allowed action moves the instance out of
// state, so the matrix test spends a fresh instance on it.
func consumes(state, action string) bool {
	switch action {
	case "StartInstances", "StopInstances", "RebootInstances", "ReinstallInstance", "ReleaseInstances":
		return true
	case "TerminateInstance":
		// PREPAID instances keep their state; CREATE_FAILED ones vanish.
		return state == "CREATE_FAILED"
	}
	return false
}

// checkAllowed checks the immediate effect of an allowed action (§1.2).
func checkAllowed(t *testing.T, state, action, groupID string, before, after map[string]any) {
	t.Helper()
	status := func() string {
		if after == nil {
			t.Fatalf("%s on %s: instance vanished", action, state)
		}
		return after["instanceStatus"].(string)
	}
	switch action {
	case "StartInstances", "RebootInstances":
		if got := status(); got != "BOOTING" {
			t.Fatalf("got %s, want BOOTING", got)
		}
	case "StopInstances":
		if got := status(); got != "STOPPING" {
			t.Fatalf("got %s, want STOPPING", got)
		}
	case "ReinstallInstance":
		if got := status(); got != "INSTALLING" {
			t.Fatalf("got %s, want INSTALLING", got)
		}
	case "ReleaseInstances":
		if after != nil {
			t.Fatalf("released instance still listed: %v", after)
		}
	case "TerminateInstance":
		if state == "CREATE_FAILED" {
			if after != nil {
				t.Fatalf("terminated CREATE_FAILED instance still listed: %v", after)
			}
			return
		}
		// PREPAID: the subscription is cancelled, nothing else changes.
		if got := status(); got != state || after["autoRenew"] != false {
			t.Fatalf("got status %s autoRenew %v, want %s and false", got, after["autoRenew"], state)
		}
	case "RenewInstance":
		if got := status(); got != state {
			t.Fatalf("got %s, want %s", got, state)
		}
		b, a := before["expiredTime"], after["expiredTime"]
		if b == nil || a == nil || a.(string) <= b.(string) {
			t.Fatalf("expiredTime %v → %v, want it extended", b, a)
		}
	case "ModifyInstancesAttribute":
		if status() != state || after["instanceName"] != "renamed" {
			t.Fatalf("got %v %v, want %s renamed", after["instanceStatus"], after["instanceName"], state)
		}
	case "ModifyInstancesResourceGroup":
		if status() != state || after["resourceGroupId"] != groupID {
			t.Fatalf("got %v %v, want %s in %s", after["instanceStatus"], after["resourceGroupId"], state, groupID)
		}
	default:
		t.Fatalf("no check for %s", action)
	}
}

// lifecyclePowerCycle stops, starts and reboots an instance through
// the workers on both API versions, and checks the recorded events.
func lifecyclePowerCycle(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	for _, c := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
		id := createIDs(t, env, c, minimalCreate(), 1)[0]
		waitForStatus(t, env, c, id, "RUNNING")
		for _, s := range []struct{ action, then string }{
			{"StopInstances", "STOPPED"}, {"RebootInstances", "RUNNING"}, {"StopInstances", "STOPPED"},
			{"StartInstances", "RUNNING"}, {"RebootInstances", "RUNNING"},
		} {
			if err := tickCall(t, env, c, s.action, ids(id), nil); err != nil {
				t.Fatalf("%s %s: %v", c.Version, s.action, err)
			}
			waitForStatus(t, env, c, id, s.then)
		}
		events, err := env.DB.InstanceEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for _, e := range events {
			if e.At.IsZero() {
				t.Errorf("event %+v has no time", e)
			}
			switch {
			case e.Kind == "step" && e.Driver == "sim" && (e.Step == "power_on" || e.Step == "power_off"):
				trail = append(trail, e.Step)
			case e.Kind == "status" && strings.Contains(e.Detail, "→"):
				trail = append(trail, e.Detail)
			}
		}
		got := strings.Join(trail, " | ")
		// After provisioning: stop, reboot from STOPPED (power on
		// only), stop, start, reboot from RUNNING (off, then on).
		want := "RUNNING → STOPPING (StopInstances) | power_off | STOPPING → STOPPED | " +
			"STOPPED → BOOTING (RebootInstances) | power_on | BOOTING → RUNNING | " +
			"RUNNING → STOPPING (StopInstances) | power_off | STOPPING → STOPPED | " +
			"STOPPED → BOOTING (StartInstances) | power_on | BOOTING → RUNNING | " +
			"RUNNING → BOOTING (RebootInstances) | power_off | power_on | BOOTING → RUNNING"
		if !strings.HasSuffix(got, want) {
			t.Errorf("%s events:\ngot  %s\nwant …%s", c.Version, got, want)
		}
	}
}

// lifecyclePowerFailure: a power-on that fails for good leaves the
// instance in the stable state matching its power (STOPPED).
func lifecyclePowerFailure(t *testing.T, env *apitest.Env) {
	c := env.BMC()
	id := createIDs(t, env, c, minimalCreate(), 1)[0]
	waitForStatus(t, env, c, id, "RUNNING")
	if err := tickCall(t, env, c, "StopInstances", ids(id), nil); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, env, c, id, "STOPPED")
	injectFault(t, env, "power_on", sqlstore.FaultFail, 1)
	if err := tickCall(t, env, c, "StartInstances", ids(id), nil); err != nil {
		t.Fatal(err)
	}
	waitForFailedEvent(t, env, id)
	if got := statusOf(t, c, id); got != "STOPPED" {
		t.Fatalf("got %s after a failed start, want STOPPED", got)
	}
}

func waitForFailedEvent(t *testing.T, env *apitest.Env, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		events, err := env.DB.InstanceEvents(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if strings.Contains(e.Detail, "failed") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failure recorded after 60 s: %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lifecycleBatchAllOrNothing: one refused or unknown instance in a
// batch refuses the whole batch, and no instance changes.
func lifecycleBatchAllOrNothing(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC()
	list := createIDs(t, env, c, minimalCreate(), 3)
	for _, id := range list {
		waitForStatus(t, env, c, id, "RUNNING")
	}
	stopped := list[2]
	if err := tickCall(t, env, c, "StopInstances", ids(stopped), nil); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, env, c, stopped, "STOPPED")
	_, otherKey := env.NewTeam(t, "other")
	other := env.ClientWithKey("bmc", httpapi.BMCVersion2026, otherKey)
	foreign := createIDs(t, env, other, minimalCreate(), 1)[0]
	waitForStatus(t, env, other, foreign, "RUNNING")

	snapshot := func() map[string]any {
		out := map[string]any{}
		for _, id := range list {
			out[id] = describeInstance(t, c, id)
			events, err := env.DB.InstanceEvents(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id+"/events"] = len(events)
		}
		return out
	}
	before := snapshot()
	for _, tc := range []struct {
		name   string
		action string
		req    map[string]any
		code   metalplane.Code
	}{
		{"stop with a stopped one", "StopInstances", ids(list[0], stopped, list[1]), "OPERATION_DENIED_INSTANCE_NOT_RUNNING"},
		{"reboot with an unknown one", "RebootInstances", ids(list[0], "000000000000000000"), "INVALID_INSTANCE_NOT_FOUND"},
		{"unknown wins over a refusal later", "StartInstances", ids(list[0], stopped, "000000000000000000"), "INVALID_INSTANCE_NOT_FOUND"},
		{"another team's instance", "StopInstances", ids(list[0], foreign), "INVALID_INSTANCE_NOT_FOUND"},
		{"release running ones", "ReleaseInstances", ids(list[0], list[1]), "OPERATION_DENIED_INSTANCE_NOT_RECYCLED"},
		{"rename with an unknown one", "ModifyInstancesAttribute", map[string]any{"instanceIds": []string{list[0], "000000000000000000"}, "instanceName": "x"}, "INVALID_INSTANCE_NOT_FOUND"},
		{"group unknown, instance of another team", "ModifyInstancesResourceGroup", map[string]any{"instanceIds": []string{list[0], foreign}, "resourceGroupId": env.Team.ID}, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
		{"no ids", "StopInstances", ids(), "MISSING_PARAMETER"},
		{"101 ids", "StopInstances", map[string]any{"instanceIds": make([]string, 101)}, "INVALID_PARAMETER"},
		{"terminate another team's", "TerminateInstance", one(foreign), "INVALID_INSTANCE_NOT_FOUND"},
		{"renew without id", "RenewInstance", map[string]any{}, "MISSING_PARAMETER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apitest.ExpectCode(t, tickCall(t, env, c, tc.action, tc.req, nil), tc.code)
			if after := snapshot(); !reflect.DeepEqual(before, after) {
				t.Fatalf("refused batch changed instances:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	if got := statusOf(t, other, foreign); got != "RUNNING" {
		t.Fatalf("the other team's instance is %s, want RUNNING", got)
	}
	// The whole batch changes once every instance allows it.
	if err := tickCall(t, env, c, "StopInstances", ids(list[0], list[1], list[0]), nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range list[:2] {
		waitForStatus(t, env, c, id, "STOPPED")
	}
}

// lifecycleReinstall reinstalls with every OS option and checks the
// result, on both versions (sshKeys only exist in 2022-11-20).
func lifecycleReinstall(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC()
	keyID := importKeyPair(t, env.CCS(), "reinstall")
	id := createIDs(t, env, c, minimalCreate(), 1)[0]
	before := waitForStatus(t, env, c, id, "RUNNING")
	req := map[string]any{"instanceId": id, "imageId": demoImageCentOS79, "hostname": "db-1.example", "keyId": keyID,
		"raidConfig": map[string]any{"raidType": 1}, "partitions": []any{part("/", "ext4", 100), part("/data", "ext4", 200)},
		"nic": map[string]any{"wanName": "pub0", "lanName": "priv0"}, "userData": "#!/bin/sh\necho hi\n"}
	if err := tickCall(t, env, c, "ReinstallInstance", req, nil); err != nil {
		t.Fatal(err)
	}
	// Terraform polls right after: INSTALLING must already show.
	if got := statusOf(t, c, id); got != "INSTALLING" && got != "RUNNING" {
		t.Fatalf("got %s right after ReinstallInstance, want INSTALLING", got)
	}
	after := waitForStatus(t, env, c, id, "RUNNING")
	for field, want := range map[string]any{
		"imageId": demoImageCentOS79, "imageName": "CentOS7.9-x86_64", "hostname": "db-1.example", "keyId": keyID,
		"raidConfig": map[string]any{"raidType": 1}, "partitions": []any{part("/", "ext4", 100), part("/data", "ext4", 200)},
		"nic": map[string]any{"wanName": "pub0", "lanName": "priv0"},
		// Names, addresses and billing do not change.
		"instanceName": before["instanceName"], "primaryPublicIpAddress": before["primaryPublicIpAddress"],
		"instanceChargeType": before["instanceChargeType"],
	} {
		if got := after[field]; !reflect.DeepEqual(asJSON(t, got), asJSON(t, want)) {
			t.Errorf("%s: got %v, want %v", field, got, want)
		}
	}
	if _, ok := after["userData"]; ok {
		t.Errorf("DescribeInstances returned userData")
	}
	events, _ := env.DB.InstanceEvents(ctx, id)
	var steps []string
	seenReinstall := false
	for _, e := range events {
		if strings.Contains(e.Detail, "(ReinstallInstance)") {
			seenReinstall = true
		}
		if seenReinstall && e.Kind == "step" {
			steps = append(steps, e.Step)
		}
	}
	if got, want := strings.Join(steps, ","), "power_off,boot_pxe,raid,install_os,power_on"; got != want {
		t.Errorf("reinstall steps: got %s, want %s", got, want)
	}

	// Without imageId the current image is installed again; with
	// the 2022 version sshKeys are accepted.
	c22 := env.BMC2022()
	if err := tickCall(t, env, c22, "ReinstallInstance", map[string]any{"instanceId": id, "sshKeys": []string{newAuthorizedKey(t, "a@b")}}, nil); err != nil {
		t.Fatal(err)
	}
	again := waitForStatus(t, env, c22, id, "RUNNING")
	if again["imageId"] != demoImageCentOS79 || again["hostname"] != "hostname" || again["keyId"] != nil || again["raidConfig"] != nil {
		t.Errorf("got image %v hostname %v keyId %v raid %v, want the same image and create defaults", again["imageId"], again["hostname"], again["keyId"], again["raidConfig"])
	}

	// A failed installation ends INSTALL_FAILED, from where a new
	// reinstall is allowed.
	injectFault(t, env, "install_os", sqlstore.FaultFail, 1)
	if err := tickCall(t, env, c, "ReinstallInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, env, c, id, "INSTALL_FAILED")
	if err := tickCall(t, env, c, "ReinstallInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, env, c, id, "RUNNING")
}

// lifecycleReinstallValidation: ReinstallInstance answers the
// CreateInstances codes for the same mistakes, and a refused request
// changes nothing.
func lifecycleReinstallValidation(t *testing.T, env *apitest.Env) {
	c := env.BMC()
	id := createIDs(t, env, c, prepaidWith(map[string]any{"imageId": demoImageCentOS79}), 1)[0]
	waitForStatus(t, env, c, id, "RUNNING")
	_, otherKey := env.NewTeam(t, "other")
	foreignKey := importKeyPair(t, env.ClientWithKey("ccs", httpapi.CCSVersion, otherKey), "foreign")
	with := func(extra map[string]any) map[string]any {
		req := map[string]any{"instanceId": id}
		for k, v := range extra {
			req[k] = v
		}
		return req
	}
	keyA := newAuthorizedKey(t, "a@x")
	cases := []struct {
		name  string
		v2022 bool
		req   map[string]any
		code  metalplane.Code
	}{
		{"no instanceId", false, map[string]any{"imageId": demoImageCentOS79}, "MISSING_PARAMETER"},
		{"unknown instance", false, map[string]any{"instanceId": "000000000000000000"}, "INVALID_INSTANCE_NOT_FOUND"},
		{"image not found", false, with(map[string]any{"imageId": "00000000-0000-4000-8000-000000000000"}), "INVALID_IMAGE_NOT_FOUND"},
		{"image and ipxe", false, with(map[string]any{"imageId": demoImageCentOS79, "ipxeUrl": "https://boot.example.com/x.ipxe"}), "INVALID_PARAMETER"},
		{"password and keyId", false, with(map[string]any{"password": "Example~123", "keyId": "key-AbCd1234"}), "INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT"},
		{"password and sshKeys on 2022", true, with(map[string]any{"password": "Example~123", "sshKeys": []string{keyA}}), "INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT"},
		{"bad password", false, with(map[string]any{"password": "short"}), "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED"},
		{"bad ssh key on 2022", true, with(map[string]any{"sshKeys": []string{"rsa AAAAnot-a-key"}}), "INVALID_PARAMETER_SSH_KEY_MALFORMED"},
		{"duplicate ssh key on 2022", true, with(map[string]any{"sshKeys": []string{keyA, keyA}}), "INVALID_PARAMETER_SSH_KEY_DUPLICATE"},
		{"another team's key pair", false, with(map[string]any{"keyId": foreignKey}), "INVALID_KEY_PAIR_NOT_FOUND"},
		{"hostname with a pattern", false, with(map[string]any{"hostname": "web[1,2]"}), "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"hostname with a space", false, with(map[string]any{"hostname": "web server"}), "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"hostname 65 characters", false, with(map[string]any{"hostname": strings.Repeat("h", 65)}), "INVALID_PARAMETER_HOSTNAME_EXCEED"},
		{"quick and custom raid", false, with(map[string]any{"raidConfig": map[string]any{"raidType": 1, "customRaids": []any{customRaid(1, 1, 2)}}}), "INVALID_RAID_CONFIG_FAST_CUSTOM_CONFLICT"},
		{"raid level not supported", false, with(map[string]any{"raidConfig": map[string]any{"raidType": 5}}), "INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT"},
		{"raid 1 on one disk", false, with(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 1)}}}), "INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH"},
		{"raid disks descending", false, with(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 2, 1)}}}), "INVALID_PARAMETER_VALUE_RAID_DISK_DISORDER"},
		{"raid disk out of range", false, with(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 2, 3)}}}), "INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_RANGE"},
		{"partitions with ipxe", false, with(map[string]any{"ipxeUrl": "https://boot.example.com/x.ipxe", "partitions": []any{part("/", "ext4", 100)}}), "INVALID_PARTITION_IMAGE_NOT_SET"},
		{"partition path relative", false, with(map[string]any{"partitions": []any{part("boot", "ext4", 10)}}), "INVALID_PARTITION_MALFORMED"},
		{"partition xfs", false, with(map[string]any{"partitions": []any{part("/", "xfs", 100)}}), "INVALID_PARTITION_NO_TYPE"},
		{"linux without root", false, with(map[string]any{"partitions": []any{part("/data", "ext4", 100)}}), "INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH"},
		{"partition path twice", false, with(map[string]any{"partitions": []any{part("/", "ext4", 100), part("/d", "ext4", 10), part("/d", "ext4", 10)}}), "INVALID_PARTITION_DUPLICATE_FILE_PATH"},
		{"windows letters out of order", false, with(map[string]any{"imageId": demoImageWin2022, "partitions": []any{part("C", "NTFS", 100), part("E", "NTFS", 100)}}), "INVALID_PARTITION_INVALID_ORDER"},
		{"partitions too large", false, with(map[string]any{"partitions": []any{part("/", "ext4", 1000), part("/data", "ext4", 1000)}}), "INVALID_PARTITION_SIZE_NOT_FULL"},
		{"nic names equal", false, with(map[string]any{"nic": map[string]any{"wanName": "net0", "lanName": "net0"}}), "INVALID_PARAMETER_NIC_NAME_CONFLICT"},
		{"nic name too short", false, with(map[string]any{"nic": map[string]any{"wanName": "w0"}}), "INVALID_PARAMETER_NIC_NAME_MALFORMED"},
		{"userData too large", false, with(map[string]any{"userData": strings.Repeat("x", metalplane.MaxUserDataBytes+1)}), "INVALID_PARAMETER"},
		{"hostname wrong type", false, with(map[string]any{"hostname": 5}), "INVALID_PARAMETER"},
		// Order: image before login before hostname before RAID.
		{"image before login", false, with(map[string]any{"imageId": "nope", "password": "short"}), "INVALID_IMAGE_NOT_FOUND"},
		{"login before hostname", false, with(map[string]any{"password": "short", "hostname": "a b"}), "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED"},
		{"hostname before raid", false, with(map[string]any{"hostname": "a b", "raidConfig": map[string]any{"raidType": 5}}), "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{"raid before nic", false, with(map[string]any{"raidConfig": map[string]any{"raidType": 5}, "nic": map[string]any{"wanName": "w0"}}), "INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT"},
	}
	before := describeInstance(t, c, id)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := c
			if tc.v2022 {
				client = env.BMC2022()
			}
			apitest.ExpectCode(t, tickCall(t, env, client, "ReinstallInstance", tc.req, nil), tc.code)
			if after := describeInstance(t, c, id); !reflect.DeepEqual(before, after) {
				t.Fatalf("refused reinstall changed the instance:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// sshKeys are not a field of 2026-02-01: ignored there.
	if err := tickCall(t, env, c, "ReinstallInstance", with(map[string]any{"password": "Example~123", "sshKeys": []string{"garbage"}}), nil); err != nil {
		t.Fatalf("2026-02-01 with sshKeys: %v", err)
	}
	waitForStatus(t, env, c, id, "RUNNING")
}

// heldResources returns how many public addresses an instance holds and
// the state of its host, as the inventory sees them.
func heldResources(t *testing.T, env *apitest.Env, instanceID, hostID string) (addresses int, hostState string) {
	t.Helper()
	ctx := context.Background()
	if err := env.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM public_ips WHERE instance_id = $1`, instanceID).Scan(&addresses); err != nil {
		t.Fatal(err)
	}
	hosts, err := env.DB.FindHosts(ctx, sqlstore.HostFilter{ZoneID: "SEL-A", InstanceTypeID: "M6C"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.ID == hostID {
			if h.State == sqlstore.HostAllocated && h.InstanceID != instanceID {
				t.Fatalf("host %s is allocated to %s, not %s", h.ID, h.InstanceID, instanceID)
			}
			return addresses, h.State
		}
	}
	t.Fatalf("host %s not found", hostID)
	return 0, ""
}

// lifecycleTerminateAndRelease: a POSTPAID instance is in RECYCLE as
// soon as TerminateInstance answers, powered off by its job, and keeps
// its host and addresses until ReleaseInstances returns them all.
func lifecycleTerminateAndRelease(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC2022() // Terraform's version
	subnetID := createSubnet(t, c, "SEL-A", "192.168.7.0/24")
	subnetBefore := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{subnetID}}).DataSet[0]
	stockBefore := stockSnapshot(t, c)["SEL-A/M6C"]
	id := createIDs(t, env, c, postpaidWith(map[string]any{"subnetId": subnetID}), 1)[0]
	waitForStatus(t, env, c, id, "RUNNING")
	inst, err := env.DB.FindInstanceByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, state := heldResources(t, env, id, inst.HostID); n != 2 || state != sqlstore.HostAllocated {
		t.Fatalf("running instance holds %d addresses, host %s; want 2, allocated", n, state)
	}

	if err := tickCall(t, env, c, "TerminateInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(t, c, id); got != "RECYCLE" {
		t.Fatalf("got %s right after TerminateInstance, want RECYCLE", got)
	}
	apitest.ExpectCode(t, tickCall(t, env, c, "TerminateInstance", one(id), nil), "OPERATION_DENIED_INSTANCE_RECYCLED")
	waitForEvent(t, env, id, func(e sqlstore.Event) bool { return e.Kind == "step" && e.Step == "power_off" && e.Driver == "sim" })
	if n, state := heldResources(t, env, id, inst.HostID); n != 2 || state != sqlstore.HostAllocated {
		t.Fatalf("recycled instance holds %d addresses, host %s; want 2, allocated until released", n, state)
	}
	if got := stockSnapshot(t, c)["SEL-A/M6C"]; got != stockBefore-1 {
		t.Fatalf("stock %d in the recycle bin, want %d", got, stockBefore-1)
	}

	if err := tickCall(t, env, c, "ReleaseInstances", ids(id), nil); err != nil {
		t.Fatal(err)
	}
	if d := describeInstance(t, c, id); d != nil {
		t.Fatalf("released instance still listed: %v", d)
	}
	apitest.ExpectCode(t, tickCall(t, env, c, "ReleaseInstances", ids(id), nil), "INVALID_INSTANCE_NOT_FOUND")
	if n, state := heldResources(t, env, id, inst.HostID); n != 0 || state != sqlstore.HostAvailable {
		t.Fatalf("released instance holds %d addresses, host %s; want 0, available", n, state)
	}
	if got := stockSnapshot(t, c)["SEL-A/M6C"]; got != stockBefore {
		t.Fatalf("stock %d after release, want %d", got, stockBefore)
	}
	subnetAfter := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{subnetID}}).DataSet[0]
	if subnetAfter.AvailableIPCount != subnetBefore.AvailableIPCount || len(subnetAfter.SubnetInstanceSet) != 0 {
		t.Fatalf("subnet after release: %d free, members %v; want %d free, none", subnetAfter.AvailableIPCount, subnetAfter.SubnetInstanceSet, subnetBefore.AvailableIPCount)
	}
	kept, err := env.DB.FindInstanceByID(ctx, id)
	if err != nil || kept.PublicIPv4 != inst.PublicIPv4 {
		t.Fatalf("released row not kept for history: %v %v", kept, err)
	}
	// The freed host, addresses and private IP can be bought again.
	again := createIDs(t, env, c, postpaidWith(map[string]any{"subnetId": subnetID}), 1)[0]
	waitForStatus(t, env, c, again, "RUNNING")
}

func waitForEvent(t *testing.T, env *apitest.Env, id string, match func(sqlstore.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		events, err := env.DB.InstanceEvents(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if match(e) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("event not recorded after 60 s: %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lifecycleTerminatePrepaid: a PREPAID instance keeps running with its
// subscription cancelled (Terraform expects success).
func lifecycleTerminatePrepaid(t *testing.T, env *apitest.Env) {
	c := env.BMC2022()
	id := createIDs(t, env, c, prepaidM6C(), 1)[0]
	before := waitForStatus(t, env, c, id, "RUNNING")
	if before["autoRenew"] != true {
		t.Fatalf("got autoRenew %v, want true", before["autoRenew"])
	}
	if err := tickCall(t, env, c, "TerminateInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	after := describeInstance(t, c, id)
	if after["instanceStatus"] != "RUNNING" || after["autoRenew"] != false || after["expiredTime"] != before["expiredTime"] {
		t.Fatalf("got %v autoRenew %v expires %v, want RUNNING, false, %v", after["instanceStatus"], after["autoRenew"], after["expiredTime"], before["expiredTime"])
	}
}

// lifecycleCreateFailedRefundOnce: the failed provision refunds the
// PREPAID charge; terminating the instance deletes it without a second
// refund.
func lifecycleCreateFailedRefundOnce(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC()
	balanceBefore, _ := teamMoney(t, env, env.Team.ID)
	injectFault(t, env, "install_os", sqlstore.FaultFail, 1)
	id := createIDs(t, env, c, prepaidM6C(), 1)[0]
	waitForStatus(t, env, c, id, "CREATE_FAILED")
	refunds := func() int {
		ledger, err := env.DB.Ledger(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ledger {
			if e.Kind == metalplane.LedgerRefund && e.InstanceID == id {
				n++
			}
		}
		return n
	}
	if n := refunds(); n != 1 {
		t.Fatalf("got %d refunds after the failure, want 1", n)
	}
	if err := tickCall(t, env, c, "TerminateInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	if d := describeInstance(t, c, id); d != nil {
		t.Fatalf("terminated CREATE_FAILED instance still listed: %v", d)
	}
	apitest.ExpectCode(t, tickCall(t, env, c, "TerminateInstance", one(id), nil), "INVALID_INSTANCE_NOT_FOUND")
	if n := refunds(); n != 1 {
		t.Fatalf("got %d refunds after terminate, want 1", n)
	}
	balance, sum := teamMoney(t, env, env.Team.ID)
	if balance != balanceBefore || sum != balance {
		t.Fatalf("balance %s (ledger %s), want %s: charge and refund must cancel out", balance, sum, balanceBefore)
	}
}

// lifecycleRenew: RenewInstance debits the period's price as a ledger
// row and extends expiredTime by the period; a short balance changes
// nothing; POSTPAID instances cannot be renewed.
func lifecycleRenew(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC()
	req := prepaidWith(map[string]any{"instanceChargePrepaid": map[string]any{"period": 2}})
	price := inquiryTotal(t, c, req)
	id := createIDs(t, env, c, req, 1)[0]
	before := waitForStatus(t, env, c, id, "RUNNING")
	balanceBefore, _ := teamMoney(t, env, env.Team.ID)
	if err := tickCall(t, env, c, "RenewInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	after := describeInstance(t, c, id)
	oldExp, _ := time.Parse(time.RFC3339, before["expiredTime"].(string))
	newExp, _ := time.Parse(time.RFC3339, after["expiredTime"].(string))
	if want := oldExp.AddDate(0, 2, 0); !newExp.Equal(want) {
		t.Fatalf("expiredTime %s → %s, want %s", oldExp, newExp, want)
	}
	if after["autoRenew"] != before["autoRenew"] || after["instanceStatus"] != "RUNNING" {
		t.Fatalf("renew changed autoRenew or status: %v", after)
	}
	balance, sum := teamMoney(t, env, env.Team.ID)
	if balance != balanceBefore-price || sum != balance {
		t.Fatalf("balance %s → %s (ledger %s), want a debit of %s", balanceBefore, balance, sum, price)
	}
	ledger, _ := env.DB.Ledger(ctx, env.Team.ID)
	last := ledger[len(ledger)-1]
	if last.Kind != metalplane.LedgerRenewal || last.Amount != -price || last.InstanceID != id {
		t.Fatalf("last ledger row %+v, want a renewal of -%s for %s", last, price, id)
	}

	// Balance short by one unit: refused, nothing written.
	setBalance(t, env, env.Team.ID, price-1)
	ledgerLen := len(mustLedger(t, env))
	apitest.ExpectCode(t, tickCall(t, env, c, "RenewInstance", one(id), nil), "OPERATION_DENIED_BALANCE_INSUFFICIENT")
	if got := describeInstance(t, c, id)["expiredTime"]; got != after["expiredTime"] {
		t.Fatalf("expiredTime changed to %v on a refused renewal", got)
	}
	if n := len(mustLedger(t, env)); n != ledgerLen {
		t.Fatalf("ledger grew from %d to %d rows on a refused renewal", ledgerLen, n)
	}
	// Exactly enough is enough.
	setBalance(t, env, env.Team.ID, price)
	if err := tickCall(t, env, c, "RenewInstance", one(id), nil); err != nil {
		t.Fatal(err)
	}
	if balance, _ := teamMoney(t, env, env.Team.ID); balance != 0 {
		t.Fatalf("balance %s, want 0", balance)
	}

	setBalance(t, env, env.Team.ID, 1000*metalplane.MoneyScale)
	post := createIDs(t, env, c, minimalCreate(), 1)[0]
	waitForStatus(t, env, c, post, "RUNNING")
	apitest.ExpectCode(t, tickCall(t, env, c, "RenewInstance", one(post), nil), "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT")
	apitest.ExpectCode(t, tickCall(t, env, c, "RenewInstance", one("000000000000000000"), nil), "INVALID_INSTANCE_NOT_FOUND")
}

func mustLedger(t *testing.T, env *apitest.Env) []metalplane.LedgerEntry {
	t.Helper()
	l, err := env.DB.Ledger(context.Background(), env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// lifecycleModify renames instances and moves them between resource
// groups, with the documented refusals.
func lifecycleModify(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC2022()
	list := createIDs(t, env, c, minimalCreate(), 2)
	names := func() []any {
		var out []any
		for _, id := range list {
			d := describeInstance(t, c, id)
			out = append(out, d["instanceName"], d["resourceGroupId"], d["resourceGroupName"])
		}
		return out
	}
	before := names()
	for _, tc := range []struct {
		name string
		req  map[string]any
		code metalplane.Code
	}{
		{"pattern", map[string]any{"instanceIds": list, "instanceName": "web[1,2]"}, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"65 characters", map[string]any{"instanceIds": list, "instanceName": strings.Repeat("n", 65)}, "INVALID_PARAMETER_INSTANCE_NAME_EXCEED"},
		{"missing name", map[string]any{"instanceIds": list}, "MISSING_PARAMETER"},
		{"unknown instance", map[string]any{"instanceIds": append([]string{"000000000000000000"}, list...), "instanceName": "ok"}, "INVALID_INSTANCE_NOT_FOUND"},
	} {
		t.Run("rename/"+tc.name, func(t *testing.T) {
			apitest.ExpectCode(t, tickCall(t, env, c, "ModifyInstancesAttribute", tc.req, nil), tc.code)
			if after := names(); !reflect.DeepEqual(after, before) {
				t.Fatalf("got %v, want %v unchanged", after, before)
			}
		})
	}
	if err := tickCall(t, env, c, "ModifyInstancesAttribute", map[string]any{"instanceIds": list, "instanceName": "db.prod-1"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range list {
		if got := describeInstance(t, c, id)["instanceName"]; got != "db.prod-1" {
			t.Fatalf("got name %v, want db.prod-1", got)
		}
	}

	group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "prod")
	if err != nil {
		t.Fatal(err)
	}
	otherTeam, otherKey := env.NewTeam(t, "other")
	otherGroup, err := env.DB.DefaultResourceGroup(ctx, otherTeam.ID)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := env.DB.CreateAccessKey(ctx, env.Team.ID, "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	foreign := createIDs(t, env, env.ClientWithKey("bmc", httpapi.BMCVersion2026, otherKey), minimalCreate(), 1)[0]
	before = names()
	for _, tc := range []struct {
		name   string
		client *httpapi.Client
		req    map[string]any
		code   metalplane.Code
	}{
		{"unknown group", c, map[string]any{"instanceIds": list, "resourceGroupId": "rg-nothere"}, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
		{"another team's group", c, map[string]any{"instanceIds": list, "resourceGroupId": otherGroup.ID}, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
		{"unknown instance", c, map[string]any{"instanceIds": append(append([]string{}, list...), "000000000000000000"), "resourceGroupId": group.ID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
		{"another team's instance", c, map[string]any{"instanceIds": []string{list[0], foreign}, "resourceGroupId": group.ID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
		{"missing group", c, map[string]any{"instanceIds": list}, "MISSING_PARAMETER"},
		{"not an administrator", env.ClientWithKey("bmc", httpapi.BMCVersion2022, reader), map[string]any{"instanceIds": list, "resourceGroupId": group.ID}, "UNAUTHORIZED_OPERATION"},
	} {
		t.Run("group/"+tc.name, func(t *testing.T) {
			apitest.ExpectCode(t, tickCall(t, env, tc.client, "ModifyInstancesResourceGroup", tc.req, nil), tc.code)
			if after := names(); !reflect.DeepEqual(after, before) {
				t.Fatalf("got %v, want %v unchanged", after, before)
			}
		})
	}
	if err := tickCall(t, env, c, "ModifyInstancesResourceGroup", map[string]any{"instanceIds": list, "resourceGroupId": group.ID}, nil); err != nil {
		t.Fatal(err)
	}
	var out describeResponse
	if err := c.Call(ctx, "DescribeInstances", map[string]any{"resourceGroupId": group.ID}, &out); err != nil {
		t.Fatal(err)
	}
	if out.TotalCount != 2 || out.DataSet[0]["resourceGroupName"] != "prod" {
		t.Fatalf("group %s lists %d instances (%v), want both, named prod", group.ID, out.TotalCount, out.DataSet)
	}
}

// lifecycleIdenticalRetry: the lifecycle actions are mutating, so an
// identical signed retry (an SDK retry after a lost answer) gets the first
// answer instead of a refusal for the state the first call caused.
func lifecycleIdenticalRetry(t *testing.T, env *apitest.Env) {
	ctx := context.Background()
	c := env.BMC()
	id := createIDs(t, env, c, minimalCreate(), 1)[0]
	waitForStatus(t, env, c, id, "RUNNING")
	body, _ := json.Marshal(ids(id))
	req, err := c.SignedRequest(ctx, "StopInstances", body)
	if err != nil {
		t.Fatal(err)
	}
	send := func() int {
		r := req.Clone(ctx)
		r.Body, _ = req.GetBody()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := send(); got != http.StatusOK {
		t.Fatalf("first StopInstances: HTTP %d", got)
	}
	waitForStatus(t, env, c, id, "STOPPED")
	// The first answer was delivered: the same bytes again are a new
	// stop, refused in STOPPED (a lost answer's retry gets the first
	// answer: TestLostAnswerIsAnsweredToItsRetry).
	if got := send(); got != http.StatusForbidden {
		t.Fatalf("identical request after a delivered answer: HTTP %d, want 403 (a new stop, refused)", got)
	}
	apitest.ExpectCode(t, tickCall(t, env, c, "StopInstances", ids(id), nil), "OPERATION_DENIED_INSTANCE_NOT_RUNNING")
}

// The lifecycle tests share a server per database where they do not
// interfere (each buys its own instances), because booting one costs more
// than most of them; the groups run in parallel with each other.

func TestLifecyclePower(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		t.Run("PowerCycle", func(t *testing.T) { lifecyclePowerCycle(t, env) })
		t.Run("PowerFailure", func(t *testing.T) { lifecyclePowerFailure(t, env) })
		t.Run("BatchAllOrNothing", func(t *testing.T) { lifecycleBatchAllOrNothing(t, env) })
		t.Run("IdenticalRetry", func(t *testing.T) { lifecycleIdenticalRetry(t, env) })
	})
}

func TestLifecycleReinstall(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		t.Run("Reinstall", func(t *testing.T) { lifecycleReinstall(t, env) })
		t.Run("ReinstallValidation", func(t *testing.T) { lifecycleReinstallValidation(t, env) })
	})
}

func TestLifecycleTerminate(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		t.Run("TerminateAndRelease", func(t *testing.T) { lifecycleTerminateAndRelease(t, env) })
		t.Run("TerminatePrepaid", func(t *testing.T) { lifecycleTerminatePrepaid(t, env) })
		t.Run("CreateFailedRefundOnce", func(t *testing.T) { lifecycleCreateFailedRefundOnce(t, env) })
	})
}

func TestLifecycleMoneyAndNames(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		t.Run("Modify", func(t *testing.T) { lifecycleModify(t, env) })
		t.Run("Renew", func(t *testing.T) { lifecycleRenew(t, env) })
	})
}
