package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/metalplane/metalplane"
)

// Group commit for purchases on SQLite (PostgreSQL's batches, run by the
// same committer: groupcommit_pg.go).
//
// SQLite has one writer and we give it one connection, so purchases are
// serial and the rate is one over the time each holds the connection. A
// profile (docs/performance.md) put a third of that time in work done per
// transaction rather than per purchase: BEGIN/COMMIT with its WAL writes,
// and River's job insert, whose statement is parsed anew on every call.
// The committer therefore runs the purchases that arrive while it is busy
// in one transaction, each inside its own SAVEPOINT so that a refused
// purchase (sold out, balance, quota) is rolled back alone, enqueues all
// their jobs in one River insert, and commits once. Nobody is answered
// before the commit, so an answer still means "durable".
//
// If anything fails at the level of the batch (the job insert, the
// commit), every purchase of the batch is run again alone in its own
// transaction, so one purchase can never fail another.

// maxGroup bounds a batch: big enough to amortise the commit, small enough
// that the first purchase does not wait long for the last.
const maxGroup = 64

// groupLinger is how long the committer waits for more purchases after
// the first; measured in docs/performance.md.
var groupLinger = 500 * time.Microsecond

type purchase struct {
	plan     *metalplane.CreatePlan
	result   *CreateResult
	replay   *Replay
	response []byte
	enqueue  EnqueueFunc
	err      error
	done     chan struct{}
}

type groupCommitter struct {
	db    *DB
	ids   metalplane.TimeOrderedIDs
	queue chan *purchase
	stop  chan struct{}
	wg    sync.WaitGroup
}

// committer returns the DB's group committer, starting it on first use.
func (db *DB) committer() *groupCommitter {
	db.groupOnce.Do(func() {
		g := &groupCommitter{db: db, queue: make(chan *purchase), stop: make(chan struct{})}
		workers := 1
		if db.singleWriter() {
			g.resumeIDs()
		} else {
			workers = pgCommitters
		}
		for range workers {
			g.wg.Add(1)
			go g.run()
		}
		db.group = g
	})
	return db.group
}

// resumeIDs makes the IDs continue after the newest in the database, so a
// clock set back across a restart does not draw taken IDs (attempt would
// draw again, but that costs a rollback). IDs more than a day ahead are
// left out: random IDs made before IDs were time-ordered are spread over
// the whole range. A failure only leaves that to attempt.
func (g *groupCommitter) resumeIDs() {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	var horizon metalplane.TimeOrderedIDs
	tomorrow := time.Now().Add(24 * time.Hour)
	var id, order sql.NullString
	g.db.SQL.QueryRowContext(ctx, `SELECT MAX(id) FROM instances WHERE id < $1`, horizon.InstanceID(tomorrow)).Scan(&id)
	g.db.SQL.QueryRowContext(ctx, `SELECT MAX(order_number) FROM orders WHERE order_number < $1`, horizon.OrderNumber(tomorrow)).Scan(&order)
	g.ids.Continue(id.String, order.String)
}

// close stops the committer after the batch in progress.
func (g *groupCommitter) close() {
	close(g.stop)
	g.wg.Wait()
}

var errClosed = errors.New("sqlstore: database closed")

// submit hands a purchase to the committer and waits for its outcome. The
// purchase is not abandoned when ctx ends: once queued it commits or not as
// a whole, and the caller's identical retry finds the stored answer.
func (g *groupCommitter) submit(ctx context.Context, p *purchase) error {
	p.done = make(chan struct{})
	pressure := g.db.purchases()
	pressure.queued()
	select {
	case g.queue <- p:
	case <-g.stop:
		pressure.unqueued()
		return errClosed
	case <-ctx.Done():
		pressure.unqueued()
		return ctx.Err()
	}
	<-p.done
	return p.err
}

func (g *groupCommitter) run() {
	defer g.wg.Done()
	lastSize := 0
	for {
		var first *purchase
		select {
		case first = <-g.queue:
		case <-g.stop:
			return
		}
		batch := []*purchase{first}
		// Under concurrent load (the last batch had company) wait a
		// moment for more: a batch of one pays the whole commit and job
		// insert alone, and the next purchase is usually a fraction of a
		// millisecond away. A lone client is never made to wait. (Stopping
		// as soon as as many came as last time was measured slower: the
		// batches shrink.)
		var linger <-chan time.Time
		var timer *time.Timer
		if lastSize > 1 {
			timer = time.NewTimer(groupLinger)
			linger = timer.C
		}
	drain:
		for len(batch) < maxGroup {
			select {
			case p := <-g.queue:
				batch = append(batch, p)
				continue
			default:
			}
			if linger == nil {
				break
			}
			select {
			case p := <-g.queue:
				batch = append(batch, p)
			case <-linger:
				break drain
			case <-g.stop:
				break drain
			}
		}
		if timer != nil {
			timer.Stop()
		}
		lastSize = len(batch)
		if observe := g.db.ObserveBatchFunc; observe != nil {
			observe(len(batch))
		}
		g.commit(batch)
		// Counted before the answers, so that a buyer who got one finds
		// its purchase counted (purchasepressure.go).
		work := 0
		for _, p := range batch {
			if p.err == nil {
				work += len(p.result.InstanceIDSet)
			} else {
				work++
			}
		}
		g.db.purchases().batchDone(len(batch), work, time.Now())
		for _, p := range batch {
			close(p.done)
		}
		// Outside the transaction: prepare what the batch ran first.
		ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
		g.db.prepareLearned(ctx)
		cancel()
	}
}

// statementTimeout bounds one batch; purchases do not depend on their
// callers' contexts once queued (see submit).
const statementTimeout = time.Minute

func (g *groupCommitter) commit(batch []*purchase) {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	if !g.db.singleWriter() {
		g.commitPipelined(ctx, batch)
		return
	}
	if len(batch) == 1 {
		g.alone(ctx, batch[0])
		return
	}
	err := g.db.inTx(ctx, func(tx *sql.Tx) error {
		var ids []string
		var enqueue EnqueueFunc
		for _, p := range batch {
			if err := g.attempt(ctx, tx, p, nil); err != nil {
				return err
			}
			if p.err == nil && p.enqueue != nil {
				ids = append(ids, p.result.InstanceIDSet...)
				// Every purchase of one DB carries the same enqueue
				// function (the server's provisioner).
				enqueue = p.enqueue
			}
		}
		if enqueue != nil {
			return enqueue(ctx, tx, ids)
		}
		return nil
	})
	if err != nil {
		for _, p := range batch {
			g.alone(ctx, p)
		}
	}
}

// alone runs one purchase in its own transaction.
func (g *groupCommitter) alone(ctx context.Context, p *purchase) {
	err := g.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := g.attempt(ctx, tx, p, p.enqueue); err != nil {
			return err
		}
		return p.err
	})
	if p.err == nil {
		p.err = err
	}
}

// maxIDDraws bounds how often a purchase draws new IDs after finding its
// IDs taken (metalplane.TimeOrderedIDs: only after a clock set back, or
// by an ID of another process).
const maxIDDraws = 3

// attempt runs one purchase inside tx under a SAVEPOINT, so that its
// refusal rolls back only its own writes, and sets p.err to its outcome.
// It gives the purchase time-ordered IDs, drawing again when they are
// taken. The error it returns is the transaction's, not the purchase's.
func (g *groupCommitter) attempt(ctx context.Context, tx *sql.Tx, p *purchase, enqueue EnqueueFunc) error {
	q := g.db.cached(tx)
	for range maxIDDraws {
		if err := g.assignIDs(p); err != nil {
			p.err = err
			return nil
		}
		if _, err := q.ExecContext(ctx, `SAVEPOINT purchase`); err != nil {
			return err
		}
		p.err = g.db.createTx(ctx, tx, p.plan, p.result, p.replay, p.response, enqueue)
		if p.err != nil {
			if _, err := q.ExecContext(ctx, `ROLLBACK TO purchase`); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `RELEASE purchase`); err != nil {
			return err
		}
		if !isUniqueViolation(p.err) {
			return nil
		}
	}
	return nil
}

// assignIDs gives p new IDs and the answer stored for its replays.
func (g *groupCommitter) assignIDs(p *purchase) error {
	now := time.Now()
	p.result.OrderNumber = g.ids.OrderNumber(now)
	p.result.InstanceIDSet = p.result.InstanceIDSet[:0]
	for range p.plan.Amount {
		p.result.InstanceIDSet = append(p.result.InstanceIDSet, g.ids.InstanceID(now))
	}
	var err error
	p.response, err = json.Marshal(p.result)
	return err
}
