package ipmisim

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A simulator with Options.PowerOnCommand drives a machine process (a
// qemu VM in the network-boot tests): ipmi_sim's chassis_control hook
// starts it on power on, with the boot device the BMC was told, kills it
// on power off, and reads the power as "that process is alive and not a
// zombie" (a VM that powered itself off has exited). Its PID is in the
// state directory; Kill kills it too.

// vmHookScript is the chassis_control hook that runs cmd as the machine.
func vmHookScript(cmd string) string {
	return `#!/bin/sh
d="$1"; shift; op="$1"; shift
echo "$op $*" >> "$d/calls"
alive() {
  pid=$(cat "$d/vmpid" 2>/dev/null) || return 1
  [ -n "$pid" ] || return 1
  st=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
case "$op" in
get) for k in "$@"; do
       case "$k" in
       power) if alive; then v=1; else v=0; fi ;;
       boot)  v=$(cat "$d/boot" 2>/dev/null || echo none) ;;
       *)     v=0 ;;
       esac
       echo "$k:$v"
     done ;;
set) while [ $# -ge 2 ]; do
       case "$1" in
       boot) printf '%s\n' "$2" > "$d/boot" ;;
       power|shutdown)
         if [ "$1" = power ] && [ "$2" = 1 ]; then
           if ! alive; then
             boot=$(cat "$d/boot" 2>/dev/null || echo none)
             n=$(cat "$d/boots" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/boots"
             ` + shellQuote(cmd) + ` "$boot" > "$d/vm-$n.log" 2>&1 </dev/null &
             echo $! > "$d/vmpid"
           fi
         elif alive; then
           kill "$(cat "$d/vmpid")"
         fi ;;
       esac
       shift 2
     done ;;
esac
exit 0
`
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// VMPID is the PID of the running machine, 0 when it is off.
func (s *Sim) VMPID(t testing.TB) int {
	t.Helper()
	pid, _ := strconv.Atoi(s.state(t, "vmpid", "0"))
	if pid == 0 || !processAlive(pid) {
		return 0
	}
	return pid
}

// Boots is how many times the machine was started.
func (s *Sim) Boots(t testing.TB) int {
	t.Helper()
	n, _ := strconv.Atoi(s.state(t, "boots", "0"))
	return n
}

// VMLog is the output of the machine's n-th start (1-based).
func (s *Sim) VMLog(n int) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "state", fmt.Sprintf("vm-%d.log", n)))
	return string(b)
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// killVM kills the machine, if it runs, and waits for it to go.
func (s *Sim) killVM() {
	if !s.vm {
		return
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "state", "vmpid"))
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !processAlive(pid) {
		return
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); processAlive(pid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}
