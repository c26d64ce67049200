package ipmi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/ipmisim"
	"github.com/metalplane/metalplane/provision"
)

var host = provision.Host{ID: "host-1", ZoneID: "zone-a", InstanceTypeID: "type-a"}

// driverFor returns a driver of sim reached as rawURL says (the sim's own
// URL when empty), with quick polling.
func driverFor(t *testing.T, sim *ipmisim.Sim, rawURL string, logger *slog.Logger) *Driver {
	t.Helper()
	if rawURL == "" {
		rawURL = sim.URL()
	}
	addr, _, err := ParseAddress(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Address: addr, Password: sim.Password, PollInterval: 20 * time.Millisecond, Timeout: 10 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkPower asserts the power state three ways: what the driver reads,
// what the simulator's hook recorded, and what ipmitool says.
func checkPower(t *testing.T, d *Driver, sim *ipmisim.Sim, want provision.PowerState) {
	t.Helper()
	got, err := d.PowerState(context.Background(), host)
	if err != nil {
		t.Fatalf("PowerState: %v (simulator alive: %v, hook calls %q)", err, sim.Alive(), sim.HookCalls(t))
	}
	if got != want {
		t.Errorf("driver reads power %s, want %s", got, want)
	}
	if on := sim.Power(t); on != (want == provision.PowerOn) {
		t.Errorf("simulated server power on = %v, want %s", on, want)
	}
	wantLine := "Chassis Power is " + want.String()
	if out := sim.Ipmitool(t, "chassis", "power", "status"); !strings.Contains(out, wantLine) {
		t.Errorf("ipmitool says %q, want %q", strings.TrimSpace(out), wantLine)
	}
}

func TestPowerAgainstIPMISim(t *testing.T) {
	t.Parallel()
	for _, iface := range []struct{ name, query string }{
		{"lanplus suite 3", "?cipher=3"},
		{"lan (IPMI 1.5)", "?interface=lan"},
	} {
		t.Run(iface.name, func(t *testing.T) {
			t.Parallel()
			sim := ipmisim.Start(t, ipmisim.Options{})
			d := driverFor(t, sim, "ipmi://"+sim.User+"@"+sim.Host+":"+itoa(sim.Port)+iface.query, nil)
			ctx := context.Background()

			checkPower(t, d, sim, provision.PowerOff)
			if err := d.SetPower(ctx, host, true); err != nil {
				t.Fatalf("SetPower(on): %v", err)
			}
			checkPower(t, d, sim, provision.PowerOn)

			// Already on: no second command reaches the server.
			before := countCalls(sim.HookCalls(t), "set power 1")
			if err := d.SetPower(ctx, host, true); err != nil {
				t.Fatalf("SetPower(on) again: %v", err)
			}
			if after := countCalls(sim.HookCalls(t), "set power 1"); after != before {
				t.Errorf("SetPower(on) of a server already on sent %d more power-on commands, want none", after-before)
			}

			if err := d.PowerCycle(ctx, host); err != nil {
				t.Fatalf("PowerCycle: %v", err)
			}
			checkPower(t, d, sim, provision.PowerOn)
			calls := sim.HookCalls(t)
			if i := slices.Index(calls, "set power 0"); i < 0 || !slices.Contains(calls[i:], "set power 1") {
				t.Errorf("power cycle: hook calls %q, want a power-off followed by a power-on", calls)
			}

			if err := d.SetPower(ctx, host, false); err != nil {
				t.Fatalf("SetPower(off): %v", err)
			}
			checkPower(t, d, sim, provision.PowerOff)

			// A cycle of a server that is off switches it on.
			if err := d.PowerCycle(ctx, host); err != nil {
				t.Fatalf("PowerCycle from off: %v", err)
			}
			checkPower(t, d, sim, provision.PowerOn)
		})
	}
}

func TestPowerStateSeesChangesMadeElsewhere(t *testing.T) {
	t.Parallel()
	sim := ipmisim.Start(t, ipmisim.Options{})
	d := driverFor(t, sim, "", nil)
	sim.Ipmitool(t, "chassis", "power", "on")
	checkPower(t, d, sim, provision.PowerOn)
	sim.SetPower(t, false) // someone pulled the plug
	checkPower(t, d, sim, provision.PowerOff)
}

func TestSetPowerWaitsForTheServer(t *testing.T) {
	t.Parallel()
	const delay = 400 * time.Millisecond
	sim := ipmisim.Start(t, ipmisim.Options{PowerDelay: delay})
	d := driverFor(t, sim, "", nil)
	start := time.Now()
	if err := d.SetPower(context.Background(), host, true); err != nil {
		t.Fatalf("SetPower(on): %v", err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("SetPower(on) returned after %v, before the server's %v power-on", took, delay)
	}
	if !sim.Power(t) {
		t.Error("SetPower(on) returned while the server was still off")
	}
}

func TestSetPowerFailsWhenTheServerNeverChanges(t *testing.T) {
	t.Parallel()
	sim := ipmisim.Start(t, ipmisim.Options{PowerDelay: time.Hour})
	d := driverFor(t, sim, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := d.SetPower(ctx, host, true)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still off") {
		t.Fatalf("SetPower(on) of a server that stays off: %v, want a deadline error saying it is still off", err)
	}
}

func TestShutdownGraceful(t *testing.T) {
	t.Parallel()
	t.Run("the OS obeys", func(t *testing.T) {
		t.Parallel()
		sim := ipmisim.Start(t, ipmisim.Options{})
		d := driverFor(t, sim, "", nil)
		if err := d.SetPower(context.Background(), host, true); err != nil {
			t.Fatal(err)
		}
		if err := d.ShutdownGraceful(context.Background(), host); err != nil {
			t.Fatalf("ShutdownGraceful: %v", err)
		}
		if !slices.Contains(sim.HookCalls(t), "set shutdown 1") {
			t.Errorf("hook calls %q, want a soft shutdown", sim.HookCalls(t))
		}
		if slices.Contains(sim.HookCalls(t), "set power 0") {
			t.Error("ShutdownGraceful cut the power instead of asking the OS")
		}
		checkPower(t, d, sim, provision.PowerOff)
	})
	t.Run("the OS ignores it", func(t *testing.T) {
		t.Parallel()
		sim := ipmisim.Start(t, ipmisim.Options{IgnoreSoftOff: true})
		d := driverFor(t, sim, "", nil)
		if err := d.SetPower(context.Background(), host, true); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if err := d.ShutdownGraceful(ctx, host); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ShutdownGraceful ignored by the OS: %v, want the deadline", err)
		}
		checkPower(t, d, sim, provision.PowerOn)
	})
}

func TestBootDeviceAgainstIPMISim(t *testing.T) {
	t.Parallel()
	sim := ipmisim.Start(t, ipmisim.Options{})
	d := driverFor(t, sim, "", nil)
	ctx := context.Background()
	for _, tt := range []struct {
		dev      provision.BootDevice
		recorded string // what ipmi_sim hands the hook
		ipmitool string // what ipmitool reads back
	}{
		{provision.BootPXE, "pxe", "Force PXE"},
		{provision.BootDisk, "default", "Force Boot from default Hard-Drive"},
		{provision.BootPXE, "pxe", "Force PXE"},
	} {
		if err := d.SetBootDevice(ctx, host, provision.BootOverride{Device: tt.dev}); err != nil {
			t.Fatalf("SetBootDevice(%s): %v", tt.dev, err)
		}
		if got := sim.BootDevice(t); got != tt.recorded {
			t.Errorf("after SetBootDevice(%s) the server's boot device is %q, want %q", tt.dev, got, tt.recorded)
		}
		if out := sim.Ipmitool(t, "chassis", "bootparam", "get", "5"); !strings.Contains(out, "Boot Device Selector : "+tt.ipmitool) {
			t.Errorf("after SetBootDevice(%s) ipmitool reads:\n%s\nwant %q", tt.dev, out, tt.ipmitool)
		}
	}
	// The boot device is not the power: the server stayed off.
	checkPower(t, d, sim, provision.PowerOff)
}

func TestUnansweringBMCTimesOut(t *testing.T) {
	t.Parallel()
	sim := ipmisim.Start(t, ipmisim.Options{})
	addr, _, err := ParseAddress(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Address: addr, Password: sim.Password, Timeout: time.Second, ExchangeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sim.Freeze()
	defer sim.Thaw()
	start := time.Now()
	err = d.SetPower(context.Background(), host, true)
	took := time.Since(start)
	if err == nil {
		t.Fatal("SetPower against a frozen BMC succeeded")
	}
	// Timeout, plus one exchange timeout to try closing the session.
	if took > 2*time.Second {
		t.Errorf("SetPower against a frozen BMC took %v, want about the 1s timeout", took)
	}
	if !strings.Contains(err.Error(), sim.URL()) || !strings.Contains(err.Error(), host.ID) {
		t.Errorf("error %q does not say which BMC and host failed", err)
	}

	// The caller's deadline wins over a longer Timeout.
	sim.Thaw()
	d.cfg.Timeout = time.Minute
	sim.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := d.PowerState(ctx, host); err == nil {
		t.Fatal("PowerState against a frozen BMC succeeded")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("PowerState with a 300ms deadline took %v", took)
	}
}

func TestCredentialsNeverShow(t *testing.T) {
	t.Parallel()
	sim := ipmisim.Start(t, ipmisim.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := driverFor(t, sim, "", logger)
	if err := d.SetPower(context.Background(), host, true); err != nil {
		t.Fatal(err)
	}

	addr, _, _ := ParseAddress(sim.URL())
	const wrong = "WrongPassw0rd"
	bad, err := New(Config{Address: addr, Password: wrong, Timeout: 2 * time.Second, ExchangeTimeout: 300 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.PowerState(context.Background(), host)
	if err == nil {
		t.Fatal("PowerState with a wrong password succeeded")
	}
	for _, text := range []string{err.Error(), logs.String(), fmt.Sprintf("%v %+v", d, bad)} {
		for _, secret := range []string{sim.Password, wrong} {
			if strings.Contains(text, secret) {
				t.Errorf("a password shows in %q", text)
			}
		}
	}
	if !strings.Contains(logs.String(), "op=\"power on\"") || !strings.Contains(logs.String(), sim.URL()) {
		t.Errorf("debug log lacks the call and the BMC address:\n%s", logs.String())
	}
}

func TestSuite17IsTheDefaultAndIPMISimLacksIt(t *testing.T) {
	t.Parallel()
	sim := ipmisim.Start(t, ipmisim.Options{})
	d := driverFor(t, sim, "ipmi://"+sim.User+"@"+sim.Host+":"+itoa(sim.Port), nil)
	d.cfg.Timeout = 3 * time.Second
	_, err := d.PowerState(context.Background(), host)
	if err == nil {
		t.Fatal("ipmi_sim accepted cipher suite 17, which it does not implement: the default suite was not 17")
	}
	if !sim.Alive() {
		t.Fatal("ipmi_sim died on a suite 17 session")
	}
	// Offering 17 then 3 falls back.
	d = driverFor(t, sim, "ipmi://"+sim.User+"@"+sim.Host+":"+itoa(sim.Port)+"?cipher=17,3", nil)
	if _, err := d.PowerState(context.Background(), host); err != nil {
		t.Fatalf("PowerState offering suites 17,3: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func countCalls(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}
