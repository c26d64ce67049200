package metrics_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/metrics"
	"github.com/metalplane/metalplane/internal/testdb"
)

// TestFleetReadingCached: scrapes within maxAge reuse one reading of the
// database, however the fleet changed meanwhile; a reading older than
// maxAge is taken again.
func TestFleetReadingCached(t *testing.T) {
	env := apitest.Start(t, testdb.SQLiteDSN(t), apitest.Options{NoWorkers: true})
	cached := metrics.NewFleetCollector(env.DB, env.App.Catalog, 1<<62)
	fresh := metrics.NewFleetCollector(env.DB, env.App.Catalog, 0)
	stock := func(c prometheus.Collector) float64 {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "metalplane_stock_hosts" {
				continue
			}
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["zone"] == "SEL-A" && labels["instance_type"] == "M6C" {
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatal("no stock of SEL-A M6C")
		return 0
	}
	before := stock(cached)
	if got := stock(fresh); got != before {
		t.Fatalf("fresh reading %v, cached %v, before any change", got, before)
	}
	if err := env.DB.SetHostMaintenance(context.Background(), "SEL-A-M6C-0001", true, "test"); err != nil {
		t.Fatal(err)
	}
	if got := stock(cached); got != before {
		t.Errorf("a scrape within maxAge read the database again: stock %v, want the cached %v", got, before)
	}
	if got := stock(fresh); got != before-1 {
		t.Errorf("a scrape after maxAge: stock %v, want %v", got, before-1)
	}
}
