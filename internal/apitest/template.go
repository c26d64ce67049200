package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/app"
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
// A test that brings its own data dir or key file, or a netboot
// listener, starts on a new file as before. PostgreSQL runs its first
// starts in the server, not in instrumented code, and is not copied.

// templateFiles are the files of a first start that a copy takes: the
// database, the key its secrets are sealed with, the demo credentials.
var templateFiles = []string{"metalplane.db", app.SecretKeyFile, app.CredentialsFile}

type template struct {
	once sync.Once
	dir  string
	err  error
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

// templateKey names the first start a test's options lead to, or "" when
// the test must start on a new database.
func templateKey(dsn string, o Options) (string, error) {
	if strings.HasPrefix(dsn, "postgres") || o.DataDir != "" || o.SecretKeyFile != "" || o.Netboot != (app.NetbootConfig{}) {
		return "", nil
	}
	if o.CatalogPath == "" {
		return "demo", nil
	}
	data, err := os.ReadFile(o.CatalogPath)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// startFromTemplate puts a copy of the first start for o into dataDir and
// the SQLite file dsn. It returns false when the test starts afresh.
func startFromTemplate(dsn, dataDir string, o Options) (bool, error) {
	key, err := templateKey(dsn, o)
	if key == "" || err != nil {
		return false, err
	}
	if dsn = strings.TrimPrefix(dsn, "sqlite://"); dsn == "" {
		dsn = sqlstore.SQLitePath(dataDir)
	}
	templatesMu.Lock()
	tm := templates[key]
	if tm == nil {
		tm = &template{}
		templates[key] = tm
	}
	templatesMu.Unlock()
	tm.once.Do(func() { tm.dir, tm.err = firstStart(o.CatalogPath) })
	if tm.err != nil {
		return false, tm.err
	}
	for _, name := range templateFiles {
		to := filepath.Join(dataDir, name)
		if name == "metalplane.db" {
			to = dsn
		}
		if err := copyFile(filepath.Join(tm.dir, name), to); err != nil {
			return false, err
		}
	}
	return true, nil
}

// firstStart opens and closes a server on a new data dir with the catalog
// and returns the dir.
func firstStart(catalogPath string) (string, error) {
	dir, err := os.MkdirTemp("", "metalplane-apitest-")
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: dir, CatalogPath: catalogPath, Migrate: true, NoWorkers: true,
		PeriodicInterval: -1, PowerSyncInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("first start of the template: %w", err)
	}
	// The last connection to close copies the WAL into the file.
	if err := a.Close(ctx); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("close the template: %w", err)
	}
	if _, err := os.Stat(sqlstore.SQLitePath(dir) + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(dir)
		return "", fmt.Errorf("the template's WAL was left after its close (%v)", err)
	}
	return dir, nil
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
		delete(templates, key)
	}
}
