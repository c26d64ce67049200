package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/limit"
)

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so that tests see where the console sends it.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, env *apitest.Env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: env.App.URL(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is one answer.
type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(text)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) page { return b.do(http.MethodPost, path, form) }

var hiddenField = regexp.MustCompile(`name="(token|csrf)" value="([^"]+)"`)

// field returns the value of the hidden token or csrf field of a page.
func field(t *testing.T, p page, name string) string {
	t.Helper()
	for _, m := range hiddenField.FindAllStringSubmatch(p.body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no %s field in the page:\n%s", name, p.body)
	return ""
}

// signIn signs in with key and returns the session's CSRF token.
func (b *browser) signIn(key *metalplane.AccessKey) string {
	b.t.Helper()
	login := b.get("/console/login")
	p := b.post("/console/login", url.Values{"token": {field(b.t, login, "token")}, "accessKeyId": {key.ID}, "accessKeySecret": {key.Secret}})
	if p.status != http.StatusSeeOther || p.location != "/console/instances" {
		b.t.Fatalf("sign in: got %d to %q, want 303 to /console/instances:\n%s", p.status, p.location, p.body)
	}
	return field(b.t, b.get("/console/instances"), "csrf")
}

// TestConsoleSignIn: pages need a session; the sign-in form needs its
// token and a right secret, and repeated failures are rate limited like
// the API's; the page carries the strict CSP.
func TestConsoleSignIn(t *testing.T) {
	edge := app.DefaultEdgeLimits
	edge.RateLimits.PerKey = limit.Rate{}
	edge.RateLimits.AuthFailures = limit.Rate{PerSecond: 0.001, Burst: 3}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		b := newBrowser(t, env)
		if p := b.get("/console/instances"); p.status != http.StatusSeeOther || p.location != "/console/login" {
			t.Errorf("signed-out page: got %d to %q, want 303 to the sign-in", p.status, p.location)
		}
		if p := b.get("/console"); p.status != http.StatusMovedPermanently || p.location != "/console/" {
			t.Errorf("/console: got %d to %q, want 301 to /console/", p.status, p.location)
		}
		login := b.get("/console/login")
		if csp := login.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q, want script-src 'self' and nothing inline", csp)
		}
		if strings.Contains(login.body, "<script>") || strings.Contains(login.body, " style=") {
			t.Error("the sign-in page has inline script or style")
		}
		token := field(t, login, "token")
		key := env.Key
		if p := b.post("/console/login", url.Values{"accessKeyId": {key.ID}, "accessKeySecret": {key.Secret}}); p.status != http.StatusForbidden {
			t.Errorf("sign-in without the form's token: got %d, want 403", p.status)
		}
		for i := range 3 {
			p := b.post("/console/login", url.Values{"token": {token}, "accessKeyId": {key.ID}, "accessKeySecret": {"wrong-secret-" + string(rune('a'+i))}})
			if p.status != http.StatusUnauthorized {
				t.Fatalf("wrong secret %d: got %d, want 401", i, p.status)
			}
		}
		if p := b.post("/console/login", url.Values{"token": {token}, "accessKeyId": {key.ID}, "accessKeySecret": {key.Secret}}); p.status != http.StatusTooManyRequests {
			t.Errorf("after 3 failures: got %d, want 429 (the API's auth-failure bucket)", p.status)
		}
	}, apitest.Options{Edge: &edge})
}

// TestConsoleSessions: the session cookie is HttpOnly, SameSite=Strict and
// holds no secret; a form without the session's CSRF token does nothing;
// a tenant reaches neither operator pages nor another team's instance; a
// disabled key or signing out ends the session.
func TestConsoleSessions(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		b := newBrowser(t, env)
		login := b.get("/console/login")
		p := b.post("/console/login", url.Values{"token": {field(t, login, "token")}, "accessKeyId": {env.Key.ID}, "accessKeySecret": {env.Key.Secret}})
		var sessionCookie *http.Cookie
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == "mp_session" {
				sessionCookie = c
			}
		}
		if sessionCookie == nil || !sessionCookie.HttpOnly || sessionCookie.SameSite != http.SameSiteStrictMode || sessionCookie.Path != "/console/" {
			t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/console/", sessionCookie)
		}
		if strings.Contains(sessionCookie.Value, env.Key.Secret) || strings.Contains(p.header.Get("Set-Cookie"), env.Key.Secret) {
			t.Error("the secret went back to the browser")
		}
		csrf := field(t, b.get("/console/instances"), "csrf")

		buy := url.Values{"zoneId": {"SEL-A"}, "instanceTypeId": {"M6C"}, "instanceChargeType": {"POSTPAID"}, "internetChargeType": {"ByBandwidth"}, "amount": {"1"}}
		if p := b.post("/console/buy", buy); p.status != http.StatusForbidden {
			t.Errorf("purchase without the CSRF token: got %d, want 403", p.status)
		}
		if n := countInstances(t, env); n != 0 {
			t.Fatalf("a forged form bought %d instances", n)
		}
		buy.Set("csrf", csrf)
		if p := b.post("/console/buy", buy); p.status != http.StatusSeeOther || countInstances(t, env) != 0 {
			t.Fatalf("purchase without the form's id: got %d and %d instances, want 303 and none", p.status, countInstances(t, env))
		}
		buy.Set("formId", formID(t, b.get("/console/buy")))
		for range 2 { // a double click
			if p := b.post("/console/buy", buy); p.status != http.StatusSeeOther {
				t.Fatalf("purchase: got %d, want 303:\n%s", p.status, p.body)
			}
		}
		if n := countInstances(t, env); n != 1 {
			t.Fatalf("got %d instances after the form was posted twice, want 1", n)
		}
		buy.Set("formId", formID(t, b.get("/console/buy")))
		// The API's refusal, shown on the form: no second set of rules.
		buy.Set("zoneId", "NOWHERE")
		if p := b.post("/console/buy", buy); p.status != http.StatusNotFound || !strings.Contains(p.body, "INVALID_ZONE_NOT_FOUND") {
			t.Errorf("purchase in an unknown zone: got %d, want 404 INVALID_ZONE_NOT_FOUND:\n%s", p.status, p.body)
		}

		if p := b.get("/console/ops/hosts"); p.status != http.StatusForbidden {
			t.Errorf("tenant on an operator page: got %d, want 403", p.status)
		}
		_, otherKey := env.NewTeam(t, "other")
		var other struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := env.ClientWithKey("bmc", "2026-02-01", otherKey).Call(context.Background(), "CreateInstances", map[string]any{"zoneId": "SEL-A",
			"instanceTypeId": "M6C", "instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}, &other); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/console/instances/" + other.InstanceIDSet[0]); p.status != http.StatusNotFound || strings.Contains(p.body, "SEL-A") {
			t.Errorf("another team's instance: got %d, want 404 showing nothing of it", p.status)
		}

		// Signing out ends the session on the server: the old cookie is
		// worth nothing.
		if p := b.post("/console/logout", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
			t.Fatalf("sign out: got %d", p.status)
		}
		stale := newBrowser(t, env)
		stale.c.Jar.SetCookies(mustURL(t, env.App.URL()+"/console/"), []*http.Cookie{sessionCookie})
		if p := stale.get("/console/instances"); p.status != http.StatusSeeOther || p.location != "/console/login" {
			t.Errorf("the cookie of a signed-out session: got %d to %q, want the sign-in", p.status, p.location)
		}

		// A key disabled after the sign-in ends its sessions.
		b2 := newBrowser(t, env)
		b2.signIn(otherKey)
		if err := env.DB.RevokeAccessKey(context.Background(), otherKey.ID); err != nil {
			t.Fatal(err)
		}
		if p := b2.get("/console/instances"); p.status != http.StatusSeeOther || p.location != "/console/login" {
			t.Errorf("session of a revoked key: got %d to %q, want the sign-in", p.status, p.location)
		}
	})
}

// TestConsoleOperator: an admin key of the operators' team sees the
// operator pages and its maintenance switch moves a host out of stock; an
// admin key of another team does not.
func TestConsoleOperator(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		_, opsKey := env.NewTeam(t, "ops")
		b := newBrowser(t, env)
		csrf := b.signIn(opsKey)
		for _, path := range []string{"/console/ops/stock", "/console/ops/hosts", "/console/ops/faults", "/console/ops/teams"} {
			if p := b.get(path); p.status != http.StatusOK {
				t.Errorf("operator on %s: got %d", path, p.status)
			}
		}
		before := availableIn(t, b.get("/console/ops/stock"), "SEL-A/M6C")
		p := b.post("/console/ops/hosts/SEL-A-M6C-0001/maintenance", url.Values{"csrf": {csrf}, "on": {"true"}, "note": {"fan"}})
		if p.status != http.StatusSeeOther || !strings.Contains(p.location, "notice=") {
			t.Fatalf("maintenance: got %d to %q", p.status, p.location)
		}
		if after := availableIn(t, b.get("/console/ops/stock"), "SEL-A/M6C"); after != before-1 {
			t.Errorf("stock after a host went into maintenance: got %d, want %d", after, before-1)
		}
		if p := b.post("/console/ops/hosts/SEL-A-M6C-0002/maintenance", url.Values{"on": {"true"}}); p.status != http.StatusForbidden {
			t.Errorf("maintenance without the CSRF token: got %d, want 403", p.status)
		}

		tenant := newBrowser(t, env)
		tenant.signIn(env.Key) // an admin key, of the demo team
		if p := tenant.get("/console/ops/stock"); p.status != http.StatusForbidden {
			t.Errorf("admin key of a tenant team on the stock page: got %d, want 403", p.status)
		}
	}, apitest.Options{ConsoleOperatorTeam: "ops"})
}

var formIDField = regexp.MustCompile(`name="formId" value="([^"]+)"`)

// formID returns the id of the purchase form of a page.
func formID(t *testing.T, p page) string {
	t.Helper()
	m := formIDField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no formId in the page:\n%s", p.body)
	}
	return m[1]
}

var offerRow = regexp.MustCompile(`data-offer="([^"]+)" data-available="(\d+)"`)

// availableIn reads an offer's available hosts from the stock chart.
func availableIn(t *testing.T, p page, offer string) int {
	t.Helper()
	for _, m := range offerRow.FindAllStringSubmatch(p.body, -1) {
		if m[1] == offer {
			n := 0
			for _, c := range m[2] {
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	t.Fatalf("no offer %s in the chart", offer)
	return 0
}

func countInstances(t *testing.T, env *apitest.Env) int {
	t.Helper()
	var out struct {
		TotalCount int `json:"totalCount"`
	}
	if err := env.BMC().Call(context.Background(), "DescribeInstances", map[string]any{}, &out); err != nil {
		t.Fatal(err)
	}
	return out.TotalCount
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
