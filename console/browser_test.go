package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/ipmisim"
	"github.com/metalplane/metalplane/internal/testdb"
)

// Browser tests: the console in a real Chromium (Debian's chromium,
// installed by scripts/install-test-deps.sh), driven through the DevTools
// protocol by chromedp. Every page visited is saved as a PNG in
// $METALPLANE_SCREENSHOTS (.ci/run points it at artifacts/screenshots),
// else in metalplane-screenshots under the system's temporary directory.

// chromium returns the browser to drive, skipping the test when none is
// installed, or failing it when METALPLANE_TEST_REQUIRE_HARDWARE=1 (CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "chromium is not installed: the console's browser tests need it (run scripts/install-test-deps.sh, or apt-get install chromium)"
	if os.Getenv(ipmisim.RequireEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, ipmisim.RequireEnv)
	}
	t.Skip("SKIPPING BROWSER TEST: " + msg)
	return ""
}

// screenshotDir is where the pages are saved.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("METALPLANE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "metalplane-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one browser tab of a test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

// newBrowserTab starts Chromium (headless; without its sandbox when
// running as root, which the sandbox refuses) and opens a tab.
func newBrowserTab(t *testing.T, base string) *tab {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1200, 760),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("hide-scrollbars", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser and ties it to its context: it
	// must be this long-lived one, not the bounded contexts of do.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return &tab{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
}

// another opens a second tab in the same browser (same cookies).
func (b *tab) another() *tab {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: b.t, ctx: ctx, base: b.base, dir: b.dir}
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *tab) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

func (b *tab) open(path string) { b.t.Helper(); b.do(chromedp.Navigate(b.base + path)) }

// until waits, up to a minute, for a JavaScript condition to hold. It
// asks again after errors: a page being replaced by the next one cannot
// answer.
func (b *tab) until(what, condition string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		ok, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool]("Boolean("+condition+")"))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	b.t.Fatalf("waiting until %s: timed out (last error: %v)\nat %s:\n%s", what, err, b.location(), text)
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expression string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// shot saves the visible page as name.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// signIn fills the sign-in form.
func (b *tab) signIn(id, secret string) {
	b.t.Helper()
	b.open("/console/login")
	b.do(chromedp.WaitVisible(chromedp.ID("accessKeyId")), chromedp.SendKeys(chromedp.ID("accessKeyId"), id),
		chromedp.SendKeys(chromedp.ID("accessKeySecret"), secret), chromedp.Click(chromedp.ID("signin")))
	b.until("signed in", `document.getElementById("signout") !== null`)
}

// choose sets a field of the purchase form as a user would, firing the
// change event the form's script listens to.
func (b *tab) choose(id, value string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(function(){var e=document.getElementById(%q); e.value=%q; e.dispatchEvent(new Event("change",{bubbles:true})); return true})()`, id, value))
}

// TestConsoleInBrowser drives the console in Chromium: a tenant signs in,
// sees the price follow the form, buys two instances, watches both
// progress bars reach RUNNING without reloading, opens a timeline, stops
// an instance and signs out; the tenant cannot reach the operator pages
// or another team's instance by URL; an operator puts a host into
// maintenance in one tab and sees the stock chart change in another.
func TestConsoleInBrowser(t *testing.T) {
	chromium(t)
	env := apitest.Start(t, testdb.SQLiteDSN(t), apitest.Options{SimStepDelay: 400 * time.Millisecond, ConsoleOperatorTeam: "ops"})
	b := newBrowserTab(t, env.App.URL())

	b.open("/console/instances")
	b.until("sent to the sign-in", `location.pathname === "/console/login"`)
	b.shot("login")
	b.signIn(env.Key.ID, env.Key.Secret)
	if cookies := eval[string](b, `document.cookie`); strings.Contains(cookies, "mp_session") {
		t.Errorf("the session cookie is readable by script: %q", cookies)
	}

	// The purchase form: stock and price follow the choice.
	b.open("/console/buy")
	b.do(chromedp.WaitVisible(chromedp.ID("buyButton")))
	b.until("the form's script is ready", `document.readyState === "complete"`)
	b.choose("zoneId", "SEL-A")
	b.choose("instanceTypeId", "M6C")
	b.choose("instanceChargeType", "PREPAID")
	b.choose("amount", "2")
	b.until("the price of two PREPAID instances", `document.getElementById("price").textContent.includes("for 1 month(s), 2 instance(s)")`)
	if stock := eval[string](b, `document.getElementById("stock").textContent`); stock == "" || stock == "0" {
		t.Errorf("stock shown: %q, want the free hosts of SEL-A M6C", stock)
	}
	b.choose("instanceChargeType", "POSTPAID")
	b.until("the hourly price", `document.getElementById("price").textContent.includes("per hour, 2 instance(s)")`)
	b.do(chromedp.SendKeys(chromedp.ID("instanceName"), "web"))
	b.shot("buy")
	b.do(chromedp.Click(chromedp.ID("buyButton")))
	b.until("two instances listed", `document.querySelectorAll("tr.instance").length === 2`)

	// Both bars move to RUNNING with no reload: a mark left on the
	// window survives.
	eval[bool](b, `window.stillHere = true`)
	b.until("an instance at a step", `document.querySelector("tr.instance progress[max='6']") !== null && document.body.innerText.includes("step ")`)
	// For the picture, a later step if the page gets there in time.
	b.until("an instance past its first steps", `Array.from(document.querySelectorAll("tr.instance progress[max='6']")).some(p => p.value >= 2) ||
		document.querySelectorAll("tr.instance[data-status=RUNNING]").length > 0`)
	b.shot("instances-provisioning")
	b.until("both RUNNING", `document.querySelectorAll("tr.instance[data-status=RUNNING]").length === 2`)
	if !eval[bool](b, `window.stillHere === true`) {
		t.Error("the page reloaded to show the progress")
	}
	b.shot("instances")

	// The timeline, then a stop followed live.
	id := eval[string](b, `document.querySelector("tr.instance").dataset.id`)
	b.open("/console/instances/" + id)
	b.until("the timeline", `document.querySelectorAll("#timeline li").length >= 7 && document.getElementById("timeline").innerText.includes("install_os")`)
	if eval[bool](b, `document.getElementById("timeline").innerText.includes("SEL-A-M6C-")`) {
		t.Error("the tenant's timeline names the host")
	}
	b.shot("timeline")
	b.do(chromedp.Click(chromedp.ID("stop")))
	b.until("STOPPED", `document.getElementById("status").textContent === "STOPPED"`)
	b.shot("stopped")
	b.open("/console/billing")
	b.until("the ledger", `document.querySelectorAll("#ledger tbody tr").length >= 1`)
	b.shot("billing")

	// By URL: no operator page, no other team's instance.
	b.open("/console/ops/stock")
	b.until("refused", `document.body.innerText.includes("Operator pages need")`)
	if eval[bool](b, `document.getElementById("stockChart") !== null`) {
		t.Error("a tenant sees the stock chart")
	}
	_, otherKey := env.NewTeam(t, "other")
	var other struct {
		InstanceIDSet []string `json:"instanceIdSet"`
	}
	if err := env.ClientWithKey("bmc", "2026-02-01", otherKey).Call(context.Background(), "CreateInstances", map[string]any{"zoneId": "FRA-A",
		"instanceTypeId": "S8I", "instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth", "instanceName": "secret-box"}, &other); err != nil {
		t.Fatal(err)
	}
	b.open("/console/instances/" + other.InstanceIDSet[0])
	b.until("not found", `document.body.innerText.includes("INVALID_INSTANCE_NOT_FOUND")`)
	if eval[bool](b, `document.body.innerText.includes("secret-box")`) {
		t.Error("a tenant sees another team's instance")
	}
	b.shot("not-found")

	b.open("/console/instances")
	b.do(chromedp.Click(chromedp.ID("signout")))
	b.until("signed out", `document.getElementById("accessKeyId") !== null`)
	b.open("/console/instances")
	b.until("sent to the sign-in again", `location.pathname === "/console/login"`)

	// The operator: the stock chart in one tab follows a maintenance
	// switch flipped in another.
	_, opsKey := env.NewTeam(t, "ops")
	b.signIn(opsKey.ID, opsKey.Secret)
	b.open("/console/ops/stock")
	b.do(chromedp.WaitVisible(chromedp.ID("stockChart")))
	const offer = `document.querySelector("g.offer[data-offer='SEL-A/M6C']").dataset.available`
	before := eval[string](b, offer)
	b.shot("stock")
	hosts := b.another()
	hosts.open("/console/ops/hosts?zone=SEL-A&type=M6C&state=available")
	hosts.do(chromedp.WaitVisible(chromedp.CSS("button.maint-on")))
	hosts.shot("hosts")
	hosts.do(chromedp.Click(chromedp.CSS("button.maint-on")))
	hosts.until("the host in maintenance", `document.getElementById("notice") !== null && document.getElementById("notice").textContent.includes("in maintenance")`)
	var want int
	fmt.Sscan(before, &want)
	b.until("the chart shows one host fewer", fmt.Sprintf(`%s === "%d"`, offer, want-1))
	b.shot("stock-after-maintenance")
	for _, page := range []string{"faults", "teams"} {
		b.open("/console/ops/" + page)
		b.do(chromedp.WaitVisible(chromedp.ID(page)))
		b.shot(page)
	}
}
