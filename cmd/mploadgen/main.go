// Command mploadgen loads a running metalplane with CreateInstances (or
// DescribeInstances, --action) and reports throughput, errors by code and
// latency:
//
//	go run ./cmd/mploadgen --endpoint http://127.0.0.1:8080 --data-dir ./metalplane-data \
//	    --duration 10s --concurrency 16 --amount 1 --zone SEL-A --type M6C
//
// Requests are signed as the Go SDK signs them, with the key in
// METALPLANE_ACCESS_KEY_ID and METALPLANE_ACCESS_KEY_SECRET, or else with
// the demo key `metalplane serve` wrote to <data-dir>/credentials. Every
// request names its instances differently: the server answers an identical
// signed request as a retry of the first, which would measure nothing.
//
// It buys real instances (POSTPAID, no IPv6 by default): point it at a
// server whose catalog and quota can take the load. To start one:
//
//	go run ./cmd/mploadgen --write-catalog bench.yaml --hosts 200000
//	go run ./cmd/metalplane serve --catalog bench.yaml
//	go run ./cmd/metalplane admin quota set --team demo --instances 200000
//
// With --slow-clients N it also measures what unauthenticated clients that
// hold request bodies cost: the callers run once alone, then beside N
// clients that declare a large body and trickle it, and with --server-pid
// the server's memory is read from /proc throughout:
//
//	go run ./cmd/mploadgen --endpoint http://127.0.0.1:8080 --data-dir ./metalplane-data \
//	    --duration 20s --concurrency 4 --rate 50 --slow-clients 400 --slow-source 127.0.0.2 \
//	    --server-pid $(pgrep -x metalplane)
//
// For the rows of issue 15 (scripts/perf-round3.sh runs them all):
// --endpoint takes a comma-separated list of replicas, --fill N buys N
// instances first, --until-running waits for the instances bought to be
// RUNNING, --await-healthz times a start-up and --noop-listen serves the
// no-op ceiling (signature check only).
//
// See docs/performance.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/benchcatalog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "mploadgen: %v\n", err)
		}
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	Endpoint string
	// Endpoints is Endpoint split at commas: replicas sent to in turn.
	Endpoints          []string
	DataDir            string
	Duration           time.Duration
	Requests           int
	Concurrency        int
	Amount             int
	Zone               string
	InstanceType       string
	ChargeType         string
	InternetChargeType string
	IPv6               bool
	NamePrefix         string
	Timeout            time.Duration
	// WriteCatalog, if set, is where to write a benchcatalog of Hosts
	// hosts instead of sending anything.
	WriteCatalog string
	Hosts        int
	// Rate paces the signed callers to this many requests per second in
	// all (0: as fast as they are answered).
	Rate float64
	// Slow clients (slow.go): with SlowClients > 0 the signed callers run
	// twice, alone and beside them.
	SlowClients   int
	SlowBody      int
	SlowHeaders   int
	SlowRate      int
	SlowSource    string
	SlowReconnect time.Duration
	SlowSettle    time.Duration
	// ServerPID is the `metalplane serve` process whose memory is read.
	ServerPID int
	// SlowOnly makes this process the slow clients of another mploadgen
	// (slow.go): it runs them until its standard input closes.
	SlowOnly bool
	// Action is the action sent, with Describe's page and filters
	// (actions.go).
	Action   string
	Describe describeFlags
	// Fill instances are bought before the run (fill.go).
	Fill int
	// UntilRunning waits for the instances bought to settle (running.go).
	UntilRunning   bool
	RunningTimeout time.Duration
	PollInterval   time.Duration
	// NoopListen makes this process the no-op server (noop.go).
	NoopListen string
	// AwaitHealthz makes this process time a start-up (healthz.go).
	AwaitHealthz  time.Duration
	SinceUnixNano int64
}

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("mploadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Endpoint, "endpoint", "http://127.0.0.1:8080", "server URL: scheme, host and port; a comma-separated list sends to each in turn (replicas)")
	fs.StringVar(&c.DataDir, "data-dir", "./metalplane-data", "data dir whose credentials file holds the key (without METALPLANE_ACCESS_KEY_ID/SECRET)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to send requests")
	fs.IntVar(&c.Requests, "requests", 0, "stop after this many requests (0: run for --duration)")
	fs.IntVar(&c.Concurrency, "concurrency", 16, "requests in flight at once")
	fs.IntVar(&c.Amount, "amount", 1, "instances per CreateInstances request (1-100)")
	fs.StringVar(&c.Zone, "zone", "SEL-A", "zoneId")
	fs.StringVar(&c.InstanceType, "type", "M6C", "instanceTypeId")
	fs.StringVar(&c.ChargeType, "charge-type", "POSTPAID", "instanceChargeType (PREPAID buys one month)")
	fs.StringVar(&c.InternetChargeType, "internet-charge-type", "ByBandwidth", "internetChargeType")
	fs.BoolVar(&c.IPv6, "ipv6", false, "ask for a primary IPv6 address (pools hold at most 4096 each)")
	fs.StringVar(&c.NamePrefix, "name-prefix", "", "instance name prefix (default: lg plus the start time, so runs differ)")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "time limit of one request")
	fs.StringVar(&c.WriteCatalog, "write-catalog", "", "write a benchmark catalog (--hosts M6C hosts in SEL-A) to this file and exit")
	fs.IntVar(&c.Hosts, "hosts", 100_000, "hosts of the --write-catalog catalog")
	fs.Float64Var(&c.Rate, "rate", 0, "requests per second of all callers together (0: each sends again as soon as answered)")
	fs.IntVar(&c.SlowClients, "slow-clients", 0, "unsigned clients that hold request bodies; the callers then run alone, then beside them")
	fs.IntVar(&c.SlowBody, "slow-body", 1<<20-1, "Content-Length the slow clients declare")
	fs.IntVar(&c.SlowHeaders, "slow-headers", 0, "instead of a body, the slow clients send this many bytes of headers at once and never end them")
	fs.IntVar(&c.SlowRate, "slow-rate", 1024, "body bytes per second each slow client sends")
	fs.StringVar(&c.SlowSource, "slow-source", "", "local IP address the slow clients connect from (e.g. 127.0.0.2, so that they are another source than the callers)")
	fs.DurationVar(&c.SlowReconnect, "slow-reconnect", 100*time.Millisecond, "pause of a slow client between a connection's end and the next")
	fs.DurationVar(&c.SlowSettle, "slow-settle", 3*time.Second, "time the slow clients run before the callers start beside them")
	fs.BoolVar(&c.SlowOnly, "slow-only", false, "run only the slow clients, until standard input closes (mploadgen starts itself so for --slow-clients)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "PID of the metalplane serve process, whose VmRSS is read from /proc (e.g. $(pgrep -x metalplane))")
	registerActionFlags(fs, &c)
	registerNoopFlags(fs, &c)
	registerHealthzFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	endpoints, err := parseEndpoints(c.Endpoint)
	if err != nil {
		return nil, err
	}
	c.Endpoints = endpoints
	if err := checkActionFlags(&c); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.Concurrency < 1:
		return nil, errors.New("--concurrency must be at least 1")
	case c.Amount < 1 || c.Amount > 100:
		return nil, errors.New("--amount must be between 1 and 100")
	case c.Requests < 0:
		return nil, errors.New("--requests must not be negative")
	case c.Requests == 0 && c.Duration <= 0:
		return nil, errors.New("--duration must be positive, or give --requests")
	case c.Rate < 0 || c.SlowClients < 0 || c.SlowBody < 0 || c.SlowHeaders < 0 || c.SlowRate < 1:
		return nil, errors.New("--rate, --slow-clients, --slow-body and --slow-headers must not be negative, --slow-rate must be positive")
	}
	if c.NamePrefix == "" {
		c.NamePrefix = "lg" + strconv.FormatInt(time.Now().Unix(), 36)
	}
	return &c, nil
}

// credentials returns the access key from the environment or the data
// dir's credentials file, in that order.
func credentials(getenv func(string) string, dataDir string) (id, secret string, err error) {
	id, secret = getenv("METALPLANE_ACCESS_KEY_ID"), getenv("METALPLANE_ACCESS_KEY_SECRET")
	if id != "" && secret != "" {
		return id, secret, nil
	}
	if id != "" || secret != "" {
		return "", "", errors.New("set both METALPLANE_ACCESS_KEY_ID and METALPLANE_ACCESS_KEY_SECRET, or neither")
	}
	path := filepath.Join(dataDir, app.CredentialsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("no access key in the environment, and %w", err)
	}
	var creds app.FileCredentials
	if err := json.Unmarshal(data, &creds); err != nil {
		return "", "", fmt.Errorf("read %s: %w", path, err)
	}
	if creds.AccessKeyID == "" || creds.AccessKeyPassword == "" {
		return "", "", fmt.Errorf("%s has no accessKeyId and accessKeyPassword", path)
	}
	return creds.AccessKeyID, creds.AccessKeyPassword, nil
}

// result is what one worker saw.
type result struct {
	latencies   []time.Duration
	ok          int
	errs        map[string]int
	instanceIDs []string
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	if c.WriteCatalog != "" {
		data, err := benchcatalog.YAML(c.Hosts)
		if err != nil {
			return err
		}
		return os.WriteFile(c.WriteCatalog, data, 0o644)
	}
	if c.SlowOnly {
		return runSlowOnly(ctx, c, stdout)
	}
	if c.AwaitHealthz > 0 {
		return awaitHealthz(ctx, c, stdout)
	}
	id, secret, err := credentials(getenv, c.DataDir)
	if err != nil {
		return err
	}
	if c.NoopListen != "" {
		return serveNoop(ctx, c.NoopListen, id, secret, stderr, nil)
	}
	clients, tr := newClients(c, id, secret)
	defer tr.CloseIdleConnections()

	if c.Action == actionDescribe {
		fmt.Fprintf(stderr, "mploadgen: DescribeInstances pageSize=%d pageNum=%d to %s, %d in flight\n",
			c.Describe.PageSize, c.Describe.PageNum, c.Endpoint, c.Concurrency)
	} else {
		fmt.Fprintf(stderr, "mploadgen: CreateInstances amount=%d %s/%s to %s, %d in flight, names %s-N\n",
			c.Amount, c.Zone, c.InstanceType, c.Endpoint, c.Concurrency, c.NamePrefix)
	}
	if c.Fill > 0 {
		if err := fill(ctx, c, clients, stdout); err != nil {
			return err
		}
	}
	var rss *rssSampler
	if c.ServerPID > 0 {
		rss = &rssSampler{pid: c.ServerPID}
		if _, _, err := readRSS(c.ServerPID); err != nil {
			return fmt.Errorf("--server-pid: %w", err)
		}
		sampleCtx, stopSampling := context.WithCancel(ctx)
		defer stopSampling()
		go rss.run(sampleCtx)
		time.Sleep(200 * time.Millisecond)
		peak, _ := rss.takePeak()
		fmt.Fprintf(stdout, "server RSS    %.1f MB before the run\n", mb(peak))
		rss.serverCPU, _ = cpuSeconds(c.ServerPID)
		rss.selfCPU, _ = cpuSeconds(os.Getpid())
	}
	var seq atomic.Int64
	if c.SlowClients == 0 {
		p := callers(ctx, c, clients, &seq)
		p.report(stdout, c)
		reportRSS(stdout, rss, "during the run")
		if c.UntilRunning {
			d, counts, err := untilRunning(ctx, c, clients, p.instanceIDs, p.start)
			if err != nil {
				return err
			}
			reportRunning(stdout, d, counts, len(p.instanceIDs))
		}
		return nil
	}

	fmt.Fprintln(stdout, "== signed callers alone")
	alone := callers(ctx, c, clients, &seq)
	alone.report(stdout, c)
	reportRSS(stdout, rss, "while the callers ran alone")

	slow, err := startSlowProcess(c, stderr)
	if err != nil {
		return err
	}
	defer slow.stop()
	sleep(ctx, c.SlowSettle)
	reportRSS(stdout, rss, "while the slow clients settled")
	fmt.Fprintf(stdout, "== signed callers beside %d slow clients\n", c.SlowClients)
	beside := callers(ctx, c, clients, &seq)
	beside.report(stdout, c)
	reportRSS(stdout, rss, "while the callers ran beside the slow clients")
	report, err := slow.stop()
	if err != nil {
		return fmt.Errorf("slow clients: %w", err)
	}
	stdout.Write(report)
	if len(alone.latencies) > 0 && len(beside.latencies) > 0 {
		fmt.Fprintf(stdout, "p99 beside / alone  %.2f\n", quantileMs(beside.latencies, 0.99)/quantileMs(alone.latencies, 0.99))
	}
	if rss != nil {
		if _, hwm, err := readRSS(c.ServerPID); err == nil {
			fmt.Fprintf(stdout, "server VmHWM  %.1f MB (the process's peak since it started)\n", mb(hwm))
		}
	}
	return nil
}

// phase is one run of the signed callers.
type phase struct {
	start     time.Time
	elapsed   time.Duration
	latencies []time.Duration // sorted
	ok        int
	errs      map[string]int
	// instanceIDs are the instances bought, for --until-running.
	instanceIDs []string
}

// callers runs c.Concurrency signed callers for c.Duration (or
// c.Requests requests), paced to c.Rate when set.
func callers(ctx context.Context, c *config, clients []*httpapi.Client, seq *atomic.Int64) phase {
	var budget atomic.Int64
	budget.Store(int64(c.Requests))
	if c.Requests == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	var pace <-chan time.Time
	if c.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / c.Rate))
		defer t.Stop()
		pace = t.C
	}
	results := make([]result, c.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range results {
		wg.Go(func() { results[w] = worker(ctx, c, clients, seq, &budget, pace) })
	}
	wg.Wait()
	p := phase{start: start, elapsed: time.Since(start), errs: map[string]int{}}
	for _, r := range results {
		p.latencies = append(p.latencies, r.latencies...)
		p.instanceIDs = append(p.instanceIDs, r.instanceIDs...)
		p.ok += r.ok
		for code, n := range r.errs {
			p.errs[code] += n
		}
	}
	slices.Sort(p.latencies)
	return p
}

func (p phase) report(w io.Writer, c *config) { report(w, c, p.elapsed, p.latencies, p.ok, p.errs) }

// reportRSS prints the server's peak memory since the last report, and the
// CPU time the server and this process used in that time.
func reportRSS(w io.Writer, rss *rssSampler, when string) {
	if rss == nil {
		return
	}
	peak, err := rss.takePeak()
	if err != nil {
		fmt.Fprintf(w, "server RSS    unreadable: %v\n", err)
		return
	}
	fmt.Fprintf(w, "server RSS    %.1f MB at most %s\n", mb(peak), when)
	server, _ := cpuSeconds(rss.pid)
	self, _ := cpuSeconds(os.Getpid())
	fmt.Fprintf(w, "CPU time      server %.1f s, mploadgen %.1f s\n", server-rss.serverCPU, self-rss.selfCPU)
	rss.serverCPU, rss.selfCPU = server, self
}

func mb(kib int64) float64 { return float64(kib) / 1024 }

// worker sends requests until the context ends or the request budget is
// spent. A request cut short by the end of the run is not counted.
func worker(ctx context.Context, c *config, clients []*httpapi.Client, seq, budget *atomic.Int64, pace <-chan time.Time) result {
	r := result{errs: map[string]int{}}
	for ctx.Err() == nil {
		if c.Requests > 0 && budget.Add(-1) < 0 {
			break
		}
		if pace != nil {
			select {
			case <-ctx.Done():
				return r
			case <-pace:
			}
		}
		n := seq.Add(1)
		var out struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		callCtx, cancel := context.WithTimeout(ctx, c.Timeout)
		t0 := time.Now()
		err := call(callCtx, clients[n%int64(len(clients))], c, n, &out)
		d := time.Since(t0)
		cancel()
		if err != nil && ctx.Err() != nil {
			break
		}
		r.latencies = append(r.latencies, d)
		var apiErr *httpapi.APIError
		switch {
		case err == nil:
			r.ok++
			r.instanceIDs = append(r.instanceIDs, out.InstanceIDSet...)
		case errors.As(err, &apiErr):
			r.errs[string(apiErr.Code)]++
		case errors.Is(err, httpapi.ErrMalformedResponse):
			r.errs["malformed response"]++
		default:
			r.errs["transport error"]++
		}
	}
	return r
}

// call sends the n-th request. Only a purchase's answer is decoded (the
// instances it bought, to follow); any other answer is checked to be a
// success envelope and not decoded: decoding a page of 20 instances cost
// this process more CPU than the server spent answering it, on the cores
// they share (docs/performance.md, "The load generator reads less").
func call(ctx context.Context, client *httpapi.Client, c *config, n int64, out any) error {
	if c.Action == actionCreate {
		return client.Call(ctx, c.Action, c.requestBody(n), out)
	}
	body, err := json.Marshal(c.requestBody(n))
	if err != nil {
		return err
	}
	raw, err := client.Do(ctx, c.Action, body)
	if err != nil {
		return err
	}
	return httpapi.CheckAnswer(c.Action, raw)
}

func report(w io.Writer, c *config, elapsed time.Duration, lat []time.Duration, ok int, errs map[string]int) {
	secs := elapsed.Seconds()
	failed := 0
	for _, n := range errs {
		failed += n
	}
	fmt.Fprintf(w, "duration      %.2f s\n", secs)
	fmt.Fprintf(w, "requests      %d (%d ok, %d failed)\n", len(lat), ok, failed)
	fmt.Fprintf(w, "requests/s    %.1f (ok: %.1f)\n", float64(len(lat))/secs, float64(ok)/secs)
	if c.Action == actionCreate {
		fmt.Fprintf(w, "instances/s   %.1f\n", float64(ok*c.Amount)/secs)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		fmt.Fprintf(w, "latency       p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			quantileMs(lat, 0.50), quantileMs(lat, 0.99), quantileMs(lat, 1))
	}
	codes := make([]string, 0, len(errs))
	for code := range errs {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		fmt.Fprintf(w, "error         %-45s %d\n", code, errs[code])
	}
}

// quantileMs is the nearest-rank q-quantile of sorted, in milliseconds.
func quantileMs(sorted []time.Duration, q float64) float64 {
	i := max(int(math.Ceil(q*float64(len(sorted))))-1, 0)
	return float64(sorted[i]) / float64(time.Millisecond)
}
