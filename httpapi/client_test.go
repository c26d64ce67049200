package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
)

const (
	clientTestKeyID  = "TESTKEYID0001"
	clientTestSecret = "TestSecretPassword123"
	clientTestToken  = "tok-123"
	clientTestReqID  = "T67723B59-F4D1-42EA-BDC1-5E67167FD8CC"
)

// clientTestSeen is what the test server recorded about the last request.
type clientTestSeen struct {
	header http.Header
	host   string
	path   string
	method string
	body   []byte
}

// clientTestServer is a minimal stand-in for the real server: it checks the
// request as PROTOCOL.md §2–§4 describe, verifying signatures with the
// package's own functions, and answers the envelopes of §5. It echoes the
// request body as the response object.
type clientTestServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen clientTestSeen
}

func newClientTestServer(t *testing.T) *clientTestServer {
	t.Helper()
	s := &clientTestServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *clientTestServer) last() clientTestSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

func (s *clientTestServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = clientTestSeen{header: r.Header.Clone(), host: r.Host, path: r.URL.Path, method: r.Method, body: body}
	s.mu.Unlock()

	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"requestId": clientTestReqID, "code": code, "message": msg})
	}
	switch {
	case r.Method != http.MethodPost:
		fail(405, "INVALID_HTTP_METHOD", "POST only")
		return
	case r.URL.RawQuery != "":
		fail(400, "INVALID_PARAMETER", "query string")
		return
	case r.Header.Get("Content-Type") != "application/json":
		fail(400, "INVALID_PARAMETER", "content type")
		return
	case r.Header.Get("X-ZC-Action") == "":
		fail(400, "MISSING_PARAMETER", "action")
		return
	case r.Header.Get("X-ZC-Service") != strings.TrimPrefix(r.URL.Path, "/api/v2/"):
		fail(400, "INVALID_PARAMETER", "service")
		return
	}

	authz := r.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(authz, "Bearer "); ok {
		if token != clientTestToken || r.Header.Get("X-ZC-Timestamp") != "" || r.Header.Get("X-ZC-Signature-Method") != "" {
			fail(401, "AUTH_FAILURE", "bad bearer request")
			return
		}
	} else {
		a, err := httpapi.ParseAuthorization(authz)
		if err != nil || a.Credential != clientTestKeyID {
			fail(401, "AUTH_FAILURE", "bad authorization")
			return
		}
		ts := r.Header.Get("X-ZC-Timestamp")
		if r.Header.Get("X-ZC-Signature-Method") != httpapi.SignatureMethod {
			fail(401, "AUTH_FAILURE", "signature method")
			return
		}
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			fail(401, "AUTH_FAILURE", "timestamp")
			return
		}
		header := func(name string) string {
			if name == "host" {
				return r.Host
			}
			return r.Header.Get(name)
		}
		if !httpapi.VerifySignature(a, clientTestSecret, ts, header, body) {
			fail(401, "AUTH_FAILURE_SIGNATURE_MISMATCH", "mismatch")
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	// The request body, if an object, comes back as the response object.
	if !json.Valid(body) || !bytes.HasPrefix(body, []byte("{")) {
		fail(400, "INVALID_PARAMETER", "body is not a JSON object")
		return
	}
	env := map[string]any{"requestId": clientTestReqID, "response": json.RawMessage(body)}
	json.NewEncoder(w).Encode(env)
}

func (s *clientTestServer) client(version string) *httpapi.Client {
	return &httpapi.Client{
		Endpoint:        s.URL,
		Service:         "bmc",
		Version:         version,
		AccessKeyID:     clientTestKeyID,
		AccessKeySecret: clientTestSecret,
		HTTPClient:      s.Client(),
		NowFunc:         func() time.Time { return time.Unix(1700000000, 0) },
	}
}

// clientTestRequest has the fields of the §4.4 vector, in its order.
type clientTestRequest struct {
	ZoneID             string `json:"zoneId"`
	InstanceChargeType string `json:"instanceChargeType"`
	InstanceTypeID     string `json:"instanceTypeId"`
	InternetChargeType string `json:"internetChargeType"`
}

func TestClientSignsLikeTheSDK(t *testing.T) {
	srv := newClientTestServer(t)
	c := srv.client("2026-02-01")
	req := clientTestRequest{ZoneID: "SEL-A", InstanceChargeType: "POSTPAID", InstanceTypeID: "M6C", InternetChargeType: "ByBandwidth"}
	var resp clientTestRequest
	if err := c.Call(context.Background(), "CreateInstances", req, &resp); err != nil {
		t.Fatalf("Call: got error %v, want nil", err)
	}
	if resp != req {
		t.Errorf("got response %+v, want the echoed %+v", resp, req)
	}

	seen := srv.last()
	host := strings.TrimPrefix(srv.URL, "http://")
	wantHeaders := map[string]string{
		"Content-Type":          "application/json",
		"X-ZC-Action":           "CreateInstances",
		"X-ZC-Version":          "2026-02-01",
		"X-ZC-Service":          "bmc",
		"X-ZC-Timestamp":        "1700000000",
		"X-ZC-Signature-Method": "ZC2-HMAC-SHA256",
		"X-ZC-SDK-Lang":         "go",
		"Authorization":         httpapi.SignRequest(clientTestKeyID, clientTestSecret, "1700000000", "application/json", host, []byte(vecBody)),
	}
	for name, want := range wantHeaders {
		if got := seen.header.Get(name); got != want {
			t.Errorf("got header %s %q, want %q", name, got, want)
		}
	}
	for _, f := range []struct{ name, got, want string }{
		{"method", seen.method, "POST"},
		{"path", seen.path, "/api/v2/bmc"},
		{"host", seen.host, host},
		{"body", string(seen.body), vecBody},
	} {
		if f.got != f.want {
			t.Errorf("got %s %q, want %q", f.name, f.got, f.want)
		}
	}
}

func TestClientCallBodies(t *testing.T) {
	srv := newClientTestServer(t)
	tests := []struct {
		name     string
		req      any
		wantBody string
	}{
		{name: "nil request", req: nil, wantBody: `{}`},
		{name: "nil pointer", req: (*clientTestRequest)(nil), wantBody: `{}`},
		{name: "empty struct", req: struct{}{}, wantBody: `{}`},
		{name: "map", req: map[string]int{"pageNum": 1}, wantBody: `{"pageNum":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp map[string]any
			if err := srv.client("2022-11-20").Call(context.Background(), "DescribeZones", tt.req, &resp); err != nil {
				t.Fatalf("Call: got error %v, want nil", err)
			}
			if got := string(srv.last().body); got != tt.wantBody {
				t.Errorf("got body %s, want %s", got, tt.wantBody)
			}
		})
	}
}

// TestClientSignedRequestReplay replays the identical signed request, as the
// SDK does on retries, and tampered copies, which the server must refuse.
func TestClientSignedRequestReplay(t *testing.T) {
	srv := newClientTestServer(t)
	c := srv.client("2026-02-01")
	body := []byte(vecBody)
	tests := []struct {
		name   string
		tamper func(r *http.Request)
		want   int
	}{
		{name: "identical replay", tamper: func(*http.Request) {}, want: 200},
		{name: "body", tamper: func(r *http.Request) {
			b := bytes.Replace(body, []byte("SEL-A"), []byte("SEL-B"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, want: 401},
		{name: "host", tamper: func(r *http.Request) { r.Host = "console.zenlayer.com" }, want: 401},
		{name: "timestamp", tamper: func(r *http.Request) { r.Header.Set("X-ZC-Timestamp", "1700000001") }, want: 401},
		{name: "credential", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), clientTestKeyID, "OTHER", 1))
		}, want: 401},
		{name: "unsigned header", tamper: func(r *http.Request) { r.Header.Set("X-ZC-Action", "DescribeInstances") }, want: 200},
	}
	orig, err := c.SignedRequest(context.Background(), "CreateInstances", body)
	if err != nil {
		t.Fatalf("SignedRequest: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := orig.Clone(context.Background())
			rb, err := orig.GetBody()
			if err != nil {
				t.Fatalf("GetBody: %v", err)
			}
			r.Body = rb
			tt.tamper(r)
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestClientBearer(t *testing.T) {
	srv := newClientTestServer(t)
	tests := []struct {
		name     string
		token    string
		wantCode metalplane.Code
	}{
		{name: "valid token", token: clientTestToken},
		{name: "wrong token", token: "nope", wantCode: "AUTH_FAILURE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.client("2025-09-01")
			c.Service = "ccs"
			c.AccessKeyID, c.AccessKeySecret = "", ""
			c.Token = tt.token
			err := c.Call(context.Background(), "DescribeKeyPairs", nil, nil)
			if got := srv.last().header.Get("Authorization"); got != "Bearer "+tt.token {
				t.Errorf("got Authorization %q, want %q", got, "Bearer "+tt.token)
			}
			for _, name := range []string{"X-ZC-Timestamp", "X-ZC-Signature-Method"} {
				if got := srv.last().header.Get(name); got != "" {
					t.Errorf("got %s %q, want none with a bearer token", name, got)
				}
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				return
			}
			if got := metalplane.ErrorCode(err); got != tt.wantCode {
				t.Errorf("got code %s (error %v), want %s", got, err, tt.wantCode)
			}
		})
	}
}

func TestClientResponseDecoding(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantErr     bool
		wantAPI     *httpapi.APIError
		wantMalform bool
		wantZone    string
	}{
		{name: "success", status: 200, body: `{"requestId":"T1","response":{"requestId":"T1","zoneId":"SEL-A","extra":1}}`, wantZone: "SEL-A"},
		{name: "success ignores a code", status: 200, body: `{"requestId":"T1","code":"INVALID_PARAMETER","response":{"zoneId":"SEL-A"}}`, wantZone: "SEL-A"},
		{name: "success with empty response", status: 200, body: `{"requestId":"T1","response":{"requestId":"T1"}}`},
		{name: "success without response", status: 200, body: `{"requestId":"T1"}`, wantErr: true, wantMalform: true},
		{name: "success with null response", status: 200, body: `{"requestId":"T1","response":null}`, wantErr: true, wantMalform: true},
		{name: "success not JSON", status: 200, body: `ok`, wantErr: true, wantMalform: true},
		{name: "success with wrong type", status: 200, body: `{"requestId":"T1","response":{"zoneId":1}}`, wantErr: true, wantMalform: true},
		{
			name: "error envelope", status: 404,
			body:    `{"requestId":"T2","code":"INVALID_ZONE_NOT_FOUND","message":"no such zone"}`,
			wantErr: true,
			wantAPI: &httpapi.APIError{Status: 404, Code: "INVALID_ZONE_NOT_FOUND", Message: "no such zone", RequestID: "T2"},
		},
		{
			name: "rate limited", status: 429,
			body:    `{"requestId":"T3","code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}`,
			wantErr: true,
			wantAPI: &httpapi.APIError{Status: 429, Code: "REQUEST_LIMIT_EXCEEDED", Message: "slow down", RequestID: "T3"},
		},
		{name: "error not JSON", status: 502, body: `<html>Bad Gateway</html>`, wantErr: true, wantMalform: true},
		{name: "error empty body", status: 500, body: ``, wantErr: true, wantMalform: true},
		{name: "error without code", status: 400, body: `{"requestId":"T4","message":"x"}`, wantErr: true, wantMalform: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := &httpapi.Client{Endpoint: srv.URL + "/", Service: "bmc", Version: "2026-02-01", AccessKeyID: "K", AccessKeySecret: "S"}
			var resp struct {
				ZoneID string `json:"zoneId"`
			}
			err := c.Call(context.Background(), "DescribeZones", nil, &resp)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				if resp.ZoneID != tt.wantZone {
					t.Errorf("got zoneId %q, want %q", resp.ZoneID, tt.wantZone)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil error, want one")
			}
			if got := errors.Is(err, httpapi.ErrMalformedResponse); got != tt.wantMalform {
				t.Errorf("got errors.Is(ErrMalformedResponse) %v, want %v (error %v)", got, tt.wantMalform, err)
			}
			var apiErr *httpapi.APIError
			if got := errors.As(err, &apiErr); got != (tt.wantAPI != nil) {
				t.Fatalf("got errors.As(*APIError) %v, want %v (error %v)", got, tt.wantAPI != nil, err)
			}
			if tt.wantAPI == nil {
				return
			}
			if *apiErr != *tt.wantAPI {
				t.Errorf("got %+v, want %+v", *apiErr, *tt.wantAPI)
			}
			if !errors.Is(err, metalplane.E(tt.wantAPI.Code)) {
				t.Errorf("got errors.Is(err, metalplane.E(%s)) false, want true", tt.wantAPI.Code)
			}
			if errors.Is(err, metalplane.E("INTERNAL_SERVER_ERROR")) {
				t.Errorf("got errors.Is(err, metalplane.E(INTERNAL_SERVER_ERROR)) true, want false")
			}
			if got := metalplane.ErrorCode(err); got != tt.wantAPI.Code {
				t.Errorf("got metalplane.ErrorCode %s, want %s", got, tt.wantAPI.Code)
			}
			if got := metalplane.ErrorMessage(err); got != tt.wantAPI.Message {
				t.Errorf("got metalplane.ErrorMessage %q, want %q", got, tt.wantAPI.Message)
			}
			if got := err.Error(); !strings.Contains(got, string(tt.wantAPI.Code)) || !strings.Contains(got, tt.wantAPI.RequestID) {
				t.Errorf("got Error() %q, want it to name the code and request id", got)
			}
		})
	}
}

func TestClientConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		c    httpapi.Client
	}{
		{name: "no service", c: httpapi.Client{Endpoint: "http://127.0.0.1:1", AccessKeyID: "K", AccessKeySecret: "S"}},
		{name: "no credentials", c: httpapi.Client{Endpoint: "http://127.0.0.1:1", Service: "bmc"}},
		{name: "no secret", c: httpapi.Client{Endpoint: "http://127.0.0.1:1", Service: "bmc", AccessKeyID: "K"}},
		{name: "no scheme", c: httpapi.Client{Endpoint: "127.0.0.1:1", Service: "bmc", AccessKeyID: "K", AccessKeySecret: "S"}},
		{name: "other scheme", c: httpapi.Client{Endpoint: "ftp://127.0.0.1:1", Service: "bmc", AccessKeyID: "K", AccessKeySecret: "S"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := tt.c.SignedRequest(context.Background(), "DescribeZones", []byte(`{}`)); err == nil {
				t.Errorf("got request to %s, nil error, want an error", r.URL)
			}
		})
	}
}
