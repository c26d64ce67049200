package netboot

import (
	"strings"
	"testing"

	"github.com/metalplane/metalplane/sqlstore"
)

// A tenant's ipxeUrl stays one argument of iPXE's chain command: no
// second line, no word split, no ${...} expansion of settings.
func TestScriptChainsToTheTenantURLOnly(t *testing.T) {
	s := &Server{BaseURL: "http://10.0.0.1:8081"}
	for _, u := range []string{
		"http://198.18.0.5/boot.ipxe",
		"http://198.18.0.5/a b.ipxe\nshell",
		"http://198.18.0.5/x?${net0/mac}\r\nchain http://evil",
	} {
		script := s.renderScript(&sqlstore.Deployment{Mode: sqlstore.DeployModeIPXE, Task: sqlstore.DeployTask{IpxeURL: u}}, "tok")
		lines := strings.Split(strings.TrimSpace(script), "\n")
		if len(lines) != 3 || lines[0] != "#!ipxe" || !strings.HasPrefix(lines[2], "chain http://198.18.0.5/") {
			t.Errorf("script for %q:\n%s", u, script)
			continue
		}
		if arg := strings.TrimPrefix(lines[2], "chain "); strings.ContainsAny(arg, " $\r") {
			t.Errorf("chain argument %q of %q can split or expand", arg, u)
		}
	}
}

// The deploy script boots the ramdisk with the agent's address and token.
func TestScriptBootsTheRamdiskWithTheToken(t *testing.T) {
	s := &Server{BaseURL: "http://10.0.0.1:8081", KernelArgs: "console=ttyS0"}
	script := s.renderScript(&sqlstore.Deployment{Mode: sqlstore.DeployModeImage}, "T0K3N")
	for _, want := range []string{
		"kernel http://10.0.0.1:8081/ramdisk/vmlinuz metalplane.api=http://10.0.0.1:8081 metalplane.token=T0K3N console=ttyS0\n",
		"initrd http://10.0.0.1:8081/ramdisk/initrd.gz\n",
		"boot\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
}
