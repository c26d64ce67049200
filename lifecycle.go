package metalplane

import (
	"context"
	"fmt"
)

// Operation is an instance lifecycle action, as a column of the refusal
// matrix of ACTIONS.md §1.3.
type Operation string

// Lifecycle operations. ModifyInstancesAttribute and
// ModifyInstancesResourceGroup share one column of the matrix.
const (
	OpStart               Operation = "StartInstances"
	OpStop                Operation = "StopInstances"
	OpReboot              Operation = "RebootInstances"
	OpReinstall           Operation = "ReinstallInstance"
	OpTerminate           Operation = "TerminateInstance"
	OpRelease             Operation = "ReleaseInstances"
	OpRenew               Operation = "RenewInstance"
	OpModifyAttribute     Operation = "ModifyInstancesAttribute"
	OpModifyResourceGroup Operation = "ModifyInstancesResourceGroup"
)

// refusalColumns are the columns of refusalMatrix, in the spec's order.
var refusalColumns = [...]Operation{OpStart, OpStop, OpReboot, OpReinstall, OpTerminate, OpRelease, OpRenew, OpModifyAttribute}

// allowed marks an allowed cell of refusalMatrix.
const allowed = ""

// refusalMatrix is ACTIONS.md §1.3, cell for cell: the suffix of the
// OPERATION_DENIED_INSTANCE_ code an operation gets in a state, or allowed.
// It is the only place that decides whether a state allows an operation;
// the store re-checks it under the row lock so a concurrent change cannot
// slip between the check and the write.
var refusalMatrix = map[InstanceStatus][len(refusalColumns)]string{
	// Columns: Start, Stop, Reboot, Reinstall, Terminate, Release, Renew, Modify*.
	StatusPending:       {"NOT_STOPPED", "NOT_RUNNING", "STATUS", "CREATING", "CREATING", "NOT_RECYCLED", "CREATING", allowed},
	StatusCreating:      {"NOT_STOPPED", "NOT_RUNNING", "STATUS", "CREATING", "CREATING", "NOT_RECYCLED", "CREATING", allowed},
	StatusCreateFailed:  {"NOT_STOPPED", "NOT_RUNNING", "STATUS", "STATUS", allowed, "NOT_RECYCLED", "STATUS", allowed},
	StatusInstalling:    {"NOT_STOPPED", "NOT_RUNNING", "STATUS", "STATUS_INSTALLING", "STATUS_INSTALLING", "NOT_RECYCLED", allowed, allowed},
	StatusInstallFailed: {"NOT_STOPPED", "NOT_RUNNING", "STATUS", allowed, allowed, "NOT_RECYCLED", allowed, allowed},
	StatusRunning:       {"NOT_STOPPED", allowed, allowed, allowed, allowed, "NOT_RECYCLED", allowed, allowed},
	StatusStopped:       {allowed, "NOT_RUNNING", allowed, allowed, allowed, "NOT_RECYCLED", allowed, allowed},
	StatusBooting:       {"NOT_STOPPED", "NOT_RUNNING", "STATUS", "STATUS", allowed, "NOT_RECYCLED", allowed, allowed},
	StatusStopping:      {"NOT_STOPPED", "NOT_RUNNING", "STATUS", "STATUS", allowed, "NOT_RECYCLED", allowed, allowed},
	StatusRecycle:       {"RECYCLED", "RECYCLED", "RECYCLED", "RECYCLED", "RECYCLED", allowed, "RECYCLED", allowed},
}

// InstanceStatuses lists every status of ACTIONS.md §1.1.
var InstanceStatuses = []InstanceStatus{StatusPending, StatusCreating, StatusCreateFailed, StatusInstalling, StatusInstallFailed,
	StatusRunning, StatusStopped, StatusBooting, StatusStopping, StatusRecycle}

// TransientStatuses are the statuses an instance only passes through: the
// job enqueued with the change into one of them moves the instance on to
// a stable status (docs/lifecycle.md). An instance left in one of them
// with no job to move it is stranded; the orphan check resumes or fails
// it.
var TransientStatuses = []InstanceStatus{StatusPending, StatusCreating, StatusBooting, StatusStopping, StatusInstalling}

// LifecycleOperations lists every operation of the refusal matrix.
var LifecycleOperations = []Operation{OpStart, OpStop, OpReboot, OpReinstall, OpTerminate, OpRelease, OpRenew, OpModifyAttribute, OpModifyResourceGroup}

func column(op Operation) int {
	if op == OpModifyResourceGroup {
		op = OpModifyAttribute
	}
	for i, c := range refusalColumns {
		if c == op {
			return i
		}
	}
	panic(fmt.Sprintf("metalplane: %q is not a lifecycle operation", op))
}

// Refusal returns the error an instance in status gets for op, or nil when
// the operation is allowed (ACTIONS.md §1.3). Existence is the caller's
// check; the recycle bin comes before any other state because the RECYCLE
// row holds it. An unknown status refuses everything but Modify, with
// OPERATION_DENIED_INSTANCE_STATUS.
func Refusal(instanceID string, status InstanceStatus, op Operation) *Error {
	row, known := refusalMatrix[status]
	suffix := "STATUS"
	if known {
		suffix = row[column(op)]
	} else if column(op) == column(OpModifyAttribute) {
		suffix = allowed
	}
	if suffix == allowed {
		return nil
	}
	code := Code("OPERATION_DENIED_INSTANCE_" + suffix)
	return Errorf(code, "The instance %s is %s: %s is not allowed.", instanceID, status, op)
}

// PowerTransition returns the status a power operation moves an instance
// to at once and the stable status its job ends in (ACTIONS.md §1.2).
func PowerTransition(op Operation) (now, then InstanceStatus) {
	switch op {
	case OpStart, OpReboot:
		return StatusBooting, StatusRunning
	case OpStop:
		return StatusStopping, StatusStopped
	}
	panic(fmt.Sprintf("metalplane: %q is not a power operation", op))
}

// MaxBatchInstances bounds instanceIds of the batch lifecycle actions.
const MaxBatchInstances = 100

// ReinstallInput is the request of ReinstallInstance (ACTIONS.md §3.6).
type ReinstallInput struct {
	InstanceID *string     `json:"instanceId"`
	ImageID    *string     `json:"imageId"`
	IpxeURL    *string     `json:"ipxeUrl"`
	Hostname   *string     `json:"hostname"`
	Password   *string     `json:"password"`
	KeyID      *string     `json:"keyId"`
	SSHKeys    []string    `json:"sshKeys"` // 2022-11-20 only
	RaidConfig *RaidConfig `json:"raidConfig"`
	Partitions []Partition `json:"partitions"`
	Nic        *Nic        `json:"nic"`
	UserData   *string     `json:"userData"`
}

// ReinstallPlan is a validated ReinstallInstance request: the new OS
// settings of the instance, defaults applied.
type ReinstallPlan struct {
	InstanceID string
	Image      *Image // nil without an image
	IpxeURL    string
	Hostname   string
	Login
	RaidConfig *RaidConfig
	Partitions []Partition
	Nic        Nic
	UserData   string
}

// ImageID returns the plan's image id, "" without an image.
func (p *ReinstallPlan) ImageID() string {
	if p.Image == nil {
		return ""
	}
	return p.Image.ID
}

// CheckReinstallRequest checks what needs no instance: instanceId present,
// the IDs and userData within bounds (step 1 of ValidateReinstall).
func CheckReinstallRequest(in *ReinstallInput) error {
	if str(in.InstanceID) == "" {
		return missing("instanceId")
	}
	if len(str(in.UserData)) > MaxUserDataBytes {
		return invalid("userData must be at most %d bytes.", MaxUserDataBytes)
	}
	if err := FirstError(CheckID("instanceId", in.InstanceID), CheckID("imageId", in.ImageID), CheckID("keyId", in.KeyID)); err != nil {
		return err
	}
	return nil
}

// ValidateReinstall checks a ReinstallInstance request against the
// instance it reinstalls, in this order [decision], the CreateInstances
// order for the fields they share: 1 instanceId, userData size
// (CheckReinstallRequest) → 2 state (Refusal; existence is the caller's)
// → 3 imageId/ipxeUrl → 4 login → 5 hostname → 6 RAID → 7 partitions →
// 8 NIC. Every OS field takes the request's value or its CreateInstances
// default, except imageId: without imageId and ipxeUrl the current image
// (or iPXE script) is installed again (§3.6).
func ValidateReinstall(ctx context.Context, in *ReinstallInput, inst *Instance, c CreateContext) (*ReinstallPlan, error) {
	if err := CheckReinstallRequest(in); err != nil {
		return nil, err
	}
	if err := Refusal(inst.ID, inst.Status, OpReinstall); err != nil {
		return nil, err
	}
	t, found := c.Catalog.FindInstanceType(inst.InstanceTypeID)
	if !found {
		return nil, fmt.Errorf("instance %s: type %s is not in the catalog", inst.ID, inst.InstanceTypeID)
	}
	plan := &ReinstallPlan{InstanceID: inst.ID, UserData: str(in.UserData)}
	imageID, ipxeURL := str(in.ImageID), str(in.IpxeURL)
	if imageID == "" && ipxeURL == "" {
		imageID, ipxeURL = inst.ImageID, inst.IpxeURL
	}
	var err error
	if plan.Image, plan.IpxeURL, err = resolveBoot(c.Catalog, t, imageID, ipxeURL); err != nil {
		return nil, err
	}
	if plan.Login, err = resolveLogin(ctx, c, plan.Image, str(in.Password), str(in.KeyID), in.SSHKeys); err != nil {
		return nil, err
	}
	plan.Hostname = defaultString(str(in.Hostname), "hostname")
	if err := ValidatePlainHostname(plan.Hostname); err != nil {
		return nil, err
	}
	if plan.RaidConfig, plan.Partitions, plan.Nic, err = resolveDisksAndNic(in.RaidConfig, in.Partitions, in.Nic, plan.Image, t); err != nil {
		return nil, err
	}
	return plan, nil
}

// RenewalPrice is what RenewInstance debits: one more period of the
// instance at the catalog's current price [decision] (a POC-voucher
// purchase paid nothing, its renewal pays the list price). A stored value
// outside today's bounds (a traffic package bought before they existed) is
// refused with PriceOf's parameter error, as is a price too large for a
// Money; a renewal never credits (CheckDebit).
func RenewalPrice(cat *Catalog, in *Instance) (Money, error) {
	offer, found := cat.FindOffer(in.ZoneID, in.InstanceTypeID)
	if !found {
		return 0, fmt.Errorf("instance %s: no offer for %s in %s", in.ID, in.InstanceTypeID, in.ZoneID)
	}
	q, err := PriceOf(PriceInput{Offer: offer, ChargeType: ChargeTypePrepaid, Period: in.Period, InternetChargeType: in.InternetChargeType,
		BandwidthMbps: in.BandwidthOutMbps, TrafficPackageTB: in.TrafficPackageTB})
	if err != nil {
		return 0, err
	}
	total, err := q.Total()
	if err != nil {
		return 0, err
	}
	if err := CheckDebit("the renewal of "+in.ID, total, offer.Prices.InstanceMonthly); err != nil {
		return 0, err
	}
	return total, nil
}
