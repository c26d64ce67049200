package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Heartbeats of the processes that work jobs (migration 0014,
// provision/rescue.go). Their times are wall-clock time (time.Now of the
// writing process), not the store's clock: they measure whether a
// process is alive, which a test moving the business clock must not
// change. Replicas' clocks must therefore agree to well within the
// horizon a heartbeat is judged by (seconds; NTP keeps them within
// milliseconds).

// Heartbeat records that the worker client is alive at at.
func (db *DB) Heartbeat(ctx context.Context, clientID string, at time.Time) error {
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO worker_heartbeats (client_id, heartbeat_at) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, clientID, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("record heartbeat of %s: %w", clientID, err)
	}
	return nil
}

// StopHeartbeat records that the worker client stopped: whatever job it
// still holds is handed on at once, without waiting for its heartbeat to
// age.
func (db *DB) StopHeartbeat(ctx context.Context, clientID string) error {
	_, err := db.SQL.ExecContext(ctx, `UPDATE worker_heartbeats SET stopped = $1 WHERE client_id = $2`, true, clientID)
	if err != nil {
		return fmt.Errorf("record the stop of %s: %w", clientID, err)
	}
	return nil
}

// DeadWorkers returns the worker clients whose last heartbeat is older
// than since (or that stopped). Clients that never wrote one are not in
// it: nothing is known about them.
func (db *DB) DeadWorkers(ctx context.Context, since time.Time) (map[string]bool, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT client_id FROM worker_heartbeats WHERE stopped = $1 OR heartbeat_at < $2`, true, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("find dead workers: %w", err)
	}
	defer rows.Close()
	dead := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		dead[id] = true
	}
	return dead, rows.Err()
}

// ForgetWorkers deletes the heartbeats older than before: one row is
// left behind by every process that ever started, and after a day River's
// own rescuer has long dealt with any job such a process held.
func (db *DB) ForgetWorkers(ctx context.Context, before time.Time) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM worker_heartbeats WHERE heartbeat_at < $1`, before.UnixMilli())
	if err != nil {
		return fmt.Errorf("forget old workers: %w", err)
	}
	return nil
}
