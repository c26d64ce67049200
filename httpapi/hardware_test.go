package httpapi_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/ipmisim"
	"github.com/metalplane/metalplane/internal/redfishmock"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// Tests of servers behind real BMC protocols: each test starts its own
// peers (OpenIPMI's ipmi_sim, the Redfish mock), enrolls them as hosts in
// a catalog of its own, and drives them through the API as a tenant
// would, checking with the peer what the BMC was told.

// bmcPeer is a BMC started by a test, as the tests read it.
type bmcPeer interface {
	// address is the BMC's address (no password), password its password.
	address() string
	password() string
	// power is "on" or "off", as the peer reports it.
	power(t *testing.T) string
	// boot is the next boot device the peer holds: "pxe", "disk" or
	// "none"; once says whether only for the next boot ("" when the peer
	// cannot tell).
	boot(t *testing.T) (device, once string)
	// setPower changes the power behind the BMC's back.
	setPower(t *testing.T, on bool)
	// powerOffSent reports whether a power-off command reached the BMC.
	powerOffSent(t *testing.T) bool
	// stopAnswering makes the BMC hang: requests get no answer; resume
	// ends that.
	stopAnswering()
	resume()
}

type ipmiPeer struct{ sim *ipmisim.Sim }

// startIPMIPeer starts a simulator whose power changes take a moment to
// show, as on real servers.
func startIPMIPeer(t *testing.T) bmcPeer {
	return ipmiPeer{ipmisim.Start(t, ipmisim.Options{PowerDelay: 200 * time.Millisecond})}
}

func (p ipmiPeer) address() string  { return p.sim.URL() }
func (p ipmiPeer) password() string { return p.sim.Password }

// power reads the hook's record and cross-checks it with ipmitool, an
// independent client.
func (p ipmiPeer) power(t *testing.T) string {
	t.Helper()
	want := "off"
	if p.sim.Power(t) {
		want = "on"
	}
	if out := p.sim.Ipmitool(t, "chassis", "power", "status"); !strings.Contains(out, "Chassis Power is "+want) {
		t.Fatalf("the simulator's hook records power %s, ipmitool says %q", want, strings.TrimSpace(out))
	}
	return want
}

func (p ipmiPeer) boot(t *testing.T) (string, string) {
	t.Helper()
	// ipmi_sim keeps the device only (docs/hardware.md): no once flag.
	switch dev := p.sim.BootDevice(t); dev {
	case "pxe", "none":
		return dev, ""
	case "default":
		return "disk", ""
	default:
		return dev, ""
	}
}

func (p ipmiPeer) setPower(t *testing.T, on bool) { p.sim.SetPower(t, on) }

func (p ipmiPeer) powerOffSent(t *testing.T) bool {
	return slices.Contains(p.sim.HookCalls(t), "set power 0")
}

func (p ipmiPeer) stopAnswering() { p.sim.Freeze() }
func (p ipmiPeer) resume()        { p.sim.Thaw() }

type redfishPeer struct{ srv *redfishmock.Server }

// startRedfishPeer starts the mock as the IPMI peer starts: off, with no
// boot override (the mockup's system is on and boots Pxe once).
func startRedfishPeer(t *testing.T) bmcPeer {
	srv := redfishmock.Start(t, redfishmock.Options{})
	srv.SetPowerState(t, false)
	srv.SetBootOverride(t, "None", "Disabled")
	return redfishPeer{srv}
}

func (p redfishPeer) address() string  { return p.srv.Address() }
func (p redfishPeer) password() string { return redfishmock.Password }

func (p redfishPeer) power(t *testing.T) string {
	t.Helper()
	return strings.ToLower(p.srv.System(t).PowerState)
}

func (p redfishPeer) boot(t *testing.T) (string, string) {
	t.Helper()
	b := p.srv.System(t).Boot
	dev := map[string]string{"Pxe": "pxe", "Hdd": "disk", "None": "none", "": "none"}[b.BootSourceOverrideTarget]
	if dev == "" {
		dev = b.BootSourceOverrideTarget
	}
	return dev, map[string]string{"Once": "once", "Continuous": "persistent"}[b.BootSourceOverrideEnabled]
}

func (p redfishPeer) setPower(t *testing.T, on bool) { p.srv.SetPowerState(t, on) }

func (p redfishPeer) powerOffSent(t *testing.T) bool {
	return slices.ContainsFunc(p.srv.Requests(), func(r string) bool {
		return strings.Contains(r, "ComputerSystem.Reset") && strings.Contains(r, "ForceOff")
	})
}

func (p redfishPeer) stopAnswering() { p.srv.Hang(true) }
func (p redfishPeer) resume()        { p.srv.Hang(false) }

// hardwareDrivers are the BMC protocols the tests cover, with how to start
// a peer of each.
var hardwareDrivers = []struct {
	name  string
	start func(t *testing.T) bmcPeer
}{
	{"ipmi", startIPMIPeer},
	{"redfish", startRedfishPeer},
}

// The offer of the hardware catalog.
const (
	hwZone = "SEL-A"
	hwType = "HW1"
)

// hardwareCatalog writes a catalog selling hwType in hwZone on the given
// BMCs only (hosts hw-1, hw-2, ... in order, so that the first is
// allocated first), their passwords in files beside it; it returns the
// catalog's path and the host ids.
func hardwareCatalog(t *testing.T, peers ...bmcPeer) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var hosts strings.Builder
	var ids []string
	for i, p := range peers {
		id := fmt.Sprintf("hw-%d", i+1)
		ids = append(ids, id)
		pwFile := filepath.Join(dir, id+".password")
		if err := os.WriteFile(pwFile, []byte(p.password()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&hosts, "  - id: %s\n    zone: %s\n    instanceType: %s\n    bmc: %q\n    mac: \"52:54:00:00:00:%02x\"\n    passwordFile: %s\n",
			id, hwZone, hwType, p.address(), i+1, pwFile)
	}
	catalog := `zones:
  - id: ` + hwZone + `
    name: Seoul A
    nameZh: 首尔A
    city: Seoul
    cityZh: 首尔
    area: Asia Pacific
    areaZh: 亚太地区
    cloudRouterAvailable: true
    subnetsSupported: true
    ipv4Pools: [198.18.0.0/28]
    ipv6Pools: [2001:db8:0:1::/64]
instanceTypes:
  - id: ` + hwType + `
    description: A real server
    cpuCount: 1
    cpuDetail: Test CPU
    cpuCores: 4
    cpuThreads: 8
    baseFrequency: 2.0GHz
    memoryGb: 16
    maxBandwidthMbps: 1000
    disks:
      - {sizeGb: 480, count: 2, type: SSD}
    totalDiskGb: 900
images:
  - id: hw-ubuntu
    name: Ubuntu 24.04
    catalog: ubuntu
    osType: linux
    type: PUBLIC_IMAGE
    instanceTypes: [` + hwType + `]
    customPartitions: true
offers:
  - zone: ` + hwZone + `
    instanceType: ` + hwType + `
    hosts: 0
    internetChargeTypes: [ByBandwidth]
    defaultBandwidthMbps: 10
    prices:
      instanceMonthly: 300.00
      instanceHourly: 0.5000
      bandwidthMonthlyPerMbps: 1.00
      bandwidthHourlyPerMbps: 0.0020
      trafficPerTb: 5.00
      ipMonthly: 2.00
      ipHourly: 0.0030
hosts:
` + hosts.String()
	path := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(path, []byte(catalog), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

// startHardware boots metalplane on the catalog with short BMC timeouts
// and two attempts per job, so that a BMC that stops answering is given up
// on within seconds; poll is how often a power change is checked.
func startHardware(t *testing.T, dsn, catalog string, poll time.Duration) *apitest.Env {
	t.Helper()
	return apitest.Start(t, dsn, apitest.Options{CatalogPath: catalog, BMCTimeout: 3 * time.Second, MaxAttempts: 2,
		RetryBase: 50 * time.Millisecond, BMCPollInterval: poll})
}

// awaitPowerOffThenHang makes the BMC stop answering as soon as the
// driver's power-off command reached it, while the driver waits for the
// server to be off: a BMC that dies in the middle of a step. The driver
// polls every 500 ms in these tests, which leaves the test the time to
// act before the step can end.
func awaitPowerOffThenHang(t *testing.T, p bmcPeer) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !p.powerOffSent(t); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("waited 60 s for the power-off command")
		}
	}
	p.stopAnswering()
}

// hwCreate is a purchase of one hwType instance with an image.
func hwCreate(chargeType string) map[string]any {
	req := map[string]any{"zoneId": hwZone, "instanceChargeType": chargeType, "instanceTypeId": hwType,
		"internetChargeType": "ByBandwidth", "imageId": "hw-ubuntu", "password": "Hardware~Pass1"}
	if chargeType == "PREPAID" {
		req["instanceChargePrepaid"] = map[string]any{"period": 1}
	}
	return req
}

func findHost(t *testing.T, env *apitest.Env, id string) sqlstore.Host {
	t.Helper()
	hosts, err := env.DB.FindHosts(context.Background(), sqlstore.HostFilter{ID: id})
	if err != nil || len(hosts) != 1 {
		t.Fatalf("host %s: %v (%d found)", id, err, len(hosts))
	}
	return hosts[0]
}

// checkBMC asserts the power and boot device the BMC holds.
func checkBMC(t *testing.T, p bmcPeer, when, power, device, once string) {
	t.Helper()
	if got := p.power(t); got != power {
		t.Errorf("%s: the BMC reports power %s, want %s", when, got, power)
	}
	gotDev, gotOnce := p.boot(t)
	if gotDev != device || gotOnce != "" && gotOnce != once {
		t.Errorf("%s: the BMC's next boot is %s (%s), want %s (%s)", when, gotDev, gotOnce, device, once)
	}
}

// stepTrail lists the instance's step events after the index from, as
// "step@driver".
func stepTrail(t *testing.T, env *apitest.Env, id string, from int) ([]string, int) {
	t.Helper()
	events, err := env.DB.InstanceEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range events[min(from, len(events)):] {
		if e.Kind == "step" {
			trail = append(trail, e.Step+"@"+e.Driver)
		}
	}
	return trail, len(events)
}

// waitFor polls cond until it holds (the deadline only bounds a hung
// test).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 60 s for %s", what)
		}
	}
}

// A whole life of an instance on a server behind each BMC protocol,
// through the API: every power change and boot device reaches the BMC, and
// every step is recorded with the driver that made it.
func TestHardwareLifecycle(t *testing.T) {
	t.Parallel()
	for _, drv := range hardwareDrivers {
		t.Run(drv.name, func(t *testing.T) {
			// Parallel: most of their time is spent waiting for a BMC
			// that does not answer.
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) {
				peer := drv.start(t)
				catalog, hosts := hardwareCatalog(t, peer)
				env := startHardware(t, dsn, catalog, 50*time.Millisecond)
				c := env.BMC()
				ctx := context.Background()
				checkBMC(t, peer, "before the purchase", "off", "none", "")

				id := createIDs(t, env, c, hwCreate("POSTPAID"), 1)[0]
				waitForStatus(t, env, c, id, "RUNNING")
				checkBMC(t, peer, "RUNNING", "on", "pxe", "once")
				trail, seen := stepTrail(t, env, id, 0)
				want := []string{"power_off@", "boot_pxe@", "raid@", "install_os@", "network@", "power_on@"}
				for i := range want {
					want[i] += drv.name
				}
				if !slices.Equal(trail, want) {
					t.Errorf("provision steps: got %q, want %q", trail, want)
				}
				if h := findHost(t, env, hosts[0]); h.State != sqlstore.HostAllocated || h.InstanceID != id || h.Driver != drv.name {
					t.Errorf("host after the purchase: %+v", h)
				}

				for _, s := range []struct {
					action, then, power, device, once string
					steps                             []string
				}{
					{"StopInstances", "STOPPED", "off", "pxe", "once", []string{"power_off"}},
					{"StartInstances", "RUNNING", "on", "disk", "persistent", []string{"boot_device", "power_on"}},
					{"RebootInstances", "RUNNING", "on", "disk", "persistent", []string{"power_off", "boot_device", "power_on"}},
				} {
					mustTickCall(t, env, c, s.action, ids(id), nil)
					waitForStatus(t, env, c, id, s.then)
					checkBMC(t, peer, s.action, s.power, s.device, s.once)
					trail, seen = stepTrail(t, env, id, seen)
					want := make([]string, len(s.steps))
					for i, step := range s.steps {
						want[i] = step + "@" + drv.name
					}
					if !slices.Equal(trail, want) {
						t.Errorf("%s steps: got %q, want %q", s.action, trail, want)
					}
				}

				// The power sync finds the BMC as the instance's state says.
				if res, err := env.App.Provisioner.SyncPower(ctx); err != nil || res.Hosts != 1 || res.Drifting+res.Unreachable != 0 {
					t.Errorf("power sync of a RUNNING instance: %+v, %v", res, err)
				}
				if h := findHost(t, env, hosts[0]); h.PowerState != "on" || h.PowerDrift != "" || h.LastContact.IsZero() {
					t.Errorf("host after the power sync: power %q, drift %q, last contact %v", h.PowerState, h.PowerDrift, h.LastContact)
				}

				mustTickCall(t, env, c, "TerminateInstance", one(id), nil)
				waitForStatus(t, env, c, id, "RECYCLE")
				waitFor(t, "the recycle bin's power-off", func() bool {
					trail, _ := stepTrail(t, env, id, seen)
					return slices.Equal(trail, []string{"power_off@" + drv.name})
				})
				checkBMC(t, peer, "RECYCLE", "off", "disk", "persistent")
				mustTickCall(t, env, c, "ReleaseInstances", ids(id), nil)
				if d := describeInstance(t, c, id); d != nil {
					t.Errorf("released instance still listed: %v", d)
				}
				checkBMC(t, peer, "released", "off", "disk", "persistent")
				if h := findHost(t, env, hosts[0]); h.State != sqlstore.HostAvailable || h.InstanceID != "" {
					t.Errorf("host after the release: %s, instance %q; want available and free", h.State, h.InstanceID)
				}
			})
		})
	}
}

// tenantSees returns the raw DescribeInstances answer for the instance.
func tenantSees(t *testing.T, c *httpapi.Client, id string) string {
	t.Helper()
	raw, err := c.Do(context.Background(), "DescribeInstances", []byte(`{"instanceIds":["`+id+`"]}`))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw.Body)
}

// checkTenantBlind fails if what a tenant reads of the instance names a
// host, a BMC or a BMC's error.
func checkTenantBlind(t *testing.T, c *httpapi.Client, id string, secrets ...string) {
	t.Helper()
	body := tenantSees(t, c, id)
	for _, s := range append(secrets, "hw-1", "hw-2", "ipmi", "redfish", "quarantin", "maintenance", "BMC", "deadline") {
		if strings.Contains(body, s) {
			t.Errorf("DescribeInstances shows the tenant %q:\n%s", s, body)
		}
	}
}

// A BMC that stops answering in the middle of a provision: after the
// retries its host goes to maintenance with the reason in its events, and
// the instance is built on the other host of the offer, keeping its id;
// the tenant sees none of it.
func TestHardwareQuarantineMovesTheProvision(t *testing.T) {
	t.Parallel()
	for _, drv := range hardwareDrivers {
		t.Run(drv.name, func(t *testing.T) {
			// Parallel: most of their time is spent waiting for a BMC
			// that does not answer.
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) {
				bad, good := drv.start(t), drv.start(t)
				// Switched on, so that the provision's first step has a
				// power-off to wait for when the BMC stops answering.
				bad.setPower(t, true)
				catalog, hosts := hardwareCatalog(t, bad, good)
				env := startHardware(t, dsn, catalog, 500*time.Millisecond)
				c := env.BMC()
				ctx := context.Background()

				id := createIDs(t, env, c, hwCreate("POSTPAID"), 1)[0]
				awaitPowerOffThenHang(t, bad)
				waitForStatus(t, env, c, id, "RUNNING")
				checkBMC(t, good, "RUNNING on the other host", "on", "pxe", "once")

				quarantined := findHost(t, env, hosts[0])
				if quarantined.State != sqlstore.HostMaintenance || quarantined.InstanceID != "" || !strings.Contains(quarantined.Note, "power_off") {
					t.Errorf("the host whose BMC stopped answering: %s, instance %q, note %q; want maintenance, free, the failed step in its note",
						quarantined.State, quarantined.InstanceID, quarantined.Note)
				}
				events, err := env.DB.HostEvents(ctx, hosts[0])
				if err != nil {
					t.Fatal(err)
				}
				if i := slices.IndexFunc(events, func(e sqlstore.HostEvent) bool { return e.Kind == sqlstore.HostEventQuarantined }); i < 0 {
					t.Errorf("no quarantine event for %s: %+v", hosts[0], events)
				} else if e := events[i]; e.Driver != drv.name || !strings.Contains(e.Detail, "power_off") || !strings.Contains(e.Detail, hosts[1]) {
					t.Errorf("quarantine event %+v: want the driver, the failed step and the new host", e)
				}
				if h := findHost(t, env, hosts[1]); h.State != sqlstore.HostAllocated || h.InstanceID != id {
					t.Errorf("the other host: %s, instance %q; want allocated to %s", h.State, h.InstanceID, id)
				}
				ievents, err := env.DB.InstanceEvents(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(ievents, func(e sqlstore.Event) bool { return e.Kind == "host-swap" && strings.Contains(e.Detail, hosts[1]) }) {
					t.Errorf("no host-swap event in the instance's history: %+v", ievents)
				}
				checkTenantBlind(t, c, id, bad.address())
				if problems, err := env.DB.Audit(ctx); err != nil || len(problems) > 0 {
					t.Errorf("admin db check: %v %q", err, problems)
				}
			})
		})
	}
}

// With no other host free, a provision whose BMC stops answering fails
// and is refunded in full; once the BMC is mended, the operator returns
// the host to stock and it sells again.
func TestHardwareQuarantineWithNoOtherHostRefunds(t *testing.T) {
	t.Parallel()
	for _, drv := range hardwareDrivers {
		t.Run(drv.name, func(t *testing.T) {
			// Parallel: most of their time is spent waiting for a BMC
			// that does not answer.
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) {
				bad := drv.start(t)
				bad.setPower(t, true)
				catalog, hosts := hardwareCatalog(t, bad)
				env := startHardware(t, dsn, catalog, 500*time.Millisecond)
				c := env.BMC()
				ctx := context.Background()
				before := balance(t, env)

				id := createIDs(t, env, c, hwCreate("PREPAID"), 1)[0]
				if after := balance(t, env); after >= before {
					t.Fatalf("balance after a PREPAID purchase: %s, want below %s", after, before)
				}
				awaitPowerOffThenHang(t, bad)
				waitForStatus(t, env, c, id, "CREATE_FAILED")
				if after := balance(t, env); after != before {
					t.Errorf("balance after the failed provision: %s, want %s (a full refund)", after, before)
				}
				if h := findHost(t, env, hosts[0]); h.State != sqlstore.HostMaintenance {
					t.Errorf("host whose BMC stopped answering: %s, want maintenance", h.State)
				}
				events, err := env.DB.HostEvents(ctx, hosts[0])
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(events, func(e sqlstore.HostEvent) bool {
					return e.Kind == sqlstore.HostEventQuarantined && strings.Contains(e.Detail, "no other host")
				}) {
					t.Errorf("no quarantine event saying no other host was free: %+v", events)
				}
				checkTenantBlind(t, c, id, bad.address())
				if problems, err := env.DB.Audit(ctx); err != nil || len(problems) > 0 {
					t.Errorf("admin db check: %v %q", err, problems)
				}

				// The BMC mended, an operator returns the host to stock: it
				// sells again, though the failed instance, not yet
				// terminated, still names it as history.
				bad.resume()
				if err := env.DB.SetHostMaintenance(ctx, hosts[0], false, "BMC restarted"); err != nil {
					t.Fatal(err)
				}
				next := createIDs(t, env, c, hwCreate("POSTPAID"), 1)[0]
				waitForStatus(t, env, c, next, "RUNNING")
				checkBMC(t, bad, "RUNNING after the repair", "on", "pxe", "once")
			})
		})
	}
}

// hostEventKinds lists the kinds of a host's events, oldest first.
func hostEventKinds(t *testing.T, env *apitest.Env, id string) []string {
	t.Helper()
	events, err := env.DB.HostEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// syncCounts is what a power sync found drifting and unreachable.
type syncCounts struct{ drifting, unreachable int }

// The power sync reads every BMC and records, once per change, a power
// that differs from what the host's use expects (on for a RUNNING
// instance, off for a free host) and a BMC that stops answering; it never
// switches anything.
func TestHardwarePowerSyncRecordsDrift(t *testing.T) {
	t.Parallel()
	for _, drv := range hardwareDrivers {
		t.Run(drv.name, func(t *testing.T) {
			// Parallel: most of their time is spent waiting for a BMC
			// that does not answer.
			t.Parallel()
			testdb.Each(t, func(t *testing.T, dsn string) {
				used, free := drv.start(t), drv.start(t)
				catalog, hosts := hardwareCatalog(t, used, free)
				env := startHardware(t, dsn, catalog, 50*time.Millisecond)
				c := env.BMC()
				ctx := context.Background()
				id := createIDs(t, env, c, hwCreate("POSTPAID"), 1)[0]
				waitForStatus(t, env, c, id, "RUNNING")

				sync := func(want syncCounts) {
					t.Helper()
					res, err := env.App.Provisioner.SyncPower(ctx)
					if err != nil {
						t.Fatalf("power sync: %v", err)
					}
					if got := (syncCounts{drifting: res.Drifting, unreachable: res.Unreachable}); res.Hosts != 2 || got != want {
						t.Fatalf("power sync: got %+v, want 2 hosts, %+v", res, want)
					}
				}
				sync(syncCounts{})
				if h := findHost(t, env, hosts[0]); h.PowerState != "on" || h.PowerDrift != "" || h.LastContact.IsZero() {
					t.Errorf("host of the RUNNING instance: power %q, drift %q, contact %v; want on, none, a time", h.PowerState, h.PowerDrift, h.LastContact)
				}
				if h := findHost(t, env, hosts[1]); h.PowerState != "off" || h.PowerDrift != "" {
					t.Errorf("free host: power %q, drift %q; want off, none", h.PowerState, h.PowerDrift)
				}

				// Switched off behind metalplane's back, and a free host on.
				used.setPower(t, false)
				free.setPower(t, true)
				sync(syncCounts{drifting: 2})
				sync(syncCounts{drifting: 2})
				if h := findHost(t, env, hosts[0]); h.PowerDrift != "expected on, read off" {
					t.Errorf("host of the RUNNING instance switched off: drift %q", h.PowerDrift)
				}
				if h := findHost(t, env, hosts[1]); h.PowerDrift != "expected off, read on" {
					t.Errorf("free host switched on: drift %q", h.PowerDrift)
				}
				if got := statusOf(t, c, id); got != "RUNNING" {
					t.Errorf("instance after the drift: %s, want RUNNING (the sync only records)", got)
				}
				if got := used.power(t); got != "off" {
					t.Errorf("the power sync switched the server %s; it must only record", got)
				}

				used.setPower(t, true)
				sync(syncCounts{drifting: 1})
				if got, want := hostEventKinds(t, env, hosts[0]), []string{"enrolled", "power-drift", "power-in-line"}; !slices.Equal(got, want) {
					t.Errorf("events of the host switched off and on: got %q, want %q", got, want)
				}

				contact := findHost(t, env, hosts[0]).LastContact
				env.Clock.Advance(time.Minute)
				used.stopAnswering()
				sync(syncCounts{drifting: 1, unreachable: 1})
				h := findHost(t, env, hosts[0])
				if h.PowerError == "" || !h.LastContact.Equal(contact) || strings.Contains(h.PowerError, used.password()) {
					t.Errorf("host whose BMC stopped answering: error %q, last contact %v (was %v)", h.PowerError, h.LastContact, contact)
				}
				used.resume()
				sync(syncCounts{drifting: 1})
				if h := findHost(t, env, hosts[0]); h.PowerError != "" || !h.LastContact.After(contact) {
					t.Errorf("host whose BMC answers again: error %q, last contact %v", h.PowerError, h.LastContact)
				}
				if got, want := hostEventKinds(t, env, hosts[0]), []string{"enrolled", "power-drift", "power-in-line", "bmc-unreachable", "bmc-answering"}; !slices.Equal(got, want) {
					t.Errorf("events of the host whose BMC stopped answering: got %q, want %q", got, want)
				}
			})
		})
	}
}

// The power sync runs by itself, as a periodic job of the leader.
func TestPowerSyncRunsPeriodically(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		peer := startRedfishPeer(t)
		catalog, hosts := hardwareCatalog(t, peer)
		env := apitest.Start(t, dsn, apitest.Options{CatalogPath: catalog, PowerSyncInterval: 100 * time.Millisecond})
		waitFor(t, "the power sync to read the host", func() bool { return findHost(t, env, hosts[0]).PowerState == "off" })
	})
}
