package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/limit"
)

// Front ends served beside the API on the same listener (the web console)
// go through the API's own actions and limits rather than reimplementing
// them: Invoke runs an action for a caller they authenticated, and
// AdmitSource and AuthFailed apply the per-source buckets to their
// requests.

// Invoke runs action of service as caller, in process, and returns its
// output fields as JSON (the "response" object without requestId). The
// body is decoded and checked exactly as over HTTP, with the newest
// version of the service, and the caller's rate limit is spent. Errors
// carry the API's codes. Mutating actions run without a replay claim, as
// for a bearer token: the caller is not a signing client that resends.
func (s *Server) Invoke(ctx context.Context, caller metalplane.Caller, service, action string, body []byte) ([]byte, error) {
	versions := serviceVersions[service]
	if len(versions) == 0 {
		return nil, metalplane.Errorf("INVALID_SERVICE", "There is no service %s.", service)
	}
	req := &request{ctx: ctx, id: metalplane.NewRequestID(), service: service, action: action, version: versions[0], body: body,
		caller: caller, limitKey: "key:" + caller.AccessKeyID, server: s}
	start := time.Now()
	payload, err := s.invoke(req)
	var code metalplane.Code
	if err != nil {
		code = metalplane.ErrorCode(err)
		if code == "INTERNAL_SERVER_ERROR" {
			s.logger().Error("internal error", "requestId", req.id, "action", action, "via", "console", "err", err)
		}
	}
	if s.ObserveRequestFunc != nil {
		svc, act, ver := observedNames(req)
		s.ObserveRequestFunc(svc, act, ver, code, time.Since(start))
	}
	s.logger().Info("request", "requestId", req.id, "service", service, "action", action, "via", "console",
		"team", caller.TeamID, "code", string(code), "ms", time.Since(start).Milliseconds())
	return payload, err
}

func (s *Server) invoke(req *request) ([]byte, error) {
	act, err := findAction(req.service, req.action, req.version)
	if err != nil {
		return nil, err
	}
	if err := s.limiters.admitCaller(req.limitKey); err != nil {
		return nil, err
	}
	return run(act, req)
}

// AdmitSource applies the API's per-source buckets to a request of
// another front end: REQUEST_LIMIT_EXCEEDED when its source sent too many
// requests or failed to authenticate too often. It costs no I/O.
func (s *Server) AdmitSource(hr *http.Request) error {
	return s.limiters.admitSource(limit.Source(hr.RemoteAddr))
}

// AuthFailed spends the auth-failure bucket of the request's source, as a
// 401 of the API does.
func (s *Server) AuthFailed(hr *http.Request) {
	s.limiters.authFailures.Spend(limit.Source(hr.RemoteAddr))
}
