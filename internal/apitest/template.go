package apitest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// First starts made once per test binary.
//
// SQLite is Go code here, and the race detector instruments it: the first
// start of a server on a new SQLite file (the migrations, the demo
// catalog's hosts and addresses, the demo team) took 5–7 s of every
// test's SQLite half under `go test -race`, most of the suite's time. A
// test binary now makes a data dir by such a first start once per
// catalog, and each test on SQLite starts on a copy of it: the server then
// opens an existing database, migrations checked and the catalog unchanged,
// as `metalplane serve` does on every start after its first. The first
// start itself runs the same code as ever; the migration, catalog sync and
// bootstrap tests do it on their own databases.
//
// On PostgreSQL the first start is a template database, and each test's
// database is made from it (CREATE DATABASE ... TEMPLATE): 1.1–1.4 s of
// migrations and catalog less for every test's PostgreSQL half.
//
// A test that brings its own data dir or key file, or a netboot
// listener, starts on a new database as before.

// templateFiles are the files of a first start that a copy takes: the
// database, the key its secrets are sealed with, the demo credentials.
var templateFiles = []string{"metalplane.db", app.SecretKeyFile, app.CredentialsFile}

type template struct {
	once sync.Once
	dir  string // the first start's data dir
	pg   string // its PostgreSQL database; "" on SQLite
	err  error
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

// templateKey names the first start a test's options lead to, or "" when
// the test must start on a new database.
func templateKey(dsn string, o Options) (string, error) {
	if o.DataDir != "" || o.SecretKeyFile != "" || o.Netboot != (app.NetbootConfig{}) {
		return "", nil
	}
	key := "sqlite "
	if strings.HasPrefix(dsn, "postgres") {
		key = "postgres "
	}
	if o.CatalogPath == "" {
		return key + "demo", nil
	}
	data, err := os.ReadFile(o.CatalogPath)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return key + hex.EncodeToString(sum[:]), nil
}

// startFromTemplate puts a copy of the first start for o into dataDir and
// the database dsn (an SQLite file, or a PostgreSQL database testdb made,
// which is made again from the template). It returns false when the test
// starts afresh.
func startFromTemplate(dsn, dataDir string, o Options) (bool, error) {
	key, err := templateKey(dsn, o)
	if key == "" || err != nil {
		return false, err
	}
	postgres := strings.HasPrefix(dsn, "postgres")
	if !postgres {
		if dsn = strings.TrimPrefix(dsn, "sqlite://"); dsn == "" {
			dsn = sqlstore.SQLitePath(dataDir)
		}
	}
	templatesMu.Lock()
	tm := templates[key]
	if tm == nil {
		tm = &template{}
		templates[key] = tm
	}
	templatesMu.Unlock()
	tm.once.Do(func() { tm.err = tm.firstStart(postgres, o.CatalogPath) })
	if tm.err != nil {
		return false, tm.err
	}
	for _, name := range templateFiles {
		to := filepath.Join(dataDir, name)
		if name == "metalplane.db" {
			if postgres {
				continue
			}
			to = dsn
		}
		if err := copyFile(filepath.Join(tm.dir, name), to); err != nil {
			return false, err
		}
	}
	if postgres {
		u, err := url.Parse(dsn)
		if err != nil {
			return false, err
		}
		name := strings.TrimPrefix(u.Path, "/")
		err = adminExec(`DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`, `CREATE DATABASE `+name+` TEMPLATE `+tm.pg)
		if err != nil {
			return false, fmt.Errorf("make %s from the template: %w", name, err)
		}
	}
	return true, nil
}

// firstStart opens and closes a server on a new data dir (and on
// PostgreSQL a new database) with the catalog.
func (tm *template) firstStart(postgres bool, catalogPath string) error {
	dir, err := os.MkdirTemp("", "metalplane-apitest-")
	if err != nil {
		return err
	}
	tm.dir = dir
	dsn := sqlstore.SQLitePath(dir)
	if postgres {
		tm.pg = "mptmpl_" + strings.ToLower(metalplane.NewSecret()[:12])
		if err := adminExec(`CREATE DATABASE ` + tm.pg); err != nil {
			return fmt.Errorf("create the template database: %w", err)
		}
		u, err := url.Parse(testdb.PostgresURL())
		if err != nil {
			return err
		}
		u.Path = "/" + tm.pg
		dsn = u.String()
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: dir, Database: dsn, CatalogPath: catalogPath, Migrate: true, NoWorkers: true,
		PeriodicInterval: -1, PowerSyncInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fmt.Errorf("first start of the template: %w", err)
	}
	// SQLite: the last connection to close copies the WAL into the file.
	// PostgreSQL: a template may have no session open.
	if err := a.Close(ctx); err != nil {
		return fmt.Errorf("close the template: %w", err)
	}
	if _, err := os.Stat(sqlstore.SQLitePath(dir) + "-wal"); !postgres && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the template's WAL was left after its close (%v)", err)
	}
	return nil
}

// adminExec runs statements on the test PostgreSQL server's administrative
// database, one after the other.
func adminExec(statements ...string) error {
	admin, err := sql.Open("pgx", testdb.PostgresURL())
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, q := range statements {
		if _, err := admin.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// templateKeyOf returns the demo key of a server started on a copy: the
// credentials file's, as the database holds it.
func templateKeyOf(ctx context.Context, db *sqlstore.DB, dataDir string) (*metalplane.AccessKey, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, app.CredentialsFile))
	if err != nil {
		return nil, err
	}
	var cred app.FileCredentials
	if err := json.Unmarshal(data, &cred); err != nil {
		return nil, err
	}
	key, err := db.FindAccessKey(ctx, cred.AccessKeyID)
	if err != nil {
		return nil, err
	}
	if key.Secret != cred.AccessKeyPassword {
		return nil, fmt.Errorf("the copied database's key %s does not match its credentials file", cred.AccessKeyID)
	}
	return key, nil
}

// RemoveTemplates removes the first starts this test binary made; a
// package's TestMain calls it after the tests.
func RemoveTemplates() {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	for key, tm := range templates {
		if tm.dir != "" {
			os.RemoveAll(tm.dir)
		}
		if tm.pg != "" {
			adminExec(`DROP DATABASE IF EXISTS ` + tm.pg + ` WITH (FORCE)`)
		}
		delete(templates, key)
	}
}

// Main runs a package's tests, then removes the first starts they copied:
// the TestMain of a package whose tests use Start.
func Main(m *testing.M) {
	code := m.Run()
	RemoveTemplates()
	os.Exit(code)
}
