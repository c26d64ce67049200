package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// TestStepRecordsInBatches drives a provision's records by hand, as a job
// that records its steps late and together does (workers off): every
// step is recorded done once and in order, whatever batches the records
// came in and however they overlap, the finish records the steps still
// pending with RUNNING, and nothing is recorded once the provision ended.
func TestStepRecordsInBatches(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := env.BMC().Call(ctx, "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "amount": 1,
			"instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}, &created); err != nil {
			t.Fatal(err)
		}
		id := created.InstanceIDSet[0]
		db := env.DB
		target, done, err := db.BeginProvision(ctx, id, "test")
		if err != nil || done || target.Step != 0 {
			t.Fatalf("BeginProvision: %+v, done %t, %v; want step 0 of a provision to do", target, done, err)
		}
		names := []string{"one", "two", "three", "four", "five", "six"}
		step := func(n int) sqlstore.StepDone {
			return sqlstore.StepDone{N: n, Name: names[n-1], At: time.UnixMilli(1_800_000_000_000 + int64(n)*1000)}
		}
		record := func(want bool, steps ...sqlstore.StepDone) {
			t.Helper()
			if ok, err := db.CompleteSteps(ctx, id, steps, "test"); err != nil || ok != want {
				t.Fatalf("CompleteSteps(%v): %t, %v; want %t", steps, ok, err, want)
			}
		}
		record(true, step(1), step(2))
		record(true, step(2), step(3)) // step 2 again, as a job resumed before its record was known
		record(false, step(3))         // recorded already: the job is told to stop
		if again, done, err := db.BeginProvision(ctx, id, "test"); err != nil || done || again.Step != 3 {
			t.Fatalf("resumed BeginProvision: %+v, done %t, %v; want step 3 done", again, done, err)
		}
		if err := db.FinishProvision(ctx, id, "test", step(4), step(5), step(6)); err != nil {
			t.Fatal(err)
		}
		record(false, step(6))
		if err := db.FinishProvision(ctx, id, "test", step(6)); err != nil {
			t.Fatal(err)
		}

		in, err := db.FindInstance(ctx, env.Team.ID, id)
		if err != nil || in.Status != "RUNNING" {
			t.Fatalf("instance %+v, %v; want RUNNING", in, err)
		}
		events, err := db.InstanceEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			switch e.Kind {
			case "step":
				got = append(got, fmt.Sprintf("%s %s at %d", e.Step, e.Detail, e.At.Unix()))
			case "status", "resumed":
				got = append(got, e.Detail)
			}
		}
		want := []string{"PENDING → CREATING"}
		for n := 1; n <= 6; n++ {
			want = append(want, fmt.Sprintf("%s done at %d", names[n-1], step(n).At.Unix()))
			if n == 3 {
				want = append(want, "resuming after step 3")
			}
		}
		want = append(want, "CREATING → RUNNING")
		if !slices.Equal(got, want) {
			t.Errorf("events:\n got %q\nwant %q", got, want)
		}
	}, apitest.Options{NoWorkers: true})
}

// TestProvisionStartRecordedLate drives a provision whose start is
// recorded with its first steps, and one whose start is recorded with its
// finish, as a job with quick steps does (workers off): the instance stays
// PENDING until then, the start's event comes first with the time the
// job began, and a start is recorded once (a second finds the instance
// CREATING and is refused, as is a finish from PENDING of a CREATING
// instance).
func TestProvisionStartRecordedLate(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := env.BMC().Call(ctx, "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "amount": 2,
			"instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1}, "internetChargeType": "ByBandwidth"}, &created); err != nil {
			t.Fatal(err)
		}
		db := env.DB
		began := time.UnixMilli(1_800_000_000_000)
		names := []string{"one", "two", "three", "four", "five", "six"}
		step := func(n int) sqlstore.StepDone {
			return sqlstore.StepDone{N: n, Name: names[n-1], At: began.Add(time.Duration(n) * time.Second)}
		}
		status := func(id string) string {
			t.Helper()
			in, err := db.FindInstance(ctx, env.Team.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return string(in.Status)
		}
		events := func(id string) []string {
			t.Helper()
			evs, err := db.InstanceEvents(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				switch e.Kind {
				case "step":
					got = append(got, fmt.Sprintf("%s at %d", e.Step, e.At.Unix()))
				case "status", "resumed":
					got = append(got, fmt.Sprintf("%s at %d", e.Detail, e.At.Unix()))
				}
			}
			return got
		}

		// The start with the first steps, then the finish.
		withSteps := created.InstanceIDSet[0]
		host, target, err := db.ReadProvision(ctx, withSteps)
		if err != nil || target.Instance.Status != "PENDING" || target.Step != 0 || target.Password == "" {
			t.Fatalf("ReadProvision: %+v, %v; want a PENDING instance at step 0 with its password", target, err)
		}
		if host.ID != target.Instance.HostID || host.Driver != "sim" {
			t.Fatalf("ReadProvision: host %+v; want the instance's host %s, driver sim", host, target.Instance.HostID)
		}
		if got := status(withSteps); got != "PENDING" {
			t.Fatalf("status after the read %s; want PENDING (nothing written)", got)
		}
		if ok, err := db.CompleteSteps(ctx, withSteps, []sqlstore.StepDone{sqlstore.StartStep(began), step(1), step(2)}, "test"); err != nil || !ok {
			t.Fatalf("CompleteSteps with the start: %t, %v", ok, err)
		}
		if got := status(withSteps); got != "CREATING" {
			t.Fatalf("status after the start %s; want CREATING", got)
		}
		if ok, err := db.CompleteSteps(ctx, withSteps, []sqlstore.StepDone{sqlstore.StartStep(began), step(3)}, "test"); err != nil || ok {
			t.Fatalf("a second start: %t, %v; want refused", ok, err)
		}
		if err := db.FinishProvisionOf(ctx, target.Instance, "test", sqlstore.StartStep(began), step(3)); err != nil {
			t.Fatal(err)
		}
		if got := status(withSteps); got != "CREATING" {
			t.Fatalf("status after a finish from PENDING of a CREATING instance %s; want CREATING", got)
		}
		if err := db.FinishProvisionOf(ctx, target.Instance, "test", step(3), step(4), step(5), step(6)); err != nil {
			t.Fatal(err)
		}

		// The start with the finish: one write.
		atOnce := created.InstanceIDSet[1]
		_, target, err = db.ReadProvision(ctx, atOnce)
		if err != nil {
			t.Fatal(err)
		}
		all := []sqlstore.StepDone{sqlstore.StartStep(began)}
		for n := 1; n <= 6; n++ {
			all = append(all, step(n))
		}
		if err := db.FinishProvisionOf(ctx, target.Instance, "test", all...); err != nil {
			t.Fatal(err)
		}

		for _, id := range created.InstanceIDSet {
			in, err := db.FindInstance(ctx, env.Team.ID, id)
			if err != nil || in.Status != "RUNNING" || in.ExpiredTime.IsZero() {
				t.Fatalf("instance %+v, %v; want RUNNING with an expiry (PREPAID)", in, err)
			}
			got := events(id)
			want := []string{fmt.Sprintf("PENDING → CREATING at %d", began.Unix())}
			for n := 1; n <= 6; n++ {
				want = append(want, fmt.Sprintf("%s at %d", names[n-1], step(n).At.Unix()))
			}
			if len(got) != len(want)+1 || !slices.Equal(got[:len(want)], want) || !strings.HasPrefix(got[len(want)], "CREATING → RUNNING") {
				t.Errorf("events of %s:\n got %q\nwant %q, then CREATING → RUNNING", id, got, want)
			}
		}
		if _, _, err := db.ReadProvision(ctx, "nonexistent"); !errors.Is(err, sqlstore.ErrNotFound) {
			t.Errorf("ReadProvision of an unknown instance: %v; want ErrNotFound", err)
		}
	}, apitest.Options{NoWorkers: true})
}
