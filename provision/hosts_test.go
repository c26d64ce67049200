package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// fakeBMC is a BMC driver without RAID that does nothing; fakeProtocol
// opens one, counting them in opened.
type fakeBMC struct{ BMCConfig }

func (fakeBMC) Name() string                                            { return "fake" }
func (fakeBMC) SetPower(context.Context, Host, bool) error              { return nil }
func (fakeBMC) PowerState(context.Context, Host) (PowerState, error)    { return PowerOn, nil }
func (fakeBMC) SetBootDevice(context.Context, Host, BootOverride) error { return nil }
func fakeParse(raw string) (string, string, error)                      { return strings.ToLower(raw), "", nil }
func fakeProtocol(opened *int) BMCProtocol {
	return BMCProtocol{Name: "fake", Schemes: []string{"fake"}, Parse: fakeParse,
		Open: func(cfg BMCConfig) (BMCDriver, error) { *opened++; return fakeBMC{cfg}, nil }}
}

func TestParseBMCPicksTheProtocolByScheme(t *testing.T) {
	var opened int
	protocols := []BMCProtocol{fakeProtocol(&opened)}
	got, err := ParseBMC("FAKE://Admin@bmc-1", protocols)
	if err != nil || got.Driver != "fake" || got.Address != "fake://admin@bmc-1" {
		t.Errorf("ParseBMC: got %+v, %v; want the fake protocol's canonical address", got, err)
	}
	for _, raw := range []string{"ipmi://admin@bmc-1", "bmc-1", ""} {
		if _, err := ParseBMC(raw, protocols); err == nil {
			t.Errorf("ParseBMC(%q): got no error", raw)
		}
	}
}

// A host keeps one driver, so that every call to its BMC from this
// process queues on one BMCCaller, until its address or password changes.
func TestHostDriversAreKeptPerBMC(t *testing.T) {
	var opened int
	sim := &bmcHost{}
	h := newHostDrivers(sim, []BMCProtocol{fakeProtocol(&opened)}, BMCConfig{})
	a := &sqlstore.HostAccess{ID: "h-1", Driver: "fake", BMCAddress: "fake://a", Password: "pw", Fingerprint: "1"}
	d1, err := h.forHost(a)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := h.forHost(a)
	if d1 != d2 || opened != 1 {
		t.Errorf("two calls for one host opened %d drivers, want 1", opened)
	}
	a.Password, a.Fingerprint = "new", "2"
	d3, _ := h.forHost(a)
	if d3 == d1 || opened != 2 || d3.(*bmcHost).BMCDriver.(fakeBMC).Password != "new" {
		t.Errorf("a new password did not open a new driver (%d opened)", opened)
	}
	if d, _ := h.forHost(&sqlstore.HostAccess{ID: "s-1", Driver: sqlstore.DriverSim}); d != Driver(sim) {
		t.Errorf("a simulated host got %v, want the sim driver", d)
	}
	_, err = h.forHost(&sqlstore.HostAccess{ID: "h-2", Driver: "idrac", Fingerprint: "x"})
	if !IsPermanent(err) {
		t.Errorf("a host of an unknown driver: got %v, want a permanent error", err)
	}
}

// A BMC without RAID does nothing when none is asked, and refuses RAID as
// unsupported; the OS and network steps are left to others, and say so.
func TestBMCHostLeavesWhatTheBMCCannotDo(t *testing.T) {
	b := &bmcHost{BMCDriver: fakeBMC{}}
	ctx := context.Background()
	if err := b.ConfigureRaid(ctx, Host{ID: "h-1"}, nil); err != nil {
		t.Errorf("no RAID asked: %v", err)
	}
	err := b.ConfigureRaid(ctx, Host{ID: "h-1"}, &metalplane.RaidConfig{RaidType: new(int)})
	var unsup *UnsupportedError
	if !errors.As(err, &unsup) || !IsPermanent(err) {
		t.Errorf("RAID on a BMC without RAID: got %v, want a permanent UnsupportedError", err)
	}
	for _, step := range []string{StepInstallOS, StepNetwork} {
		if b.StepNote(step) == "" {
			t.Errorf("step %s did nothing without saying so", step)
		}
	}
	if note := b.StepNote(StepPowerOn); note != "" {
		t.Errorf("step power_on has a note %q; the BMC does it", note)
	}
}
