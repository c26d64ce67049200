package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/metrics"
)

// TestJobQueueGauges buys instances on a server without workers and finds
// their jobs waiting in the queue, with the age of the oldest, on both
// databases (River keeps timestamps differently on each).
func TestJobQueueGauges(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		m := metrics.New(env.DB, env.App.Catalog)
		if err := env.BMC().Call(context.Background(), "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "amount": 3,
			"instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		fams, err := m.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var jobs, age float64 = -1, -1
		for _, f := range fams {
			for _, s := range f.GetMetric() {
				if len(s.GetLabel()) != 1 || s.GetLabel()[0].GetValue() != "available" {
					continue
				}
				switch f.GetName() {
				case "metalplane_jobs":
					jobs = s.GetGauge().GetValue()
				case "metalplane_job_oldest_age_seconds":
					age = s.GetGauge().GetValue()
				}
			}
		}
		if jobs != 3 {
			t.Errorf("metalplane_jobs{state=available} = %v, want 3", jobs)
		}
		if age <= 0 || age > 60 {
			t.Errorf("metalplane_job_oldest_age_seconds{state=available} = %v, want a few milliseconds", age)
		}
	}, apitest.Options{NoWorkers: true})
}
