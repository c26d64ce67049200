package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/metalplane/metalplane/sqlstore"
)

// The orphan check is the safety net under every other way a job is kept
// alive (sqlstore/orphans.go): it finds the instances in a transient
// status that no unfinished job will move on, and resumes or fails each.
// Like the clock sweep it is a River periodic job, enqueued by the leader
// only (periodic.go says why), and it runs at once on a new leader, so a
// restarted server checks as soon as it leads.

// DefaultOrphanCheckInterval is how often the orphan check runs.
const DefaultOrphanCheckInterval = time.Minute

// OrphanArgs is the job that runs one orphan check.
type OrphanArgs struct{}

// Kind implements river.JobArgs; stable across releases.
func (OrphanArgs) Kind() string { return "resume_orphans" }

type orphanWorker struct {
	river.WorkerDefaults[OrphanArgs]
	p *Provisioner
}

func (w *orphanWorker) Work(ctx context.Context, job *river.Job[OrphanArgs]) error {
	_, err := w.p.ResumeOrphans(ctx)
	return err
}

// OrphanResult counts what one orphan check did.
type OrphanResult struct {
	Resumed int // a new job was enqueued
	Failed  int // ended in CREATE_FAILED (refunded) or INSTALL_FAILED
}

// ResumeOrphans runs one orphan check: what the periodic job runs, and
// what tests call. Safe to run concurrently with itself and the workers:
// each instance is re-checked under its row lock.
func (p *Provisioner) ResumeOrphans(ctx context.Context) (OrphanResult, error) {
	var res OrphanResult
	orphans, err := p.db.FindOrphans(ctx)
	if err != nil {
		return res, err
	}
	cfg := sqlstore.OrphanConfig{Enqueue: p.Enqueue, EnqueueLifecycle: p.EnqueueLifecycle}
	var errs []error
	for _, o := range orphans {
		action, err := p.db.ResumeOrphan(ctx, o.InstanceID, cfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", o.InstanceID, err))
			continue
		}
		switch action {
		case sqlstore.OrphanResumed:
			res.Resumed++
		case sqlstore.OrphanFailed:
			res.Failed++
		}
		if action != sqlstore.OrphanNone {
			p.cfg.Logger.Warn("stranded instance found", "instance", o.InstanceID, "status", o.Status, "action", action)
		}
	}
	return res, errors.Join(errs...)
}

// orphanCheckJobs returns the orphan check's periodic job, or none when
// the interval is negative.
func orphanCheckJobs(interval time.Duration) []*river.PeriodicJob {
	return leaderJob(OrphanArgs{}, interval, DefaultOrphanCheckInterval)
}
