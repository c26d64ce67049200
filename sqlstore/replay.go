package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrReplayed is returned by a mutating store method when an identical
// signed request committed first: the caller answers the stored response.
var ErrReplayed = errors.New("identical request already committed")

// ReplayWindow is how long answers are kept for replays: at least the
// signature window, after which the same signature is rejected as expired.
const ReplayWindow = 15 * time.Minute

// Replay identifies a signed request for de-duplication.
type Replay struct {
	AccessKeyID string
	Signature   string
	Action      string
}

// FindReplay returns the stored response of a committed request with this
// key, signature and action, or nil. The action must match because the
// SDK does not sign X-ZC-Action: StopInstances and StartInstances with the
// same body in the same second share a signature, yet are not the same
// request.
func (db *DB) FindReplay(ctx context.Context, accessKeyID, signature, action string) ([]byte, error) {
	var resp string
	err := db.readRow(ctx, `SELECT response FROM request_replays WHERE access_key_id = $1 AND signature = $2 AND action = $3`, accessKeyID, signature, action).Scan(&resp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find replay: %w", err)
	}
	return []byte(resp), nil
}

// SaveReplay remembers the response of a committed request; a second save
// of the same signature keeps the first.
func (db *DB) SaveReplay(ctx context.Context, accessKeyID, signature, action string, response []byte) error {
	return db.saveReplay(ctx, db.SQL, Replay{accessKeyID, signature, action}, response, false)
}

// saveReplay inserts the replay row. With strict, an existing row means a
// concurrent identical request won: ErrReplayed, so the caller's
// transaction rolls back instead of buying twice.
func (db *DB) saveReplay(ctx context.Context, q queryer, r Replay, response []byte, strict bool) error {
	res, err := q.ExecContext(ctx, `INSERT INTO request_replays (access_key_id, signature, action, response, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (access_key_id, signature, action) DO NOTHING`, r.AccessKeyID, r.Signature, r.Action, string(response), db.Now().Unix())
	if err != nil {
		return fmt.Errorf("save replay: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 && strict {
		return ErrReplayed
	}
	return nil
}

// PurgeReplays deletes answers older than the replay window.
func (db *DB) PurgeReplays(ctx context.Context) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM request_replays WHERE created_at < $1`, db.Now().Add(-ReplayWindow).Unix())
	return err
}
