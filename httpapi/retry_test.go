package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// Identical signed requests (docs/api.md "Retries"): the same bytes are a
// retry only when the first answer did not reach the client.

// signedRequest signs body once; send and the others send those very bytes,
// as the SDK does when it retries.
type signedRequest struct {
	t   *testing.T
	req *http.Request
}

func signOnce(t *testing.T, c *httpapi.Client, action string, body any) *signedRequest {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.SignedRequest(context.Background(), action, raw)
	if err != nil {
		t.Fatal(err)
	}
	return &signedRequest{t: t, req: req}
}

// as returns a copy of the request sent as another action (X-ZC-Action is
// not signed).
func (s *signedRequest) as(action string) *signedRequest {
	r := s.clone()
	r.Header.Set("X-ZC-Action", action)
	return &signedRequest{t: s.t, req: r}
}

func (s *signedRequest) clone() *http.Request {
	r := s.req.Clone(context.Background())
	r.Body, _ = s.req.GetBody()
	return r
}

// sendOn sends the bytes with client and returns the status and the
// response object (the error envelope on failure).
func (s *signedRequest) sendOn(client *http.Client) (int, map[string]any) {
	s.t.Helper()
	resp, err := client.Do(s.clone())
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Response map[string]any
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		s.t.Fatalf("answer %s: %v", raw, err)
	}
	if env.Response == nil {
		var e map[string]any
		json.Unmarshal(raw, &e)
		return resp.StatusCode, e
	}
	return resp.StatusCode, env.Response
}

func (s *signedRequest) send() (int, map[string]any) {
	s.t.Helper()
	return s.sendOn(http.DefaultClient)
}

// sendOnNewConnection sends the bytes on a connection of their own, as
// another client of the same machine would.
func (s *signedRequest) sendOnNewConnection() (int, map[string]any) {
	s.t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return s.sendOn(client)
}

// sendFromElsewhere sends the bytes from another loopback address
// (127.0.0.2), as an eavesdropper replaying them would.
func (s *signedRequest) sendFromElsewhere() (int, map[string]any) {
	s.t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	return s.sendOn(client)
}

// sendAndHangUp writes the request on a raw TCP connection and closes it
// without reading a byte of the answer once done reports true (at most
// 10 s): a client that timed out after the server acted but before its
// answer came (the server holds answers back with hangUpOnce).
func (s *signedRequest) sendAndHangUp(done func() bool) {
	s.t.Helper()
	conn, err := net.Dial("tcp", s.req.URL.Host)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	if err := s.clone().Write(w); err != nil {
		s.t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			s.t.Fatal("the request was not done after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func purchase(t *testing.T, answer map[string]any) createResponse {
	t.Helper()
	raw, _ := json.Marshal(answer)
	var out createResponse
	json.Unmarshal(raw, &out)
	if out.OrderNumber == "" || len(out.InstanceIDSet) == 0 {
		t.Fatalf("not a purchase: %s", raw)
	}
	return out
}

// prepaidCharges returns the orders charged to the team, each once per
// ledger row.
func prepaidCharges(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	var orders []string
	for _, e := range ledger(t, env) {
		if e.Kind == metalplane.LedgerPrepaidCharge {
			orders = append(orders, e.OrderNumber)
		}
	}
	return orders
}

func instanceCount(t *testing.T, env *apitest.Env) int {
	t.Helper()
	var out describeResponse
	if err := env.BMC().Call(context.Background(), "DescribeInstances", map[string]any{}, &out); err != nil {
		t.Fatal(err)
	}
	return out.TotalCount
}

func prepaidPurchaseBody() map[string]any {
	return map[string]any{"zoneId": "SEL-A", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
		"instanceTypeId": "M6C", "internetChargeType": "ByBandwidth", "amount": 2}
}

// TestIdenticalPurchasesAreSeparatePurchases sends the same signed bytes
// three times at once, then three times one after the other, each answer
// read: six purchases, as the real service makes (Terraform's count = 3
// sends exactly this).
func TestIdenticalPurchasesAreSeparatePurchases(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		req := signOnce(t, env.BMC(), "CreateInstances", prepaidPurchaseBody())
		var mu sync.Mutex
		var orders []string
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				status, answer := req.sendOnNewConnection()
				if status != 200 {
					t.Errorf("concurrent purchase: HTTP %d %v", status, answer)
					return
				}
				mu.Lock()
				orders = append(orders, purchase(t, answer).OrderNumber)
				mu.Unlock()
			})
		}
		wg.Wait()
		for range 3 {
			status, answer := req.send()
			if status != 200 {
				t.Fatalf("sequential purchase: HTTP %d %v", status, answer)
			}
			orders = append(orders, purchase(t, answer).OrderNumber)
		}
		if distinct := len(slices.Compact(slices.Sorted(slices.Values(orders)))); distinct != 6 {
			t.Fatalf("got orders %v (%d distinct), want 6 distinct", orders, distinct)
		}
		if got := instanceCount(t, env); got != 12 {
			t.Fatalf("got %d instances, want 12", got)
		}
		charged := prepaidCharges(t, env)
		slices.Sort(charged)
		slices.Sort(orders)
		if !slices.Equal(charged, orders) {
			t.Fatalf("charged orders %v, want each answered order once: %v", charged, orders)
		}
	})
}

// answerHolder holds back the next answer of the action it is armed for
// until that answer's client has gone away (at most 10 s).
type answerHolder struct {
	armed atomic.Pointer[string]
	held  atomic.Int32
}

func (h *answerHolder) arm(action string) { h.held.Store(0); h.armed.Store(&action) }

func (h *answerHolder) beforeAnswer(ctx context.Context, action string) {
	if a := h.armed.Load(); a == nil || *a != action || !h.armed.CompareAndSwap(a, nil) {
		return
	}
	h.held.Add(1)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
}

// TestLostAnswerIsAnsweredToItsRetry sends requests whose client hangs up
// after the server acted and before the answer; the identical bytes sent
// again get the first answer (the same instances and order, a success
// where running it again would be refused) and nothing is done twice. Once
// that answer has been delivered, the same bytes are a new request.
func TestLostAnswerIsAnsweredToItsRetry(t *testing.T) {
	holder := &answerHolder{}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		env.Clock.Set(jan2030)
		bought := createIDs(t, env, env.BMC(), prepaidBandwidthCreate(), 2)
		for _, id := range bought {
			waitForStatus(t, env, env.BMC(), id, "RUNNING")
		}
		count := func(kind string) func() int {
			return func() int {
				n := 0
				for _, e := range ledger(t, env) {
					if e.Kind == kind {
						n++
					}
				}
				return n
			}
		}
		cases := []struct {
			action string
			body   map[string]any
			// done counts what the action did; again is the answer
			// wanted when the same bytes come once more, delivered.
			done  func() int
			again string
		}{
			{"CreateInstances", prepaidPurchaseBody(), count(metalplane.LedgerPrepaidCharge), "new purchase"},
			{"RenewInstance", map[string]any{"instanceId": bought[0]}, count(metalplane.LedgerRenewal), "done again"},
			{"ModifyInstanceBandwidth", map[string]any{"instanceId": bought[0], "bandwidthOutMbps": 70}, count(metalplane.LedgerInternetUpgrade), "new order"},
			{"StopInstances", ids(bought[1]), func() int {
				// Not DescribeInstances: its body would be the same.
				in, err := env.DB.FindInstance(context.Background(), env.Team.ID, bought[1])
				if err != nil {
					t.Fatal(err)
				}
				if in.Status == metalplane.StatusRunning {
					return 0
				}
				return 1
			}, "OPERATION_DENIED_INSTANCE_NOT_RUNNING"},
		}
		for _, c := range cases {
			t.Run(c.action, func(t *testing.T) {
				env.Clock.Advance(time.Second)
				before := c.done()
				req := signOnce(t, env.BMC(), c.action, c.body)
				holder.arm(c.action)
				req.sendAndHangUp(func() bool { return c.done() > before })
				status, first := req.send()
				if status != 200 || holder.held.Load() != 1 {
					t.Fatalf("retry: HTTP %d %v (answers held: %d, want 1)", status, first, holder.held.Load())
				}
				if got := c.done() - before; got != 1 {
					t.Fatalf("after the retry: done %d times, want once", got)
				}
				if c.action == "CreateInstances" && instanceCount(t, env) != 4 {
					t.Fatalf("after the retry: %d instances, want 4", instanceCount(t, env))
				}
				status, answer := req.send()
				switch c.again {
				case "new purchase":
					if status != 200 || purchase(t, answer).OrderNumber == purchase(t, first).OrderNumber {
						t.Fatalf("third send: HTTP %d %v; want a new purchase", status, answer)
					}
				case "new order":
					if status != 200 || answer["orderNumber"] == first["orderNumber"] {
						t.Fatalf("third send: HTTP %d %v; want a new order", status, answer)
					}
				case "done again":
					if status != 200 || c.done()-before != 2 {
						t.Fatalf("third send: HTTP %d %v, done %d times; want done a second time", status, answer, c.done()-before)
					}
				default:
					if answer["code"] != c.again {
						t.Fatalf("third send: HTTP %d %v; want %s", status, answer, c.again)
					}
				}
			})
		}
	}, apitest.Options{BeforeAnswerFunc: holder.beforeAnswer})
}

// TestLostAnswerAcrossReplicas sends a purchase to replica A, whose answer
// is lost, and the identical bytes to replica B on the same PostgreSQL
// database: B answers A's purchase.
func TestLostAnswerAcrossReplicas(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	holder := &answerHolder{}
	a := apitest.Start(t, dsn, apitest.Options{BeforeAnswerFunc: holder.beforeAnswer})
	b := apitest.Start(t, dsn, apitest.Options{SecretKeyFile: a.SecretKeyFile})
	req := signOnce(t, a.BMC(), "CreateInstances", prepaidPurchaseBody())
	holder.arm("CreateInstances")
	req.sendAndHangUp(func() bool { return len(prepaidCharges(t, a)) > 0 })
	toB := req.clone()
	toB.URL.Host = hostPort(t, b.App.URL())
	resp, err := http.DefaultClient.Do(toB)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct{ Response createResponse }
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &env)
	if resp.StatusCode != 200 || holder.held.Load() != 1 {
		t.Fatalf("retry on B: HTTP %d %s (answers held: %d, want 1)", resp.StatusCode, raw, holder.held.Load())
	}
	charged := prepaidCharges(t, a)
	if !slices.Equal(charged, []string{env.Response.OrderNumber}) || instanceCount(t, a) != 2 {
		t.Fatalf("B answered %+v; charged orders %v, %d instances; want A's one purchase", env.Response, charged, instanceCount(t, a))
	}
}

func hostPort(t *testing.T, endpoint string) string {
	t.Helper()
	r, err := http.NewRequest("GET", endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.URL.Host
}

// TestIdenticalMutationsAtOnce sends ten identical signed requests of
// actions that charge, create or change state, all at once. Each is a
// request of its own (every answer was delivered), so each success is
// exactly one action done, never one answer for several charges.
func TestIdenticalMutationsAtOnce(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		bought := createIDs(t, env, env.BMC(), prepaidM6C(), 2)
		renewed, stopped := bought[0], bought[1]
		waitForStatus(t, env, env.BMC(), renewed, "RUNNING")
		waitForStatus(t, env, env.BMC(), stopped, "RUNNING")
		key := sshKeysForTest(t).ed25519
		cases := []struct {
			action string
			client *httpapi.Client
			body   map[string]any
			// done counts what the successes did.
			done func() int
		}{
			{"RenewInstance", env.BMC(), map[string]any{"instanceId": renewed}, func() int {
				n := 0
				for _, e := range ledger(t, env) {
					if e.Kind == metalplane.LedgerRenewal {
						n++
					}
				}
				return n
			}},
			{"CreateSubnet", env.BMC(), map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.9.0/24", "subnetName": "same"}, func() int {
				var out struct{ TotalCount int }
				if err := env.BMC().Call(context.Background(), "DescribeSubnets", map[string]any{}, &out); err != nil {
					t.Fatal(err)
				}
				return out.TotalCount
			}},
			{"ImportKeyPair", env.CCS(), map[string]any{"keyName": "same", "publicKey": key}, func() int {
				var out struct{ TotalCount int }
				if err := env.CCS().Call(context.Background(), "DescribeKeyPairs", map[string]any{}, &out); err != nil {
					t.Fatal(err)
				}
				return out.TotalCount
			}},
			{"StopInstances", env.BMC(), ids(stopped), func() int {
				n := 0
				events, err := env.DB.InstanceEvents(context.Background(), stopped)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					if e.Kind == "status" && strings.HasPrefix(e.Detail, "RUNNING → STOPPING") {
						n++
					}
				}
				return n
			}},
		}
		for _, c := range cases {
			t.Run(c.action, func(t *testing.T) {
				before := c.done()
				req := signOnce(t, c.client, c.action, c.body)
				var successes atomic.Int32
				var wg sync.WaitGroup
				for range 10 {
					wg.Go(func() {
						status, answer := req.sendOnNewConnection()
						switch {
						case status == 200:
							successes.Add(1)
						case status == 500 || answer["code"] == "AUTH_FAILURE":
							t.Errorf("HTTP %d %v", status, answer)
						default:
							t.Logf("refused: %v", answer)
						}
					})
				}
				wg.Wait()
				if got := c.done() - before; got != int(successes.Load()) || got == 0 {
					t.Fatalf("%d successful answers, %d actions done; want one action per answer, at least one", successes.Load(), got)
				}
			})
		}
	})
}

// TestSignatureIsBoundToItsAction resends captured signed requests from
// another address, as other actions (X-ZC-Action is not signed) or as the
// same purchase: they are refused and change nothing, unless they retry a
// lost answer. The same bytes as another action from the address that sent
// them first are that client's own, and run.
func TestSignatureIsBoundToItsAction(t *testing.T) {
	holder := &answerHolder{}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		id := createIDs(t, env, env.BMC(), minimalCreate(), 1)[0]
		waitForStatus(t, env, env.BMC(), id, "RUNNING")
		before := balance(t, env)

		describe := signOnce(t, env.BMC(), "DescribeInstances", ids(id))
		if status, answer := describe.send(); status != 200 {
			t.Fatalf("DescribeInstances: HTTP %d %v", status, answer)
		}
		status, answer := describe.as("StopInstances").sendFromElsewhere()
		if status != 401 || answer["code"] != "AUTH_FAILURE" {
			t.Fatalf("DescribeInstances resent as StopInstances: HTTP %d %v, want 401 AUTH_FAILURE", status, answer)
		}

		inquiry := signOnce(t, env.BMC(), "InquiryPriceCreateInstance", prepaidPurchaseBody())
		if status, answer := inquiry.send(); status != 200 {
			t.Fatalf("InquiryPriceCreateInstance: HTTP %d %v", status, answer)
		}
		status, answer = inquiry.as("CreateInstances").sendFromElsewhere()
		if status != 401 || answer["code"] != "AUTH_FAILURE" {
			t.Fatalf("InquiryPriceCreateInstance resent as CreateInstances: HTTP %d %v, want 401 AUTH_FAILURE", status, answer)
		}
		if got := describeOne(t, env, id)["instanceStatus"]; got != "RUNNING" {
			t.Fatalf("after the refused stop: %v, want RUNNING", got)
		}
		if got := instanceCount(t, env); got != 1 || balance(t, env) != before {
			t.Fatalf("after the refused purchase: %d instances, balance %s (was %s)", got, balance(t, env), before)
		}

		// A purchase's bytes again from elsewhere: refused once its
		// answer was delivered, the stored answer while it was lost.
		buy := signOnce(t, env.BMC(), "CreateInstances", prepaidPurchaseBody())
		status, answer = buy.send()
		if status != 200 {
			t.Fatalf("CreateInstances: HTTP %d %v", status, answer)
		}
		if status, answer := buy.sendFromElsewhere(); status != 401 || answer["code"] != "AUTH_FAILURE" {
			t.Fatalf("a delivered purchase resent from elsewhere: HTTP %d %v, want 401 AUTH_FAILURE", status, answer)
		}
		if got := instanceCount(t, env); got != 3 {
			t.Fatalf("after the refused resend: %d instances, want 3", got)
		}
		env.Clock.Advance(time.Second) // other bytes than buy's
		lost := signOnce(t, env.BMC(), "CreateInstances", prepaidPurchaseBody())
		holder.arm("CreateInstances")
		lost.sendAndHangUp(func() bool { return instanceCount(t, env) == 5 })
		status, answer = lost.sendFromElsewhere()
		if status != 200 || holder.held.Load() != 1 || instanceCount(t, env) != 5 {
			t.Fatalf("a lost purchase retried from elsewhere: HTTP %d %v, %d instances; want its answer and 5 instances", status, answer, instanceCount(t, env))
		}

		// One client: DescribeInstances then StopInstances with the same
		// bytes, as Terraform's destroy does with ReleaseInstances, each
		// on whichever connection its pool gives.
		own := signOnce(t, env.BMC(), "DescribeInstances", map[string]any{"instanceIds": []string{id}, "pageSize": 1})
		if status, answer := own.sendOnNewConnection(); status != 200 {
			t.Fatalf("DescribeInstances: HTTP %d %v", status, answer)
		}
		if status, answer := own.as("StopInstances").sendOnNewConnection(); status != 200 {
			t.Fatalf("StopInstances from the same address: HTTP %d %v, want 200", status, answer)
		}
		waitForStatus(t, env, env.BMC(), id, "STOPPED")
	}, apitest.Options{BeforeAnswerFunc: holder.beforeAnswer})
}

// The refusal message says why, so a user who hits the rare legitimate
// case (two actions with one body in one second, from two addresses)
// knows what to do.
func TestSignatureBoundMessageSaysWhy(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		req := signOnce(t, env.BMC(), "DescribeInstances", map[string]any{"instanceIds": []string{"1"}})
		req.send()
		_, answer := req.as("StartInstances").sendFromElsewhere()
		if msg := fmt.Sprint(answer["message"]); !strings.Contains(msg, "another address") || !strings.Contains(msg, "sign a new request") {
			t.Fatalf("message %q does not say why", msg)
		}
	})
}
