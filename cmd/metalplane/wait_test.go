package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/testdb"
)

// TestCallWait runs `metalplane call ... --wait` against a real server:
// a purchase of two instances is followed step by step (plain lines, as
// stderr is not a terminal) until both run; a purchase that an injected
// fault fails exits non-zero naming the failure; StopInstances and
// StartInstances are followed to STOPPED and RUNNING.
func TestCallWait(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		dataDir := t.TempDir()
		srv := startServe(t, nil, "--data-dir", dataDir, "--database", dsn, "--sim-step-delay", "150ms")
		call := []string{"call", "--endpoint", srv.app.URL(), "--data-dir", dataDir, "--wait", "--wait-interval", "20ms"}
		buy := `{"zoneId":"SEL-A","instanceTypeId":"M6C","amount":2,"instanceChargeType":"POSTPAID","internetChargeType":"ByBandwidth"}`

		r := run(t, nil, append(call, "CreateInstances", buy)...)
		if r.err != nil {
			t.Fatalf("call --wait CreateInstances: %v\nstderr:\n%s", r.err, r.stderr)
		}
		var created struct {
			Response struct {
				InstanceIDSet []string `json:"instanceIdSet"`
			} `json:"response"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || len(created.Response.InstanceIDSet) != 2 {
			t.Fatalf("stdout is not the purchase's answer (%v):\n%s", err, r.stdout)
		}
		for _, id := range created.Response.InstanceIDSet {
			// Step by step: the steps shown only go forward, and most of
			// the six are seen (150 ms each, polled every 20 ms). Two
			// step records may land in one write (provision/steprecords.go),
			// and on a loaded machine that write can come after the next
			// step ended, so no one step is required.
			if steps := creatingSteps(r.stderr, id); len(steps) < 3 || !slices.IsSorted(steps) {
				t.Errorf("%s: CREATING steps shown %v, want at least 3, in order:\n%s", id, steps, r.stderr)
			}
			if strings.Count(r.stderr, id+" RUNNING\n") != 1 {
				t.Errorf("%s RUNNING printed more than once (a line per change):\n%s", id, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "\x1b[") {
			t.Errorf("terminal escapes written to a file:\n%q", r.stderr)
		}

		mustRun(t, nil, "admin", "faults", "inject", "--data-dir", dataDir, "--database", dsn, "--step", "raid", "--zone", "SEL-A", "--type", "M6C", "--count", "1")
		r = run(t, nil, append(call, "CreateInstances", strings.Replace(buy, `"amount":2`, `"amount":1`, 1))...)
		if r.err == nil || !strings.Contains(r.err.Error(), "1 of 1 instances failed") || !strings.Contains(r.err.Error(), "CREATE_FAILED") {
			t.Errorf("a failed provision: got %v, want an error naming the CREATE_FAILED instance\nstderr:\n%s", r.err, r.stderr)
		}

		first := created.Response.InstanceIDSet[0]
		ids := `{"instanceIds":["` + first + `"]}`
		r = run(t, nil, append(call, "StopInstances", ids)...)
		if r.err != nil || !strings.Contains(r.stderr, first+" STOPPED\n") {
			t.Errorf("call --wait StopInstances: %v\nstderr:\n%s", r.err, r.stderr)
		}
		r = run(t, nil, append(call, "StartInstances", ids)...)
		if r.err != nil || !strings.Contains(r.stderr, first+" RUNNING\n") {
			t.Errorf("call --wait StartInstances: %v\nstderr:\n%s", r.err, r.stderr)
		}
		if r := run(t, nil, append(call, "DescribeZones")...); r.err == nil || !strings.Contains(r.err.Error(), "--wait follows") {
			t.Errorf("--wait on DescribeZones: got %v, want a refusal", r.err)
		}
	})
}

// creatingSteps returns the step numbers of id's "CREATING step N of 6"
// lines, in the order printed.
func creatingSteps(progress, id string) []int {
	var steps []int
	for _, line := range strings.Split(progress, "\n") {
		var n int
		if _, err := fmt.Sscanf(line, id+" CREATING step %d of 6", &n); err == nil {
			steps = append(steps, n)
		}
	}
	return steps
}

// TestProgressBars draws bars as on a terminal: redrawn in place, filled
// in proportion to the steps done, full once settled.
func TestProgressBars(t *testing.T) {
	var out strings.Builder
	v := &progressView{w: &out, bars: true}
	v.show([]httpapi.InstanceProgress{{InstanceID: "a", InstanceStatus: "CREATING", StepsDone: 3, TotalSteps: 6, CurrentStep: "install_os"}})
	v.show([]httpapi.InstanceProgress{{InstanceID: "a", InstanceStatus: "RUNNING", Settled: true}})
	want := "\r\x1b[2Ka " + strings.Repeat("█", 12) + strings.Repeat("░", 12) + " CREATING step 4 of 6 (install_os)\n" +
		"\x1b[1A\r\x1b[2Ka " + strings.Repeat("█", 24) + " RUNNING\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
