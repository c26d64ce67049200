package provision

import (
	"context"
	"sync"
	"time"

	"github.com/metalplane/metalplane/sqlstore"
)

// Purchases first, provisions beside them.
//
// A purchase is a caller waiting for its answer; a provision is work in
// the background that has only to keep moving. With the simulator at zero
// delay, provisioning flat out beside 16 buying clients took nearly half
// of what the purchases would have had: the workers' CPU on the same two
// cores and, on SQLite, the one writer for River's fetches and completions
// and the provisions' records (docs/performance.md, "Purchases first,
// provisions beside them"). Holding back only the provisions' records on
// SQLite's writer changed nothing; holding back how many provisions begin
// did.
//
// So while purchases come in a crowd (sqlstore.PurchaseCrowd: several
// waiting at once, or committed together within the last few
// milliseconds), provisions begin crowdBurst at a time, a burst for each
// crowdShare·crowdBurst instances the crowd bought (or purchases it was
// refused: a crowd of refusals holds the writer too, and must not stop
// provisioning either): provisioning keeps a
// quarter of the purchases' pace, never stops, and has everything to
// itself as soon as the crowd is gone. A burst rather than one at a time,
// because provisions that begin together write their records and River's
// completions together. A lone client is never a crowd: its instance is
// provisioned at once. Steps already running are not held back, and
// neither are reinstalls, power actions or the periodic jobs. The wait
// counts in the job's timeout, which is minutes against the crowd's
// milliseconds per burst.

// crowdShare is how many instances a crowd buys (or purchases it is
// refused) for each provision that begins meanwhile.
const crowdShare = 4

// crowdBurst is how many provisions begin together beside a crowd: their
// records and River's completions then share transactions.
const crowdBurst = 16

// maxCredit bounds how many provisions the purchases of a crowd let begin
// at once.
const maxCredit = 64 * crowdShare

// crowdRecheck is how long the gate waits to look again when purchases
// wait but none was committed: a first batch still on its way.
const crowdRecheck = time.Millisecond

// purchaseSignals is what the gate knows of the purchases
// (*sqlstore.DB).
type purchaseSignals interface {
	PurchaseWork() int64
	PurchaseCrowd(now time.Time) (crowd bool, until time.Time)
	PurchasesCommitted() <-chan struct{}
}

var _ purchaseSignals = (*sqlstore.DB)(nil)

// startGate lets provisions begin: one goroutine hands out passes, in the
// order the jobs came.
type startGate struct {
	db       purchaseSignals
	pass     chan struct{}
	stop     chan struct{} // closed when the workers stop
	stopOnce sync.Once
	seen     int64 // PurchaseWork when the credit was last counted (run's)
}

func newStartGate(db purchaseSignals) *startGate {
	return &startGate{db: db, pass: make(chan struct{}), stop: make(chan struct{}), seen: db.PurchaseWork()}
}

// enter waits for the job's turn to begin. A stop meanwhile hands the job
// back (errDraining), as one fetched during the stop is.
func (g *startGate) enter(ctx context.Context) error {
	select {
	case <-g.pass:
		return nil
	case <-g.stop:
		return errDraining
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close ends the gate: jobs waiting at it, and those that come later,
// are handed back.
func (g *startGate) close() {
	g.stopOnce.Do(func() { close(g.stop) })
}

// run hands out passes until close: at once while no crowd buys, else
// crowdBurst of them for each crowdShare·crowdBurst units of the crowd's
// work.
func (g *startGate) run() {
	var credit int64
	burst := 0 // passes left of the current burst
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		for {
			work := g.db.PurchaseWork()
			credit = min(credit+work-g.seen, maxCredit)
			g.seen = work
			crowd, until := g.db.PurchaseCrowd(time.Now())
			if !crowd {
				burst = 0
				break
			}
			if burst > 0 {
				burst--
				break
			}
			if credit >= crowdShare*crowdBurst {
				credit -= crowdShare * crowdBurst
				burst = crowdBurst - 1
				break
			}
			wait := time.Until(until)
			if wait <= 0 {
				wait = crowdRecheck
			}
			timer.Reset(wait)
			select {
			case <-g.db.PurchasesCommitted():
			case <-timer.C:
			case <-g.stop:
				return
			}
			timer.Stop()
		}
		select {
		case g.pass <- struct{}{}:
		case <-g.stop:
			return
		}
	}
}
