package sqlstore

import (
	"sync/atomic"
	"time"
)

// What the provisioning workers know of the purchases (provision/gate.go
// gives purchases the way while they come in a crowd).
//
// The committer counts the purchases handed to it and not yet answered,
// the purchases' work done (an instance bought, or a purchase refused:
// refused purchases hold the writer too, and a crowd of them must not
// stop provisioning), and when it last committed a batch of more than
// one: concurrent buyers. A lone client's purchases come one at a time
// and are never a crowd, so its instances are provisioned at once.

// crowdWindow is how long after a batch of several purchases the buyers
// still count as a crowd: under load the next batch comes well within it.
const crowdWindow = 10 * time.Millisecond

type purchasePressure struct {
	pending    atomic.Int64 // handed to the committer, not yet answered
	work       atomic.Int64 // instances bought and purchases refused
	crowdUntil atomic.Int64 // UnixNano
	committed  chan struct{}
}

func newPurchasePressure() *purchasePressure {
	return &purchasePressure{committed: make(chan struct{}, 1)}
}

func (p *purchasePressure) queued() { p.pending.Add(1) }

func (p *purchasePressure) unqueued() { p.pending.Add(-1) }

// batchDone records a committed batch of size purchases that did work.
func (p *purchasePressure) batchDone(size, work int, now time.Time) {
	p.work.Add(int64(work))
	if size > 1 {
		p.crowdUntil.Store(now.Add(crowdWindow).UnixNano())
	}
	p.pending.Add(-int64(size))
	select {
	case p.committed <- struct{}{}:
	default:
	}
}

// PurchaseCrowd reports whether several purchases are waiting for the
// committer or were committed together within the last crowdWindow, and
// until when the latter holds.
func (db *DB) PurchaseCrowd(now time.Time) (crowd bool, until time.Time) {
	p := db.purchases()
	until = time.Unix(0, p.crowdUntil.Load())
	return p.pending.Load() > 1 || now.Before(until), until
}

// PurchaseWork counts the instances this process bought since it opened
// the database, and one for each purchase it refused.
func (db *DB) PurchaseWork() int64 { return db.purchases().work.Load() }

// PurchasesCommitted receives a value (at most one is kept) after each
// batch of purchases.
func (db *DB) PurchasesCommitted() <-chan struct{} { return db.purchases().committed }

func (db *DB) purchases() *purchasePressure {
	db.pressureOnce.Do(func() { db.pressure = newPurchasePressure() })
	return db.pressure
}
