package ipmi

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/bougou/go-ipmi/pkg/bmc"
	"github.com/bougou/go-ipmi/pkg/clock"
	"github.com/bougou/go-ipmi/pkg/hal/mock"
	"github.com/bougou/go-ipmi/pkg/server"
	"github.com/bougou/go-ipmi/pkg/transport/udp"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/metalplane/metalplane/internal/ipmisim"
	"github.com/metalplane/metalplane/provision"
)

// suite17BMC is go-ipmi's reference BMC server, run in the test on a
// loopback port with cipher suite 17 only. ipmi_sim has no suite 17 and
// keeps only the boot device of the boot flags; this peer keeps them all.
// It shares its author with the client, so ipmitool checks what it saw.
type suite17BMC struct {
	port     int
	user     string
	password string
}

func startSuite17BMC(t *testing.T) *suite17BMC {
	t.Helper()
	conn, err := udp.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hal := mock.New()
	b := bmc.New(bmc.DeviceInfo{DeviceID: 32, IPMIVersion: 0x20}, [16]byte{1}, hal, bmc.WithClock(clock.Real))
	b.SetCipherSuites([]types.CipherSuiteID{types.CipherSuiteID17})
	s := &suite17BMC{port: conn.LocalAddr().(*net.UDPAddr).Port, user: "admin", password: "Suite17Secret"}
	u, err := b.Users.Add(2, s.user)
	if err != nil {
		t.Fatal(err)
	}
	u.SetPassword([]byte(s.password))
	u.Enabled = true
	u.ChannelAccess[1] = bmc.UserChannelAccess{MaxPrivilege: bmc.PrivilegeLevelAdministrator, Enabled: true}
	srv := server.NewServer(b, conn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); srv.Close(); <-done })
	return s
}

// ipmitool asks the server with ipmitool over lanplus suite 17.
func (s *suite17BMC) ipmitool(t *testing.T, args ...string) string {
	t.Helper()
	base := []string{"-I", "lanplus", "-C", "17", "-H", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", s.user, "-E"}
	cmd := exec.Command("ipmitool", append(base, args...)...)
	cmd.Env = append(cmd.Environ(), "IPMI_PASSWORD="+s.password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipmitool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSuite17AndFullBootFlags(t *testing.T) {
	t.Parallel()
	ipmisim.Require(t) // for ipmitool
	peer := startSuite17BMC(t)
	// No cipher in the address: the default, 17.
	addr, _, err := ParseAddress(fmt.Sprintf("ipmi://%s@127.0.0.1:%d", peer.user, peer.port))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Address: addr, Password: peer.password})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if err := d.SetPower(ctx, host, true); err != nil {
		t.Fatalf("SetPower(on) over suite 17: %v", err)
	}
	if out := peer.ipmitool(t, "chassis", "power", "status"); !strings.Contains(out, "Chassis Power is on") {
		t.Errorf("ipmitool says %q after SetPower(on)", strings.TrimSpace(out))
	}

	for _, tt := range []struct {
		name string
		b    provision.BootOverride
		want []string // lines of ipmitool's "chassis bootparam get 5"
	}{
		{"PXE once, UEFI", provision.BootOverride{Device: provision.BootPXE, Mode: provision.BootModeUEFI},
			[]string{"Boot Flag Valid", "Options apply to only next boot", "BIOS EFI boot", "Boot Device Selector : Force PXE"}},
		{"disk persistent, legacy", provision.BootOverride{Device: provision.BootDisk, Persistent: true, Mode: provision.BootModeLegacy},
			[]string{"Boot Flag Valid", "Options apply to all future boots", "BIOS PC Compatible (legacy) boot", "Boot Device Selector : Force Boot from default Hard-Drive"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.SetBootDevice(ctx, host, tt.b); err != nil {
				t.Fatalf("SetBootDevice: %v", err)
			}
			out := peer.ipmitool(t, "chassis", "bootparam", "get", "5")
			for _, line := range tt.want {
				if !strings.Contains(out, line) {
					t.Errorf("ipmitool reads:\n%s\nwant %q", out, line)
				}
			}
		})
	}

	// The address's boot mode applies when the override names none.
	addr.BootMode = provision.BootModeUEFI
	uefi, err := New(Config{Address: addr, Password: peer.password})
	if err != nil {
		t.Fatal(err)
	}
	if err := uefi.SetBootDevice(ctx, host, provision.BootOverride{Device: provision.BootPXE}); err != nil {
		t.Fatal(err)
	}
	if out := peer.ipmitool(t, "chassis", "bootparam", "get", "5"); !strings.Contains(out, "BIOS EFI boot") {
		t.Errorf("a host whose address says boot=uefi got:\n%s", out)
	}
}
