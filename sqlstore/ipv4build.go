package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/metalplane/metalplane"
)

// Addresses made beside the hosts.
//
// A first sync of a large catalog is two long INSERTs, the hosts' and the
// addresses', each the work of one core: on 2 cores one of them sat idle
// for the whole sync. On PostgreSQL they are now two transactions on two
// connections at once (syncCatalogBeside, below). SQLite has one writer
// per file, so there the IPv4 addresses are made in a scratch file of their own, by
// a connection of its own, while the hosts go in. The scratch table is
// created from the database's own definitions of public_ips and its
// indexes, so that the copy into the empty public_ips is SQLite's transfer
// of whole records: no row is evaluated again, and 200,606 addresses copy
// in 0.15–0.19 s where making them takes 0.5–0.7 s (docs/performance.md).
//
// The hosts commit first; the addresses and the sync's fingerprint are a
// second transaction. A start that dies between the two finds no
// fingerprint and syncs again: the hosts are there, the addresses are
// made again. The scratch file is written without a journal, since it is
// thrown away whatever happens: removed after the copy, and a leftover of
// a start that died is removed by the next one.

// ipv4BuildSchema is the name the scratch file is attached under.
const ipv4BuildSchema = "ipv4build"

// ipv4BuildMin is how many IPv4 addresses a first sync must add for them
// to be built beside the hosts: below it the scratch file costs more than
// the core it puts to work saves. Tests set DB.ipv4BuildMin instead.
const ipv4BuildMin = 16_384

// execer runs a statement: a transaction, or the scratch file's pool.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ipv4Build is a build in progress; nil is no build.
type ipv4Build struct {
	db     *DB
	path   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done is closed
}

// ipv4BuildPath returns the scratch file of the SQLite database at path.
func ipv4BuildPath(path string) string { return path + ".ipv4-build" }

// removeIPv4Scratch removes a scratch file left by a start that died, and
// reports whether there is an SQLite file to build beside and none is in
// the way.
func (db *DB) removeIPv4Scratch() bool {
	if db.Dialect == Postgres || db.path == "" {
		return false
	}
	err := os.Remove(ipv4BuildPath(db.path))
	return err == nil || errors.Is(err, fs.ErrNotExist)
}

// startIPv4Build starts building the catalog's IPv4 addresses in the
// scratch file when the database is SQLite, public_ips is empty and the
// catalog has at least the threshold of them; otherwise it returns nil.
// It removes a scratch file left by a start that died in any case.
func (db *DB) startIPv4Build(ctx context.Context, cat *metalplane.Catalog) *ipv4Build {
	if !db.removeIPv4Scratch() {
		return nil // PostgreSQL, no file, or a file in the way: the sync makes them itself
	}
	path := ipv4BuildPath(db.path)
	zones, ok := db.ipv4WorthBuilding(ctx, cat)
	if !ok {
		return nil
	}
	ddl, err := db.tableDefinitions(ctx, "public_ips")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &ipv4Build{db: db, path: path, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.err = b.run(ctx, ddl, cat.Zones, zones)
	}()
	return b
}

// ipv4WorthBuilding returns the addresses of each of the catalog's zones,
// and whether the IPv4 ones are to be made beside the hosts: at least the
// threshold of them, and public_ips empty.
func (db *DB) ipv4WorthBuilding(ctx context.Context, cat *metalplane.Catalog) ([]zoneAddresses, bool) {
	minimum := db.ipv4BuildMin
	if minimum == 0 {
		minimum = ipv4BuildMin
	}
	var zones []zoneAddresses
	total := 0
	for _, z := range cat.Zones {
		za, err := addressesOf(z, nil)
		if err != nil {
			return nil, false // the sync reports it
		}
		for _, r := range za.ipv4 {
			total += r.count
		}
		zones = append(zones, za)
	}
	if total < minimum {
		return nil, false
	}
	var empty bool
	if err := db.reader().QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM public_ips)`).Scan(&empty); err != nil || !empty {
		return nil, false
	}
	return zones, true
}

// catalogIPsLock is the lockTx id of the addresses' transaction of a
// PostgreSQL sync beside the hosts' (catalogSyncLock).
const catalogIPsLock = 7303

// syncCatalogBeside is SyncCatalog on PostgreSQL when the addresses are
// many and public_ips is empty: the hosts and the addresses are two
// transactions on two connections at once, each under a lock of its own,
// so that the two INSERTs and their index builds run on two cores (1.4 s
// one after the other at 200,000 hosts). The fingerprint is recorded by a
// third transaction after both committed. A replica starting at the same
// time waits on each lock in turn and then finds the rows there; a start
// that dies before the fingerprint leaves a sync that the next start does
// again.
func (db *DB) syncCatalogBeside(ctx context.Context, cat *metalplane.Catalog, fingerprint string) error {
	ips := make(chan error, 1)
	go func() {
		ips <- db.inTx(ctx, func(tx *sql.Tx) error {
			if synced, err := db.syncedTx(ctx, tx, catalogIPsLock, fingerprint); synced || err != nil {
				return err
			}
			if err := db.syncIPsTx(ctx, tx, cat, false); err != nil {
				return fmt.Errorf("sync public IPs: %w", err)
			}
			return nil
		})
	}()
	synced := false
	hostsErr := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if synced, err = db.syncedTx(ctx, tx, catalogSyncLock, fingerprint); synced || err != nil {
			return err
		}
		if err := db.syncHostsTx(ctx, tx, cat); err != nil {
			return fmt.Errorf("sync hosts: %w", err)
		}
		return nil
	})
	if err := errors.Join(hostsErr, <-ips); err != nil || synced {
		return err
	}
	db.addressesBeside.Store(true)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockTx(ctx, tx, catalogSyncLock); err != nil {
			return err
		}
		return db.recordSyncTx(ctx, tx, fingerprint)
	})
}

// tableDefinitions returns the statements that create table and its
// indexes, the table's first, as the database holds them.
func (db *DB) tableDefinitions(ctx context.Context, table string) ([]string, error) {
	rows, err := db.reader().QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE tbl_name = $1 AND sql IS NOT NULL
		ORDER BY type = 'table' DESC, name`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ddl []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		ddl = append(ddl, s)
	}
	return ddl, rows.Err()
}

// run makes the scratch file: public_ips as the database defines it,
// holding every zone's IPv4 addresses.
func (b *ipv4Build) run(ctx context.Context, ddl []string, catZones []metalplane.Zone, zones []zoneAddresses) error {
	// Created here, owner only, like the database file (restrictSQLiteFiles).
	f, err := os.OpenFile(b.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	scratch := openSQLite(b.path, 1, "journal_mode(OFF)", "synchronous(OFF)")
	defer scratch.Close()
	for _, s := range ddl {
		if _, err := scratch.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create the scratch table: %w", err)
		}
	}
	for i, za := range zones {
		if err := b.db.insertIPv4RangesTx(ctx, scratch, catZones[i].ID, za.ipv4, false); err != nil {
			return err
		}
	}
	return nil
}

// finish waits for the build and runs fn in a transaction of the writer:
// with the scratch file attached and built true when the build succeeded
// and public_ips is still empty, as an ordinary transaction with built
// false otherwise (the sync then makes the addresses itself).
func (b *ipv4Build) finish(ctx context.Context, fn func(tx *sql.Tx, built bool) error) error {
	<-b.done
	if b.err != nil {
		return b.db.inTx(ctx, func(tx *sql.Tx) error { return fn(tx, false) })
	}
	conn, err := b.db.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// ATTACH and DETACH are refused inside a transaction, and a
	// transaction locks every attached file: so the file is attached only
	// now, after its connection closed.
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE $1 AS `+ipv4BuildSchema, b.path); err != nil {
		return b.db.inTx(ctx, func(tx *sql.Tx) error { return fn(tx, false) })
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE `+ipv4BuildSchema)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var empty bool
	if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM main.public_ips)`).Scan(&empty); err != nil {
		tx.Rollback()
		return err
	}
	if err := fn(tx, empty); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// discard stops a build that is still running and removes the scratch
// file. It does nothing on nil.
func (b *ipv4Build) discard() {
	if b == nil {
		return
	}
	b.cancel()
	<-b.done
	os.Remove(b.path)
}
