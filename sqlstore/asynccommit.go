package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// asyncCommitTx lets a PostgreSQL transaction commit without waiting for
// its WAL to reach the disk. A first start applies some forty migrations,
// each in its own transaction, and waited for a WAL flush after each (a
// tenth of a second or more of a fresh start). Nothing is lost that
// matters: a crash can only drop the last such commits whole, never part
// of one, so the migrations then found missing are applied again; and the
// first synchronous commit after them (the catalog sync's, or any
// answer's) flushes the WAL up to itself, theirs included. SQLite in WAL
// mode with synchronous=NORMAL already commits without a sync.
func asyncCommitTx(ctx context.Context, tx *sql.Tx, dialect Dialect) error {
	if dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("commit without waiting for the WAL: %w", err)
	}
	return nil
}
