package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// Queries behind the gauges of /metrics (internal/metrics). Each is one
// GROUP BY over a table that an index or its size keeps cheap: hosts (one
// row per server) and River's unfinished jobs (state is the first column
// of River's fetching index). The metrics package caches their answers, so
// a scrape costs at most one of each per second.

// HostCount is how many hosts of a zone and type are in a state.
type HostCount struct {
	ZoneID         string
	InstanceTypeID string
	State          string
	Count          int
}

// HostCounts counts the hosts by zone, type and state.
func (db *DB) HostCounts(ctx context.Context) ([]HostCount, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT zone_id, instance_type_id, state, COUNT(*) FROM hosts GROUP BY zone_id, instance_type_id, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HostCount
	for rows.Next() {
		var c HostCount
		if err := rows.Scan(&c.ZoneID, &c.InstanceTypeID, &c.State, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// JobQueueStat is how many unfinished River jobs are in a state, and when
// the one waiting longest was due.
type JobQueueStat struct {
	State string
	Count int
	// OldestDue is the earliest scheduled_at of these jobs: for
	// available jobs, how long the oldest has waited for a worker.
	OldestDue time.Time
}

// JobQueueStats counts the unfinished provisioning jobs by state. Without
// River's tables (a database migrated by an older release) it returns
// nothing.
func (db *DB) JobQueueStats(ctx context.Context) ([]JobQueueStat, error) {
	if ok, err := db.hasTable(ctx, db.SQL, "river_job"); err != nil || !ok {
		return nil, err
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT state, COUNT(*), `+db.epochSeconds("MIN(scheduled_at)")+` FROM river_job
		WHERE state IN (`+unfinishedJobStates+`) GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JobQueueStat
	for rows.Next() {
		var s JobQueueStat
		var due sql.NullFloat64
		if err := rows.Scan(&s.State, &s.Count, &due); err != nil {
			return nil, err
		}
		if due.Valid {
			s.OldestDue = time.UnixMilli(int64(due.Float64 * 1000)).UTC()
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Pools returns the connection pools of the database by name, for their
// statistics: the writer ("metalplane") and, on SQLite, the query-only
// readers ("metalplane_reads").
func (db *DB) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{"metalplane": db.SQL}
	if db.reads != nil {
		pools["metalplane_reads"] = db.reads.sql
	}
	return pools
}
