package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The slow-client mode (--slow-clients) measures what unauthenticated
// clients that hold request bodies cost the server and its signed callers:
// the signed callers run once alone and once beside the slow clients, while
// the server's memory is read from /proc. docs/performance.md has the
// figures.

// The slow clients run in a process of their own, mploadgen started with
// --slow-only: in the callers' process their goroutines would compete with
// the callers' for the scheduler, and the callers' latencies would measure
// that too.

// slowProcess is a running mploadgen --slow-only.
type slowProcess struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	report bytes.Buffer
	done   bool
}

// startSlowProcess starts the slow clients of c in a child process.
func startSlowProcess(c *config, stderr io.Writer) (*slowProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &slowProcess{}
	p.cmd = exec.Command(self, "--slow-only", "--endpoint", c.Endpoints[0],
		"--slow-clients", strconv.Itoa(c.SlowClients), "--slow-body", strconv.Itoa(c.SlowBody), "--slow-headers", strconv.Itoa(c.SlowHeaders),
		"--slow-rate", strconv.Itoa(c.SlowRate), "--slow-source", c.SlowSource,
		"--slow-reconnect", c.SlowReconnect.String())
	p.cmd.Stdout = &p.report
	p.cmd.Stderr = stderr
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the slow clients: %w", err)
	}
	return p, nil
}

// stop ends the slow clients and returns their report, with the CPU time
// their process used.
func (p *slowProcess) stop() ([]byte, error) {
	if p.done {
		return nil, nil
	}
	p.done = true
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		return nil, err
	}
	st := p.cmd.ProcessState
	fmt.Fprintf(&p.report, "  CPU time    %.1f s (the slow clients' process)\n", (st.UserTime() + st.SystemTime()).Seconds())
	return p.report.Bytes(), nil
}

// runSlowOnly runs the slow clients until standard input closes or ctx
// ends, then reports what they saw.
func runSlowOnly(ctx context.Context, c *config, stdout io.Writer) error {
	if c.SlowClients < 1 {
		return errors.New("--slow-only needs --slow-clients")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	stats := &slowStats{answers: map[string]int{}}
	wait, err := runSlowClients(ctx, c, stats)
	if err != nil {
		return err
	}
	wait()
	reportSlow(stdout, c, stats)
	return nil
}

// slowStats is what the slow clients saw.
type slowStats struct {
	mu          sync.Mutex
	connects    int
	dialErrors  int
	answers     map[string]int // "401 AUTH_FAILURE", …
	unanswered  int            // closed or reset without an answer
	bodySent    int64
	longestHold time.Duration
	holds       time.Duration
}

func (s *slowStats) add(answer string, hold time.Duration, sent int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connects++
	if answer == "" {
		s.unanswered++
	} else {
		s.answers[answer]++
	}
	s.bodySent += sent
	s.holds += hold
	s.longestHold = max(s.longestHold, hold)
}

// runSlowClients runs c.SlowClients clients until ctx ends. Each connects,
// sends the headers of an unsigned DescribeZones with a Content-Length of
// c.SlowBody, and trickles the body at c.SlowRate bytes per second until
// the server answers or hangs up, then connects again. With c.SlowHeaders
// they send that many bytes of headers instead and never end them.
func runSlowClients(ctx context.Context, c *config, stats *slowStats) (wait func(), err error) {
	u, err := url.Parse(c.Endpoints[0])
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("--slow-clients needs an http:// endpoint, got %q", c.Endpoint)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if c.SlowSource != "" {
		ip := net.ParseIP(c.SlowSource)
		if ip == nil {
			return nil, fmt.Errorf("--slow-source %q is not an IP address", c.SlowSource)
		}
		dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	head := "POST /api/v2/bmc HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n" +
		"X-ZC-Action: DescribeZones\r\nX-ZC-Version: 2026-02-01\r\nContent-Length: " + strconv.Itoa(c.SlowBody) + "\r\n\r\n"
	if c.SlowHeaders > 0 {
		var b strings.Builder
		b.WriteString("POST /api/v2/bmc HTTP/1.1\r\nHost: " + u.Host + "\r\n")
		for i := 0; b.Len() < c.SlowHeaders; i++ {
			fmt.Fprintf(&b, "X-Padding-%d: %s\r\n", i, strings.Repeat("p", min(1000, c.SlowHeaders)))
		}
		head = b.String()
	}
	var wg sync.WaitGroup
	for range c.SlowClients {
		wg.Go(func() {
			for ctx.Err() == nil {
				conn, err := dialer.DialContext(ctx, "tcp", u.Host)
				if err != nil {
					stats.mu.Lock()
					stats.dialErrors++
					stats.mu.Unlock()
					sleep(ctx, c.SlowReconnect)
					continue
				}
				answer, hold, sent := holdBody(ctx, conn, head, c)
				conn.Close()
				if ctx.Err() != nil && answer == "" {
					answer = "still open when the run ended"
				}
				stats.add(answer, hold, sent)
				sleep(ctx, c.SlowReconnect)
			}
		})
	}
	return wg.Wait, nil
}

// holdBody sends head on conn, then the body a chunk per interval, until
// the server answers or closes or ctx ends. It returns the answer ("" for
// none), how long the connection was held and how many body bytes went.
func holdBody(ctx context.Context, conn net.Conn, head string, c *config) (answer string, hold time.Duration, sent int64) {
	start := time.Now()
	answered := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- ""
			return
		}
		var env struct{ Code string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		code := "non-JSON body"
		if json.Unmarshal(b, &env) == nil {
			code = env.Code
		}
		answered <- fmt.Sprintf("%d %s", resp.StatusCode, code)
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		return <-answered, time.Since(start), 0
	}
	const interval = 100 * time.Millisecond
	chunk := make([]byte, max(c.SlowRate/10, 1))
	for i := range chunk {
		chunk[i] = 'x'
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for c.SlowHeaders == 0 && sent < int64(c.SlowBody) {
		select {
		case a := <-answered:
			return a, time.Since(start), sent
		case <-ctx.Done():
			return "", time.Since(start), sent
		case <-t.C:
			n := min(int64(len(chunk)), int64(c.SlowBody)-sent)
			if _, err := conn.Write(chunk[:n]); err != nil {
				return <-answered, time.Since(start), sent
			}
			sent += n
		}
	}
	select {
	case a := <-answered:
		return a, time.Since(start), sent
	case <-ctx.Done():
		return "", time.Since(start), sent
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// rssSampler reads VmRSS of a process every 100 ms and keeps the largest
// value seen since the last reset.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	peak int64 // KiB
	err  error
	// CPU seconds of the server and of mploadgen at the last report.
	serverCPU, selfCPU float64
}

// readRSS returns VmRSS and VmHWM of pid in KiB.
func readRSS(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb
		case "VmHWM":
			hwm = kb
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, nil
}

// cpuSeconds returns the CPU time pid has used (user + system), from
// /proc/PID/stat in clock ticks of 1/100 s.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("short /proc/" + strconv.Itoa(pid) + "/stat")
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100, nil
}

func (s *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		rss, _, err := readRSS(s.pid)
		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
		}
		s.peak = max(s.peak, rss)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takePeak returns the peak since the last call and starts a new one.
func (s *rssSampler) takePeak() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.peak, s.err
	s.peak = 0
	return p, err
}

func reportSlow(w io.Writer, c *config, s *slowStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.SlowHeaders > 0 {
		fmt.Fprintf(w, "slow clients  %d from %s, %d bytes of headers never ended\n", c.SlowClients, orAny(c.SlowSource), c.SlowHeaders)
	} else {
		fmt.Fprintf(w, "slow clients  %d from %s, Content-Length %d, %d bytes/s each\n", c.SlowClients, orAny(c.SlowSource), c.SlowBody, c.SlowRate)
	}
	fmt.Fprintf(w, "  connections %d (%d dial errors), %d closed unanswered, body bytes sent %d\n", s.connects, s.dialErrors, s.unanswered, s.bodySent)
	if s.connects > 0 {
		fmt.Fprintf(w, "  held        mean %.0f ms, longest %.0f ms\n",
			float64(s.holds.Milliseconds())/float64(s.connects), float64(s.longestHold.Milliseconds()))
	}
	for _, a := range slices.Sorted(maps.Keys(s.answers)) {
		fmt.Fprintf(w, "  answer      %-45s %d\n", a, s.answers[a])
	}
}

func orAny(s string) string {
	if s == "" {
		return "any address"
	}
	return s
}
