// Package ipmisim runs OpenIPMI's simulator, ipmi_sim, for tests: a real
// IPMI peer (lan and lanplus with cipher suite 3) on a loopback UDP port,
// whose server is a chassis_control hook script that keeps the power and
// boot device in files of the test's temporary directory. Tests read those
// files, and ask ipmitool as an independent client, to check what a driver
// did. Debian packages: openipmi, ipmitool (scripts/install-test-deps.sh).
package ipmisim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing simulator
// from a skipped test into a failed one (CI sets it).
const RequireEnv = "METALPLANE_TEST_REQUIRE_HARDWARE"

// Require skips the test when ipmi_sim or ipmitool is not installed, or
// fails it when RequireEnv is 1, so that CI cannot pass by skipping.
func Require(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"ipmi_sim", "ipmitool"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := fmt.Sprintf("%s is not installed: the IPMI tests need a real peer "+
				"(run scripts/install-test-deps.sh, or apt-get install openipmi ipmitool)", bin)
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
			}
			t.Skip("SKIPPING IPMI TEST: " + msg)
		}
	}
}

// Options change how the simulated server behaves.
type Options struct {
	// PowerDelay is how long a power change takes to show in the power
	// state (0: at once), as on real servers.
	PowerDelay time.Duration
	// IgnoreSoftOff makes the server ignore a soft shutdown, like an OS
	// that does not handle the ACPI power button.
	IgnoreSoftOff bool
	// PowerOnCommand, when set, makes the server a real (virtual)
	// machine: power on runs this executable with the boot device
	// ("pxe" or another) as its argument, in the background, and the
	// power is on while that process lives (vm.go).
	PowerOnCommand string
}

// Sim is one running ipmi_sim.
type Sim struct {
	Host     string
	Port     int
	User     string
	Password string
	dir      string
	vm       bool
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Start runs a simulator with its server off and no boot device chosen,
// and kills it (by PID) when the test ends.
func Start(t testing.TB, opts Options) *Sim {
	t.Helper()
	Require(t)
	// Not t.TempDir: its name comes from the test's, and ipmi_sim runs the
	// hook through sh -c, where a "(" in a subtest name is a syntax error.
	dir, err := os.MkdirTemp("", "ipmisim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, sub := range []string{"state", "simstate"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hook := filepath.Join(dir, "chassis.sh")
	script := hookScript(opts)
	if opts.PowerOnCommand != "" {
		script = vmHookScript(opts.PowerOnCommand)
	}
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	emu := filepath.Join(dir, "bmc.emu")
	if err := os.WriteFile(emu, []byte(emuFile), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	rand.Read(buf)
	s := &Sim{Host: "127.0.0.1", User: "admin", Password: "pw" + hex.EncodeToString(buf), dir: dir, vm: opts.PowerOnCommand != ""}
	// The free port is found by binding and closing it, so another process
	// may take it before ipmi_sim does: try a few ports.
	var lastErr error
	for range 5 {
		if lastErr = s.start(t, hook, emu); lastErr == nil {
			return s
		}
	}
	t.Fatalf("start ipmi_sim: %v", lastErr)
	return nil
}

func (s *Sim) start(t testing.TB, hook, emu string) error {
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	s.Port = port
	conf := filepath.Join(s.dir, "lan.conf")
	if err := os.WriteFile(conf, []byte(s.lanConf(hook)), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(s.dir, "sim.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	// -n: no console; -p: no persistence; -s: state directory of its own,
	// not /var/ipmi_sim.
	cmd := exec.Command("ipmi_sim", "-c", conf, "-f", emu, "-s", filepath.Join(s.dir, "simstate"), "-n", "-p")
	cmd.Stdout, cmd.Stderr = logf, logf
	// A group of its own, so that Kill also ends what the hook left
	// running in the background (a delayed power change).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.Kill)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !s.Alive() {
			log, _ := os.ReadFile(filepath.Join(s.dir, "sim.log"))
			return fmt.Errorf("ipmi_sim exited at start: %s", log)
		}
		if _, err := s.ipmitool(300*time.Millisecond, "mc", "info"); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Kill()
	return fmt.Errorf("ipmi_sim on port %d did not answer within 5s", port)
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// URL is the simulator's BMC address, for ipmi.ParseAddress: lanplus with
// suite 3, the strongest ipmi_sim has. It carries no password.
func (s *Sim) URL() string {
	return fmt.Sprintf("ipmi://%s@%s?cipher=3", s.User, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
}

// Alive reports whether the ipmi_sim process is still running: when a call
// fails, it tells a driver bug from a dead peer.
func (s *Sim) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Kill stops the simulator and the hook's background work at once
// (SIGKILL to the process group it leads; it keeps no state).
func (s *Sim) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.killVM()
}

// Freeze stops the simulator without killing it (SIGSTOP): a BMC that no
// longer answers. Thaw resumes it.
func (s *Sim) Freeze() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen simulator (SIGCONT).
func (s *Sim) Thaw() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Power reports the server's power as the hook recorded it.
func (s *Sim) Power(t testing.TB) bool {
	t.Helper()
	if s.vm {
		return s.VMPID(t) != 0
	}
	return s.state(t, "power", "0") == "1"
}

// SetPower sets the server's power behind the BMC's back, as a person at
// the machine would.
func (s *Sim) SetPower(t testing.TB, on bool) {
	t.Helper()
	v := "0\n"
	if on {
		v = "1\n"
	}
	if err := os.WriteFile(filepath.Join(s.dir, "state", "power"), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BootDevice is the boot device the hook recorded: "pxe", "default" (what
// ipmi_sim makes of a hard disk), "cdrom", "bios" or "none".
func (s *Sim) BootDevice(t testing.TB) string {
	t.Helper()
	return s.state(t, "boot", "none")
}

func (s *Sim) state(t testing.TB, key, unset string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "state", key))
	if os.IsNotExist(err) {
		return unset
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// HookCalls lists the chassis_control calls ipmi_sim made, in order, such
// as "set power 1" or "get power".
func (s *Sim) HookCalls(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "state", "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// Ipmitool runs ipmitool against the simulator (lanplus, suite 3; without
// -C, ipmitool spends 10 s asking for suites ipmi_sim cannot list) and
// returns its output; the test fails if ipmitool does.
func (s *Sim) Ipmitool(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.ipmitool(10*time.Second, args...)
	if err != nil {
		t.Fatalf("ipmitool %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (s *Sim) ipmitool(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The password goes through the environment (-E), not the command
	// line that ps shows.
	base := []string{"-I", "lanplus", "-C", "3", "-H", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User, "-E", "-N", "1", "-R", "2"}
	cmd := exec.CommandContext(ctx, "ipmitool", append(base, args...)...)
	cmd.Env = append(os.Environ(), "IPMI_PASSWORD="+s.Password)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, out.String())
	}
	return out.String(), nil
}

func (s *Sim) lanConf(hook string) string {
	return fmt.Sprintf(`name "metalplane-test"
set_working_mc 0x20
  startlan 1
    addr %s %d
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "%s %s"
  user 2 true "%s" "%s" admin 10 none md2 md5 straight
`, s.Host, s.Port, hook, filepath.Join(s.dir, "state"), s.User, s.Password)
}

const emuFile = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02
sel_enable 0x20 1000 0x0a
mc_enable 0x20
`

// hookScript is ipmi_sim's chassis_control program: "get KEY..." answers
// KEY:VALUE lines, "set KEY VALUE..." records. ipmi_sim runs it
// synchronously through popen, so a delayed change runs in the background
// with its output detached.
func hookScript(o Options) string {
	delay := fmt.Sprintf("%.3f", o.PowerDelay.Seconds())
	softOff := `setkey power 0`
	if o.IgnoreSoftOff {
		softOff = `:`
	}
	return `#!/bin/sh
d="$1"; shift; op="$1"; shift
echo "$op $*" >> "$d/calls"
setkey() {
  if [ "$1" = power ] && [ "` + delay + `" != 0.000 ]; then
    (sleep ` + delay + `; printf '%s\n' "$2" > "$d/$1") >/dev/null 2>&1 </dev/null &
  else
    printf '%s\n' "$2" > "$d/$1"
  fi
}
case "$op" in
get) for k in "$@"; do
       case "$k" in
       power) v=$(cat "$d/power" 2>/dev/null || echo 0) ;;
       boot)  v=$(cat "$d/boot" 2>/dev/null || echo none) ;;
       *)     v=0 ;;
       esac
       echo "$k:$v"
     done ;;
set) while [ $# -ge 2 ]; do
       case "$1" in
       power|boot) setkey "$1" "$2" ;;
       shutdown) ` + softOff + ` ;;
       esac
       shift 2
     done ;;
esac
exit 0
`
}
