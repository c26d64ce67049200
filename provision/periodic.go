package provision

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/metalplane/metalplane/sqlstore"
)

// Clock-driven transitions (hourly charges, PREPAID expiry, release of the
// recycle bin) are one sweep, sqlstore.DB.Sweep, run by a River periodic
// job.
//
// Why a periodic job run by River's leader, rather than a ticker in every
// process or one unique job per instance and deadline: River elects one
// leader among the processes sharing the database and only the leader
// enqueues periodic jobs, so with several replicas there is normally one
// sweep per interval, worked by whichever process fetches it; a leader
// that dies is replaced and the new one sweeps at once (RunOnStart). No
// job has to be scheduled at each instance's deadline and kept in step
// when RenewInstance or TerminateInstance move it: the sweep reads the
// deadlines from the instances themselves. The job's uniqueness per
// interval keeps a leader change from enqueueing a second sweep for the
// same interval, and overlap is harmless anyway: the sweep's units of
// work are idempotent transactions under row locks with dedupe keys.

// DefaultPeriodicInterval is how often the sweep runs: hourly charges and
// expiries are at most this late.
const DefaultPeriodicInterval = time.Minute

// PeriodicArgs is the job that runs one sweep.
type PeriodicArgs struct{}

// Kind implements river.JobArgs; stable across releases.
func (PeriodicArgs) Kind() string { return "periodic_sweep" }

type periodicWorker struct {
	river.WorkerDefaults[PeriodicArgs]
	p *Provisioner
}

// Timeout bounds one sweep; a catch-up cut short commits what it did and
// the next sweep carries on.
func (w *periodicWorker) Timeout(*river.Job[PeriodicArgs]) time.Duration { return 10 * time.Minute }

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[PeriodicArgs]) error {
	res, err := w.p.RunPeriodic(ctx)
	if res != (sqlstore.SweepResult{}) {
		w.p.cfg.Logger.Info("periodic sweep", "internet_changes", res.InternetChanges, "renewals", res.Renewals,
			"recycled", res.Recycled, "hourly_charges", res.HourlyCharges, "released", res.Released,
			"lb_hours", res.LoadBalancerHours, "lb_recycled", res.LoadBalancersRecycled, "lb_released", res.LoadBalancersReleased,
			"lb_applied", res.LoadBalancersApplied)
	}
	return err
}

// RunPeriodic performs one sweep at the clock's current time
// (sqlstore.DB.Now): it is what the periodic job runs, and what tests and
// operators call to make moved time take effect at once. Safe to call
// concurrently with itself and with the periodic job, from any process.
func (p *Provisioner) RunPeriodic(ctx context.Context) (sqlstore.SweepResult, error) {
	res, err := p.db.Sweep(ctx, sqlstore.SweepConfig{RenewalPriceFunc: p.cfg.RenewalPriceFunc, EnqueueFunc: p.EnqueueLifecycle,
		EIPEnqueueFunc:      p.EnqueueEIP,
		BlockIPsEnqueueFunc: p.EnqueueBlockIPs})
	// After the sweep, which may have recycled or released load
	// balancers: their drivers apply what changed.
	n, lbErr := p.SyncLoadBalancers(ctx)
	res.LoadBalancersApplied = n
	return res, errors.Join(err, lbErr)
}

// periodicJobs returns the sweep's periodic job, or none when the
// interval is negative (tests that drive the clock run the sweep
// themselves; a sweep at a real-time tick would race with them).
func periodicJobs(interval time.Duration) []*river.PeriodicJob {
	return leaderJob(PeriodicArgs{}, interval, DefaultPeriodicInterval)
}

// leaderJob returns the periodic job args enqueued every interval (0 =
// def, negative = never) by River's leader, run at once by a new leader.
func leaderJob(args river.JobArgs, interval, def time.Duration) []*river.PeriodicJob {
	if interval < 0 {
		return nil
	}
	if interval == 0 {
		interval = def
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			// One attempt: a failed run is retried by the next one.
			// River refuses unique periods under a second (and the
			// job would then never be enqueued): shorter intervals run
			// at most once a second.
			return args, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: max(interval, time.Second)}}
		},
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})}
}
