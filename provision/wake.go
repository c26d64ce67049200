package provision

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// Waking River's SQLite listener when a purchase enqueues.
//
// SQLite has no LISTEN/NOTIFY: River's SQLite driver writes a row to its
// notification table in the inserting transaction, and its listener looks
// for such rows every 50 ms. An instance bought on an idle server
// therefore waited up to 50 ms before a worker fetched its job, although
// the provision itself took 2 ms (the jobs' created and attempted times,
// docs/performance.md). Enqueue now taps the listener, which looks at
// once; the 50 ms poll stays as the fallback. Taps come at most once per
// fetchCooldown, as River's notifications do: under load every look
// takes the writing connection from the purchases, and the jobs are
// fetched anyway as the workers finish others. The tap comes inside the
// purchase's transaction, before its commit, and that is early enough:
// the listener reads on the one writing connection (db.go), which the
// transaction holds until it has committed.

// wakingDriver is River's SQLite driver with a listener that can be
// tapped.
type wakingDriver struct {
	*riversqlite.Driver
	taps    chan struct{}
	lastTap atomic.Int64 // UnixNano
}

func newWakingDriver(d *riversqlite.Driver) *wakingDriver {
	return &wakingDriver{Driver: d, taps: make(chan struct{}, 1)}
}

// tap makes the listener look for notifications now; taps while one is
// pending are one.
func (d *wakingDriver) tap() {
	now := time.Now().UnixNano()
	last := d.lastTap.Load()
	if now-last < int64(fetchCooldown) || !d.lastTap.CompareAndSwap(last, now) {
		return
	}
	select {
	case d.taps <- struct{}{}:
	default:
	}
}

// GetListener implements riverdriver.Driver.
func (d *wakingDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakingListener{Listener: d.Driver.GetListener(params), taps: d.taps}
}

type wakingListener struct {
	riverdriver.Listener
	taps chan struct{}
}

// WaitForNotification implements riverdriver.Listener: the wrapped
// listener's wait, cut short by a tap, after which it looks again at once
// (its wait begins with a look). River's notifier cuts waits short the
// same way, by their context, to change its subscriptions.
func (l *wakingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	for {
		waitCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		var tapped atomic.Bool
		go func() {
			select {
			case <-l.taps:
				tapped.Store(true)
				cancel()
			case <-done:
			}
		}()
		n, err := l.Listener.WaitForNotification(waitCtx)
		close(done)
		cancel()
		if err != nil && tapped.Load() && ctx.Err() == nil {
			continue
		}
		return n, err
	}
}
