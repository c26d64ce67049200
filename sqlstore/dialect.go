package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The few places where SQLite and PostgreSQL differ.

// forUpdate is appended to a SELECT that reads rows the transaction will
// change. SQLite has one writer and a write-locked transaction (_txlock
// immediate), so it needs no row locks.
func (db *DB) forUpdate() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// skipLocked is appended to a SELECT that picks any free rows (hosts, IPs):
// concurrent PostgreSQL transactions take different rows instead of waiting.
func (db *DB) skipLocked() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// isUniqueViolation reports whether err is a unique-constraint violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// singleWriter reports whether every write goes through one connection,
// one transaction at a time (SQLite). Purchases are then group-committed
// (groupcommit.go) and their statements kept prepared (stmtcache.go); on
// PostgreSQL purchases run in parallel and pgx caches statements itself.
func (db *DB) singleWriter() bool { return db.Dialect == SQLite }

// multiRowInserts reports whether bulk inserts should be few large
// statements (PostgreSQL: every statement is a round trip) rather than one
// prepared row at a time (SQLite: compiling a large statement costs more).
func (db *DB) multiRowInserts() bool { return db.Dialect == Postgres }

// liveInstancesQuery counts a team's live instances ($1 team, $2 false).
// Kept counts (instance_counts on SQLite, teams.live_instances on
// PostgreSQL, which checks the quota against it at commit) answer in a few rows what a COUNT over the team's instances
// answers in time growing with the team (7 ms at 100,000, on every
// purchase).
func (db *DB) liveInstancesQuery() string {
	if db.Dialect == SQLite {
		return `SELECT COALESCE(SUM(n), 0) FROM instance_counts WHERE team_id = $1 AND $2 = FALSE`
	}
	// The team's row holds its count (migration 0029).
	return `SELECT live_instances FROM teams WHERE id = $1 AND $2 = FALSE`
}

// lockTx serialises transactions that take the same lock id until they
// end: a PostgreSQL advisory lock. SQLite's write transactions (_txlock
// immediate) are serial already.
func (db *DB) lockTx(ctx context.Context, tx *sql.Tx, id int64) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, id); err != nil {
		return fmt.Errorf("take lock %d: %w", id, err)
	}
	return nil
}

// jobInstanceID is the instance a River job is about, read from its args
// (jsonb on PostgreSQL, JSON or JSONB on SQLite); NULL for jobs about no
// instance (the periodic ones).
func (db *DB) jobInstanceID() string {
	if db.Dialect == Postgres {
		return `args->>'instance_id'`
	}
	return `json_extract(args, '$.instance_id')`
}

// jobIsAbout is a condition on River jobs: the job is about the instance
// in parameter $n. On PostgreSQL it is a containment test, which River's
// GIN index on args answers.
func (db *DB) jobIsAbout(n int) string {
	if db.Dialect == Postgres {
		return fmt.Sprintf(`args @> jsonb_build_object('instance_id', CAST($%d AS text))`, n)
	}
	return fmt.Sprintf(`json_extract(args, '$.instance_id') = $%d`, n)
}

// hasTable reports whether the table exists (on PostgreSQL, in the
// search path).
func (db *DB) hasTable(ctx context.Context, q queryer, name string) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if db.Dialect == Postgres {
		query = `SELECT COUNT(*) FROM (SELECT to_regclass($1) AS t) r WHERE t IS NOT NULL`
	}
	var n int
	if err := q.QueryRowContext(ctx, query, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// epochSeconds converts a timestamp expression of River's tables to Unix
// seconds (fractional): River stores timestamps as timestamptz on
// PostgreSQL and as text on SQLite.
func (db *DB) epochSeconds(expr string) string {
	if db.Dialect == Postgres {
		return `EXTRACT(EPOCH FROM ` + expr + `)::float8`
	}
	return `(julianday(` + expr + `) - 2440587.5) * 86400.0`
}
