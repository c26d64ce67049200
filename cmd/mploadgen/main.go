// Command mploadgen loads a running metalplane with CreateInstances and
// reports throughput, errors by code and latency:
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
	"net/http"
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
	Endpoint           string
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
}

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("mploadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Endpoint, "endpoint", "http://127.0.0.1:8080", "server URL: scheme, host and port")
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
	if err := fs.Parse(args); err != nil {
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
	latencies []time.Duration
	ok        int
	errs      map[string]int
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
	id, secret, err := credentials(getenv, c.DataDir)
	if err != nil {
		return err
	}
	// http.DefaultTransport keeps two idle connections per host; the other
	// workers would pay a TCP handshake per request.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c.Concurrency
	defer tr.CloseIdleConnections()
	client := &httpapi.Client{Endpoint: c.Endpoint, Service: "bmc", Version: httpapi.BMCVersion2026,
		AccessKeyID: id, AccessKeySecret: secret, HTTPClient: &http.Client{Transport: tr}}

	if c.Requests == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	fmt.Fprintf(stderr, "mploadgen: CreateInstances amount=%d %s/%s to %s, %d in flight, names %s-N\n",
		c.Amount, c.Zone, c.InstanceType, c.Endpoint, c.Concurrency, c.NamePrefix)

	var seq atomic.Int64
	results := make([]result, c.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = worker(ctx, c, client, &seq)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []time.Duration
	ok := 0
	errs := map[string]int{}
	for _, r := range results {
		all = append(all, r.latencies...)
		ok += r.ok
		for code, n := range r.errs {
			errs[code] += n
		}
	}
	report(stdout, c, elapsed, all, ok, errs)
	return nil
}

// worker sends requests until the context ends or the request budget is
// spent. A request cut short by the end of the run is not counted.
func worker(ctx context.Context, c *config, client *httpapi.Client, seq *atomic.Int64) result {
	r := result{errs: map[string]int{}}
	for ctx.Err() == nil {
		n := seq.Add(1)
		if c.Requests > 0 && n > int64(c.Requests) {
			break
		}
		name := fmt.Sprintf("%s-%d", c.NamePrefix, n)
		if c.Amount > 1 {
			name += "-[1,3]"
		}
		req := map[string]any{
			"zoneId": c.Zone, "instanceTypeId": c.InstanceType, "instanceChargeType": c.ChargeType,
			"internetChargeType": c.InternetChargeType, "amount": c.Amount, "instanceName": name,
			"enablePrimaryIPv6": c.IPv6,
		}
		if c.ChargeType == "PREPAID" {
			req["instanceChargePrepaid"] = map[string]any{"period": 1}
		}
		callCtx, cancel := context.WithTimeout(ctx, c.Timeout)
		t0 := time.Now()
		err := client.Call(callCtx, "CreateInstances", req, nil)
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

func report(w io.Writer, c *config, elapsed time.Duration, lat []time.Duration, ok int, errs map[string]int) {
	secs := elapsed.Seconds()
	failed := 0
	for _, n := range errs {
		failed += n
	}
	fmt.Fprintf(w, "duration      %.2f s\n", secs)
	fmt.Fprintf(w, "requests      %d (%d ok, %d failed)\n", len(lat), ok, failed)
	fmt.Fprintf(w, "requests/s    %.1f (ok: %.1f)\n", float64(len(lat))/secs, float64(ok)/secs)
	fmt.Fprintf(w, "instances/s   %.1f\n", float64(ok*c.Amount)/secs)
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
