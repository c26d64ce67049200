package sqlstore

import (
	"testing"

	"github.com/metalplane/metalplane"
)

// TestExpectedPower: the power sync expects a running instance's server
// on, a stopped or recycled one's and a free host off, and judges nothing
// else.
func TestExpectedPower(t *testing.T) {
	for _, tc := range []struct {
		host   string
		status metalplane.InstanceStatus
		want   string
	}{
		{HostAvailable, "", PowerOff},
		{HostAllocated, metalplane.StatusRunning, PowerOn},
		{HostAllocated, metalplane.StatusStopped, PowerOff},
		{HostAllocated, metalplane.StatusRecycle, PowerOff},
		{HostAllocated, metalplane.StatusBooting, ""},
		{HostAllocated, metalplane.StatusStopping, ""},
		{HostAllocated, metalplane.StatusCreating, ""},
		{HostAllocated, metalplane.StatusInstalling, ""},
		{HostAllocated, metalplane.StatusInstallFailed, ""},
		{HostMaintenance, "", ""},
		{HostRetired, "", ""},
	} {
		if got := ExpectedPower(tc.host, tc.status); got != tc.want {
			t.Errorf("%s host, instance %q: expected power %q, want %q", tc.host, tc.status, got, tc.want)
		}
	}
}
