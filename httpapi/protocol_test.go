package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// rawCall sends a request built by mutate from a correctly signed one and
// returns the status and decoded error envelope.
func rawCall(t *testing.T, env *apitest.Env, service, action, version string, body []byte, mutate func(r *http.Request)) (int, map[string]any) {
	t.Helper()
	c := env.Client(service, version)
	req, err := c.SignedRequest(context.Background(), action, body)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("status %d: body is not JSON: %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	return resp.StatusCode, out
}

func TestProtocolErrors(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		resign := func(r *http.Request, secret string, ts int64, body []byte) {
			r.Header.Set("X-ZC-Timestamp", strconv.FormatInt(ts, 10))
			r.Header.Set("Authorization", httpapi.SignRequest(env.Key.ID, secret, strconv.FormatInt(ts, 10), "application/json", r.Host, body))
		}
		cases := []struct {
			name    string
			service string
			action  string
			version string
			body    string
			mutate  func(r *http.Request)
			want    metalplane.Code
		}{
			{name: "get method", mutate: func(r *http.Request) { r.Method = http.MethodGet }, want: "INVALID_HTTP_METHOD"},
			{name: "unknown path", mutate: func(r *http.Request) { r.URL.Path = "/api/v2/nope" }, want: "INVALID_SERVICE"},
			{name: "root path", mutate: func(r *http.Request) { r.URL.Path = "/" }, want: "INVALID_SERVICE"},
			{name: "service header contradicts path", mutate: func(r *http.Request) { r.Header.Set("X-ZC-Service", "ccs") }, want: "INVALID_SERVICE"},
			{name: "form content type", mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, want: "INVALID_PARAMETER"},
			{name: "no action", mutate: func(r *http.Request) { r.Header.Del("X-ZC-Action") }, want: "INVALID_ACTION"},
			{name: "unknown action", action: "LaunchRocket", want: "INVALID_ACTION"},
			{name: "ccs action on bmc", action: "DescribeKeyPairs", want: "INVALID_ACTION"},
			{name: "no version", mutate: func(r *http.Request) { r.Header.Del("X-ZC-Version") }, want: "INVALID_VERSION"},
			{name: "unknown version", version: "2019-01-01", want: "INVALID_VERSION"},
			{name: "ccs version on bmc", version: httpapi.CCSVersion, want: "INVALID_VERSION"},
			{name: "no authorization", mutate: func(r *http.Request) { r.Header.Del("Authorization") }, want: "AUTH_FAILURE"},
			{name: "garbled authorization", mutate: func(r *http.Request) { r.Header.Set("Authorization", "ZC2-HMAC-SHA256 nonsense") }, want: "AUTH_FAILURE"},
			{name: "other algorithm", mutate: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ZC2-HMAC-SHA256", "AWS4-HMAC-SHA256", 1))
			}, want: "AUTH_FAILURE"},
			{name: "no signature method", mutate: func(r *http.Request) { r.Header.Del("X-ZC-Signature-Method") }, want: "AUTH_FAILURE"},
			{name: "non-numeric timestamp", mutate: func(r *http.Request) { r.Header.Set("X-ZC-Timestamp", "yesterday") }, want: "AUTH_FAILURE"},
			{name: "unknown key", mutate: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), env.Key.ID, "NOSUCHKEY", 1))
			}, want: "AUTH_FAILURE"},
			{name: "bad bearer token", mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer not-a-token") }, want: "AUTH_FAILURE"},
			{name: "wrong secret", mutate: func(r *http.Request) { resign(r, "wrong-secret", time.Now().Unix(), []byte("{}")) }, want: "AUTH_FAILURE_SIGNATURE_MISMATCH"},
			{name: "tampered timestamp", mutate: func(r *http.Request) {
				r.Header.Set("X-ZC-Timestamp", strconv.FormatInt(time.Now().Unix()+1, 10))
			}, want: "AUTH_FAILURE_SIGNATURE_MISMATCH"},
			{name: "stale timestamp", mutate: func(r *http.Request) { resign(r, env.Key.Secret, time.Now().Unix()-301, []byte("{}")) }, want: "AUTH_FAILURE_SIGNATURE_EXPIRED"},
			{name: "future timestamp", mutate: func(r *http.Request) { resign(r, env.Key.Secret, time.Now().Unix()+301, []byte("{}")) }, want: "AUTH_FAILURE_SIGNATURE_EXPIRED"},
			{name: "body not JSON", body: "zones please", want: "INVALID_PARAMETER"},
			{name: "body is an array", body: "[]", want: "INVALID_PARAMETER"},
			{name: "empty body", body: " ", want: "INVALID_PARAMETER"},
			{name: "wrong field type", body: `{"acceptLanguage": 5}`, want: "INVALID_PARAMETER"},
			{name: "oversized body", body: `{"acceptLanguage":"` + strings.Repeat("a", 2<<20) + `"}`, want: "REQUEST_ENTITY_TOO_LARGE"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				service, action, version, body := "bmc", "DescribeZones", httpapi.BMCVersion2026, "{}"
				if tc.service != "" {
					service = tc.service
				}
				if tc.action != "" {
					action = tc.action
				}
				if tc.version != "" {
					version = tc.version
				}
				if tc.body != "" {
					body = tc.body
				}
				status, out := rawCall(t, env, service, action, version, []byte(body), tc.mutate)
				if got := metalplane.Code(out["code"].(string)); got != tc.want || status != tc.want.Status() {
					t.Fatalf("got %s (HTTP %d), want %s (HTTP %d): %v", got, status, tc.want, tc.want.Status(), out["message"])
				}
				if id, _ := out["requestId"].(string); len(id) != 37 || id[0] != 'T' {
					t.Errorf("got requestId %q, want T + UUID", id)
				}
				if _, ok := out["response"]; ok {
					t.Errorf("error envelope carries a response key")
				}
			})
		}
	})
}

func TestSuccessEnvelope(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		for _, contentType := range []string{"application/json", "application/json; charset=utf-8"} {
			c := env.BMC()
			req, err := c.SignedRequest(context.Background(), "DescribeZones", []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			ts := req.Header.Get("X-ZC-Timestamp")
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("Authorization", httpapi.SignRequest(env.Key.ID, env.Key.Secret, ts, contentType, req.Host, []byte(`{}`)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				RequestID string `json:"requestId"`
				Response  struct {
					RequestID string            `json:"requestId"`
					ZoneSet   []json.RawMessage `json:"zoneSet"`
				} `json:"response"`
			}
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != 200 || out.RequestID == "" || out.RequestID != out.Response.RequestID || len(out.Response.ZoneSet) == 0 {
				t.Fatalf("content type %q: got HTTP %d %+v, want 200 with matching request IDs and zones", contentType, resp.StatusCode, out)
			}
		}
	})
}

func TestBearerToken(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		_, token, err := env.DB.CreateBearerToken(context.Background(), sqlstore.BearerTokenCreate{TeamID: env.Team.ID, IsAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		c := &httpapi.Client{Endpoint: env.App.URL(), Service: "bmc", Version: httpapi.BMCVersion2022, Token: token}
		var out struct{ ZoneSet []map[string]any }
		if err := c.Call(context.Background(), "DescribeZones", nil, &out); err != nil {
			t.Fatalf("bearer call: %v", err)
		}
		if len(out.ZoneSet) < 4 {
			t.Fatalf("got %d zones, want at least 4", len(out.ZoneSet))
		}
	})
}

func TestRevokedKeyIsRefused(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		_, key := env.NewTeam(t, "other")
		c := env.ClientWithKey("bmc", httpapi.BMCVersion2026, key)
		if err := c.Call(context.Background(), "DescribeZones", nil, nil); err != nil {
			t.Fatalf("before revoke: %v", err)
		}
		if err := env.DB.RevokeAccessKey(context.Background(), key.ID); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, c.Call(context.Background(), "DescribeZones", nil, nil), "AUTH_FAILURE")
	})
}

var _ = bytes.NewReader
