// Package httpapi serves the Zenlayer Cloud API 2.0 wire protocol
// (PROTOCOL.md): POST /api/v2/{service}, routing by X-ZC-Action and
// X-ZC-Version, ZC2-HMAC-SHA256 or bearer authentication, and the success
// and error envelopes. Handlers decode, call the domain and the store, and
// encode; they hold no SQL.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/limit"
	"github.com/metalplane/metalplane/sqlstore"
)

// DefaultMaxBodyBytes bounds a request body (PROTOCOL.md §9: userData is at
// most 32 KB, so 1 MiB leaves room for any legitimate request).
const DefaultMaxBodyBytes = 1 << 20

// SignatureWindow is how far X-ZC-Timestamp may be from the server clock.
const SignatureWindow = 300 * time.Second

// MaxHeaderBytes bounds the request line and headers of an API request
// (REQUEST_HEADER_FIELDS_TOO_LARGE, 431). The SDK sends well under 1 KiB;
// 8 KiB is also what common proxies accept in a header line. The
// http.Server's own limit (internal/app) must be larger: beyond it Go
// answers 431 itself, in plain text, before any handler runs.
const MaxHeaderBytes = 8 << 10

// Server answers API requests.
type Server struct {
	DB      *sqlstore.DB
	Catalog *metalplane.Catalog
	Logger  *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// NowFunc is the clock for the signature window; nil means time.Now.
	NowFunc func() time.Time
	// Ready reports whether /healthz answers 200.
	Ready func() bool
	// Enqueue enqueues provisioning jobs in the CreateInstances
	// transaction.
	Enqueue sqlstore.EnqueueFunc
	// EnqueueLifecycle enqueues the jobs of the lifecycle actions in
	// their transaction.
	EnqueueLifecycle sqlstore.LifecycleEnqueueFunc
	// EnqueueEIP enqueues the network jobs of the EIP and DDoS IP
	// actions in their transaction.
	EnqueueEIP sqlstore.EIPEnqueueFunc
	// EnqueueBlockIPs enqueues the driver jobs of BindCidrBlockIps and
	// UnbindCidrBlockIps in their transaction.
	EnqueueBlockIPs sqlstore.BlockIPsEnqueueFunc
	// BeforeAnswerFunc, when set, is called after an action succeeded
	// and before its answer is written. Tests slow answers down with it
	// to lose them on purpose.
	BeforeAnswerFunc func(ctx context.Context, action string)
	// RateLimits are the token buckets in front of the API; the zero
	// value limits nothing. Handler creates the buckets.
	RateLimits RateLimits
	// Traffic reports instances' traffic samples (DescribeInstanceTraffic);
	// nil answers every instance with no samples.
	Traffic metalplane.TrafficSource
	// ObserveRequestFunc, when set, is told of every API request once
	// answered: code is "" on success (/metrics).
	ObserveRequestFunc func(service, action, version string, code metalplane.Code, took time.Duration)
	// Workflows names the steps of the hardware work an instance does in
	// each transient status (provision.Steps while PENDING or CREATING,
	// ...), for DescribeInstancesProgress.
	Workflows map[metalplane.InstanceStatus][]string
	// PurchasedFunc, when set, is told of every purchase CreateInstances
	// made, with the number of instances bought (/metrics).
	PurchasedFunc func(instances int)

	limiters limiters
}

func (s *Server) now() time.Time {
	if s.NowFunc != nil {
		return s.NowFunc()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Handler returns the HTTP handler of the API and /healthz, with fresh
// rate-limit buckets: call it once per server. There is no ServeMux: it
// would answer a path that is not clean (/api/v2/bmc/../ccs) with an
// empty redirect; every path but /healthz gets the API's JSON answers.
func (s *Server) Handler() http.Handler {
	s.limiters = newLimiters(s.RateLimits)
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		if hr.URL.Path == "/healthz" {
			s.serveHealth(w, hr)
			return
		}
		s.serveAPI(w, hr)
	})
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil && !s.Ready() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok\n")
}

// request is one API call being served.
type request struct {
	ctx       context.Context
	id        string
	service   string
	action    string
	version   string
	body      []byte
	caller    metalplane.Caller
	signature string // "" for bearer tokens
	source    string // the client's address (sourceOf)
	// limitKey names the caller's rate-limit bucket once authenticated.
	limitKey string
	// claim is a signed mutating request's claim on its signature; the
	// handler sets the answer it stores (storeAnswer).
	claim  *sqlstore.Replay
	server *Server
}

// storeAnswer sets the answer stored for an identical retry of the request,
// for actions whose answer is more than requestId. The handler calls it
// before the store method that acts, since the claim commits with it.
func (r *request) storeAnswer(v any) error {
	if r.claim == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.claim.Response = b
	return nil
}

// serveAPI checks, in order: the source's rate limits, header size,
// method, service, content type, declared body size, action, version and
// everything of the authentication that does not need the body; then it
// reads the body, checks the signature and the caller's rate limit, and
// runs the action. Every failure answers the JSON error envelope
// (PROTOCOL.md §6: clients cannot read anything else).
func (s *Server) serveAPI(w http.ResponseWriter, hr *http.Request) {
	start := time.Now()
	req := &request{ctx: hr.Context(), id: metalplane.NewRequestID(), source: sourceOf(hr), server: s}
	w.Header().Set("X-Request-Id", req.id)
	var code metalplane.Code
	payload, claim, err := s.handle(hr, req, w)
	if err == nil && s.BeforeAnswerFunc != nil {
		s.BeforeAnswerFunc(hr.Context(), req.action)
	}
	if err == nil {
		delivered := writeAnswer(w, hr, req.id, payload)
		if claim != nil {
			s.DB.SettleReplay(claim, delivered)
		} else {
			recycleAnswer(payload) // a claim's answer may be its stored one: kept
		}
	} else {
		code = metalplane.ErrorCode(err)
		if code == "INTERNAL_SERVER_ERROR" {
			s.logger().Error("internal error", "requestId", req.id, "action", req.action, "err", err)
		}
		if code.Status() == http.StatusUnauthorized {
			s.limiters.authFailures.Spend(limit.Source(hr.RemoteAddr))
		}
		writeError(w, req.id, err)
	}
	if s.ObserveRequestFunc != nil {
		service, action, version := observedNames(req)
		s.ObserveRequestFunc(service, action, version, code, time.Since(start))
	}
	s.logger().Info("request", "requestId", req.id, "service", req.service, "action", req.action, "version", req.version,
		"team", req.caller.TeamID, "code", string(code), "ms", time.Since(start).Milliseconds())
}

// handle serves the request up to its answer: the payload to answer and,
// for a signed mutating request, the written claim whose answer it is, or
// the error to answer. Nothing is read from the body until the request is
// known to be acceptable but for its signature, and nothing is done until
// the caller's rate limit allows it: a 429 always means nothing was done,
// so the SDK's resend of the same bytes (PROTOCOL.md §7) is safe.
func (s *Server) handle(hr *http.Request, req *request, w http.ResponseWriter) ([]byte, *sqlstore.Replay, error) {
	if err := s.limiters.admitSource(limit.Source(hr.RemoteAddr)); err != nil {
		return nil, nil, err
	}
	if n := headerBytes(hr); n > MaxHeaderBytes {
		return nil, nil, metalplane.Errorf("REQUEST_HEADER_FIELDS_TOO_LARGE", "The request line and headers take %d bytes; at most %d are accepted.", n, MaxHeaderBytes)
	}
	if hr.Method != http.MethodPost {
		return nil, nil, metalplane.Errorf("INVALID_HTTP_METHOD", "Method %s is not allowed; use POST.", hr.Method)
	}
	service, ok := strings.CutPrefix(hr.URL.Path, "/api/v2/")
	if !ok || !knownService(service) {
		return nil, nil, metalplane.Errorf("INVALID_SERVICE", "There is no service at %s.", hr.URL.Path)
	}
	req.service = service
	if h := hr.Header.Get("X-ZC-Service"); h != "" && h != service {
		return nil, nil, metalplane.Errorf("INVALID_SERVICE", "X-ZC-Service %s does not match the path.", h)
	}
	if mt, _, err := mime.ParseMediaType(hr.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, nil, metalplane.Errorf("INVALID_PARAMETER", "Content-Type must be application/json.")
	}
	maxBody := s.MaxBodyBytes
	if maxBody == 0 {
		maxBody = DefaultMaxBodyBytes
	}
	tooLarge := metalplane.Errorf("REQUEST_ENTITY_TOO_LARGE", "The request body exceeds %d bytes.", maxBody)
	if hr.ContentLength > maxBody {
		return nil, nil, tooLarge
	}
	req.action = hr.Header.Get("X-ZC-Action")
	req.version = hr.Header.Get("X-ZC-Version")
	act, err := findAction(service, req.action, req.version)
	if err != nil {
		return nil, nil, err
	}
	signed, err := s.authorize(hr, req)
	if err != nil {
		return nil, nil, err
	}
	// A chunked body declares no length: MaxBytesReader stops it at the
	// limit.
	body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, maxBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, nil, tooLarge
		}
		return nil, nil, metalplane.Errorf("INVALID_PARAMETER", "The request body could not be read.")
	}
	req.body = body
	// The server's ReadTimeout bounds the reading of headers and body.
	// Past it, the action must not be cut short: Go cancels the request's
	// context when a read deadline passes while the handler runs, and a
	// cancelled context means a lost answer to writeAnswer.
	http.NewResponseController(w).SetReadDeadline(time.Time{}) // unsupported by some test writers: nothing to clear
	if signed != nil {
		if err := verifySignature(hr, req, signed); err != nil {
			return nil, nil, err
		}
	}
	if err := s.limiters.admitCaller(req.limitKey); err != nil {
		return nil, nil, err
	}
	switch {
	case req.signature == "":
		// Bearer tokens sign nothing: there is nothing to tell a
		// retry by.
		payload, err := run(act, req)
		return payload, nil, err
	case !act.mutating():
		if err := s.bindRead(req); err != nil {
			return nil, nil, err
		}
		payload, err := run(act, req)
		return payload, nil, err
	default:
		return s.runSigned(req, act)
	}
}

// run runs the action and encodes its output fields.
func run(act *action, req *request) ([]byte, error) {
	result, err := act.handle(req)
	if err != nil {
		return nil, err
	}
	if enc, ok := result.(encodedOutput); ok {
		return enc, nil
	}
	return json.Marshal(result)
}

// answerWriteTimeout bounds the writing of an answer, so that its fate is
// known well within sqlstore.ReplayLease.
const answerWriteTimeout = 3 * time.Second

// writeAnswer writes the success envelope and reports whether the whole
// answer reached the client's connection: the client was still there when
// writing began (the request's context is cancelled when it goes away) and
// the write and the flush succeeded. The context is not looked at after
// the flush: a client that read its answer and hung up at once would look
// like one that never got it.
func writeAnswer(w http.ResponseWriter, hr *http.Request, requestID string, payload []byte) bool {
	if hr.Context().Err() != nil {
		return false
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(answerWriteTimeout)) // unsupported by some test writers: then unbounded
	if err := writeSuccessRaw(w, requestID, payload); err != nil {
		return false
	}
	err := rc.Flush()
	return err == nil || errors.Is(err, http.ErrNotSupported)
}

// writeSuccessRaw writes the success envelope around payload, a JSON object
// of the action's output fields, adding requestId inside and outside. The
// length is set so that flushing does not turn the answer chunked. The
// envelope is written around the payload rather than copied together
// with it: a page of DescribeInstances is some 27 KB, and the copy was a
// fifth of the bytes the server allocated per request.
func writeSuccessRaw(w http.ResponseWriter, requestID string, payload []byte) error {
	idJSON, _ := json.Marshal(requestID)
	head := make([]byte, 0, 64+2*len(idJSON))
	head = append(head, `{"requestId":`...)
	head = append(head, idJSON...)
	head = append(head, `,"response":{"requestId":`...)
	head = append(head, idJSON...)
	inner := bytes.TrimSpace(payload)
	if len(inner) > 2 {
		head = append(head, ',')
		inner = inner[1 : len(inner)-1]
	} else {
		inner = nil
	}
	const tail = "}}"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+len(inner)+len(tail)))
	w.WriteHeader(http.StatusOK)
	for _, part := range [][]byte{head, inner, []byte(tail)} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

type errorEnvelope struct {
	RequestID string          `json:"requestId"`
	Code      metalplane.Code `json:"code"`
	Message   string          `json:"message"`
}

// writeError writes the error envelope. Like an answer, it gets a write
// deadline of its own: the server's WriteTimeout counts from the end of
// the request's headers, and a long action may have used it up.
func writeError(w http.ResponseWriter, requestID string, err error) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerWriteTimeout)) // unsupported by some test writers: then unbounded
	code := metalplane.ErrorCode(err)
	body, _ := json.Marshal(errorEnvelope{RequestID: requestID, Code: code, Message: metalplane.ErrorMessage(err)})
	w.Header().Set("Content-Type", "application/json")
	if code == "INVALID_HTTP_METHOD" {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.WriteHeader(code.Status())
	w.Write(body)
}
