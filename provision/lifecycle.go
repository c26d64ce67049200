package provision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The lifecycle actions (ACTIONS.md §3.3–§3.7) change the status at once
// in the request's transaction and enqueue, in that same transaction, one
// job per instance that drives the hardware and ends in a stable status.
// Each job first checks that the instance is still in the status the
// action left it in, so a late, repeated or superseded job does nothing.

// PowerArgs is the job that powers one instance on, off, or both.
type PowerArgs struct {
	InstanceID string `json:"instance_id"`
	// Op is StartInstances, StopInstances, RebootInstances, or
	// TerminateInstance (power off in the recycle bin).
	Op metalplane.Operation `json:"op"`
	// From is the status before the action.
	From metalplane.InstanceStatus `json:"from"`
}

// Kind implements river.JobArgs; stable across releases.
func (PowerArgs) Kind() string { return "power_instance" }

// ReinstallArgs is the job that reinstalls the OS of one instance.
type ReinstallArgs struct {
	InstanceID string `json:"instance_id"`
}

// Kind implements river.JobArgs; stable across releases.
func (ReinstallArgs) Kind() string { return "reinstall_instance" }

// ReinstallSteps lists the reinstall workflow in order: the provisioning
// workflow without the network step (addresses do not change).
var ReinstallSteps = []string{StepPowerOff, StepBootPXE, StepRaid, StepInstallOS, StepPowerOn}

// Workflows names the steps the hardware work of each transient status
// goes through, in order, for progress reports. Only provisioning and
// reinstallation record their steps as they go; a power change is one step.
var Workflows = map[metalplane.InstanceStatus][]string{
	metalplane.StatusPending:    Steps,
	metalplane.StatusCreating:   Steps,
	metalplane.StatusInstalling: ReinstallSteps,
	metalplane.StatusBooting:    {StepPowerOn},
	metalplane.StatusStopping:   {StepPowerOff},
}

// EnqueueLifecycle inserts the jobs on tx; it is the
// sqlstore.LifecycleEnqueueFunc of the lifecycle actions.
func (p *Provisioner) EnqueueLifecycle(ctx context.Context, tx *sql.Tx, jobs []sqlstore.LifecycleJob) error {
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		var args river.JobArgs = PowerArgs{InstanceID: j.InstanceID, Op: j.Op, From: j.From}
		if j.Op == metalplane.OpReinstall {
			args = ReinstallArgs{InstanceID: j.InstanceID}
		}
		params[i] = river.InsertManyParams{Args: args}
	}
	_, err := p.client.InsertManyTx(ctx, tx, params)
	return err
}

// StepBootDevice is the step of a power job that points the next boot at
// the instance's own system before a power-on: its disk, or the network
// for an instance that boots an iPXE script. The provisioning workflow's
// one-time PXE boot leaves the server's boot order as it was, but a BMC
// that ignores "once" (OpenIPMI's simulator does) would otherwise install
// the server again at every start.
const StepBootDevice = "boot_device"

// powerStep is one driver call of a power job: a SetPower (on or off) or,
// for StepBootDevice, a SetBootDevice.
type powerStep struct {
	name string
	on   bool
}

// powerPlan returns the status a power job expects, its steps, and the
// status it ends in (none for the recycle bin, which keeps RECYCLE).
func powerPlan(args PowerArgs) (want metalplane.InstanceStatus, steps []powerStep, then metalplane.InstanceStatus, err error) {
	on, off, boot := powerStep{StepPowerOn, true}, powerStep{StepPowerOff, false}, powerStep{name: StepBootDevice}
	switch args.Op {
	case metalplane.OpStart:
		return metalplane.StatusBooting, []powerStep{boot, on}, metalplane.StatusRunning, nil
	case metalplane.OpStop:
		return metalplane.StatusStopping, []powerStep{off}, metalplane.StatusStopped, nil
	case metalplane.OpReboot:
		if args.From == metalplane.StatusStopped {
			return metalplane.StatusBooting, []powerStep{boot, on}, metalplane.StatusRunning, nil
		}
		return metalplane.StatusBooting, []powerStep{off, boot, on}, metalplane.StatusRunning, nil
	case metalplane.OpTerminate:
		return metalplane.StatusRecycle, []powerStep{off}, "", nil
	}
	return "", nil, "", fmt.Errorf("power job: unknown op %q", args.Op)
}

type powerWorker struct {
	river.WorkerDefaults[PowerArgs]
	p *Provisioner
}

func (w *powerWorker) NextRetry(job *river.Job[PowerArgs]) time.Time {
	return time.Now().Add(w.p.cfg.RetryBase << min(job.Attempt-1, 10))
}

func (w *powerWorker) Work(ctx context.Context, job *river.Job[PowerArgs]) error {
	args := job.Args
	want, steps, then, err := powerPlan(args)
	if err != nil {
		return river.JobCancel(err)
	}
	// powered is the power state the server is known to be in: the one
	// of From until a step succeeds. A failed job ends in the status
	// matching it (a reboot whose power-on fails leaves a STOPPED server).
	powered := args.From != metalplane.StatusStopped
	var hostID string
	err = w.run(ctx, args, want, steps, then, &powered, &hostID)
	return w.p.settle(ctx, job.JobRow, args.InstanceID, err, func(ctx context.Context, err error) error {
		return w.failed(ctx, job, want, powered, hostID, err)
	})
}

// bootOf is where an instance boots from after its provision: the network
// when it boots an iPXE script and has no image, else its disk. The
// choice is persistent: it holds for every boot until changed.
func bootOf(in *metalplane.Instance) BootOverride {
	if in.ImageID == "" && in.IpxeURL != "" {
		return BootOverride{Device: BootPXE, Persistent: true}
	}
	return BootOverride{Device: BootDisk, Persistent: true}
}

// run makes the power job's driver calls, recording each, and moves the
// instance to then; powered follows the calls that succeeded, hostID is
// the instance's host once known.
func (w *powerWorker) run(ctx context.Context, args PowerArgs, want metalplane.InstanceStatus, steps []powerStep, then metalplane.InstanceStatus, powered *bool, hostID *string) error {
	p := w.p
	if p.draining.Load() {
		return errDraining
	}
	in, err := p.db.BeginLifecycleJob(ctx, args.InstanceID, want)
	if err != nil || in == nil {
		return err
	}
	*hostID = in.HostID
	d, err := p.driverOf(ctx, in.HostID)
	if err != nil {
		return err
	}
	host := hostOf(in)
	for _, s := range steps {
		if p.draining.Load() {
			return errDraining
		}
		stepCtx, cancel := context.WithTimeout(ctx, p.stepTimeout(d, s.name))
		detail := "done"
		if s.name == StepBootDevice {
			boot := bootOf(in)
			err = d.SetBootDevice(stepCtx, host, boot)
			detail = "next boot: " + boot.Device.String()
			var unsup *UnsupportedError
			if errors.As(err, &unsup) {
				// The server then boots as its own boot order says;
				// that is no reason to leave it off.
				err, detail = nil, "left as it is: "+unsup.Error()
			}
		} else {
			err = d.SetPower(stepCtx, host, s.on)
		}
		cancel()
		if err != nil {
			return &stepError{step: s.name, driver: d.Name(), err: err}
		}
		if s.name != StepBootDevice {
			*powered = s.on
		}
		if err := p.db.RecordEvent(ctx, in.ID, "step", s.name, d.Name(), detail); err != nil {
			return err
		}
	}
	if then == "" {
		return nil
	}
	now, err := p.db.FinishLifecycleJob(ctx, in.ID, want, then, "", d.Name(), "")
	if err != nil {
		return err
	}
	if now == metalplane.StatusRecycle && *powered {
		// Terminated while booting: the recycle bin's power-off may have
		// run before this power-on, so switch the server off again.
		stepCtx, cancel := context.WithTimeout(ctx, p.stepTimeout(d, StepPowerOff))
		err := d.SetPower(stepCtx, host, false)
		cancel()
		if err != nil {
			return &stepError{step: StepPowerOff, driver: d.Name(), err: err}
		}
		return p.db.RecordEvent(ctx, in.ID, "step", StepPowerOff, d.Name(), "powered off again: terminated while "+string(want))
	}
	return nil
}

// failed ends a power job that failed permanently, or for the last time:
// the instance leaves the transitional status for the stable one matching
// its power state [decision]. A failed BMC call is also recorded with the
// host, for operators; the host keeps its instance (it is not free to go
// to maintenance).
func (w *powerWorker) failed(ctx context.Context, job *river.Job[PowerArgs], want metalplane.InstanceStatus, powered bool, hostID string, err error) error {
	step, driver := failedStep(err), failedDriver(err)
	if step != "" && driver != sqlstore.DriverSim && hostID != "" {
		if herr := w.p.db.AddHostEvent(ctx, hostID, sqlstore.HostEventBMCFailed, driver,
			fmt.Sprintf("%s of instance %s failed at %s: %v", job.Args.Op, job.Args.InstanceID, step, err)); herr != nil {
			return herr
		}
	}
	if want == metalplane.StatusRecycle {
		return w.p.db.RecordEvent(ctx, job.Args.InstanceID, "failed", step, driver, err.Error())
	}
	back := metalplane.StatusStopped
	if powered {
		back = metalplane.StatusRunning
	}
	_, ferr := w.p.db.FinishLifecycleJob(ctx, job.Args.InstanceID, want, back, step, driver, string(job.Args.Op)+" failed: "+err.Error())
	return ferr
}

type reinstallWorker struct {
	river.WorkerDefaults[ReinstallArgs]
	p *Provisioner
}

func (w *reinstallWorker) NextRetry(job *river.Job[ReinstallArgs]) time.Time {
	return time.Now().Add(w.p.cfg.RetryBase << min(job.Attempt-1, 10))
}

func (w *reinstallWorker) Work(ctx context.Context, job *river.Job[ReinstallArgs]) error {
	id := job.Args.InstanceID
	return w.p.settle(ctx, job.JobRow, id, w.p.reinstall(ctx, id), func(ctx context.Context, err error) error {
		_, ferr := w.p.db.FinishLifecycleJob(ctx, id, metalplane.StatusInstalling, metalplane.StatusInstallFailed, failedStep(err), failedDriver(err), err.Error())
		return ferr
	})
}

// reinstall performs the reinstall steps not done yet; like provisioning,
// each step is idempotent and recorded when done (runSteps).
func (p *Provisioner) reinstall(ctx context.Context, instanceID string) error {
	if p.draining.Load() {
		return errDraining
	}
	_, d, err := p.instanceDriver(ctx, instanceID)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx = withJobMemo(ctx)
	target, err := p.db.BeginReinstall(ctx, instanceID, d.Name())
	if err != nil || target == nil {
		return err
	}
	host := hostOf(target.Instance)
	calls := append(installCalls(d, target),
		func(ctx context.Context) error { return d.SetPower(ctx, host, true) })
	record := func(ctx context.Context, steps []sqlstore.StepDone) (bool, error) {
		return p.db.CompleteReinstallSteps(ctx, instanceID, steps, d.Name(), StepInstallOS)
	}
	more, unrecorded, err := p.runSteps(ctx, d, instanceID, ReinstallSteps, calls, target.Step, nil, record)
	if err == nil && more && len(unrecorded) > 0 {
		more, err = record(ctx, unrecorded)
	}
	if err != nil || !more {
		return err
	}
	_, err = p.db.FinishLifecycleJob(ctx, instanceID, metalplane.StatusInstalling, metalplane.StatusRunning, "", d.Name(), "")
	return err
}
