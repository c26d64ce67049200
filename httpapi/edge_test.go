package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bmc "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/limit"
)

// These tests talk to the server over raw TCP connections where a Go
// client would hide what they check: when the answer comes, whether the
// body was read, what exactly was sent.

// dialFrom connects to the server from a loopback address of its own
// (Linux routes all of 127.0.0.0/8 to lo, so each address is another
// client to the server's limits).
func dialFrom(t *testing.T, env *apitest.Env, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", env.App.Addr())
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// signedHead returns the request line and headers of a signed DescribeZones
// request, with contentLength as its Content-Length ("" for none) and
// mutate applied to its headers first.
func signedHead(t *testing.T, env *apitest.Env, contentLength string, mutate func(h http.Header)) string {
	t.Helper()
	req, err := env.BMC().SignedRequest(context.Background(), "DescribeZones", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req.Header)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), req.Host)
	req.Header.Write(&b)
	if contentLength != "" {
		fmt.Fprintf(&b, "Content-Length: %s\r\n", contentLength)
	}
	b.WriteString("\r\n")
	return b.String()
}

// rawAnswer is one answer read off a raw connection.
type rawAnswer struct {
	status      int
	contentType string
	envelope    map[string]any
	after       time.Duration // from the first byte sent
}

func (a rawAnswer) code() metalplane.Code {
	code, _ := a.envelope["code"].(string)
	return metalplane.Code(code)
}

// exchange sends head and then body on c (body in the background, since
// the server may answer without reading it) and reads one answer, failing
// the test if none comes within wait.
func exchange(t *testing.T, c net.Conn, head string, body []byte, wait time.Duration) rawAnswer {
	t.Helper()
	start := time.Now()
	c.SetDeadline(start.Add(wait))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatalf("send headers: %v", err)
	}
	go c.Write(body) // fails once the server hangs up: that is allowed
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", wait, err)
	}
	defer resp.Body.Close()
	a := rawAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), after: time.Since(start)}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a.envelope); err != nil {
		t.Fatalf("HTTP %d %q: the body is not the JSON envelope: %v", resp.StatusCode, raw, err)
	}
	return a
}

// expectEnvelope checks that the answer is the error envelope of code.
func expectEnvelope(t *testing.T, a rawAnswer, code metalplane.Code) {
	t.Helper()
	if a.code() != code || a.status != code.Status() || a.contentType != "application/json" {
		t.Fatalf("got HTTP %d %s (%s): %v; want HTTP %d %s in JSON", a.status, a.code(), a.contentType, a.envelope["message"], code.Status(), code)
	}
	if id, _ := a.envelope["requestId"].(string); len(id) != 37 || id[0] != 'T' {
		t.Errorf("got requestId %q, want T + UUID", id)
	}
}

// TestHugeContentLengthAnsweredAtOnce: a request declaring a 10 GB body
// gets 413 as soon as its headers arrive, although not one byte of the
// body is sent (the server used to wait for the body until its read
// timeout, then answer 400).
func TestHugeContentLengthAnsweredAtOnce(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		a := exchange(t, dialFrom(t, env, "127.0.0.1"), signedHead(t, env, "10000000000", nil), nil, 2*time.Second)
		expectEnvelope(t, a, "REQUEST_ENTITY_TOO_LARGE")
		t.Logf("413 after %s", a.after)
	})
}

// TestUnauthenticatedBodyIsNotRead sends headers that declare a body of
// 1 MiB − 1 bytes, then only 1 KiB of it: every request the server cannot
// authenticate from its headers alone is answered while the client is
// still sending, so an unknown client cannot make the server hold its
// body.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		cases := []struct {
			name   string
			mutate func(h http.Header)
			want   metalplane.Code
		}{
			{"no authorization", func(h http.Header) { h.Del("Authorization") }, "AUTH_FAILURE"},
			{"garbled authorization", func(h http.Header) { h.Set("Authorization", "ZC2-HMAC-SHA256 nonsense") }, "AUTH_FAILURE"},
			{"unknown key", func(h http.Header) {
				h.Set("Authorization", strings.Replace(h.Get("Authorization"), env.Key.ID, "NOSUCHKEY", 1))
			}, "AUTH_FAILURE"},
			{"stale timestamp", func(h http.Header) { h.Set("X-ZC-Timestamp", fmt.Sprint(time.Now().Unix()-301)) }, "AUTH_FAILURE_SIGNATURE_EXPIRED"},
			{"bad bearer token", func(h http.Header) { h.Set("Authorization", "Bearer not-a-token") }, "AUTH_FAILURE"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				head := signedHead(t, env, fmt.Sprint(httpapi.DefaultMaxBodyBytes-1), tc.mutate)
				a := exchange(t, dialFrom(t, env, "127.0.0.1"), head, make([]byte, 1024), 2*time.Second)
				expectEnvelope(t, a, tc.want)
			})
		}
	})
}

// TestChunkedBodyStillLimited: a body without a declared length is cut at
// the limit while it is read.
func TestChunkedBodyStillLimited(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		head := signedHead(t, env, "", func(h http.Header) { h.Set("Transfer-Encoding", "chunked") })
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("a", 64<<10))
		body := []byte(strings.Repeat(chunk, 2*httpapi.DefaultMaxBodyBytes/(64<<10)) + "0\r\n\r\n")
		a := exchange(t, dialFrom(t, env, "127.0.0.1"), head, body, 5*time.Second)
		expectEnvelope(t, a, "REQUEST_ENTITY_TOO_LARGE")
	})
}

// TestEveryAnswerIsTheEnvelope: answers that Go's ServeMux and server used
// to write themselves (an empty redirect for an unclean path, plain text
// for large headers, an empty 200 for OPTIONS *) are the JSON envelope
// with the spec's code.
func TestEveryAnswerIsTheEnvelope(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		signed := signedHead(t, env, "2", nil)
		withRequestLine := func(line string) string { return line + signed[strings.Index(signed, "\r\n"):] }
		cases := []struct {
			name string
			head string
			want metalplane.Code
		}{
			{"unknown path", withRequestLine("POST /api/v2/nope HTTP/1.1"), "INVALID_SERVICE"},
			{"path with dot-dot", withRequestLine("POST /api/v2/bmc/../ccs HTTP/1.1"), "INVALID_SERVICE"},
			{"path with double slash", withRequestLine("POST //api/v2/bmc HTTP/1.1"), "INVALID_SERVICE"},
			{"GET", withRequestLine("GET /api/v2/bmc HTTP/1.1"), "INVALID_HTTP_METHOD"},
			{"OPTIONS *", withRequestLine("OPTIONS * HTTP/1.1"), "INVALID_HTTP_METHOD"},
			{"huge Content-Length", signedHead(t, env, "10000000000", nil), "REQUEST_ENTITY_TOO_LARGE"},
			{"12 KiB of headers", signedHead(t, env, "2", func(h http.Header) { h.Set("X-Padding", strings.Repeat("p", 12<<10)) }),
				"REQUEST_HEADER_FIELDS_TOO_LARGE"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				a := exchange(t, dialFrom(t, env, "127.0.0.1"), tc.head, []byte("{}"), 2*time.Second)
				expectEnvelope(t, a, tc.want)
			})
		}
	})
}

// TestRateLimitSDKRetries: over its key's rate a client gets 429
// REQUEST_LIMIT_EXCEEDED before anything is done, and the public SDK,
// which resends the same bytes after 1, 2 and 4 s, gets through by itself:
// every purchase is made exactly once.
func TestRateLimitSDKRetries(t *testing.T) {
	edge := app.DefaultEdgeLimits
	edge.RateLimits.PerKey = limit.Rate{PerSecond: 1, Burst: 2}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		// Six at once against a burst of 2 at 1/s: at least one is
		// refused however slowly the machine runs them.
		c := env.BMC()
		statuses := make([]string, 6)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				resp, err := c.Do(context.Background(), "DescribeZones", []byte("{}"))
				if err != nil {
					statuses[i] = err.Error()
					return
				}
				var e struct{ Code string }
				json.Unmarshal(resp.Body, &e)
				statuses[i] = fmt.Sprintf("%d %s", resp.Status, e.Code)
			})
		}
		wg.Wait()
		limited := 0
		for _, s := range statuses {
			switch s {
			case "429 REQUEST_LIMIT_EXCEEDED":
				limited++
			case "200 ":
			default:
				t.Fatalf("got %q among %v, want only 200 and 429 REQUEST_LIMIT_EXCEEDED", s, statuses)
			}
		}
		if limited == 0 || limited > 4 {
			t.Fatalf("six calls at once with a burst of 2: got %v, want 2 to 5 answered and the rest 429", statuses)
		}

		client, rt := sdkClient(t, env, nil)
		const purchases = 4
		for i := range purchases {
			req := sdkPrepaidCreate()
			req.InstanceName = fmt.Sprintf("limited-%d", i)
			if _, err := client.CreateInstances(req); err != nil {
				t.Fatalf("purchase %d through the SDK's rate-limit retry: %v", i, err)
			}
		}
		list, err := client.DescribeInstances(bmc.NewDescribeInstancesRequest())
		if err != nil {
			t.Fatalf("DescribeInstances through the SDK: %v", err)
		}
		auths := rt.attempts()
		resent := 0
		for i := 1; i < len(auths); i++ {
			if auths[i] == auths[i-1] {
				resent++
			}
		}
		if resent == 0 {
			t.Fatalf("the SDK sent %d attempts for %d calls and resent none; the test needs it to hit the limit", len(auths), purchases+1)
		}
		if got := list.Response.TotalCount; got != purchases {
			t.Fatalf("got %d instances after %d purchases (%d resent after 429), want %d", got, purchases, resent, purchases)
		}
	}, apitest.Options{Edge: &edge})
}

// TestFailedAuthenticationsThrottled sends 3,200 requests signed with a
// wrong secret, 16 at a time, as the adversarial run did (it got 3,200
// 401s): after a burst of 401s the source gets 429s, a correct request
// from it too while its bucket is empty, and another source is not
// affected. Serve's default limits.
func TestFailedAuthenticationsThrottled(t *testing.T) {
	edge := app.DefaultEdgeLimits
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		t.Cleanup(tr.CloseIdleConnections)
		wrong := env.BMC()
		wrong.AccessKeySecret = "not-the-secret"
		wrong.HTTPClient = &http.Client{Transport: tr}

		const requests, concurrency = 3200, 16
		var mu sync.Mutex
		counts := map[string]int{}
		var next atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for next.Add(1) <= requests {
					resp, err := wrong.Do(context.Background(), "DescribeZones", []byte("{}"))
					key := "transport error"
					if err == nil {
						var e struct{ Code string }
						json.Unmarshal(resp.Body, &e)
						key = fmt.Sprintf("%d %s", resp.Status, e.Code)
					}
					mu.Lock()
					counts[key]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		failures := httpapi.DefaultRateLimits.AuthFailures
		// The bucket's burst, plus what it refills while the run lasts,
		// plus the requests in flight when it ran dry.
		most := failures.Burst + int(elapsed.Seconds()*failures.PerSecond) + 1 + concurrency
		got401 := counts["401 AUTH_FAILURE_SIGNATURE_MISMATCH"]
		if got401+counts["429 REQUEST_LIMIT_EXCEEDED"] != requests || got401 > most {
			t.Fatalf("in %s got %v; want only 401 and 429, at most %d 401s", elapsed.Round(time.Millisecond), counts, most)
		}
		t.Logf("in %s: %v", elapsed.Round(time.Millisecond), counts)

		apitest.ExpectCode(t, env.BMC().Call(context.Background(), "DescribeZones", nil, nil), "REQUEST_LIMIT_EXCEEDED")
		other := env.BMC()
		other.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
		if err := other.Call(context.Background(), "DescribeZones", nil, nil); err != nil {
			t.Fatalf("a correct request from another address: %v", err)
		}
	}, apitest.Options{Edge: &edge})
}

// TestConnectionCaps: beyond its source's cap a connection is closed
// unanswered while other sources are served; beyond the total cap a
// connection waits until another closes.
func TestConnectionCaps(t *testing.T) {
	edge := app.DefaultEdgeLimits
	edge.MaxConnections, edge.MaxConnectionsPerSource = 4, 2
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		// send sends a request; a connection the server closed may
		// refuse it, which answered then reports.
		send := func(c net.Conn) {
			t.Helper()
			req, err := env.BMC().SignedRequest(context.Background(), "DescribeZones", []byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			c.SetWriteDeadline(time.Now().Add(time.Second))
			req.Write(c)
		}
		// answered reports whether an answer to the request sent on c
		// comes within wait; a closed connection is no answer.
		answered := func(r *bufio.Reader, c net.Conn, wait time.Duration) bool {
			t.Helper()
			c.SetReadDeadline(time.Now().Add(wait))
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got HTTP %d, want 200", resp.StatusCode)
			}
			return true
		}
		type client struct {
			c net.Conn
			r *bufio.Reader
		}
		open := func(local string) client {
			c := dialFrom(t, env, local)
			return client{c, bufio.NewReader(c)}
		}
		a1, a2 := open("127.0.0.1"), open("127.0.0.1")
		for _, cl := range []client{a1, a2} {
			send(cl.c)
			if !answered(cl.r, cl.c, 2*time.Second) {
				t.Fatal("a connection under its source's cap is not served")
			}
		}
		// The server resets a third connection from the source as soon
		// as it accepts it, which may be before the dial returns.
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: 2 * time.Second}
		if a3, err := d.Dial("tcp", env.App.Addr()); err == nil {
			defer a3.Close()
			send(a3)
			if answered(bufio.NewReader(a3), a3, 2*time.Second) {
				t.Fatal("a third connection from one source was served; the cap is 2")
			}
		}
		b1, b2 := open("127.0.0.2"), open("127.0.0.2")
		for _, cl := range []client{b1, b2} {
			send(cl.c)
			if !answered(cl.r, cl.c, 2*time.Second) {
				t.Fatal("another source is not served while the first is at its cap")
			}
		}
		// Four connections are open: a fifth waits, then is served once
		// one closes.
		queued := open("127.0.0.3")
		send(queued.c)
		if answered(queued.r, queued.c, 500*time.Millisecond) {
			t.Fatal("a fifth connection was served; the total cap is 4")
		}
		b1.c.Close()
		if !answered(queued.r, queued.c, 3*time.Second) {
			t.Fatal("the waiting connection was not served once another closed")
		}
	}, apitest.Options{Edge: &edge})
}
