package provision

import (
	"context"
	"time"

	"github.com/metalplane/metalplane/sqlstore"
)

// Recording finished steps late, together.
//
// A finished step is recorded so that a job resumed after a crash skips
// it. With the simulator at zero delay a step takes microseconds and its
// record, a durable transaction, far longer: one instance on an idle
// PostgreSQL server spent about 1 ms per step record (its WAL flush),
// seven of them in a row (docs/performance.md). A step's record therefore
// waits for company: it is written together with the records of the steps
// after it, at the latest stepRecordDelay after its step finished (during
// a later step, by a timer), or with the finish of the provision
// (RUNNING), or before the job returns for any other reason (a failed
// step, a stop). The start of a PENDING instance's provision (PENDING →
// CREATING) is such a record too, the first of its job (Provisioner.begin):
// at zero delay a provision is then one transaction, its finish, which
// records the start and the steps with RUNNING; hardware whose steps take
// seconds, or the simulator with a delay, still has its start and each
// step recorded within stepRecordDelay, so the progress an operator
// watches lags by no more than that.
//
// Crash safety is that of a record lost in a crash, which every step
// allows: each step is idempotent, and a resumed job redoes the steps
// whose records had not landed, at most stepRecordDelay's worth plus the
// step in progress. A step is still recorded done once (sqlstore ignores
// records at or below the recorded step), and no step runs without its
// job, which River runs once at a time. A start lost in a crash leaves
// the instance PENDING, to be provisioned from its first step.

// stepRecordDelay is the longest a finished step waits to be recorded
// while the next step runs: long enough that the steps of the simulator
// at zero delay, microseconds each, finish within it (and the first, which
// looks for faults in the database while the start waits), short
// enough that someone watching a provision (`metalplane call --wait`)
// sees every step of hardware or of a simulator with a delay.
const stepRecordDelay = 20 * time.Millisecond

// stepLog holds the finished steps of one job not yet recorded.
type stepLog struct {
	// record writes steps in order; false means the instance moved on
	// without this job (finished, failed or taken over elsewhere).
	record  func(ctx context.Context, steps []sqlstore.StepDone) (bool, error)
	pending []sqlstore.StepDone
	// oldest is when the first pending step finished, by the wall clock
	// (the steps' own times come from the store's clock).
	oldest time.Time

	timer  *time.Timer
	result chan stepLogResult
}

type stepLogResult struct {
	ok  bool
	err error
}

// add appends a finished step.
func (l *stepLog) add(s sqlstore.StepDone) {
	if len(l.pending) == 0 {
		l.oldest = time.Now()
	}
	l.pending = append(l.pending, s)
}

// flush records the pending steps now.
func (l *stepLog) flush(ctx context.Context) (bool, error) {
	if len(l.pending) == 0 {
		return true, nil
	}
	ok, err := l.record(ctx, l.pending)
	if err == nil {
		l.pending = nil
	}
	return ok, err
}

// flushLater arranges for the pending steps to be recorded, while the
// caller runs the next step, once the oldest has waited stepRecordDelay;
// settle ends the arrangement.
func (l *stepLog) flushLater(ctx context.Context) {
	if len(l.pending) == 0 {
		return
	}
	batch, res := l.pending, make(chan stepLogResult, 1)
	l.result = res
	l.timer = time.AfterFunc(time.Until(l.oldest.Add(stepRecordDelay)), func() {
		ok, err := l.record(ctx, batch)
		res <- stepLogResult{ok, err}
	})
}

// settle cancels the flush flushLater arranged if it has not begun, or
// waits for it and returns what it reported.
func (l *stepLog) settle() (bool, error) {
	if l.timer == nil {
		return true, nil
	}
	t, res := l.timer, l.result
	l.timer, l.result = nil, nil
	if t.Stop() {
		return true, nil
	}
	r := <-res
	if r.err == nil {
		l.pending = nil
	}
	return r.ok, r.err
}
