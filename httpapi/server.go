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
	"strings"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// DefaultMaxBodyBytes bounds a request body (PROTOCOL.md §9: userData is at
// most 32 KB, so 1 MiB leaves room for any legitimate request).
const DefaultMaxBodyBytes = 1 << 20

// SignatureWindow is how far X-ZC-Timestamp may be from the server clock.
const SignatureWindow = 300 * time.Second

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

// Handler returns the HTTP handler of the API and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc("/", s.serveAPI)
	return mux
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
	server    *Server
}

// serveAPI checks, in order: method, service, content type, body size,
// action, version, authentication; then it runs the action. Every failure
// answers the JSON error envelope (PROTOCOL.md §6: clients cannot read
// anything else).
func (s *Server) serveAPI(w http.ResponseWriter, hr *http.Request) {
	start := time.Now()
	req := &request{ctx: hr.Context(), id: metalplane.NewRequestID(), server: s}
	w.Header().Set("X-Request-Id", req.id)
	code, err := s.handle(hr, req, w)
	if err != nil {
		code = metalplane.ErrorCode(err)
		if code == "INTERNAL_SERVER_ERROR" {
			s.logger().Error("internal error", "requestId", req.id, "action", req.action, "err", err)
		}
		writeError(w, req.id, err)
	}
	s.logger().Info("request", "requestId", req.id, "service", req.service, "action", req.action, "version", req.version,
		"team", req.caller.TeamID, "code", string(code), "ms", time.Since(start).Milliseconds())
}

// handle serves the request; it writes the success response itself and
// returns the error to write otherwise.
func (s *Server) handle(hr *http.Request, req *request, w http.ResponseWriter) (metalplane.Code, error) {
	if hr.Method != http.MethodPost {
		return "", metalplane.Errorf("INVALID_HTTP_METHOD", "Method %s is not allowed; use POST.", hr.Method)
	}
	service, ok := strings.CutPrefix(hr.URL.Path, "/api/v2/")
	if !ok || !knownService(service) {
		return "", metalplane.Errorf("INVALID_SERVICE", "There is no service at %s.", hr.URL.Path)
	}
	req.service = service
	if h := hr.Header.Get("X-ZC-Service"); h != "" && h != service {
		return "", metalplane.Errorf("INVALID_SERVICE", "X-ZC-Service %s does not match the path.", h)
	}
	if mt, _, err := mime.ParseMediaType(hr.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", metalplane.Errorf("INVALID_PARAMETER", "Content-Type must be application/json.")
	}
	limit := s.MaxBodyBytes
	if limit == 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", metalplane.Errorf("REQUEST_ENTITY_TOO_LARGE", "The request body exceeds %d bytes.", limit)
		}
		return "", metalplane.Errorf("INVALID_PARAMETER", "The request body could not be read.")
	}
	req.body = body
	req.action = hr.Header.Get("X-ZC-Action")
	req.version = hr.Header.Get("X-ZC-Version")
	act, err := findAction(service, req.action, req.version)
	if err != nil {
		return "", err
	}
	if err := s.authenticate(hr, req); err != nil {
		return "", err
	}
	if act.mutating() && req.signature != "" {
		stored, err := s.DB.FindReplay(req.ctx, req.caller.AccessKeyID, req.signature, req.action)
		if err != nil {
			return "", err
		}
		if stored != nil {
			writeSuccessRaw(w, req.id, stored)
			return "", nil
		}
	}
	result, err := act.handle(req)
	if errors.Is(err, sqlstore.ErrReplayed) {
		// An identical request committed first, concurrently.
		stored, ferr := s.DB.FindReplay(req.ctx, req.caller.AccessKeyID, req.signature, req.action)
		if ferr != nil || stored == nil {
			return "", errors.Join(err, ferr)
		}
		writeSuccessRaw(w, req.id, stored)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(result)
	if err != nil {
		return "", err
	}
	if act.replay == replayAfter && req.signature != "" {
		if err := s.DB.SaveReplay(req.ctx, req.caller.AccessKeyID, req.signature, req.action, payload); err != nil {
			s.logger().Warn("save replay", "requestId", req.id, "err", err)
		}
	}
	writeSuccessRaw(w, req.id, payload)
	return "", nil
}

// writeSuccessRaw writes the success envelope around payload, a JSON object
// of the action's output fields, adding requestId inside and outside.
func writeSuccessRaw(w http.ResponseWriter, requestID string, payload []byte) {
	idJSON, _ := json.Marshal(requestID)
	var b bytes.Buffer
	b.Grow(len(payload) + 100)
	b.WriteString(`{"requestId":`)
	b.Write(idJSON)
	b.WriteString(`,"response":{"requestId":`)
	b.Write(idJSON)
	inner := bytes.TrimSpace(payload)
	if len(inner) > 2 {
		b.WriteByte(',')
		b.Write(inner[1 : len(inner)-1])
	}
	b.WriteString("}}")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

type errorEnvelope struct {
	RequestID string          `json:"requestId"`
	Code      metalplane.Code `json:"code"`
	Message   string          `json:"message"`
}

func writeError(w http.ResponseWriter, requestID string, err error) {
	code := metalplane.ErrorCode(err)
	body, _ := json.Marshal(errorEnvelope{RequestID: requestID, Code: code, Message: metalplane.ErrorMessage(err)})
	w.Header().Set("Content-Type", "application/json")
	if code == "INVALID_HTTP_METHOD" {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.WriteHeader(code.Status())
	w.Write(body)
}
