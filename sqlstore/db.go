// Package sqlstore keeps metalplane's state in SQL: SQLite (embedded, one
// process) or PostgreSQL (several replicas). The same queries serve both;
// the few dialect differences live in dialect.go. Every exported method is
// one transaction; helpers that take *sql.Tx compose them.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/metalplane/metalplane/internal/seal"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open metalplane database.
type DB struct {
	SQL     *sql.DB
	Dialect Dialect
	// PostgresURL is the URL the database was opened with on
	// PostgreSQL ("" on SQLite): River's listener opens its own
	// connection with it (provision/listen.go).
	PostgresURL string
	// NowFunc returns the current time; tests move it forward.
	NowFunc func() time.Time

	// group batches purchases (groupcommit.go; PostgreSQL: groupcommit_pg.go).
	groupOnce sync.Once
	group     *groupCommitter
	// stepWriter batches provisioning records on SQLite (stepwrites.go).
	stepWriterOnce sync.Once
	stepWriter     *stepWriter
	// pressure tells the workers of the purchases (purchasepressure.go).
	pressureOnce sync.Once
	pressure     *purchasePressure
	// ObserveBatchFunc, when set, is told the size of every batch of
	// purchases the group committer commits (/metrics). Set it before
	// the first purchase.
	ObserveBatchFunc func(size int)
	// replayLog writes answers' outcomes and reads' bindings in the
	// background (replaylog.go).
	replayOnce sync.Once
	replayLog  *replayLog
	// stmtCache holds prepared statements of the purchase path on
	// SQLite (stmtcache.go).
	stmtCache stmtCache
	// reads is SQLite's pool of query-only connections (readpool.go);
	// nil on PostgreSQL.
	reads *readPool
	// checkpoints copies SQLite's WAL into the database file in the
	// background (checkpoint.go); nil on PostgreSQL.
	checkpoints *checkpointer
	// secrets seals access key secrets and instance passwords
	// (secrets.go); nil until UseSecretKey.
	secrets *seal.Key
	// caches keep access keys and resource group names (readcache.go).
	caches readCaches
	// path is SQLite's database file ("" on PostgreSQL, or when the DSN
	// is not a plain path): a first sync builds addresses beside it
	// (ipv4build.go).
	path string
	// ipv4BuildMin replaces the constant of that name when set (tests).
	ipv4BuildMin int
	// addressesBeside records that the last catalog sync added the
	// addresses beside the hosts (ipv4build.go), for tests.
	addressesBeside atomic.Bool
}

// Now returns the store's current time, truncated to the second like every
// time the API shows.
func (db *DB) Now() time.Time {
	if db.NowFunc != nil {
		return db.NowFunc().UTC()
	}
	return time.Now().UTC()
}

// SQLitePath returns the database URL of the default SQLite file in dataDir.
func SQLitePath(dataDir string) string {
	return filepath.Join(dataDir, "metalplane.db")
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL,
// or an SQLite file path (optionally prefixed with sqlite://). It does not
// migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var db *DB
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		sqlDB, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// River's workers and the API share the pool; the default is too
		// small for 100 workers plus requests (notes/RIVER.md).
		sqlDB.SetMaxOpenConns(40)
		sqlDB.SetMaxIdleConns(40)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{SQL: sqlDB, Dialect: Postgres, PostgresURL: dsn}
	default:
		path := strings.TrimPrefix(dsn, "sqlite://")
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		if err := restrictSQLiteFiles(path); err != nil {
			return nil, err
		}
		// One writing connection: SQLite has one writer, and several
		// writing connections were measured slower and prone to
		// SQLITE_BUSY (notes/RIVER.md). Inside a transaction only that
		// transaction may be used. Reads that need no transaction have
		// their own pool (readpool.go); query_only makes a write through
		// them an error instead of a second writer. The checkpointer has
		// a connection of its own (checkpoint.go).
		sqlDB := openSQLite(path, 1, "journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)",
			"temp_store(MEMORY)", fmt.Sprintf("wal_autocheckpoint(%d)", walSafetyPages))
		readDB := openSQLite(path, readConns, "busy_timeout(10000)", "query_only(1)", "temp_store(MEMORY)")
		// The checkpointer never waits for a lock: a PASSIVE checkpoint
		// does not, and its restart of the WAL gives way to the writer.
		ckDB := openSQLite(path, 1, "busy_timeout(0)", "synchronous(NORMAL)")
		db = &DB{SQL: sqlDB, Dialect: SQLite, reads: &readPool{sql: readDB}, checkpoints: startCheckpointer(ckDB)}
		if !strings.ContainsAny(path, "?#") && !strings.Contains(path, ":memory:") {
			db.path = path
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.SQL.PingContext(pingCtx); err != nil {
		db.closeSide()
		db.SQL.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.Dialect, err)
	}
	return db, nil
}

// Close closes the database, after the purchases in progress.
func (db *DB) Close() error {
	db.groupOnce.Do(func() {}) // no committer may start from now on
	if db.group != nil {
		db.group.close()
	}
	db.stepWriterOnce.Do(func() {})
	if db.stepWriter != nil {
		db.stepWriter.close()
	}
	db.replayOnce.Do(func() {})
	if db.replayLog != nil {
		db.replayLog.close()
	}
	db.closeStatements()
	// The writer last: SQLite's last connection to close checkpoints the
	// whole WAL and removes it.
	sideErr := db.closeSide()
	return errors.Join(sideErr, db.SQL.Close())
}

// openSQLite returns a pool of at most conns connections to the SQLite
// file, each opened with the pragmas, writes beginning IMMEDIATE (a
// transaction takes the write lock at BEGIN rather than failing with
// SQLITE_BUSY halfway), kept open for good. Connections are made on first
// use, so errors show at the first statement (Open pings the writer).
func openSQLite(path string, conns int, pragmas ...string) *sql.DB {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// sql.Open only fails for an unregistered driver name.
	pool, _ := sql.Open(cachingSQLiteDriverName(), "file:"+path+"?"+q.Encode())
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	return pool
}

// restrictSQLiteFiles makes the database file, and its WAL and shared
// memory files if they exist, readable by the owner only: they hold the
// ledger, sealed secrets and everything else. The file is created here
// (empty, 0600) rather than by SQLite, which would create it 0644, and
// SQLite gives its -wal and -shm files the mode of the database file.
// Files made by earlier versions are narrowed.
func restrictSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open database file: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("database file: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("restrict %s to its owner: %w", p, err)
			}
		}
	}
	return nil
}

// closeSide closes SQLite's readers and checkpointer.
func (db *DB) closeSide() error {
	var errs []error
	if db.checkpoints != nil {
		errs = append(errs, db.checkpoints.close())
	}
	if db.reads != nil {
		errs = append(errs, db.reads.close())
	}
	return errors.Join(errs...)
}

//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := "migrations/" + string(db.Dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad number", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// ErrSchemaOutOfDate is returned by CheckSchema when migrations are pending.
var ErrSchemaOutOfDate = errors.New("database schema is out of date: run `metalplane migrate`")

// Migrate applies every pending migration, each in its own transaction, and
// records it in schema_migrations. Concurrent callers on PostgreSQL are
// serialised by an advisory lock.
func (db *DB) Migrate(ctx context.Context) error {
	return db.migrateUpTo(ctx, math.MaxInt)
}

// migrateUpTo applies the pending migrations numbered up to last; tests
// use it to build a database as an older release left it.
func (db *DB) migrateUpTo(ctx context.Context, last int) error {
	ms, err := db.migrations()
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7301)`); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7301)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] || m.version > last {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.version, m.name, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", m.name, err)
		}
	}
	return nil
}

// CheckSchema returns ErrSchemaOutOfDate if a migration has not been applied.
func (db *DB) CheckSchema(ctx context.Context) error {
	ms, err := db.migrations()
	if err != nil {
		return err
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return ErrSchemaOutOfDate
	}
	for _, m := range ms {
		if !applied[m.version] {
			return ErrSchemaOutOfDate
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// inTx runs fn in a transaction, committing if it returns nil. When ctx
// carries a signed request's claim on its answer (WithReplay) that is not
// written yet, the claim is written first, so it commits with fn's writes
// or not at all; only write transactions may use inTx.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	claim := replayFrom(ctx)
	if claim != nil {
		if err := db.claimReplayTx(ctx, tx, claim); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if claim != nil {
		claim.written = true
	}
	return nil
}
