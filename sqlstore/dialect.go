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

// hasInstanceCounts reports whether the trigger-kept instance_counts of
// migration 0009 exist (SQLite). On PostgreSQL those shared counter rows
// would serialise, and could deadlock, concurrent status changes.
func (db *DB) hasInstanceCounts() bool { return db.Dialect == SQLite }

// multiRowInserts reports whether bulk inserts should be few large
// statements (PostgreSQL: every statement is a round trip) rather than one
// prepared row at a time (SQLite: compiling a large statement costs more).
func (db *DB) multiRowInserts() bool { return db.Dialect == Postgres }

// liveInstancesQuery counts a team's live instances ($1 team, $2 false).
// With instance_counts a few rows answer what a COUNT over the team's
// instances answers in time growing with the team (7 ms at 100,000, on
// every purchase).
func (db *DB) liveInstancesQuery() string {
	if db.hasInstanceCounts() {
		return `SELECT COALESCE(SUM(n), 0) FROM instance_counts WHERE team_id = $1 AND $2 = FALSE`
	}
	return `SELECT COUNT(*) FROM instances WHERE team_id = $1 AND released = $2`
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
