package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Identical signed requests (PROTOCOL.md §7, docs/api.md "Retries").
//
// The SDK signs a request once and sends the very same bytes again after a
// network failure or a 429, so a purchase whose answer was lost must not be
// bought again. But the signature covers only the body, the content type,
// the host and a timestamp in whole seconds: a client that sends the same
// body twice in one second on purpose (Terraform's count = 3, three
// goroutines, a shell loop) sends the same bytes too. The two are told apart
// by the fate of the first answer. Each signature has one row here:
//
//   - the action's own transaction writes it (claimReplayTx) with the
//     answer, in state delivering, so acting and remembering are one
//     commit and no race can act twice on behalf of one retry;
//   - once the answer is written to the client the row becomes delivered,
//     or undelivered when the client went away first (SettleReplay);
//   - an identical request finding undelivered is a retry and gets the
//     stored answer (TakeUndeliveredReplay); finding delivered, it is a new
//     request, and its own claim replaces the row; finding delivering, it
//     waits for the outcome (the caller polls).
//
// A delivering row whose lease has run out counts as undelivered: its
// server died between committing and answering, and the client's resend is
// the retry the row exists for.
//
// The row also binds the signature to the address it was used from: the
// same bytes from another address are refused by the caller (Source),
// unless they retry a lost answer of the same action. Read-only actions
// record that binding too (NoteRead), without an answer.

// ErrReplayed is returned by a mutating store method when another request
// with the same signature holds its row (its answer is on the way, or was
// lost and waits for its retry): nothing was done, and the caller looks at
// the row again.
var ErrReplayed = errors.New("an identical request holds the signature")

// ReplayWindow is how long rows are kept: a signature is accepted while its
// timestamp is within 5 minutes of the server clock, so for at most 10.
const ReplayWindow = 15 * time.Minute

// ReplayLease is how long after its claim a delivering answer is awaited:
// longer than the action's commit plus the answer's write deadline.
const ReplayLease = 5 * time.Second

// ReplayState is the fate of the answer of a signature's request.
type ReplayState string

// The replay states.
const (
	// ReplayDelivering: the action committed; its answer is being written.
	ReplayDelivering ReplayState = "delivering"
	// ReplayDelivered: the answer reached the client's connection.
	ReplayDelivered ReplayState = "delivered"
	// ReplayUndelivered: the client went away before the whole answer.
	ReplayUndelivered ReplayState = "undelivered"
	// ReplayRead: a read-only action used the signature; nothing to replay.
	ReplayRead ReplayState = "read"
)

// ReplayKey names a signature: signatures are per access key.
type ReplayKey struct {
	AccessKeyID string
	Signature   string
}

// ReplayRecord is the row of a signature.
type ReplayRecord struct {
	Action     string
	Source     string
	State      ReplayState
	LeaseUntil time.Time
}

// StateAt returns the state that counts at now: a delivering answer whose
// lease ran out was never confirmed, so it counts as undelivered.
func (r *ReplayRecord) StateAt(now time.Time) ReplayState {
	if r.State == ReplayDelivering && now.After(r.LeaseUntil) {
		return ReplayUndelivered
	}
	return r.State
}

// Replay is a mutating request's claim on its signature. The action's
// transaction writes it (see WithReplay); Response is the answer stored
// for a retry, which the handler sets before calling the store unless the
// store builds the answer itself (CreateInstances, ModifyInternet).
type Replay struct {
	ReplayKey
	Action   string
	Source   string
	Response []byte

	claim   string // tells this claim's row apart from a later one's
	written bool   // set once the claim committed
}

// NewReplay returns a claim whose stored answer is response.
func NewReplay(key ReplayKey, action, source string, response []byte) *Replay {
	var b [12]byte
	rand.Read(b[:])
	return &Replay{ReplayKey: key, Action: action, Source: source, Response: response, claim: hex.EncodeToString(b[:])}
}

// Written reports whether the claim was committed with its action.
func (r *Replay) Written() bool { return r != nil && r.written }

type replayCtxKey struct{}

// WithReplay returns a context whose first write transaction (inTx) also
// writes the claim, first, so that it commits with the action or not at
// all. Store methods that build the answer themselves read it from the
// context too.
func WithReplay(ctx context.Context, r *Replay) context.Context {
	return context.WithValue(ctx, replayCtxKey{}, r)
}

// replayFrom returns the claim in ctx that is still to be written, or nil.
func replayFrom(ctx context.Context) *Replay {
	r, _ := ctx.Value(replayCtxKey{}).(*Replay)
	if r == nil || r.written {
		return nil
	}
	return r
}

// claimReplayTx writes the claim in the action's transaction. It takes a
// row that is free (its answer delivered, or a read's binding) and bound to
// the same action or made on the same connection; anything else means
// another request holds the signature: ErrReplayed. On PostgreSQL a
// concurrent identical claim waits here for this transaction's end.
func (db *DB) claimReplayTx(ctx context.Context, q queryer, r *Replay) error {
	st := db.claimWrite(r)
	res, err := q.ExecContext(ctx, st.query, st.args...)
	if err != nil {
		return fmt.Errorf("%s: %w", st.what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrReplayed
	}
	return nil
}

// claimWrite is the statement of claimReplayTx; it affects no row when the
// claim is refused (ErrReplayed).
func (db *DB) claimWrite(r *Replay) statement {
	return statement{"claim signature", `INSERT INTO request_replays (access_key_id, signature, action, source_ip, state, claim, response, lease_until_ms, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (access_key_id, signature) DO UPDATE SET action = excluded.action, source_ip = excluded.source_ip, state = excluded.state,
			claim = excluded.claim, response = excluded.response, lease_until_ms = excluded.lease_until_ms, created_at = excluded.created_at
		WHERE request_replays.source_ip = excluded.source_ip
			AND (request_replays.state IN ('delivered', 'read') OR (request_replays.state = 'undelivered' AND request_replays.action <> excluded.action))`,
		[]any{r.AccessKeyID, r.Signature, r.Action, r.Source, string(ReplayDelivering), r.claim, string(r.Response),
			time.Now().Add(ReplayLease).UnixMilli(), db.Now().Unix()}}
}

// FindReplay returns the row of a signature, or nil, as it will be once the
// outcomes and bindings waiting in the replay log are written.
func (db *DB) FindReplay(ctx context.Context, key ReplayKey) (*ReplayRecord, error) {
	var rec ReplayRecord
	var state, claim string
	var lease int64
	err := db.readRow(ctx, `SELECT action, source_ip, state, claim, lease_until_ms FROM request_replays WHERE access_key_id = $1 AND signature = $2`,
		key.AccessKeyID, key.Signature).Scan(&rec.Action, &rec.Source, &state, &claim, &lease)
	if errors.Is(err, sql.ErrNoRows) {
		if p := db.replays().pendingFor(key); p != nil && p.read {
			return &ReplayRecord{Action: p.action, Source: p.source, State: ReplayRead}, nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find replay: %w", err)
	}
	rec.State, rec.LeaseUntil = ReplayState(state), time.UnixMilli(lease)
	if p := db.replays().pendingFor(key); p != nil && !p.read && p.claim == claim {
		rec.State = p.state
	}
	return &rec, nil
}

// TakeUndeliveredReplay hands the stored answer of a signature whose answer
// never reached its client to the identical request retrying it, which now
// delivers it under a claim of its own. It returns nil when there is no
// such answer (any more): another retry took it, or the row moved on.
func (db *DB) TakeUndeliveredReplay(ctx context.Context, key ReplayKey, action, source string) (*Replay, []byte, error) {
	// The outcome that made the row undelivered may still be waiting in
	// the log.
	if err := db.replays().flush(ctx); err != nil {
		return nil, nil, err
	}
	r := NewReplay(key, action, source, nil)
	var response string
	err := db.SQL.QueryRowContext(ctx, `UPDATE request_replays SET state = $1, claim = $2, source_ip = $3, lease_until_ms = $4
		WHERE access_key_id = $5 AND signature = $6 AND action = $7 AND (state = $8 OR (state = $1 AND lease_until_ms < $9))
		RETURNING response`,
		string(ReplayDelivering), r.claim, source, time.Now().Add(ReplayLease).UnixMilli(),
		key.AccessKeyID, key.Signature, action, string(ReplayUndelivered), time.Now().UnixMilli()).Scan(&response)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("take undelivered answer: %w", err)
	}
	r.Response, r.written = []byte(response), true
	return r, r.Response, nil
}

// SettleReplay records whether the answer of a written claim reached its
// client. It is written in the background with others (replaylog.go);
// FindReplay sees it at once.
func (db *DB) SettleReplay(r *Replay, delivered bool) {
	if !r.Written() {
		return
	}
	state := ReplayUndelivered
	if delivered {
		state = ReplayDelivered
	}
	db.replays().add(r.ReplayKey, &pendingReplay{state: state, claim: r.claim})
}

// NoteRead binds a signature to the read-only action that used it first,
// unless it is bound already. It is written in the background.
func (db *DB) NoteRead(key ReplayKey, action, source string) {
	db.replays().add(key, &pendingReplay{read: true, action: action, source: source})
}

// PurgeReplays deletes rows older than the replay window.
func (db *DB) PurgeReplays(ctx context.Context) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM request_replays WHERE created_at < $1`, db.Now().Add(-ReplayWindow).Unix())
	return err
}
