package provision

import (
	"context"
	"sync"
)

// A job's memo: what a driver learned at one step of a job and may use at
// the next steps of the same job, and no other (the simulator looks for
// injected faults once per provision when there are none, instead of once
// per step: a database round trip, six per provision, which on PostgreSQL
// was the most frequent query of provisioning at sim 0).

type jobMemoKey struct{}

type jobMemo struct {
	mu     sync.Mutex
	values map[any]any
}

// withJobMemo returns ctx with an empty memo for the job it runs.
func withJobMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, jobMemoKey{}, &jobMemo{values: map[any]any{}})
}

// Remember keeps value under key for the rest of the job ctx belongs to;
// outside a job it does nothing.
func Remember(ctx context.Context, key, value any) {
	if m, ok := ctx.Value(jobMemoKey{}).(*jobMemo); ok {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.values[key] = value
	}
}

// Recall returns what Remember kept under key in the job ctx belongs to.
func Recall(ctx context.Context, key any) (any, bool) {
	m, ok := ctx.Value(jobMemoKey{}).(*jobMemo)
	if !ok {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	return v, ok
}
