package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// A job whose process dies (kill -9, power loss) stays "running" in
// River's table. River's own rescuer hands such a job on only once it has
// been running longer than any live job could (RescueStuckJobsAfter: 7
// step timeouts, minutes for real hardware), and only on the leader,
// every 30 s. Instead, every process that works jobs writes a heartbeat
// (sqlstore/heartbeats.go) every HeartbeatInterval and, on the same tick,
// hands on the running jobs of the processes whose heartbeat is older
// than DeadAfter, or that stopped. A killed server's jobs are thus worked
// again a few seconds after it died, by another replica or by the
// restarted server (docs/operations.md has the measurement).
//
// The hand-on is River's own rescue, triggered by this knowledge instead
// of elapsed time: the driver's JobGetStuck and JobRescueMany, the calls
// River's rescuer makes. riverdriver is not a stable API (River says so),
// which is why River's version is pinned exactly; the kill -9 tests in
// cmd/metalplane fail if an upgrade changes these calls.
//
// The attempt of a job whose process died counts, as with River's rescue:
// a server that keeps dying while it provisions one instance gives up on
// it after MaxAttempts (the orphan check then fails it with a refund).
// Only a graceful stop hands jobs back for free (Stop).
//
// A live process that cannot write its heartbeat for DeadAfter (its
// database unreachable) is taken for dead and its jobs run twice at once
// for a while; every step is idempotent and recorded once, as with
// River's own rescue of a job that was only slow.

// Heartbeat defaults.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultDeadAfter         = 5 * time.Second
)

// rescueBatch is how many running jobs one query of the rescue reads.
const rescueBatch = 500

// forgetWorkersAfter is how long the heartbeat row of a dead or stopped
// process is kept.
const forgetWorkersAfter = 24 * time.Hour

// heartbeats is the background loop of one started Provisioner.
type heartbeats struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startHeartbeats records the first heartbeat, before any job is fetched
// (so no job of this process is ever held by an unknown client), and
// starts the loop.
func (p *Provisioner) startHeartbeats(ctx context.Context) error {
	id := p.client.ID()
	if err := p.db.Heartbeat(ctx, id, time.Now()); err != nil {
		return err
	}
	if err := p.db.ForgetWorkers(ctx, time.Now().Add(-forgetWorkersAfter)); err != nil {
		p.cfg.Logger.Warn("forget old workers", "err", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &heartbeats{cancel: cancel, done: make(chan struct{})}
	p.heartbeats = h
	go func() {
		defer close(h.done)
		t := time.NewTicker(p.cfg.HeartbeatInterval)
		defer t.Stop()
		for {
			if n, err := p.rescueDeadWorkers(loopCtx); err != nil && loopCtx.Err() == nil {
				p.cfg.Logger.Warn("hand on the jobs of dead workers", "err", err)
			} else if n > 0 {
				p.cfg.Logger.Info("handed on the jobs of dead workers", "jobs", n)
			}
			select {
			case <-loopCtx.Done():
				return
			case <-t.C:
			}
			if err := p.db.Heartbeat(loopCtx, id, time.Now()); err != nil && loopCtx.Err() == nil {
				p.cfg.Logger.Warn("heartbeat", "err", err)
			}
		}
	}()
	return nil
}

// endHeartbeats stops the loop and records the stop, once.
func (p *Provisioner) endHeartbeats(ctx context.Context) error {
	var err error
	p.stopHeartbeats.Do(func() {
		h := p.heartbeats
		if h == nil {
			return
		}
		h.cancel()
		<-h.done
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handBackTimeout)
		defer cancel()
		err = p.db.StopHeartbeat(stopCtx, p.client.ID())
	})
	return err
}

// rescueDeadWorkers makes the jobs still running under dead or stopped
// processes available again (or discards them when that was their last
// attempt) and returns how many it handed on. The running loop calls it
// every HeartbeatInterval; it is safe on any number of processes at once,
// because River's rescue only changes a job still running since before
// the horizon, which a job fetched again since is not.
func (p *Provisioner) rescueDeadWorkers(ctx context.Context) (int, error) {
	horizon := time.Now().Add(-p.cfg.DeadAfter)
	dead, err := p.db.DeadWorkers(ctx, horizon)
	if err != nil || len(dead) == 0 {
		return 0, err
	}
	exec := p.driver.GetExecutor()
	rescued := 0
	var after int64
	for {
		jobs, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: after, Max: rescueBatch, StuckHorizon: horizon})
		if err != nil {
			return rescued, fmt.Errorf("read running jobs: %w", err)
		}
		params := riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		now := time.Now().UTC()
		for _, job := range jobs {
			after = job.ID
			if len(job.AttemptedBy) == 0 {
				continue
			}
			owner := job.AttemptedBy[len(job.AttemptedBy)-1]
			if !dead[owner] || owner == p.client.ID() {
				continue
			}
			reason, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: job.Attempt,
				Error: fmt.Sprintf("its worker %s stopped or sent no heartbeat for %s", owner, p.cfg.DeadAfter)})
			if err != nil {
				return rescued, err
			}
			state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
			if job.Attempt >= job.MaxAttempts {
				state, finalized = rivertype.JobStateDiscarded, &now
			}
			params.ID = append(params.ID, job.ID)
			params.Error = append(params.Error, reason)
			params.FinalizedAt = append(params.FinalizedAt, finalized)
			// Back to its place in the queue, ahead of the purchases made
			// after it: a provision under way is resumed before new ones
			// start (with now, it waited behind the whole backlog: 12 s
			// instead of 6 in TestTwoReplicasOnePostgres).
			params.ScheduledAt = append(params.ScheduledAt, job.ScheduledAt)
			params.State = append(params.State, string(state))
		}
		if len(params.ID) > 0 {
			if _, err := exec.JobRescueMany(ctx, &params); err != nil {
				return rescued, fmt.Errorf("hand on %d jobs: %w", len(params.ID), err)
			}
			rescued += len(params.ID)
		}
		if len(jobs) < rescueBatch {
			return rescued, nil
		}
	}
}
