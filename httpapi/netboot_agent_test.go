package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/agent"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/ipmisim"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// The network installation without an emulator, on both databases: the
// server behind ipmi_sim is a process that never boots (sleep), and the
// test plays its part, fetching the iPXE script as iPXE would and running
// the deploy agent's code against a disk file. Fast enough to check what
// the VM test cannot afford to: the tokens, and a server that never
// calls back.

// netbootEnv is a server with the provisioning listener, one host behind
// ipmi_sim whose "machine" is a sleeping process, and the images of
// netbootCatalog in its data dir.
type netbootEnv struct {
	env  *apitest.Env
	sim  *ipmisim.Sim // nil on another peer
	peer bmcPeer
	good testImage
	disk string
	base string // the listener's URL
}

func startNetbootEnv(t *testing.T, dsn string, installTimeout time.Duration) *netbootEnv {
	t.Helper()
	return startNetbootEnvOn(t, dsn, installTimeout, nil)
}

// startNetbootEnvOn is startNetbootEnv with the host behind peer (nil:
// ipmi_sim with a sleeping machine).
func startNetbootEnvOn(t *testing.T, dsn string, installTimeout time.Duration, peer bmcPeer) *netbootEnv {
	t.Helper()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	ramdisk := filepath.Join(dir, "ramdisk")
	for _, d := range []string{filepath.Join(dataDir, "images"), ramdisk} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"vmlinuz", "initrd.gz"} {
		if err := os.WriteFile(filepath.Join(ramdisk, f), []byte("the "+f+" of the test"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := makeTestImage(t, filepath.Join(dataDir, "images"), "good.raw", 3)
	var sim *ipmisim.Sim
	if peer == nil {
		machine := filepath.Join(dir, "machine.sh")
		if err := os.WriteFile(machine, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		sim = ipmisim.Start(t, ipmisim.Options{PowerOnCommand: machine})
		peer = ipmiPeer{sim}
	}
	catalog := netbootCatalog(t, peer, good, good, "http://127.0.0.1:1/unused.raw")
	env := apitest.Start(t, dsn, apitest.Options{CatalogPath: catalog, DataDir: dataDir, BMCTimeout: 10 * time.Second, MaxAttempts: 2,
		RetryBase: 50 * time.Millisecond, BMCPollInterval: 100 * time.Millisecond,
		Netboot: app.NetbootConfig{Listen: "127.0.0.1:0", RamdiskDir: ramdisk, InstallTimeout: installTimeout, PowerOffWait: 500 * time.Millisecond}})
	disk := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, netbootDiskSize); err != nil {
		t.Fatal(err)
	}
	return &netbootEnv{env: env, sim: sim, peer: peer, good: good, disk: disk, base: env.App.NetbootURL()}
}

// get fetches a path of the listener and returns its status and body.
func (n *netbootEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(n.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var scriptToken = regexp.MustCompile(`metalplane\.token=(\S+)`)

// boot fetches the iPXE script of the host as iPXE would once the
// machine is on, and returns its token.
func (n *netbootEnv) boot(t *testing.T) string {
	t.Helper()
	var code int
	var script string
	waitFor(t, "the host's iPXE script", func() bool {
		code, script = n.get(t, "/boot/52-54-00-00-00-01.ipxe")
		return code == http.StatusOK
	})
	m := scriptToken.FindStringSubmatch(script)
	if m == nil || !strings.Contains(script, n.base+"/ramdisk/vmlinuz") || !strings.Contains(script, n.base+"/ramdisk/initrd.gz") {
		t.Fatalf("iPXE script without the ramdisk or a token:\n%s", script)
	}
	return m[1]
}

func TestNetbootAgentAndTokens(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		n := startNetbootEnv(t, dsn, time.Minute)
		c := n.env.BMC()
		if code, _ := n.get(t, "/boot/52-54-00-00-00-01.ipxe"); code != http.StatusNotFound {
			t.Errorf("script of a host with nothing to install: HTTP %d, want 404", code)
		}
		if _, entry := n.get(t, "/boot.ipxe"); !strings.Contains(entry, "chain "+n.base+"/boot/${netX/mac:hexhyp}.ipxe") {
			t.Errorf("entry script:\n%s", entry)
		}
		const password, userData = "Agent~Pass3", "#cloud-config\n{}\n"
		req := hwCreate("POSTPAID")
		req["imageId"], req["password"], req["hostname"], req["userData"] = "img-good", password, "db-1", userData
		id := createIDs(t, n.env, c, req, 1)[0]
		waitFor(t, "the machine powered on", func() bool { return n.sim.VMPID(t) != 0 })

		// Whoever fetches the script gets a token; the next fetch (the
		// server booting) kills it.
		stolen := n.boot(t)
		token := n.boot(t)
		if token == stolen {
			t.Fatal("two fetches of the script gave the same token")
		}
		random := make([]byte, 32)
		rand.Read(random)
		for _, bad := range []string{stolen, base64.RawURLEncoding.EncodeToString(random)} {
			for _, path := range []string{"/nocloud/" + bad + "/meta-data", "/agent/" + bad + "/task", "/image/" + bad} {
				if code, body := n.get(t, path); code != http.StatusNotFound || strings.Contains(body, "db-1") {
					t.Errorf("GET %s with a dead or made-up token: HTTP %d %q, want 404", path, code, body)
				}
			}
		}
		if code, md := n.get(t, "/nocloud/"+token+"/meta-data"); code != http.StatusOK || !strings.Contains(md, "local-hostname: db-1") {
			t.Errorf("meta-data: HTTP %d\n%s", code, md)
		}
		if code, body := n.get(t, "/ramdisk/vmlinuz"); code != http.StatusOK || body != "the vmlinuz of the test" {
			t.Errorf("ramdisk kernel: HTTP %d %q", code, body)
		}
		for path, want := range map[string]int{"/ramdisk/..%2fdata%2fimages%2fgood.raw": http.StatusNotFound, "/boot/not-a-mac.ipxe": http.StatusBadRequest,
			"/nocloud/" + token + "/secrets": http.StatusNotFound} {
			if code, _ := n.get(t, path); code != want {
				t.Errorf("GET %s: HTTP %d, want %d", path, code, want)
			}
		}
		// Reports the listener cannot take: not JSON, too large, no step.
		for _, body := range []string{"not json", `{"step":"x","detail":"` + strings.Repeat("d", 9000) + `"}`, `{"bytes":1}`} {
			resp, err := http.Post(n.base+"/agent/"+token+"/report", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("report %.20q: HTTP %d, want 400", body, resp.StatusCode)
			}
		}

		// The agent's own code does the work, on a disk file.
		err := agent.Run(context.Background(), agent.Config{TaskURL: n.base + "/agent/" + token + "/task", Disk: n.disk, ProgressEvery: 1 << 20})
		if err != nil {
			t.Fatalf("agent: %v", err)
		}
		waitFor(t, "RUNNING", func() bool { return statusOf(t, c, id) == "RUNNING" })
		checkDisk(t, n.disk, n.good, "db-1", "", userData, password)
		reports := deployEvents(t, n.env, id)
		progress := 0
		for _, r := range reports {
			if strings.HasPrefix(r, "agent: writing-image, ") {
				progress++
			}
		}
		if want := netbootImgSize>>20 - 1; progress < want || !slices.ContainsFunc(reports, func(s string) bool { return strings.HasPrefix(s, "agent: done, 8388608 bytes") }) {
			t.Errorf("want at least %d progress reports (one a MiB) and the end with the image's bytes: %q", want, reports)
		}
		// The machine did not power itself off (it is a sleep): the
		// installer did, then set the disk as boot device, and the
		// provision's last step powered it on.
		checkBMC(t, ipmiPeer{n.sim}, "RUNNING", "on", "disk", "")
		if n.sim.Boots(t) != 2 {
			t.Errorf("the machine was started %d times, want 2 (network boot, then disk)", n.sim.Boots(t))
		}
		// Once the installation is over, the agent's endpoints are closed.
		if code, _ := n.get(t, "/agent/"+token+"/task"); code != http.StatusNotFound {
			t.Errorf("task after the installation: HTTP %d, want 404", code)
		}
		if code, _ := n.get(t, "/image/"+token); code != http.StatusNotFound {
			t.Errorf("image after the installation: HTTP %d, want 404", code)
		}
	})
}

// A server that never fetches its script (or whose agent never reports)
// is given up on after the install timeout, retried, and then
// quarantined; with no other host, the purchase fails and is refunded.
func TestNetbootMachineThatNeverCallsBack(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		n := startNetbootEnv(t, dsn, 2*time.Second)
		c := n.env.BMC()
		before := balance(t, n.env)
		req := hwCreate("PREPAID")
		req["imageId"] = "img-good"
		id := createIDs(t, n.env, c, req, 1)[0]
		waitFor(t, "CREATE_FAILED", func() bool { return statusOf(t, c, id) == "CREATE_FAILED" })
		if after := balance(t, n.env); after != before {
			t.Errorf("balance: %s, want %s (a full refund)", after, before)
		}
		h := findHost(t, n.env, "hw-1")
		if h.State != sqlstore.HostMaintenance || !strings.Contains(h.Note, "install_os") || !strings.Contains(h.Note, "never fetched its iPXE script") {
			t.Errorf("host of a machine that never called back: %s, note %q; want maintenance, naming the step and why", h.State, h.Note)
		}
		if n.sim.Boots(t) != 2 {
			t.Errorf("the machine was started %d times, want 2 (one per attempt)", n.sim.Boots(t))
		}
		if n.sim.VMPID(t) != 0 {
			t.Errorf("the machine is left on")
		}
		checkTenantBlind(t, c, id)
		if code, _ := n.get(t, "/boot/52-54-00-00-00-01.ipxe"); code != http.StatusNotFound {
			t.Errorf("script after the installation was given up: HTTP %d, want 404", code)
		}
	})
}

// Custom partitions cannot be laid out by an image installation (the
// image keeps its own): the purchase fails at once, refunded, and the
// server, not at fault, stays in stock without being switched on.
func TestNetbootRefusesCustomPartitions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		n := startNetbootEnv(t, dsn, time.Minute)
		c := n.env.BMC()
		before := balance(t, n.env)
		req := hwCreate("PREPAID")
		req["imageId"], req["partitions"] = "img-good", []any{part("/", "ext4", 100)}
		id := createIDs(t, n.env, c, req, 1)[0]
		waitFor(t, "CREATE_FAILED", func() bool { return statusOf(t, c, id) == "CREATE_FAILED" })
		if after := balance(t, n.env); after != before {
			t.Errorf("balance: %s, want %s (a full refund)", after, before)
		}
		if h := findHost(t, n.env, "hw-1"); h.State != sqlstore.HostAvailable {
			t.Errorf("host: %s, want available", h.State)
		}
		if n.sim.Boots(t) != 0 {
			t.Errorf("the machine was started %d times for an installation refused beforehand", n.sim.Boots(t))
		}
	})
}

// The same installation on a server behind Redfish (the mock; the test
// plays the machine): the installer drives any BMC driver.
func TestNetbootOnRedfish(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		n := startNetbootEnvOn(t, dsn, time.Minute, startRedfishPeer(t))
		c := n.env.BMC()
		req := hwCreate("POSTPAID")
		req["imageId"], req["hostname"] = "img-good", "rf-1"
		id := createIDs(t, n.env, c, req, 1)[0]
		waitFor(t, "the server powered on", func() bool { return n.peer.power(t) == "on" })
		if dev, once := n.peer.boot(t); dev != "pxe" || once != "once" {
			t.Errorf("boot override while installing: %s %s, want pxe once", dev, once)
		}
		token := n.boot(t)
		if err := agent.Run(context.Background(), agent.Config{TaskURL: n.base + "/agent/" + token + "/task", Disk: n.disk}); err != nil {
			t.Fatalf("agent: %v", err)
		}
		waitFor(t, "RUNNING", func() bool { return statusOf(t, c, id) == "RUNNING" })
		checkDisk(t, n.disk, n.good, "rf-1", "", "", "Hardware~Pass1")
		checkBMC(t, n.peer, "RUNNING", "on", "disk", "persistent")
		trail, _ := stepTrail(t, n.env, id, 0)
		if want := []string{"power_off@redfish", "boot_pxe@redfish", "raid@redfish", "install_os@redfish", "network@redfish", "power_on@redfish"}; !slices.Equal(trail, want) {
			t.Errorf("steps: %q, want %q", trail, want)
		}
	})
}
