package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

func registerHealthzFlags(fs *flag.FlagSet, c *config) {
	fs.DurationVar(&c.AwaitHealthz, "await-healthz", 0, "instead of sending, poll the first endpoint's /healthz until it answers 200 (at most this long) and print the time since --since-unix-nano")
	fs.Int64Var(&c.SinceUnixNano, "since-unix-nano", 0, "start of the --await-healthz time, e.g. $(date +%s%N) just before starting the server (0: now)")
}

// awaitHealthz polls GET /healthz of the first endpoint every
// c.PollInterval until it answers 200, and prints the time since
// c.SinceUnixNano (the caller's clock reading just before it started the
// server; 0: when mploadgen started). The script measures start-up so:
// date +%s%N, start the server, mploadgen --await-healthz.
func awaitHealthz(ctx context.Context, c *config, stdout io.Writer) error {
	since := time.Now()
	if c.SinceUnixNano > 0 {
		since = time.Unix(0, c.SinceUnixNano)
	}
	ctx, cancel := context.WithTimeout(ctx, c.AwaitHealthz)
	defer cancel()
	url := c.Endpoints[0] + "/healthz"
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(stdout, "healthz       first answer %.1f ms after the start\n", float64(time.Since(since))/float64(time.Millisecond))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("--await-healthz: %s did not answer 200 within %v", url, c.AwaitHealthz)
		case <-time.After(c.PollInterval):
		}
	}
}
