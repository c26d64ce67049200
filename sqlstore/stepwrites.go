package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Provisioning writes shared between workers on SQLite.
//
// A provision writes about eight short transactions (the start, one per
// step, the finish), and with the simulator at zero delay a hundred
// workers write them flat out. On SQLite's one writing connection each of
// them paid BEGIN, COMMIT with its WAL writes, and the compilation of
// every statement, and each waited in the connection's queue beside the
// purchases' group committer: a profile (docs/performance.md) found the
// workers' transactions holding the connection most of the time while
// purchases queued for it. The step writer runs the records that arrive
// while it is busy in one transaction with prepared statements and
// commits once. Every caller still waits for the commit of its own
// record, so a step recorded done is durable before the next one starts,
// as before; a lone record is written at once, never held back for
// company. If the batch fails as a whole, each record is written again
// alone, so one record can never fail another. On PostgreSQL each record
// keeps its own transaction: connections write in parallel there, and a
// batch would hold the row locks of many instances at once; a finished
// step is there one statement (stepwrites_pg.go).

// maxStepBatch bounds a batch of provisioning records.
const maxStepBatch = 128

type stepWrite struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan struct{}
}

type stepWriter struct {
	db    *DB
	queue chan *stepWrite
	stop  chan struct{}
	wg    sync.WaitGroup
}

// provisionTx runs fn in a transaction: on SQLite possibly shared with
// other workers' records (fn may then run twice, the first time rolled
// back, so it must set its results afresh each time it runs), on
// PostgreSQL one of its own.
func (db *DB) provisionTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if !db.singleWriter() {
		return db.inTx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	return db.stepWrites().submit(ctx, &stepWrite{fn: fn})
}

// stepWrites returns the DB's step writer, starting it on first use.
func (db *DB) stepWrites() *stepWriter {
	db.stepWriterOnce.Do(func() {
		w := &stepWriter{db: db, queue: make(chan *stepWrite), stop: make(chan struct{})}
		w.wg.Add(1)
		go w.run()
		db.stepWriter = w
	})
	return db.stepWriter
}

// close stops the writer after the batch in progress.
func (w *stepWriter) close() {
	close(w.stop)
	w.wg.Wait()
}

// submit queues a record and waits for its outcome. Once queued the
// record is written or not as a whole, whatever happens to ctx.
func (w *stepWriter) submit(ctx context.Context, s *stepWrite) error {
	if w == nil {
		return errClosed
	}
	s.done = make(chan struct{})
	select {
	case w.queue <- s:
	case <-w.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-s.done
	return s.err
}

func (w *stepWriter) run() {
	defer w.wg.Done()
	for {
		var first *stepWrite
		select {
		case first = <-w.queue:
		case <-w.stop:
			return
		}
		batch := []*stepWrite{first}
	drain:
		for len(batch) < maxStepBatch {
			select {
			case s := <-w.queue:
				batch = append(batch, s)
			default:
				break drain
			}
		}
		w.write(batch)
		for _, s := range batch {
			close(s.done)
		}
		ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
		w.db.prepareLearned(ctx)
		cancel()
	}
}

func (w *stepWriter) write(batch []*stepWrite) {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	if len(batch) > 1 {
		err := w.db.inTx(ctx, func(tx *sql.Tx) error {
			for _, s := range batch {
				if err := s.fn(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return
		}
	}
	for _, s := range batch {
		s.err = w.db.inTx(ctx, func(tx *sql.Tx) error { return s.fn(ctx, tx) })
	}
}
