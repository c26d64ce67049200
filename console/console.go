// Package console serves the web console at /console/: server-rendered
// pages (html/template) with a little script from an embedded file, for
// tenants (instances with their provisioning progress, an instance's
// timeline, a purchase form with stock and price, balance and ledger) and
// operators (stock chart, hosts and their maintenance switch, injected
// faults, teams). Everything a tenant does goes through the API's own
// actions (API.Invoke): the console has no business rules of its own.
// Operator pages call the same store functions as `metalplane admin`.
// docs/console.md describes it, sign-in and its protections.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// API is the part of the API server the console goes through
// (httpapi.Server).
type API interface {
	// Invoke runs an action as caller and returns its output fields.
	Invoke(ctx context.Context, caller metalplane.Caller, service, action string, body []byte) ([]byte, error)
	// AdmitSource applies the API's per-source rate limits.
	AdmitSource(hr *http.Request) error
	// AuthFailed counts a failed sign-in against its source.
	AuthFailed(hr *http.Request)
}

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Server is the console.
type Server struct {
	API     API
	DB      *sqlstore.DB
	Catalog *metalplane.Catalog
	Logger  *slog.Logger
	// OperatorTeam names (id or name) the team whose admin keys sign in
	// as operators; "" = no operator pages.
	OperatorTeam string
	// NowFunc is the clock of sessions; nil = time.Now.
	NowFunc func() time.Time

	sessions *sessions
	pages    map[string]*template.Template
}

// Session limits: a console left open polls, so idleness means a closed
// tab; a working day bounds any session.
const (
	sessionIdle     = 30 * time.Minute
	sessionLifetime = 12 * time.Hour
	maxSessions     = 10_000
)

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

// Handler returns the console's handler, for paths under Prefix.
func (s *Server) Handler() http.Handler {
	s.sessions = newSessions(sessionIdle, sessionLifetime, maxSessions)
	s.pages = parsePages()
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/instances", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console/login", s.showLogin)
	mux.HandleFunc("POST /console/login", s.login)
	mux.HandleFunc("POST /console/logout", s.tenant(s.logout))
	mux.HandleFunc("GET /console/instances", s.tenant(s.showInstances))
	mux.HandleFunc("GET /console/instances/{id}", s.tenant(s.showInstance))
	mux.HandleFunc("POST /console/instances/{id}/{op}", s.tenant(s.instanceAction))
	mux.HandleFunc("GET /console/buy", s.tenant(s.showBuy))
	mux.HandleFunc("POST /console/buy", s.tenant(s.buy))
	mux.HandleFunc("GET /console/quote", s.tenant(s.quote))
	mux.HandleFunc("GET /console/billing", s.tenant(s.showBilling))
	mux.HandleFunc("GET /console/ops/stock", s.operator(s.showStock))
	mux.HandleFunc("GET /console/ops/hosts", s.operator(s.showHosts))
	mux.HandleFunc("POST /console/ops/hosts/{id}/maintenance", s.operator(s.setMaintenance))
	mux.HandleFunc("GET /console/ops/faults", s.operator(s.showFaults))
	mux.HandleFunc("GET /console/ops/teams", s.operator(s.showTeams))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w.Header())
		// The API's per-source buckets first: a flood of requests, signed
		// in or not, costs an in-memory lookup and nothing else.
		if err := s.API.AdmitSource(r); err != nil {
			http.Error(w, metalplane.ErrorMessage(err), http.StatusTooManyRequests)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows only the console's own files: no inline
// script or style, no other origin, no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// cookie names. The session cookie is scoped to the console's path.
const (
	sessionCookie = "mp_session"
	loginCookie   = "mp_login"
)

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// handlerFunc is a page or form handler of a signed-in session.
type handlerFunc func(w http.ResponseWriter, r *http.Request, sess *session)

// tenant runs h for a signed-in session; others are sent to sign in
// (pages) or refused (forms, script requests). A POST must carry the
// session's CSRF token.
func (s *Server) tenant(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.session(r)
		if sess == nil {
			if r.Method == http.MethodGet && r.Header.Get("X-Console-Live") == "" {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !sameToken(r.PostFormValue("csrf"), sess.csrf) {
				http.Error(w, "The form is stale or forged: reload the page.", http.StatusForbidden)
				return
			}
		}
		// A key disabled since the sign-in ends its sessions.
		key, err := s.DB.FindAccessKey(r.Context(), sess.caller.AccessKeyID)
		if err != nil || !key.Enabled {
			if err != nil && !errors.Is(err, sqlstore.ErrNotFound) {
				s.fail(w, r, err)
				return
			}
			s.sessions.endKey(sess.caller.AccessKeyID)
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		h(w, r, sess)
	}
}

// operator is tenant for operator sessions only; a tenant gets 403.
func (s *Server) operator(h handlerFunc) http.HandlerFunc {
	return s.tenant(func(w http.ResponseWriter, r *http.Request, sess *session) {
		if !sess.operator {
			s.renderStatus(w, r, sess, http.StatusForbidden, "error", errorPage{Status: http.StatusForbidden, Message: "Operator pages need an admin key of the operators' team."})
			return
		}
		h(w, r, sess)
	})
}

// maxFormBytes bounds a form: the purchase form is the largest.
const maxFormBytes = 16 << 10

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return s.sessions.find(c.Value, s.now())
}

// call runs an action for the session and decodes its output into out.
func (s *Server) call(ctx context.Context, sess *session, action string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	res, err := s.API.Invoke(ctx, sess.caller, "bmc", action, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(res, out)
}

// fail answers an error: an API error with its code and message, anything
// else as an internal error logged with its details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong; it has been logged."
	var apiErr *metalplane.Error
	if errors.As(err, &apiErr) && metalplane.ErrorCode(err) != "INTERNAL_SERVER_ERROR" {
		status, msg = metalplane.ErrorCode(err).Status(), string(metalplane.ErrorCode(err))+": "+metalplane.ErrorMessage(err)
	} else {
		s.logger().Error("console", "path", r.URL.Path, "err", err)
	}
	s.renderStatus(w, r, s.session(r), status, "error", errorPage{Status: status, Message: msg})
}

type errorPage struct {
	Status  int
	Message string
}
