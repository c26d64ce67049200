package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// bulkCachePages is SQLite's page cache limit while a catalog sync fills
// the tables: 256 MiB (a negative cache_size counts KiB), taken only as
// pages are used; a 200,000-host catalog uses about 60 MiB.
const bulkCachePages = -256 * 1024

// withBulkCacheTx runs fill with a page cache large enough for the rows a
// catalog sync adds. With SQLite's default of 2 MiB the sync's one
// transaction outgrew its cache many times over: dirty pages were written
// to the WAL before the commit, read back when their B-tree grew again
// and written again, a third of the first sync's CPU in a profile
// (docs/performance.md). The connection's own limit is put back before
// the commit; the pages filled stay until SQLite reuses them. PostgreSQL's
// cache is the server's: fill just runs.
func (db *DB) withBulkCacheTx(ctx context.Context, tx *sql.Tx, fill func() error) error {
	if db.Dialect != SQLite {
		return fill()
	}
	var pages int
	if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&pages); err != nil {
		return fmt.Errorf("read the page cache size: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, bulkCachePages)); err != nil {
		return fmt.Errorf("enlarge the page cache: %w", err)
	}
	if err := fill(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, pages)); err != nil {
		return fmt.Errorf("put the page cache size back: %w", err)
	}
	return nil
}
