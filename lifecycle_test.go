package metalplane

import "testing"

// TestRefusalMatrixComplete checks the shape of the matrix: a row for
// every status, every code in the error table, and the cells the spec
// spells out in prose (ACTIONS.md §3.3–§3.9), which must agree with the
// table of §1.3.
func TestRefusalMatrixComplete(t *testing.T) {
	for _, s := range InstanceStatuses {
		if _, ok := refusalMatrix[s]; !ok {
			t.Errorf("no row for %s", s)
		}
		for _, op := range LifecycleOperations {
			if err := Refusal("i", s, op); err != nil && !err.Code.Known() {
				t.Errorf("%s/%s: code %s is not in the error table", s, op, err.Code)
			}
		}
	}
	if len(refusalMatrix) != len(InstanceStatuses) {
		t.Errorf("got %d rows, want %d", len(refusalMatrix), len(InstanceStatuses))
	}
	for _, tc := range []struct {
		status InstanceStatus
		op     Operation
		want   Code // "" = allowed
	}{
		{StatusStopped, OpStart, ""},
		{StatusRunning, OpStart, "OPERATION_DENIED_INSTANCE_NOT_STOPPED"},
		{StatusRunning, OpStop, ""},
		{StatusStopped, OpStop, "OPERATION_DENIED_INSTANCE_NOT_RUNNING"},
		{StatusRunning, OpReboot, ""},
		{StatusStopped, OpReboot, ""},
		{StatusBooting, OpReboot, "OPERATION_DENIED_INSTANCE_STATUS"},
		{StatusInstallFailed, OpReinstall, ""},
		{StatusPending, OpTerminate, "OPERATION_DENIED_INSTANCE_CREATING"},
		{StatusCreating, OpTerminate, "OPERATION_DENIED_INSTANCE_CREATING"},
		{StatusInstalling, OpTerminate, "OPERATION_DENIED_INSTANCE_STATUS_INSTALLING"},
		{StatusCreateFailed, OpTerminate, ""},
		{StatusRecycle, OpTerminate, "OPERATION_DENIED_INSTANCE_RECYCLED"},
		{StatusRecycle, OpRelease, ""},
		{StatusRunning, OpRelease, "OPERATION_DENIED_INSTANCE_NOT_RECYCLED"},
		{StatusRecycle, OpRenew, "OPERATION_DENIED_INSTANCE_RECYCLED"},
		{StatusRecycle, OpModifyResourceGroup, ""},
		{StatusCreating, OpModifyAttribute, ""},
		{"UNHEARD_OF", OpStart, "OPERATION_DENIED_INSTANCE_STATUS"},
		{"UNHEARD_OF", OpModifyAttribute, ""},
	} {
		err := Refusal("i", tc.status, tc.op)
		var got Code
		if err != nil {
			got = err.Code
		}
		if got != tc.want {
			t.Errorf("%s/%s: got %q, want %q", tc.status, tc.op, got, tc.want)
		}
	}
}
