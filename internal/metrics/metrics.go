// Package metrics exposes metalplane in the Prometheus text format: the
// API's requests, purchases, provisioning steps and group-commit batches
// are counted as they happen (through the Observe/Purchased hooks the
// server, the provisioner and the store call); the fleet (hosts, stock,
// job queue) is read from the database when scraped, at most once a
// second however often or by how many scrapers (fleet.go). docs/operations.md
// lists every metric and what to alert on.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Metrics is the registry of one server and the hooks that feed it.
type Metrics struct {
	registry *prometheus.Registry

	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	purchases     prometheus.Counter
	bought        prometheus.Counter
	stepDurations *prometheus.HistogramVec
	stepFailures  *prometheus.CounterVec
	batchSizes    prometheus.Histogram
}

// New registers every metric of the server of db and catalog cat.
func New(db *sqlstore.DB, cat *metalplane.Catalog) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metalplane_api_requests_total",
		Help: "API requests answered, by service, action, version and error code (\"\" for success).",
	}, []string{"service", "action", "version", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "metalplane_api_request_duration_seconds",
		Help: "Time from the arrival of an API request's headers to its answer, by service and action.",
		// From a cached read (~1 ms) to a purchase waiting on a busy
		// database.
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"service", "action"})
	m.purchases = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "metalplane_purchases_total",
		Help: "CreateInstances calls that bought instances (orders placed).",
	})
	m.bought = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "metalplane_instances_bought_total",
		Help: "Instances bought by CreateInstances.",
	})
	m.stepDurations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "metalplane_provision_step_duration_seconds",
		Help: "Time one driver call of a provisioning or reinstall step took, failed ones included, by driver and step.",
		// The simulator takes milliseconds to seconds; a real server's
		// OS install takes many minutes.
		Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800},
	}, []string{"driver", "step"})
	m.stepFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metalplane_provision_step_failures_total",
		Help: "Driver calls of provisioning or reinstall steps that failed (each is retried or fails the instance), by driver and step.",
	}, []string{"driver", "step"})
	m.batchSizes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "metalplane_groupcommit_batch_size",
		Help:    "Purchases committed together by one transaction of the SQLite group committer.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	m.registry.MustRegister(m.requests, m.latency, m.purchases, m.bought, m.stepDurations, m.stepFailures, m.batchSizes,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newFleetCollector(db, cat, time.Second),
	)
	for name, pool := range db.Pools() {
		m.registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		Registry: m.registry,
		// One scrape at a time is plenty and bounds what scrapers can
		// make the server do.
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
	})
}

// Gatherer returns the registry, for tests that read metrics directly.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// ObserveRequest is httpapi.Server.ObserveRequestFunc.
func (m *Metrics) ObserveRequest(service, action, version string, code metalplane.Code, took time.Duration) {
	m.requests.WithLabelValues(service, action, version, string(code)).Inc()
	m.latency.WithLabelValues(service, action).Observe(took.Seconds())
}

// Purchased is httpapi.Server.PurchasedFunc.
func (m *Metrics) Purchased(instances int) {
	m.purchases.Inc()
	m.bought.Add(float64(instances))
}

// ObserveStep is provision.Config.ObserveStepFunc.
func (m *Metrics) ObserveStep(driver, step string, took time.Duration, err error) {
	m.stepDurations.WithLabelValues(driver, step).Observe(took.Seconds())
	if err != nil && !isCancellation(err) {
		m.stepFailures.WithLabelValues(driver, step).Inc()
	}
}

// isCancellation tells a step cut short by a shutdown from one that
// failed: only the latter is a fault worth alerting on.
func isCancellation(err error) bool {
	return errors.Is(err, context.Canceled)
}

// ObserveBatch is sqlstore.DB.ObserveBatchFunc.
func (m *Metrics) ObserveBatch(size int) { m.batchSizes.Observe(float64(size)) }
