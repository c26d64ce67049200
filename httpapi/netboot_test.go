package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/metalplane/metalplane/internal/agent"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/ipmisim"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// The network installation, end to end on an emulated machine: a qemu VM
// (TCG) whose power is ipmi_sim's, the chassis hook starting and killing
// it; it PXE-boots iPXE from metalplane's provisioning listener, then the
// deploy ramdisk (make ramdisk), whose agent writes the image and the
// seed to the VM's disk file, which the test then reads.

const (
	netbootMAC      = "52:54:00:00:00:01" // hardwareCatalog's first host
	netbootDiskSize = 64 << 20
	netbootImgSize  = 8 << 20
)

// requireNetboot skips the test without qemu (or fails it in CI) and
// returns the ramdisk directory, building the ramdisk when it is missing.
func requireNetboot(t *testing.T) string {
	t.Helper()
	ipmisim.Require(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		msg := "qemu-system-x86_64 is not installed: the network-boot test needs it (scripts/install-test-deps.sh)"
		if os.Getenv(ipmisim.RequireEnv) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, ipmisim.RequireEnv)
		}
		t.Skip("SKIPPING NETWORK-BOOT TEST: " + msg)
	}
	dir := os.Getenv("METALPLANE_RAMDISK_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "metalplane", "ramdisk")
	}
	if _, err := os.Stat(filepath.Join(dir, "initrd.gz")); err != nil {
		t.Logf("building the deploy ramdisk in %s (scripts/build-ramdisk.sh)", dir)
		cmd := exec.Command("../scripts/build-ramdisk.sh", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make ramdisk: %v\n%s", err, out)
		}
	}
	return dir
}

// testImage is a raw GPT disk image with one partition of random bytes.
type testImage struct {
	path   string
	bytes  []byte
	sha256 string
	// part is partition 1's place on the image, in bytes.
	partStart, partEnd int64
}

func makeTestImage(t *testing.T, dir, name string, seed uint64) testImage {
	t.Helper()
	path := filepath.Join(dir, name)
	d, err := diskfs.Create(path, netbootImgSize, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	end := uint64(netbootImgSize/512 - 34)
	if err := d.Partition(&gpt.Table{ProtectiveMBR: true, Partitions: []*gpt.Partition{
		{Index: 1, Start: 2048, End: end, Type: gpt.LinuxFilesystem, Name: "root"}}}); err != nil {
		t.Fatal(err)
	}
	content := make([]byte, (end-2048+1)*512)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range content {
		content[i] = byte(r.Uint32())
	}
	if _, err := d.WritePartitionContents(1, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return testImage{path: path, bytes: b, sha256: hex.EncodeToString(sum[:]), partStart: 2048 * 512, partEnd: int64(end+1) * 512}
}

// netbootCatalog is the hardware catalog with images that have a source:
// good (a file of the data dir), other (a URL) and corrupt (a file whose
// sha256 is wrong).
func netbootCatalog(t *testing.T, peer bmcPeer, good, other testImage, otherURL string) string {
	t.Helper()
	path, _ := hardwareCatalog(t, peer)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	image := func(id, source, sum string) string {
		return fmt.Sprintf("  - id: %s\n    name: %s\n    catalog: debian\n    osType: linux\n    type: PUBLIC_IMAGE\n    instanceTypes: [%s]\n    customPartitions: true\n    source: %s\n    sha256: %s\n    format: raw\n",
			id, id, hwType, source, sum)
	}
	wrong := sha256.Sum256([]byte("not the image"))
	images := image("img-good", "images/"+filepath.Base(good.path), good.sha256) +
		image("img-other", otherURL, other.sha256) +
		image("img-corrupt", "images/"+filepath.Base(good.path), hex.EncodeToString(wrong[:]))
	catalog := strings.Replace(string(b), "\noffers:\n", "\n"+images+"offers:\n", 1)
	if err := os.WriteFile(path, []byte(catalog), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// vmScript writes the machine's power-on command: qemu, booting from the
// network when the BMC says pxe; from the disk it starts paused (-S),
// since the test images hold no boot loader and a CPU spinning in them
// would take a core.
func vmScript(t *testing.T, dir, disk, bootURL string) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
boot="-boot c -S"
[ "$1" = pxe ] && boot="-boot n"
exec qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot $boot \
  -drive file=%s,format=raw,if=virtio \
  -netdev user,id=n0,bootfile=%s \
  -device virtio-net-pci,netdev=n0,mac=%s
`, disk, bootURL, netbootMAC)
	path := filepath.Join(dir, "vm.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitLong polls the instance's status for as long as a network
// installation on an emulated machine may take.
func waitLong(t *testing.T, env *apitest.Env, sim *ipmisim.Sim, id, want string) {
	t.Helper()
	c := env.BMC()
	for deadline := time.Now().Add(150 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if got := statusOf(t, c, id); got == want {
			return
		}
		if time.Now().After(deadline) {
			events, _ := env.DB.InstanceEvents(context.Background(), id)
			for _, e := range events {
				t.Logf("event %s %s %s: %s", e.Kind, e.Step, e.Driver, e.Detail)
			}
			for n := 1; n <= sim.Boots(t); n++ {
				t.Logf("VM start %d:\n%s", n, tail(sim.VMLog(n), 3000))
			}
			t.Fatalf("instance %s: still %s after 150 s, want %s", id, statusOf(t, c, id), want)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// checkDisk reads the VM's disk file: the image's bytes, but for its
// partition table (rewritten to add the seed's partition), and its
// partition whole; the seed with the hostname, key and user data, the
// password only as a hash.
func checkDisk(t *testing.T, disk string, img testImage, hostname, key, userData, password string) {
	t.Helper()
	b, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	const gptBytes = 34 * 512 // protective MBR, header and entries
	if !bytes.Equal(b[gptBytes:len(img.bytes)], img.bytes[gptBytes:]) {
		t.Errorf("the disk's first %d bytes differ from the image beyond its partition table", len(img.bytes))
	}
	got := sha256.Sum256(b[img.partStart:img.partEnd])
	want := sha256.Sum256(img.bytes[img.partStart:img.partEnd])
	if got != want {
		t.Errorf("partition 1 on the disk has sha256 %x, the image's %x", got, want)
	}
	if password != "" && bytes.Contains(b, []byte(password)) {
		t.Errorf("the password is on the disk in the clear")
	}
	seed, err := agent.ReadSeed(disk)
	if err != nil {
		t.Fatalf("read the seed: %v", err)
	}
	if md := string(seed["meta-data"]); !strings.Contains(md, "local-hostname: "+hostname) || key != "" && !strings.Contains(md, key) {
		t.Errorf("meta-data lacks the hostname %s or the key:\n%s", hostname, md)
	}
	if got := string(seed["user-data"]); got != userData {
		t.Errorf("user-data: got %q, want %q", got, userData)
	}
	if vd := string(seed["vendor-data"]); password != "" && (!strings.Contains(vd, "$6$") || strings.Contains(vd, password)) {
		t.Errorf("vendor-data holds no SHA-512 crypt hash, or the password:\n%s", vd)
	}
	if nc := string(seed["network-config"]); !strings.Contains(nc, netbootMAC) {
		t.Errorf("network-config does not match the NIC:\n%s", nc)
	}
}

// deployEvents are the agent's reports recorded for the instance.
func deployEvents(t *testing.T, env *apitest.Env, id string) []string {
	t.Helper()
	events, err := env.DB.InstanceEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Kind == "deploy" && e.Driver == "agent" {
			out = append(out, e.Detail)
		}
	}
	return out
}

func TestNetbootInstallsOnAVirtualMachine(t *testing.T) {
	ramdisk := requireNetboot(t)
	// One database: each installation boots a VM (about 20 s of a core
	// under TCG), and what is tested here is the machine's side; the
	// store's side of deployments runs on both in the other tests.
	dsn := testdb.PostgresDSN(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(dataDir, "images"), 0o700); err != nil {
		t.Fatal(err)
	}
	good := makeTestImage(t, filepath.Join(dataDir, "images"), "good.raw", 1)
	other := makeTestImage(t, dir, "other.raw", 2)
	var fetchedMu sync.Mutex
	var fetched []string
	files := http.FileServer(http.Dir(dir))
	imageServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetchedMu.Lock()
		fetched = append(fetched, r.URL.Path)
		fetchedMu.Unlock()
		files.ServeHTTP(w, r)
	}))
	defer imageServer.Close()
	// The tenant's own iPXE script, for a purchase with ipxeUrl: it calls
	// back to show it ran.
	guestURL := "http://10.0.2.2:" + imageServer.URL[strings.LastIndexByte(imageServer.URL, ':')+1:]
	if err := os.WriteFile(filepath.Join(dir, "tenant.ipxe"), []byte("#!ipxe\nimgfetch "+guestURL+"/tenant-script-ran ||\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wasFetched := func(path string) bool {
		fetchedMu.Lock()
		defer fetchedMu.Unlock()
		return slices.Contains(fetched, path)
	}

	disk := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, netbootDiskSize); err != nil {
		t.Fatal(err)
	}
	// The listener's port is known once it listens: the VM's script asks
	// the port from a file the test writes then.
	portFile := filepath.Join(dir, "bootfile")
	sim := ipmisim.Start(t, ipmisim.Options{PowerOnCommand: vmScript(t, dir, disk, "$(cat "+portFile+")")})
	peer := ipmiPeer{sim}
	catalog := netbootCatalog(t, peer, good, other, imageServer.URL+"/other.raw")
	env := apitest.Start(t, dsn, apitest.Options{CatalogPath: catalog, DataDir: dataDir, BMCTimeout: 20 * time.Second, MaxAttempts: 2,
		RetryBase: 50 * time.Millisecond, BMCPollInterval: 200 * time.Millisecond,
		Netboot: app.NetbootConfig{Listen: "127.0.0.1:0", URL: "http://10.0.2.2", RamdiskDir: ramdisk, KernelArgs: "console=ttyS0",
			InstallTimeout: 120 * time.Second}})
	if err := os.WriteFile(portFile, []byte(env.App.NetbootURL()+"/boot.ipxe"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := env.BMC()
	keyLines, err := sharedSSHKeyLines()
	if err != nil {
		t.Fatal(err)
	}
	keyID := importKey(t, env, env.CCS(), map[string]any{"keyName": "netboot", "publicKey": keyLines.ed25519})
	const password, userData = "Netboot~Pass1", "#cloud-config\nruncmd: [echo hello from metalplane]\n"

	// 1. A purchase installs the image and its seed.
	start := time.Now()
	req := hwCreate("POSTPAID")
	delete(req, "password") // the API takes one of password and keyId
	req["imageId"], req["keyId"], req["hostname"], req["userData"] = "img-good", keyID, "web-1", userData
	id := createIDs(t, env, c, req, 1)[0]
	waitLong(t, env, sim, id, "RUNNING")
	t.Logf("purchase → RUNNING: %s", time.Since(start).Round(100*time.Millisecond))
	checkDisk(t, disk, good, "web-1", strings.Fields(keyLines.ed25519)[1], userData, "")
	checkBMC(t, peer, "RUNNING", "on", "disk", "")
	reports := deployEvents(t, env, id)
	if !slices.ContainsFunc(reports, func(s string) bool {
		return strings.Contains(s, fmt.Sprintf("image-written, %d bytes", len(good.bytes)))
	}) ||
		!slices.ContainsFunc(reports, func(s string) bool { return strings.HasPrefix(s, "agent: seed-written") }) {
		t.Errorf("the agent's reports lack the image or the seed written: %q", reports)
	}
	netbootReinstallAndCorrupt(t, env, sim, disk, id, other)

	// A purchase with ipxeUrl boots the tenant's script instead of the
	// agent: RUNNING once the machine fetched metalplane's script, which
	// chains to the tenant's.
	req = hwCreate("POSTPAID")
	delete(req, "imageId")
	req["ipxeUrl"] = guestURL + "/tenant.ipxe"
	chained := createIDs(t, env, c, req, 1)[0]
	waitLong(t, env, sim, chained, "RUNNING")
	waitFor(t, "the tenant's iPXE script to run", func() bool { return wasFetched("/tenant-script-ran") })
	if !wasFetched("/tenant.ipxe") {
		t.Error("the tenant's script was never fetched")
	}
}

// netbootReinstallAndCorrupt continues TestNetbootInstallsOnAVirtualMachine
// on the same VM: a reinstall with another image (from a URL) and a
// password; then, the instance released, a purchase of an image whose
// checksum is wrong.
func netbootReinstallAndCorrupt(t *testing.T, env *apitest.Env, sim *ipmisim.Sim, disk, id string, other testImage) {
	c := env.BMC()
	peer := ipmiPeer{sim}
	const password, userData = "Reinstall~Pass2", "#!/bin/sh\necho reinstalled\n"
	start := time.Now()
	mustTickCall(t, env, c, "ReinstallInstance", map[string]any{"instanceId": id, "imageId": "img-other", "password": password,
		"hostname": "web-2", "userData": userData}, nil)
	waitLong(t, env, sim, id, "RUNNING")
	t.Logf("reinstall → RUNNING: %s", time.Since(start).Round(100*time.Millisecond))
	checkDisk(t, disk, other, "web-2", "", userData, password)
	checkBMC(t, peer, "RUNNING after the reinstall", "on", "disk", "")

	// The host freed, a purchase of a damaged image fails, is refunded,
	// and leaves the host in stock.
	mustTickCall(t, env, c, "TerminateInstance", one(id), nil)
	waitLong(t, env, sim, id, "RECYCLE")
	mustTickCall(t, env, c, "ReleaseInstances", ids(id), nil)
	before := balance(t, env)
	req := hwCreate("PREPAID")
	req["imageId"] = "img-corrupt"
	bad := createIDs(t, env, c, req, 1)[0]
	if after := balance(t, env); after >= before {
		t.Fatalf("balance after a PREPAID purchase: %s, want below %s", after, before)
	}
	waitLong(t, env, sim, bad, "CREATE_FAILED")
	if after := balance(t, env); after != before {
		t.Errorf("balance after the failed installation: %s, want %s (a full refund)", after, before)
	}
	ctx := context.Background()
	h := findHost(t, env, "hw-1")
	if h.State != sqlstore.HostAvailable || h.InstanceID != "" {
		t.Errorf("host after a damaged image: %s, instance %q, note %q; want available (the image is at fault, not the server)", h.State, h.InstanceID, h.Note)
	}
	in, err := env.DB.FindInstance(ctx, env.Team.ID, bad)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.FailureReason, "checksum") || strings.Contains(in.FailureReason, "hw-1") || strings.Contains(in.FailureReason, "ipmi") {
		t.Errorf("failure reason %q: want the checksum named and no host or driver", in.FailureReason)
	}
	checkTenantBlind(t, c, bad)
	b, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:1<<20], make([]byte, 1<<20)) {
		t.Errorf("the disk's first MiB after a damaged image is not zeroed: the server could boot half an image")
	}
	if peer.power(t) != "off" {
		t.Errorf("the server is left on after a failed installation")
	}
	if problems, err := env.DB.Audit(ctx); err != nil || len(problems) > 0 {
		t.Errorf("admin db check: %v %q", err, problems)
	}
	// The host sells again; an image without a source cannot be
	// installed on a real server (it is for simulated hosts), which
	// fails the purchase at once, the host still in stock.
	next := createIDs(t, env, c, hwCreate("POSTPAID"), 1)[0]
	waitLong(t, env, sim, next, "CREATE_FAILED")
	if in, err := env.DB.FindInstance(ctx, env.Team.ID, next); err != nil || !strings.Contains(in.FailureReason, "no source") {
		t.Errorf("purchase of an image without a source: %v, reason %q", err, in.FailureReason)
	}
	if h := findHost(t, env, "hw-1"); h.State != sqlstore.HostAvailable {
		t.Errorf("host after an image without a source: %s, want available", h.State)
	}
}
