package provision

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crowdSignals is a crowd of buyers played by hand.
type crowdSignals struct {
	mu        sync.Mutex
	work      int64
	crowd     bool
	committed chan struct{}
}

func newCrowdSignals() *crowdSignals { return &crowdSignals{committed: make(chan struct{}, 1)} }

func (c *crowdSignals) PurchaseWork() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.work
}

func (c *crowdSignals) PurchaseCrowd(now time.Time) (bool, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A crowd that never lapses by itself: the test ends it.
	return c.crowd, now.Add(time.Hour)
}

func (c *crowdSignals) PurchasesCommitted() <-chan struct{} { return c.committed }

// set changes the crowd and tells the gate, as a committed batch does.
func (c *crowdSignals) set(crowd bool, work int64) {
	c.mu.Lock()
	c.crowd, c.work = crowd, work
	c.mu.Unlock()
	select {
	case c.committed <- struct{}{}:
	default:
	}
}

// jobsAtGate starts n jobs entering g and counts those let in.
func jobsAtGate(t *testing.T, g *startGate, n int) (entered *atomic.Int64, errs chan error) {
	t.Helper()
	entered = &atomic.Int64{}
	errs = make(chan error, n)
	for range n {
		go func() {
			err := g.enter(context.Background())
			if err == nil {
				entered.Add(1)
			}
			errs <- err
		}()
	}
	return entered, errs
}

// untilEntered waits until want jobs are in, then checks that no more
// come in a while: the gate holds the rest.
func untilEntered(t *testing.T, entered *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for entered.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs let in, want %d", entered.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := entered.Load(); got != want {
		t.Fatalf("%d jobs let in, want %d: the gate let more through than the crowd earned", got, want)
	}
}

func TestGateLetsProvisionsBeginAtOnceWithoutACrowd(t *testing.T) {
	signals := newCrowdSignals()
	g := newStartGate(signals)
	go g.run()
	defer g.close()
	entered, _ := jobsAtGate(t, g, 20)
	untilEntered(t, entered, 20)
}

// Beside a crowd, crowdBurst provisions begin for each
// crowdShare·crowdBurst instances it bought; when it is gone, all the rest.
func TestGateHoldsProvisionsBesideACrowd(t *testing.T) {
	signals := newCrowdSignals()
	signals.set(true, 0)
	g := newStartGate(signals)
	go g.run()
	defer g.close()
	entered, errs := jobsAtGate(t, g, 3*crowdBurst+5)
	untilEntered(t, entered, 0)

	perBurst := int64(crowdShare * crowdBurst)
	signals.set(true, perBurst-1)
	untilEntered(t, entered, 0)
	signals.set(true, perBurst)
	untilEntered(t, entered, crowdBurst)
	signals.set(true, 3*perBurst-1)
	untilEntered(t, entered, 2*crowdBurst)

	signals.set(false, 3*perBurst-1)
	untilEntered(t, entered, 3*crowdBurst+5)
	for range 3*crowdBurst + 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A crowd's purchases earn at most maxCredit: a long crowd with no job
// waiting does not let a flood in afterwards.
func TestGateCreditIsBounded(t *testing.T) {
	signals := newCrowdSignals()
	signals.set(true, 0)
	g := newStartGate(signals)
	go g.run()
	defer g.close()
	signals.set(true, 1_000_000)
	entered, _ := jobsAtGate(t, g, maxCredit/crowdShare+crowdBurst)
	untilEntered(t, entered, maxCredit/crowdShare)
}

// Jobs waiting at the gate when the workers stop are handed back.
func TestGateHandsWaitingJobsBackAtStop(t *testing.T) {
	signals := newCrowdSignals()
	signals.set(true, 0)
	g := newStartGate(signals)
	go g.run()
	entered, errs := jobsAtGate(t, g, 3)
	untilEntered(t, entered, 0)
	g.close()
	for range 3 {
		if err := <-errs; !errors.Is(err, errDraining) {
			t.Fatalf("a job waiting at the gate at stop: %v, want errDraining", err)
		}
	}
	if err := g.enter(context.Background()); !errors.Is(err, errDraining) {
		t.Fatalf("a job coming after the stop: %v, want errDraining", err)
	}
}
