package provision

import (
	"testing"

	"github.com/metalplane/metalplane"
)

// TestPowerPlan: each power job expects the status its action left and
// makes the driver calls of ACTIONS.md §1.2; a power-on is preceded by
// the choice of the instance's own boot device.
func TestPowerPlan(t *testing.T) {
	for _, tc := range []struct {
		op         metalplane.Operation
		from       metalplane.InstanceStatus
		want, then metalplane.InstanceStatus
		steps      string
	}{
		{metalplane.OpStart, metalplane.StatusStopped, metalplane.StatusBooting, metalplane.StatusRunning, "boot_device power_on"},
		{metalplane.OpStop, metalplane.StatusRunning, metalplane.StatusStopping, metalplane.StatusStopped, "power_off"},
		{metalplane.OpReboot, metalplane.StatusRunning, metalplane.StatusBooting, metalplane.StatusRunning, "power_off boot_device power_on"},
		{metalplane.OpReboot, metalplane.StatusStopped, metalplane.StatusBooting, metalplane.StatusRunning, "boot_device power_on"},
		{metalplane.OpTerminate, metalplane.StatusBooting, metalplane.StatusRecycle, "", "power_off"},
	} {
		want, steps, then, err := powerPlan(PowerArgs{InstanceID: "i", Op: tc.op, From: tc.from})
		if err != nil {
			t.Fatalf("%s from %s: %v", tc.op, tc.from, err)
		}
		got := ""
		for i, s := range steps {
			if i > 0 {
				got += " "
			}
			got += s.name
			if s.name != StepBootDevice && s.on != (s.name == StepPowerOn) {
				t.Errorf("%s: step %s has on=%v", tc.op, s.name, s.on)
			}
		}
		if want != tc.want || then != tc.then || got != tc.steps {
			t.Errorf("%s from %s: got %s → [%s] → %q, want %s → [%s] → %q", tc.op, tc.from, want, got, then, tc.want, tc.steps, tc.then)
		}
	}
	if _, _, _, err := powerPlan(PowerArgs{Op: metalplane.OpRenew}); err == nil {
		t.Errorf("RenewInstance: got a plan, want an error")
	}
}
