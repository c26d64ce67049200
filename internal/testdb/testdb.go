// Package testdb gives each test its own database: a fresh SQLite file, and
// a fresh PostgreSQL database at METALPLANE_TEST_POSTGRES_URL (default
// postgres://postgres:postgres@127.0.0.1:5432/postgres). The same test runs
// on both through Each.
package testdb

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/metalplane/metalplane"
)

// DefaultPostgresURL is used when METALPLANE_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres:postgres@127.0.0.1:5432/postgres"

// PostgresURL returns the administrative URL of the test PostgreSQL server.
func PostgresURL() string {
	if u := os.Getenv("METALPLANE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	pgOnce      sync.Once
	pgReachable error
)

// postgresAvailable pings the server once per test binary.
func postgresAvailable() error {
	pgOnce.Do(func() {
		db, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			pgReachable = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		pgReachable = db.PingContext(ctx)
	})
	return pgReachable
}

// SQLiteDSN returns the path of a new SQLite file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "metalplane.db")
}

// PostgresDSN creates a new empty database and returns its URL; the
// database is dropped when the test ends. Without a reachable server the
// test is skipped, or fails when METALPLANE_TEST_REQUIRE_POSTGRES=1 (CI).
func PostgresDSN(t testing.TB) string {
	t.Helper()
	if err := postgresAvailable(); err != nil {
		if os.Getenv("METALPLANE_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL at %s is required but unreachable: %v", redact(PostgresURL()), err)
		}
		t.Skipf("PostgreSQL at %s unreachable (%v): skipping the PostgreSQL run", redact(PostgresURL()), err)
	}
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "mptest_" + strings.ToLower(metalplane.NewSecret()[:12])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Each runs fn as two subtests, "sqlite" and "postgres", each with the DSN
// of its own new database.
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresDSN(t)) })
}

// Describe names the dialect of a DSN for messages.
func Describe(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "postgres"
	}
	return "sqlite"
}
