package httpapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// Clock-driven transitions (sqlstore/periodic.go): the tests move the
// apitest clock and run the sweep themselves; nothing waits for time to
// pass. The only polling is for the asynchronous provisioning and
// power-off jobs, as everywhere else.

// clockT0 is where the clock tests start: a fixed time, far from month
// ends so that "one month later" is unambiguous.
var clockT0 = time.Date(2031, 3, 10, 8, 0, 0, 0, time.UTC)

// clockSweep runs one sweep at the clock's time.
func clockSweep(t *testing.T, env *apitest.Env) sqlstore.SweepResult {
	t.Helper()
	res, err := env.App.Provisioner.RunPeriodic(context.Background())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return res
}

// clockCreate buys one instance with req one second after the previous
// request (identical signed requests in one second are replays), waits
// until it runs, and returns its ID and createTime.
func clockCreate(t *testing.T, env *apitest.Env, req map[string]any) (string, time.Time) {
	t.Helper()
	env.Clock.Advance(time.Second)
	var out createResponse
	if err := env.BMC().Call(context.Background(), "CreateInstances", req, &out); err != nil {
		t.Fatalf("CreateInstances: %v", err)
	}
	id := out.InstanceIDSet[0]
	d := waitStatus(t, env, []string{id}, "RUNNING")[0]
	return id, clockParse(t, d["createTime"])
}

func clockParse(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return at
}

// clockDescribe returns the instance as DescribeInstances shows it, or nil.
func clockDescribe(t *testing.T, env *apitest.Env, id string) map[string]any {
	t.Helper()
	var out describeResponse
	if err := env.BMC().Call(context.Background(), "DescribeInstances", map[string]any{"instanceIds": []string{id}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.DataSet) == 0 {
		return nil
	}
	return out.DataSet[0]
}

// clockRows returns the team's ledger rows of the instance and kind.
func clockRows(t *testing.T, env *apitest.Env, id, kind string) []metalplane.LedgerEntry {
	t.Helper()
	all, err := env.DB.Ledger(context.Background(), env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []metalplane.LedgerEntry
	for _, e := range all {
		if e.InstanceID == id && e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// clockBalance returns the team's balance after checking that it equals
// the sum of the ledger.
func clockBalance(t *testing.T, env *apitest.Env) metalplane.Money {
	t.Helper()
	balance, sum := teamMoney(t, env, env.Team.ID)
	if balance != sum {
		t.Fatalf("balance %s, ledger sum %s: they must be equal", balance, sum)
	}
	return balance
}

// clockEvent returns the instance's first event matching kind and driver
// "clock", failing the test if there is none.
func clockEvent(t *testing.T, env *apitest.Env, id, kind string) sqlstore.Event {
	t.Helper()
	events, err := env.DB.InstanceEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == kind && e.Driver == sqlstore.ClockDriver {
			return e
		}
	}
	t.Fatalf("no %q event by the clock in %+v", kind, events)
	return sqlstore.Event{}
}

// clockWaitPowerOff polls until the power-off job of a recycled instance
// has run.
func clockWaitPowerOff(t *testing.T, env *apitest.Env, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		events, err := env.DB.InstanceEvents(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Kind == "step" && e.Step == "power_off" && e.Driver == "sim" && e.At.After(events[0].At) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no power-off after 60 s: %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clockHostState returns the state of the instance's host.
func clockHostState(t *testing.T, env *apitest.Env, hostID string) string {
	t.Helper()
	hosts, err := env.DB.FindHosts(context.Background(), sqlstore.HostFilter{ZoneID: "SEL-A", InstanceTypeID: "M6C"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.ID == hostID {
			return h.State
		}
	}
	t.Fatalf("host %s not found", hostID)
	return ""
}

// clockForceStatus sets the instance's status behind the API's back, to
// hold it in a transitional status without timing a real job.
func clockForceStatus(t *testing.T, env *apitest.Env, id string, status metalplane.InstanceStatus) {
	t.Helper()
	if _, err := env.DB.SQL.ExecContext(context.Background(), `UPDATE instances SET status = $1 WHERE id = $2`, string(status), id); err != nil {
		t.Fatal(err)
	}
}

// TestClockPostpaidAccrual: a POSTPAID instance is charged once per ended
// hour from its createTime, missed hours are caught up, sweeps repeated
// or run at once charge nothing twice, billing stops in the recycle bin
// (the hour it stops in is charged in full), and 24 h in the bin release
// the instance and return its host.
func TestClockPostpaidAccrual(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		env.Clock.Set(clockT0)
		// A failed provision is never charged.
		if err := env.DB.InjectFault(ctx, sqlstore.Fault{Step: "install_os", Remaining: 1}); err != nil {
			t.Fatal(err)
		}
		var failed createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"instanceName": "doomed"}), &failed); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, failed.InstanceIDSet, "CREATE_FAILED")
		stockBefore := stockSnapshot(t, c)["SEL-A/M6C"]
		id, created := clockCreate(t, env, minimalCreate())
		inst, err := env.DB.FindInstanceByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		_, hourly, err := env.DB.InstancePrices(ctx, id)
		if err != nil || hourly <= 0 {
			t.Fatalf("hourly price %s (%v), want a positive price", hourly, err)
		}
		start := clockBalance(t, env)
		expect := func(step string, hours int) {
			t.Helper()
			rows := clockRows(t, env, id, metalplane.LedgerHourlyCharge)
			if len(rows) != hours {
				t.Fatalf("%s: %d hourly rows, want %d", step, len(rows), hours)
			}
			for _, r := range rows {
				if r.Amount != -hourly {
					t.Fatalf("%s: hourly row of %s, want %s", step, r.Amount, -hourly)
				}
			}
			if got, want := clockBalance(t, env), start-metalplane.Money(hours)*hourly; got != want {
				t.Fatalf("%s: balance %s, want %s", step, got, want)
			}
		}

		env.Clock.Set(created.Add(time.Hour - time.Second))
		if res := clockSweep(t, env); res.HourlyCharges != 0 {
			t.Fatalf("first hour not over: %+v, want no charge", res)
		}
		expect("59:59", 0)

		env.Clock.Set(created.Add(3 * time.Hour))
		if res := clockSweep(t, env); res.HourlyCharges != 3 {
			t.Fatalf("+3 h: %+v, want 3 hourly charges", res)
		}
		expect("+3 h", 3)
		if rows := clockRows(t, env, failed.InstanceIDSet[0], metalplane.LedgerHourlyCharge); len(rows) != 0 {
			t.Fatalf("a CREATE_FAILED instance was charged %d hours", len(rows))
		}
		if e := clockEvent(t, env, failed.InstanceIDSet[0], "billing"); !strings.Contains(e.Detail, "failed provision") {
			t.Fatalf("billing event of the failed instance: %+v", e)
		}
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("second sweep at +3 h did %+v, want nothing", res)
		}
		expect("+3 h, swept twice", 3)

		// Four sweeps at once share two hours: none is charged twice.
		env.Clock.Set(created.Add(5*time.Hour + 30*time.Minute))
		if n := clockConcurrentSweeps(t, env, 4).HourlyCharges; n != 2 {
			t.Fatalf("concurrent sweeps charged %d hours, want 2", n)
		}
		expect("+5.5 h, concurrent sweeps", 5)

		// A day without sweeps (server down) is caught up in one.
		env.Clock.Set(created.Add(29*time.Hour + 30*time.Minute))
		if res := clockSweep(t, env); res.HourlyCharges != 24 {
			t.Fatalf("catch-up: %+v, want 24 hourly charges", res)
		}
		expect("+29.5 h, catch-up", 29)
		if d := clockDescribe(t, env, id); d["instanceStatus"] != "RUNNING" {
			t.Fatalf("accrual changed the status to %v", d["instanceStatus"])
		}

		// TerminateInstance at +29.5 h: billing stops; the 30th hour is
		// charged in full, and nothing more while in the recycle bin.
		terminated := env.Clock.Now()
		if err := c.Call(ctx, "TerminateInstance", map[string]any{"instanceId": id}, nil); err != nil {
			t.Fatal(err)
		}
		if res := clockSweep(t, env); res.HourlyCharges != 1 {
			t.Fatalf("after TerminateInstance: %+v, want the last hour charged", res)
		}
		expect("terminated", 30)
		clockEvent(t, env, id, "billing")
		env.Clock.Set(terminated.Add(24*time.Hour - time.Second))
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("in the recycle bin: %+v, want nothing", res)
		}
		expect("23:59:59 in the recycle bin", 30)
		if d := clockDescribe(t, env, id); d == nil || d["instanceStatus"] != "RECYCLE" {
			t.Fatalf("got %v before 24 h, want the instance in RECYCLE", d)
		}
		if got := stockSnapshot(t, c)["SEL-A/M6C"]; got != stockBefore-1 {
			t.Fatalf("stock %d in the recycle bin, want %d", got, stockBefore-1)
		}

		env.Clock.Set(terminated.Add(24 * time.Hour))
		if res := clockSweep(t, env); res.Released != 1 || res.HourlyCharges != 0 {
			t.Fatalf("24 h in the recycle bin: %+v, want one release", res)
		}
		if d := clockDescribe(t, env, id); d != nil {
			t.Fatalf("released instance still listed: %v", d)
		}
		if got := stockSnapshot(t, c)["SEL-A/M6C"]; got != stockBefore {
			t.Fatalf("stock %d after release, want %d", got, stockBefore)
		}
		if state := clockHostState(t, env, inst.HostID); state != sqlstore.HostAvailable {
			t.Fatalf("host %s is %s after release, want available", inst.HostID, state)
		}
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("sweep after release did %+v, want nothing", res)
		}
		expect("released", 30)
	})
}

// clockConcurrentSweeps runs n sweeps at once and adds up what they did.
func clockConcurrentSweeps(t *testing.T, env *apitest.Env, n int) sqlstore.SweepResult {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var total sqlstore.SweepResult
	var errs []error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := env.App.Provisioner.RunPeriodic(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			total.InternetChanges += res.InternetChanges
			total.Renewals += res.Renewals
			total.Recycled += res.Recycled
			total.HourlyCharges += res.HourlyCharges
			total.Released += res.Released
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent sweeps: %v", errs)
	}
	return total
}

// TestClockPrepaidAutoRenew: at expiredTime an auto-renewing PREPAID
// instance is renewed once (one debit, expiredTime a period later),
// including with a balance of exactly one period; missed periods are all
// renewed after a downtime.
func TestClockPrepaidAutoRenew(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		env.Clock.Set(clockT0)
		req := prepaidWith(nil)
		price := inquiryTotal(t, c, req)
		id, created := clockCreate(t, env, req)
		d := clockDescribe(t, env, id)
		expiry := clockParse(t, d["expiredTime"])
		if want := created.AddDate(0, 1, 0); !expiry.Equal(want) || d["autoRenew"] != true {
			t.Fatalf("expiredTime %s autoRenew %v, want %s, true", expiry, d["autoRenew"], want)
		}

		env.Clock.Set(expiry.Add(-time.Second))
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("a second before expiry: %+v, want nothing", res)
		}

		// Exactly one period in the bank is enough.
		setBalance(t, env, env.Team.ID, price)
		env.Clock.Set(expiry)
		if res := clockSweep(t, env); res.Renewals != 1 || res.Recycled != 0 {
			t.Fatalf("at expiry: %+v, want one renewal", res)
		}
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("second sweep at expiry did %+v, want nothing", res)
		}
		d = clockDescribe(t, env, id)
		renewed := clockParse(t, d["expiredTime"])
		if want := expiry.AddDate(0, 1, 0); !renewed.Equal(want) || d["instanceStatus"] != "RUNNING" || d["autoRenew"] != true {
			t.Fatalf("after renewal: %v expires %s autoRenew %v, want RUNNING, %s, true", d["instanceStatus"], renewed, d["autoRenew"], want)
		}
		if b := clockBalance(t, env); b != 0 {
			t.Fatalf("balance %s after renewing with exactly one period, want 0", b)
		}
		rows := clockRows(t, env, id, metalplane.LedgerRenewal)
		if len(rows) != 1 || rows[0].Amount != -price {
			t.Fatalf("renewal rows %+v, want one of %s", rows, -price)
		}
		if e := clockEvent(t, env, id, "renewed"); e.Step != "expiry" {
			t.Fatalf("renewal event %+v, want step expiry", e)
		}

		// Down for two periods: both are renewed, each debited once.
		setBalance(t, env, env.Team.ID, 10*price)
		env.Clock.Set(renewed.AddDate(0, 1, 1))
		if res := clockConcurrentSweeps(t, env, 3); res.Renewals != 2 || res.Recycled != 0 {
			t.Fatalf("catch-up: %+v, want two renewals", res)
		}
		d = clockDescribe(t, env, id)
		if got, want := clockParse(t, d["expiredTime"]), renewed.AddDate(0, 2, 0); !got.Equal(want) || d["instanceStatus"] != "RUNNING" {
			t.Fatalf("after catch-up: %v expires %s, want RUNNING, %s", d["instanceStatus"], got, want)
		}
		if b := clockBalance(t, env); b != 8*price {
			t.Fatalf("balance %s after two renewals, want %s", b, 8*price)
		}
		if n := len(clockRows(t, env, id, metalplane.LedgerRenewal)); n != 3 {
			t.Fatalf("%d renewal rows, want 3", n)
		}
		if n := len(clockRows(t, env, id, metalplane.LedgerHourlyCharge)); n != 0 {
			t.Fatalf("a PREPAID instance got %d hourly charges", n)
		}
	})
}

// TestClockPrepaidExpiry: a PREPAID instance whose subscription was
// cancelled (TerminateInstance), or whose team cannot pay the next
// period, goes to RECYCLE at expiredTime, powered off and charged
// nothing, and is released 24 h later with its host back in stock.
func TestClockPrepaidExpiry(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		env.Clock.Set(clockT0)
		stockBefore := stockSnapshot(t, c)["SEL-A/M6C"]
		req := prepaidWith(nil)
		price := inquiryTotal(t, c, req)
		cancelled, _ := clockCreate(t, env, req)
		short, _ := clockCreate(t, env, req)
		if err := c.Call(ctx, "TerminateInstance", map[string]any{"instanceId": cancelled}, nil); err != nil {
			t.Fatal(err)
		}
		expiries := map[string]time.Time{}
		hosts := map[string]string{}
		for _, id := range []string{cancelled, short} {
			d := clockDescribe(t, env, id)
			if d["instanceStatus"] != "RUNNING" {
				t.Fatalf("%s is %v before expiry, want RUNNING", id, d["instanceStatus"])
			}
			expiries[id] = clockParse(t, d["expiredTime"])
			inst, err := env.DB.FindInstanceByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			hosts[id] = inst.HostID
		}
		if clockDescribe(t, env, cancelled)["autoRenew"] != false {
			t.Fatalf("TerminateInstance left autoRenew on")
		}
		setBalance(t, env, env.Team.ID, price-1)

		// An INSTALLING instance goes to the bin only once its reinstall
		// has ended (the status is forced here: a real reinstall would
		// end before the sweep).
		clockForceStatus(t, env, short, metalplane.StatusInstalling)
		last := expiries[short] // created one second after cancelled
		env.Clock.Set(last)
		if res := clockSweep(t, env); res.Recycled != 1 || res.Renewals != 0 {
			t.Fatalf("at expiry, one INSTALLING: %+v, want one recycled", res)
		}
		if d := clockDescribe(t, env, short); d["instanceStatus"] != "INSTALLING" {
			t.Fatalf("INSTALLING instance is %v after expiry, want INSTALLING until its reinstall ends", d["instanceStatus"])
		}
		clockForceStatus(t, env, short, metalplane.StatusRunning)
		if res := clockSweep(t, env); res.Recycled != 1 || res.Renewals != 0 {
			t.Fatalf("after the reinstall: %+v, want one recycled", res)
		}
		for id, why := range map[string]string{cancelled: "autoRenew off", short: "balance short"} {
			if d := clockDescribe(t, env, id); d["instanceStatus"] != "RECYCLE" || clockParse(t, d["expiredTime"]) != expiries[id] {
				t.Fatalf("%s after expiry: %v, want RECYCLE with expiredTime unchanged", id, d)
			}
			if e := clockEvent(t, env, id, "status"); !strings.Contains(e.Detail, "RECYCLE") || !strings.Contains(e.Detail, why) {
				t.Fatalf("%s: recycle event %+v, want RECYCLE because %s", id, e, why)
			}
			if n := len(clockRows(t, env, id, metalplane.LedgerRenewal)); n != 0 {
				t.Fatalf("%s: %d renewal rows, want none", id, n)
			}
			clockWaitPowerOff(t, env, id)
		}
		if b := clockBalance(t, env); b != price-1 {
			t.Fatalf("balance %s, want %s untouched", b, price-1)
		}
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("second sweep at expiry did %+v, want nothing", res)
		}
		apitest.ExpectCode(t, c.Call(ctx, "RenewInstance", map[string]any{"instanceId": short}, nil), "OPERATION_DENIED_INSTANCE_RECYCLED")

		// The recycle bin keeps them 24 h from their expiry.
		env.Clock.Set(expiries[cancelled].Add(24 * time.Hour))
		if res := clockSweep(t, env); res.Released != 1 {
			t.Fatalf("24 h after the first expiry: %+v, want one release", res)
		}
		if clockDescribe(t, env, cancelled) != nil || clockDescribe(t, env, short) == nil {
			t.Fatalf("want %s released and %s still in the recycle bin", cancelled, short)
		}
		env.Clock.Set(expiries[short].Add(24 * time.Hour))
		if res := clockSweep(t, env); res.Released != 1 {
			t.Fatalf("24 h after the second expiry: %+v, want one release", res)
		}
		for id, host := range hosts {
			if d := clockDescribe(t, env, id); d != nil {
				t.Fatalf("released instance still listed: %v", d)
			}
			if state := clockHostState(t, env, host); state != sqlstore.HostAvailable {
				t.Fatalf("host %s is %s after release, want available", host, state)
			}
			if e := clockEvent(t, env, id, "status"); e.Step != "expiry" {
				t.Fatalf("recycle event %+v, want step expiry", e)
			}
		}
		if got := stockSnapshot(t, c)["SEL-A/M6C"]; got != stockBefore {
			t.Fatalf("stock %d after release, want %d", got, stockBefore)
		}
		if b := clockBalance(t, env); b != price-1 {
			t.Fatalf("balance %s after release, want %s", b, price-1)
		}
	})
}

// TestClockConcurrentSweepsLikeOne: a month of everything at once —
// POSTPAID hours, a renewal, an expiry into the recycle bin and its
// release — done by several sweeps at the same time writes exactly the
// ledger one sweep writes: each piece of work once.
func TestClockConcurrentSweepsLikeOne(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		env.Clock.Set(clockT0)
		req := prepaidWith(nil)
		price := inquiryTotal(t, c, req)
		post1, created1 := clockCreate(t, env, minimalCreate())
		post2, created2 := clockCreate(t, env, postpaidWith(map[string]any{"instanceName": "second"}))
		renewing, _ := clockCreate(t, env, req)
		expiring, _ := clockCreate(t, env, req)
		if err := c.Call(ctx, "TerminateInstance", map[string]any{"instanceId": expiring}, nil); err != nil {
			t.Fatal(err)
		}
		start := clockBalance(t, env)
		ledgerBefore := len(mustLedgerOf(t, env))

		now := clockT0.AddDate(0, 1, 2) // a month and two days: past both expiries + 24 h
		env.Clock.Set(now)
		got := clockConcurrentSweeps(t, env, 4)

		hours1 := metalplane.HoursDue(created1, time.Time{}, now)
		hours2 := metalplane.HoursDue(created2, time.Time{}, now)
		want := sqlstore.SweepResult{Renewals: 1, Recycled: 1, HourlyCharges: int(hours1 + hours2), Released: 1}
		if got != want {
			t.Fatalf("4 concurrent sweeps did %+v in all, want %+v (one sweep's work)", got, want)
		}
		_, hourly, err := env.DB.InstancePrices(ctx, post1)
		if err != nil {
			t.Fatal(err)
		}
		for id, n := range map[string]int64{post1: hours1, post2: hours2} {
			rows := clockRows(t, env, id, metalplane.LedgerHourlyCharge)
			seen := map[string]bool{}
			for _, r := range rows {
				if seen[r.Note] {
					t.Fatalf("%s: hour charged twice: %s", id, r.Note)
				}
				seen[r.Note] = true
			}
			if int64(len(rows)) != n {
				t.Fatalf("%s: %d hourly rows, want %d", id, len(rows), n)
			}
		}
		if n := len(mustLedgerOf(t, env)) - ledgerBefore; n != want.HourlyCharges+1 {
			t.Fatalf("ledger grew by %d rows, want %d", n, want.HourlyCharges+1)
		}
		if b, w := clockBalance(t, env), start-price-metalplane.Money(want.HourlyCharges)*hourly; b != w {
			t.Fatalf("balance %s, want %s", b, w)
		}
		if d := clockDescribe(t, env, renewing); d["instanceStatus"] != "RUNNING" {
			t.Fatalf("renewed instance is %v", d["instanceStatus"])
		}
		if d := clockDescribe(t, env, expiring); d != nil {
			t.Fatalf("expired instance still listed 24 h after expiry: %v", d)
		}
		if res := clockSweep(t, env); res != (sqlstore.SweepResult{}) {
			t.Fatalf("a fifth sweep did %+v, want nothing", res)
		}
	})
}

func mustLedgerOf(t *testing.T, env *apitest.Env) []metalplane.LedgerEntry {
	t.Helper()
	l, err := env.DB.Ledger(context.Background(), env.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestClockPeriodicJob: the River periodic job runs the sweep by itself
// (here every second); the test moves the clock and waits for the
// charges to appear.
func TestClockPeriodicJob(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{PeriodicInterval: time.Second})
		env.Clock.Set(clockT0)
		id, created := clockCreate(t, env, minimalCreate())
		env.Clock.Set(created.Add(2*time.Hour + time.Minute))
		deadline := time.Now().Add(60 * time.Second)
		for {
			n := len(clockRows(t, env, id, metalplane.LedgerHourlyCharge))
			if n == 2 {
				break
			}
			if n > 2 || time.Now().After(deadline) {
				t.Fatalf("%d hourly rows, want 2 from the periodic job", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		clockBalance(t, env)
	})
}
