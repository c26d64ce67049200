package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// fleetCollector reads the gauges that live in the database: hosts by
// zone, type and state, stock per offer and the provisioning job queue. A
// reading is reused for maxAge, so that scrapes in quick succession (or
// several Prometheus servers) cost the database at most two small GROUP
// BY queries per maxAge.
type fleetCollector struct {
	db     *sqlstore.DB
	offers []metalplane.Offer
	maxAge time.Duration

	hosts, stock, jobs, jobAge, scrapeErrors *prometheus.Desc

	mu      sync.Mutex
	readAt  time.Time
	reading fleetReading
}

type fleetReading struct {
	hosts []sqlstore.HostCount
	jobs  []sqlstore.JobQueueStat
	err   error
}

func newFleetCollector(db *sqlstore.DB, cat *metalplane.Catalog, maxAge time.Duration) *fleetCollector {
	return &fleetCollector{
		db: db, offers: cat.Offers, maxAge: maxAge,
		hosts: prometheus.NewDesc("metalplane_hosts", "Physical hosts by zone, instance type and state (available, allocated, maintenance, retired).",
			[]string{"zone", "instance_type", "state"}, nil),
		stock: prometheus.NewDesc("metalplane_stock_hosts", "Hosts that can be bought now (available), per offer of the catalog.",
			[]string{"zone", "instance_type"}, nil),
		jobs: prometheus.NewDesc("metalplane_jobs", "Unfinished provisioning and lifecycle jobs in the River queue, by state.",
			[]string{"state"}, nil),
		jobAge: prometheus.NewDesc("metalplane_job_oldest_age_seconds", "How long the oldest unfinished job of each state has been due (for available: waiting for a worker).",
			[]string{"state"}, nil),
		scrapeErrors: prometheus.NewDesc("metalplane_fleet_read_errors", "1 when the last reading of hosts and jobs from the database failed (the other fleet gauges are then absent).",
			nil, nil),
	}
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hosts, c.stock, c.jobs, c.jobAge, c.scrapeErrors} {
		ch <- d
	}
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	r, now := c.read()
	failed := 0.0
	if r.err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.GaugeValue, failed)
	if r.err != nil {
		return
	}
	available := map[[2]string]int{}
	for _, h := range r.hosts {
		ch <- prometheus.MustNewConstMetric(c.hosts, prometheus.GaugeValue, float64(h.Count), h.ZoneID, h.InstanceTypeID, h.State)
		if h.State == sqlstore.HostAvailable {
			available[[2]string{h.ZoneID, h.InstanceTypeID}] = h.Count
		}
	}
	// Every offer, sold out included: a zero is what an alert looks for.
	for _, o := range c.offers {
		ch <- prometheus.MustNewConstMetric(c.stock, prometheus.GaugeValue, float64(available[[2]string{o.ZoneID, o.InstanceTypeID}]), o.ZoneID, o.InstanceTypeID)
	}
	for _, j := range r.jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(j.Count), j.State)
		age := 0.0
		if !j.OldestDue.IsZero() && now.After(j.OldestDue) {
			age = now.Sub(j.OldestDue).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.jobAge, prometheus.GaugeValue, age, j.State)
	}
}

// read returns the cached reading, reading again when it is older than
// maxAge. Concurrent scrapes wait for one reading rather than each making
// their own.
func (c *fleetCollector) read() (fleetReading, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < c.maxAge {
		return c.reading, now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r fleetReading
	r.hosts, r.err = c.db.HostCounts(ctx)
	if r.err == nil {
		r.jobs, r.err = c.db.JobQueueStats(ctx)
	}
	c.reading, c.readAt = r, now
	return r, now
}
