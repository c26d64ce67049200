package redfish

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/redfishmock"
	"github.com/metalplane/metalplane/provision"
)

var host = provision.Host{ID: "host-1", ZoneID: "zone-a", InstanceTypeID: "type-a"}

// newDriver returns a driver of the mock's system (at rawURL when given),
// polling quickly.
func newDriver(t *testing.T, bmc *redfishmock.Server, rawURL string, cfg Config) *Driver {
	t.Helper()
	if rawURL == "" {
		rawURL = bmc.Address()
	}
	addr, _, err := ParseAddress(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Address = addr
	if cfg.Password == "" {
		cfg.Password = redfishmock.Password
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkPower asserts the power state as the driver reads it and as the
// service reports it to a plain HTTP client.
func checkPower(t *testing.T, d *Driver, bmc *redfishmock.Server, want provision.PowerState) {
	t.Helper()
	got, err := d.PowerState(context.Background(), host)
	if err != nil {
		t.Fatalf("PowerState: %v", err)
	}
	if got != want {
		t.Errorf("driver reads power %s, want %s", got, want)
	}
	wantRedfish := map[provision.PowerState]string{provision.PowerOn: "On", provision.PowerOff: "Off"}[want]
	if st := bmc.System(t).PowerState; st != wantRedfish {
		t.Errorf("the service reports PowerState %q, want %q", st, wantRedfish)
	}
}

// resets lists the ResetTypes posted since request n.
func resets(bmc *redfishmock.Server, since int) []string {
	var out []string
	for _, r := range bmc.Requests()[since:] {
		if _, body, ok := strings.Cut(r, "/Actions/ComputerSystem.Reset "); ok {
			out = append(out, body)
		}
	}
	return out
}

func TestPowerAgainstMock(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	d := newDriver(t, bmc, "", Config{})
	ctx := context.Background()

	checkPower(t, d, bmc, provision.PowerOn) // the mockup's system is on
	n := len(bmc.Requests())
	if err := d.SetPower(ctx, host, false); err != nil {
		t.Fatalf("SetPower(off): %v", err)
	}
	checkPower(t, d, bmc, provision.PowerOff)
	if got := resets(bmc, n); len(got) != 1 || !strings.Contains(got[0], `"ForceOff"`) {
		t.Errorf("SetPower(off) posted resets %q, want one ForceOff", got)
	}

	n = len(bmc.Requests())
	if err := d.SetPower(ctx, host, false); err != nil {
		t.Fatalf("SetPower(off) again: %v", err)
	}
	if got := resets(bmc, n); len(got) != 0 {
		t.Errorf("SetPower(off) of a system already off posted %q, want nothing", got)
	}

	n = len(bmc.Requests())
	if err := d.SetPower(ctx, host, true); err != nil {
		t.Fatalf("SetPower(on): %v", err)
	}
	checkPower(t, d, bmc, provision.PowerOn)
	if got := resets(bmc, n); len(got) != 1 || !strings.Contains(got[0], `"On"`) {
		t.Errorf("SetPower(on) posted resets %q, want one On", got)
	}

	n = len(bmc.Requests())
	if err := d.PowerCycle(ctx, host); err != nil {
		t.Fatalf("PowerCycle: %v", err)
	}
	checkPower(t, d, bmc, provision.PowerOn)
	if got := resets(bmc, n); !slices.Equal(got, []string{`{"ResetType":"ForceOff"}`, `{"ResetType":"On"}`}) {
		t.Errorf("PowerCycle posted resets %q, want ForceOff then On", got)
	}

	n = len(bmc.Requests())
	if err := d.ShutdownGraceful(ctx, host); err != nil {
		t.Fatalf("ShutdownGraceful: %v", err)
	}
	checkPower(t, d, bmc, provision.PowerOff)
	if got := resets(bmc, n); len(got) != 1 || !strings.Contains(got[0], `"GracefulShutdown"`) {
		t.Errorf("ShutdownGraceful posted resets %q, want one GracefulShutdown", got)
	}

	n = len(bmc.Requests())
	if err := d.PowerCycle(ctx, host); err != nil {
		t.Fatalf("PowerCycle from off: %v", err)
	}
	checkPower(t, d, bmc, provision.PowerOn)
	if got := resets(bmc, n); len(got) != 1 || !strings.Contains(got[0], `"On"`) {
		t.Errorf("PowerCycle of a system that is off posted %q, want one On", got)
	}
}

func TestPowerStateSeesChangesMadeElsewhere(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	d := newDriver(t, bmc, "", Config{})
	bmc.SetPowerState(t, false)
	checkPower(t, d, bmc, provision.PowerOff)
	bmc.SetPowerState(t, true)
	checkPower(t, d, bmc, provision.PowerOn)
}

func TestBootOverrideAgainstMock(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	ctx := context.Background()
	d := newDriver(t, bmc, "", Config{})
	uefiHost := newDriver(t, bmc, bmc.Address()+"?boot=uefi", Config{})
	for _, tt := range []struct {
		name                 string
		d                    *Driver
		b                    provision.BootOverride
		target, enabled, mod string
	}{
		{"disk for good, legacy", d, provision.BootOverride{Device: provision.BootDisk, Persistent: true, Mode: provision.BootModeLegacy}, "Hdd", "Continuous", "Legacy"},
		{"PXE once, UEFI", d, provision.BootOverride{Device: provision.BootPXE, Mode: provision.BootModeUEFI}, "Pxe", "Once", "UEFI"},
		{"mode unnamed: left as it is", d, provision.BootOverride{Device: provision.BootDisk}, "Hdd", "Once", "UEFI"},
		{"back to legacy", d, provision.BootOverride{Device: provision.BootPXE, Mode: provision.BootModeLegacy}, "Pxe", "Once", "Legacy"},
		{"mode from the address", uefiHost, provision.BootOverride{Device: provision.BootPXE}, "Pxe", "Once", "UEFI"},
	} {
		if err := tt.d.SetBootDevice(ctx, host, tt.b); err != nil {
			t.Fatalf("%s: SetBootDevice: %v", tt.name, err)
		}
		boot := bmc.System(t).Boot
		if boot.BootSourceOverrideTarget != tt.target || boot.BootSourceOverrideEnabled != tt.enabled || boot.BootSourceOverrideMode != tt.mod {
			t.Errorf("%s: the service reports boot %+v, want %s, %s, %s", tt.name, boot, tt.target, tt.enabled, tt.mod)
		}
	}
	// Choosing the boot device does not touch the power.
	checkPower(t, d, bmc, provision.PowerOn)
}

func TestBusyBMCIsWaitedFor(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	d := newDriver(t, bmc, "", Config{})
	bmc.SetUnavailable(true) // restarting
	time.AfterFunc(300*time.Millisecond, func() { bmc.SetUnavailable(false) })
	start := time.Now()
	if err := d.SetPower(context.Background(), host, false); err != nil {
		t.Fatalf("SetPower(off) while the BMC restarts for 300ms: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("SetPower returned after %v, before the BMC was back", took)
	}
	checkPower(t, d, bmc, provision.PowerOff)

	// A BMC that stays unavailable fails the call at its deadline.
	bmc.SetUnavailable(true)
	d = newDriver(t, bmc, "", Config{Timeout: 300 * time.Millisecond})
	err := d.SetPower(context.Background(), host, true)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "503") {
		t.Errorf("SetPower against a BMC that stays unavailable: %v, want the deadline and the 503", err)
	}
}

func TestConflictIsRetried(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	d := newDriver(t, bmc, "", Config{})
	bmc.Conflict(2) // another operation is running
	n := len(bmc.Requests())
	if err := d.SetPower(context.Background(), host, false); err != nil {
		t.Fatalf("SetPower(off) against a BMC busy for two tries: %v", err)
	}
	checkPower(t, d, bmc, provision.PowerOff)
	if got := resets(bmc, n); len(got) != 3 {
		t.Errorf("posted resets %q, want the ForceOff three times (two refused)", got)
	}

	bmc.Conflict(1000)
	d = newDriver(t, bmc, "", Config{Timeout: 300 * time.Millisecond})
	err := d.SetBootDevice(context.Background(), host, provision.BootOverride{Device: provision.BootPXE})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "409") {
		t.Errorf("SetBootDevice against a BMC that stays busy: %v, want the deadline and the 409", err)
	}
}

func TestHangingBMCTimesOut(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	d := newDriver(t, bmc, "", Config{Timeout: 500 * time.Millisecond})
	bmc.Hang(true)
	start := time.Now()
	err := d.SetPower(context.Background(), host, false)
	if err == nil {
		t.Fatal("SetPower against a hanging BMC succeeded")
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("SetPower against a hanging BMC took %v, want about its 500ms timeout", took)
	}
	if !strings.Contains(err.Error(), bmc.Address()) || !strings.Contains(err.Error(), host.ID) {
		t.Errorf("error %q does not say which BMC and host failed", err)
	}

	// The caller's deadline wins over a longer Timeout.
	d = newDriver(t, bmc, "", Config{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := d.PowerState(ctx, host); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PowerState with a 300ms deadline against a hanging BMC: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("PowerState with a 300ms deadline took %v", took)
	}
}

func TestCredentialsNeverShow(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The service enforces Basic authentication, so a call that works
	// carried the password.
	d := newDriver(t, bmc, "", Config{Logger: logger})
	if _, err := d.PowerState(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	const wrong = "WrongPassw0rd"
	bad := newDriver(t, bmc, "", Config{Password: wrong, Logger: logger})
	_, err := bad.PowerState(context.Background(), host)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("PowerState with a wrong password: %v, want a 401", err)
	}
	for _, text := range []string{err.Error(), logs.String(), fmt.Sprintf("%v %+v", d, bad), strings.Join(bmc.Requests(), "\n")} {
		for _, secret := range []string{redfishmock.Password, wrong} {
			if strings.Contains(text, secret) {
				t.Errorf("a password shows in %q", text)
			}
		}
	}
	if !strings.Contains(logs.String(), `op="power status"`) || !strings.Contains(logs.String(), bmc.Address()) {
		t.Errorf("debug log lacks the call and the BMC address:\n%s", logs.String())
	}
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	bmc := redfishmock.Start(t, redfishmock.Options{TLS: true})
	ctx := context.Background()

	trusting := newDriver(t, bmc, "", Config{TLSConfig: &tls.Config{RootCAs: bmc.CertPool}})
	if _, err := trusting.PowerState(ctx, host); err != nil {
		t.Errorf("PowerState over HTTPS with the BMC's CA: %v", err)
	}
	untrusting := newDriver(t, bmc, "", Config{})
	if _, err := untrusting.PowerState(ctx, host); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("PowerState over HTTPS without the BMC's CA: %v, want a certificate error", err)
	}
	insecure := newDriver(t, bmc, bmc.Address()+"?insecure=true", Config{})
	if _, err := insecure.PowerState(ctx, host); err != nil {
		t.Errorf("PowerState over HTTPS with insecure=true: %v", err)
	}
}
