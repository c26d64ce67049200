package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// TestMetrics scrapes /metrics, on its own listener, before and after a
// purchase of two instances has been provisioned and one of a third has
// failed at an injected fault, and finds the counters and histograms of
// what happened moved: requests by action and code, purchases, instances
// bought, steps of the sim driver and the failed one, group-commit
// batches, hosts allocated, stock down by two. The scrape passes promlint and, when installed, promtool.
func TestMetrics(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		srv := startServe(t, nil, "--data-dir", t.TempDir(), "--database", dsn, "--metrics-listen", "127.0.0.1:0", "--sim-step-delay", "5ms")
		url := srv.app.MetricsURL()
		if url == "" || !strings.Contains(srv.stdout.String(), url) {
			t.Fatalf("metrics URL %q not in the banner:\n%s", url, srv.stdout)
		}
		before := scrape(t, url)
		// The API itself does not serve metrics: they stay private.
		if resp, err := http.Get(srv.app.URL() + "/metrics"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte("metalplane_")) {
				t.Error("the API listener serves the metrics")
			}
		}

		c := &httpapi.Client{Endpoint: srv.app.URL(), Service: "bmc", Version: httpapi.BMCVersion2026,
			AccessKeyID: srv.app.Credentials.ID, AccessKeySecret: srv.app.Credentials.Secret}
		ctx := context.Background()
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := c.Call(ctx, "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "amount": 2,
			"instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}, &created); err != nil {
			t.Fatal(err)
		}
		if err := c.Call(ctx, "DescribeInstances", map[string]any{"instanceIds": []string{"nosuch"}, "pageSize": 0}, nil); err == nil {
			t.Fatal("DescribeInstances with pageSize 0 succeeded")
		}
		// A provision that fails at the raid step.
		if err := srv.app.DB.InjectFault(ctx, sqlstore.Fault{ZoneID: "FRA-A", InstanceTypeID: "M6C", Step: "raid", Remaining: 1}); err != nil {
			t.Fatal(err)
		}
		var failing struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := c.Call(ctx, "CreateInstances", map[string]any{"zoneId": "FRA-A", "instanceTypeId": "M6C",
			"instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}, &failing); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, c, time.Minute, "two instances run and one fails", func(m map[string]string) bool {
			return m[created.InstanceIDSet[0]] == "RUNNING" && m[created.InstanceIDSet[1]] == "RUNNING" && m[failing.InstanceIDSet[0]] == "CREATE_FAILED"
		})
		// The gauges read from the database are cached for a second.
		time.Sleep(1100 * time.Millisecond)
		after := scrape(t, url)

		got := func(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
			return metricValue(fams, name, labels)
		}
		moved := []struct {
			name   string
			labels map[string]string
			delta  float64
		}{
			{"metalplane_api_requests_total", map[string]string{"action": "CreateInstances", "code": "", "version": httpapi.BMCVersion2026}, 2},
			{"metalplane_api_requests_total", map[string]string{"action": "DescribeInstances", "code": "INVALID_PARAMETER"}, 1},
			{"metalplane_api_request_duration_seconds", map[string]string{"action": "CreateInstances"}, 2},
			{"metalplane_purchases_total", nil, 2},
			{"metalplane_instances_bought_total", nil, 3},
			{"metalplane_provision_step_failures_total", map[string]string{"driver": "sim", "step": "raid"}, 1},
			{"metalplane_provision_step_failures_total", map[string]string{"driver": "sim", "step": "install_os"}, 0},
			{"metalplane_provision_step_duration_seconds", map[string]string{"driver": "sim", "step": "install_os"}, 2},
			{"metalplane_provision_step_duration_seconds", map[string]string{"driver": "sim", "step": "power_on"}, 2},
			{"metalplane_hosts", map[string]string{"zone": "SEL-A", "instance_type": "M6C", "state": "allocated"}, 2},
			{"metalplane_stock_hosts", map[string]string{"zone": "SEL-A", "instance_type": "M6C"}, -2},
		}
		if srv.app.DB.Dialect == sqlstore.SQLite {
			// Purchases are group-committed on SQLite only.
			moved = append(moved, struct {
				name   string
				labels map[string]string
				delta  float64
			}{"metalplane_groupcommit_batch_size", nil, 2})
		}
		for _, m := range moved {
			if d := got(after, m.name, m.labels) - got(before, m.name, m.labels); d != m.delta {
				t.Errorf("%s%v moved by %v, want %v", m.name, m.labels, d, m.delta)
			}
		}
		for _, name := range []string{"metalplane_fleet_read_errors", "go_sql_max_open_connections", "go_goroutines", "process_resident_memory_bytes"} {
			if _, ok := after[name]; !ok {
				t.Errorf("no %s in the scrape", name)
			}
		}
		if v := got(after, "metalplane_fleet_read_errors", nil); v != 0 {
			t.Errorf("metalplane_fleet_read_errors = %v, want 0", v)
		}
	})
}

// scrape gets /metrics, checks it with promlint (and promtool when
// installed), and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "metalplane_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// metricValue sums the value (counter, gauge) or sample count (histogram)
// of the series of a family whose labels include labels; a label given as
// "" matches a series without it or with it empty.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	fam, ok := fams[name]
	if !ok {
		return 0
	}
	sum := 0.0
series:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}
