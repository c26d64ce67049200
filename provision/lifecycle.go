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

// powerStep is one SetPower call of a power job.
type powerStep struct {
	name string
	on   bool
}

// powerPlan returns the status a power job expects, its steps, and the
// status it ends in (none for the recycle bin, which keeps RECYCLE).
func powerPlan(args PowerArgs) (want metalplane.InstanceStatus, steps []powerStep, then metalplane.InstanceStatus, err error) {
	on, off := powerStep{StepPowerOn, true}, powerStep{StepPowerOff, false}
	switch args.Op {
	case metalplane.OpStart:
		return metalplane.StatusBooting, []powerStep{on}, metalplane.StatusRunning, nil
	case metalplane.OpStop:
		return metalplane.StatusStopping, []powerStep{off}, metalplane.StatusStopped, nil
	case metalplane.OpReboot:
		if args.From == metalplane.StatusStopped {
			return metalplane.StatusBooting, []powerStep{on}, metalplane.StatusRunning, nil
		}
		return metalplane.StatusBooting, []powerStep{off, on}, metalplane.StatusRunning, nil
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
	p, d := w.p, w.p.cfg.Driver
	in, err := p.db.BeginLifecycleJob(ctx, args.InstanceID, want)
	if err != nil || in == nil {
		return err
	}
	host := Host{ID: in.HostID, ZoneID: in.ZoneID, InstanceTypeID: in.InstanceTypeID}
	// powered is the power state the server is known to be in: the one
	// of From until a step succeeds. A failed job ends in the status
	// matching it (a reboot whose power-on fails leaves a STOPPED server).
	powered := args.From != metalplane.StatusStopped
	for _, s := range steps {
		stepCtx, cancel := context.WithTimeout(ctx, p.cfg.StepTimeout)
		err := d.SetPower(stepCtx, host, s.on)
		cancel()
		if err != nil {
			return w.failed(ctx, job, want, powered, &stepError{step: s.name, err: err})
		}
		powered = s.on
		if err := p.db.RecordEvent(ctx, in.ID, "step", s.name, d.Name(), "done"); err != nil {
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
	if now == metalplane.StatusRecycle && powered {
		// Terminated while booting: the recycle bin's power-off may have
		// run before this power-on, so switch the server off again.
		if err := d.SetPower(ctx, host, false); err != nil {
			return err
		}
		return p.db.RecordEvent(ctx, in.ID, "step", StepPowerOff, d.Name(), "powered off again: terminated while "+string(want))
	}
	return nil
}

// failed ends a power job whose step failed permanently, or for the last
// time: the instance leaves the transitional status for the stable one
// matching its power state [decision]. Other failures are retried.
func (w *powerWorker) failed(ctx context.Context, job *river.Job[PowerArgs], want metalplane.InstanceStatus, powered bool, err *stepError) error {
	if !IsPermanent(err) && job.Attempt < job.MaxAttempts {
		w.p.cfg.Logger.Warn("power step failed; will retry", "instance", job.Args.InstanceID, "attempt", job.Attempt, "err", err)
		return err
	}
	d := w.p.cfg.Driver
	if want == metalplane.StatusRecycle {
		return w.p.db.RecordEvent(ctx, job.Args.InstanceID, "failed", err.step, d.Name(), err.Error())
	}
	back := metalplane.StatusStopped
	if powered {
		back = metalplane.StatusRunning
	}
	_, ferr := w.p.db.FinishLifecycleJob(ctx, job.Args.InstanceID, want, back, err.step, d.Name(), string(job.Args.Op)+" failed: "+err.Error())
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
	err := w.p.reinstall(ctx, id)
	switch {
	case err == nil:
		return nil
	case IsPermanent(err), job.Attempt >= job.MaxAttempts:
		step := ""
		var se *stepError
		if errors.As(err, &se) {
			step = se.step
		}
		_, ferr := w.p.db.FinishLifecycleJob(ctx, id, metalplane.StatusInstalling, metalplane.StatusInstallFailed, step, w.p.cfg.Driver.Name(), err.Error())
		return ferr
	default:
		w.p.cfg.Logger.Warn("reinstall step failed; will retry", "instance", id, "attempt", job.Attempt, "err", err)
		return err
	}
}

// reinstall performs the reinstall steps not done yet; like provisioning,
// each step is idempotent and recorded when done.
func (p *Provisioner) reinstall(ctx context.Context, instanceID string) error {
	d := p.cfg.Driver
	target, err := p.db.BeginReinstall(ctx, instanceID, d.Name())
	if err != nil || target == nil {
		return err
	}
	host := hostOf(target.Instance)
	calls := append(installCalls(d, target),
		func(ctx context.Context) error { return d.SetPower(ctx, host, true) })
	more, err := p.runSteps(ctx, ReinstallSteps, calls, target.Step, func(n int, name string) (bool, error) {
		return p.db.CompleteReinstallStep(ctx, instanceID, n, name, d.Name())
	})
	if err != nil || !more {
		return err
	}
	_, err = p.db.FinishLifecycleJob(ctx, instanceID, metalplane.StatusInstalling, metalplane.StatusRunning, "", d.Name(), "")
	return err
}
