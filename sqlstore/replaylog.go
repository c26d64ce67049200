package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// The replay log writes the outcomes of answers and the bindings of reads
// (replay.go) in the background, many to a transaction. Every signed
// request leaves one of these behind, and a transaction of its own each
// would cost SQLite's single writer as much as a purchase. Until written
// they are kept here, where FindReplay looks first, so this process never
// sees them late; another replica sees them within replayLogLinger plus
// one transaction. A crash loses the outcomes not yet written: their rows
// stay delivering and count as undelivered once the lease ends, so the
// worst case is a client that did get its answer being answered it again
// (never a second purchase).

// replayLogLinger is how long the log waits for company after the first
// entry; it adds nothing to any request's latency.
const replayLogLinger = 2 * time.Millisecond

type pendingReplay struct {
	read   bool // a read's binding, inserted unless the signature has a row
	action string
	source string
	state  ReplayState // an outcome: the row's new state...
	claim  string      // ...if it still holds this claim
}

type replayLog struct {
	db      *DB
	mu      sync.Mutex
	pending map[ReplayKey]*pendingReplay
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	// flushMu makes flushes one at a time, so an entry taken out of
	// pending is written before a later flush reports success.
	flushMu sync.Mutex
}

// replays returns the DB's replay log, starting it on first use.
func (db *DB) replays() *replayLog {
	db.replayOnce.Do(func() {
		l := &replayLog{db: db, pending: map[ReplayKey]*pendingReplay{}, wake: make(chan struct{}, 1),
			stop: make(chan struct{}), done: make(chan struct{})}
		go l.run()
		db.replayLog = l
	})
	return db.replayLog
}

func (l *replayLog) pendingFor(key ReplayKey) *pendingReplay {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending[key]
}

// add queues an entry. An outcome replaces whatever waits for the same
// signature (a read's binding is moot once a claim wrote the row); a read's
// binding never replaces an outcome.
func (l *replayLog) add(key ReplayKey, p *pendingReplay) {
	l.mu.Lock()
	if !p.read || l.pending[key] == nil {
		l.pending[key] = p
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *replayLog) run() {
	defer close(l.done)
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			l.flushUntilDone()
			return
		}
		time.Sleep(replayLogLinger)
		l.flushUntilDone()
	}
}

// flushUntilDone writes everything pending, retrying a failed transaction
// a few times: an outcome that is never written leaves its answer to be
// handed to a later identical request.
func (l *replayLog) flushUntilDone() {
	for attempt := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := l.flush(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
}

// flush writes what is pending in one transaction. Entries stay visible
// to FindReplay until they are committed; a failed flush puts back those
// not replaced meanwhile.
func (l *replayLog) flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch := make(map[ReplayKey]*pendingReplay, len(l.pending))
	for k, p := range l.pending {
		batch[k] = p
	}
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	now := l.db.Now().Unix()
	err := l.db.inTx(ctx, func(tx *sql.Tx) error {
		q := l.db.cached(tx)
		for k, p := range batch {
			var err error
			if p.read {
				_, err = q.ExecContext(ctx, `INSERT INTO request_replays (access_key_id, signature, action, source_ip, state, claim, response, lease_until_ms, created_at)
					VALUES ($1, $2, $3, $4, $5, '', '', 0, $6) ON CONFLICT (access_key_id, signature) DO NOTHING`,
					k.AccessKeyID, k.Signature, p.action, p.source, string(ReplayRead), now)
			} else {
				_, err = q.ExecContext(ctx, `UPDATE request_replays SET state = $1 WHERE access_key_id = $2 AND signature = $3 AND claim = $4`,
					string(p.state), k.AccessKeyID, k.Signature, p.claim)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	for k, p := range batch {
		if l.pending[k] == p {
			delete(l.pending, k)
		}
	}
	l.mu.Unlock()
	return nil
}

// close writes what is pending and stops the log.
func (l *replayLog) close() {
	close(l.stop)
	<-l.done
}
