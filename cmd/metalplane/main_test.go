package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/limit"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// syncBuffer is a bytes.Buffer that a server goroutine may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mapEnv is an environment for Main.Getenv; tests never read the real one,
// so they can run in parallel and ignore the developer's METALPLANE_*.
func mapEnv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

// server is a `metalplane serve` running in the test.
type server struct {
	app    *app.App
	main   *Main
	stdout *syncBuffer
	stderr *syncBuffer
	// stop cancels Run's context, as SIGTERM does in main, and returns
	// what Run returned.
	stop func() error
}

// startServe runs `metalplane serve --listen 127.0.0.1:0 args...` until the
// test ends.
func startServe(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	ready := make(chan *app.App, 1)
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	s.main = &Main{Stdout: s.stdout, Stderr: s.stderr, Getenv: mapEnv(env), ReadyFunc: func(a *app.App) { ready <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- s.main.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	}()
	select {
	case s.app = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("serve returned before listening: %v\nstderr:\n%s", err, s.stderr)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatalf("serve did not start\nstderr:\n%s", s.stderr)
	}
	s.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(time.Minute):
			return errors.New("serve did not stop within a minute of its context being cancelled")
		}
	})
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// result is the outcome of one command.
type result struct {
	stdout, stderr string
	err            error
}

// run runs one metalplane command in a fresh Main.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: mapEnv(env)}
	defer m.Close()
	err := m.Run(context.Background(), args)
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	r := run(t, env, args...)
	if r.err != nil {
		t.Fatalf("metalplane %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// mustFail runs a command that must fail and returns its error text.
func mustFail(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := run(t, env, args...)
	if r.err == nil {
		t.Fatalf("metalplane %s: got success, want an error\nstdout:\n%s", strings.Join(args, " "), r.stdout)
	}
	return r
}

// field returns the value of a "name: value" line of command output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q line in:\n%s", name, out)
	return ""
}

// tableRow returns the fields of the first table row whose first column
// is key, or nil.
func tableRow(out, key string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	return nil
}

// firstColumn returns the first column of every row below the header.
func firstColumn(out string) []string {
	var ids []string
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// apiResponse decodes the JSON printed by `call`.
type apiResponse struct {
	RequestID string          `json:"requestId"`
	Code      string          `json:"code"`
	Response  json.RawMessage `json:"response"`
}

func decodeCall(t *testing.T, out string) apiResponse {
	t.Helper()
	var r apiResponse
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("call printed no JSON: %v\n%s", err, out)
	}
	if !strings.Contains(out, "\n  ") {
		t.Errorf("call output is not pretty-printed:\n%s", out)
	}
	return r
}

// describeZones calls DescribeZones and checks that zones come back.
func describeZones(t *testing.T, env map[string]string, args ...string) {
	t.Helper()
	out := mustRun(t, env, append(append([]string{"call"}, args...), "DescribeZones", "{}")...)
	var body struct {
		ZoneSet []struct {
			ZoneID string `json:"zoneId"`
		} `json:"zoneSet"`
	}
	if err := json.Unmarshal(decodeCall(t, out).Response, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.ZoneSet) == 0 {
		t.Fatalf("DescribeZones returned no zones:\n%s", out)
	}
}

func getHealthz(t *testing.T, url string) error {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("GET /healthz: got %d %q, want 200 ok", resp.StatusCode, body)
	}
	return nil
}

// TestServeAndAdmin boots the whole program, calls it as a client and
// administers it on the same database, on SQLite and on PostgreSQL.
func TestServeAndAdmin(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testServeAndAdmin(t, []string{"--data-dir", t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := testdb.PostgresDSN(t)
		dbArgs := []string{"--data-dir", t.TempDir(), "--database", dsn}
		// The deploy-step form: migrate first, then a server that refuses
		// to migrate.
		out := mustRun(t, nil, append([]string{"migrate"}, dbArgs...)...)
		if !strings.Contains(out, "up to date") || strings.Contains(out, "postgres:postgres@") {
			t.Errorf("migrate printed %q, want an up-to-date message without the password", out)
		}
		testServeAndAdmin(t, dbArgs, "--no-migrate")
	})
}

func testServeAndAdmin(t *testing.T, dbArgs []string, serveArgs ...string) {
	dataDir := dbArgs[1]
	srv := startServe(t, nil, append(dbArgs, serveArgs...)...)
	url := srv.app.URL()
	if err := getHealthz(t, url); err != nil {
		t.Fatal(err)
	}

	// The banner shows the URL and, once, the new demo key.
	key := srv.app.Credentials
	if key == nil {
		t.Fatal("the first start created no demo key")
	}
	banner := srv.stdout.String()
	credFile := filepath.Join(dataDir, app.CredentialsFile)
	for _, want := range []string{url, key.ID, key.Secret, absPath(credFile), "DescribeZones"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if got := field(t, banner, "access key password"); got != key.Secret {
		t.Errorf("banner password: got %q, want %q", got, key.Secret)
	}
	if strings.Contains(srv.stderr.String(), key.Secret) {
		t.Error("the demo key's password was logged")
	}

	// The credentials file: private, and the JSON `call` reads.
	info, err := os.Stat(credFile)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("credentials file mode: got %o, want 600", mode)
	}
	data, err := os.ReadFile(credFile)
	if err != nil {
		t.Fatal(err)
	}
	var creds map[string]string
	if err := json.Unmarshal(data, &creds); err != nil {
		t.Fatalf("credentials file is not JSON: %v", err)
	}
	if want := map[string]string{"accessKeyId": key.ID, "accessKeyPassword": key.Secret}; !maps.Equal(creds, want) {
		t.Errorf("credentials file: got %v, want %v", creds, want)
	}

	// `call` with the key from the credentials file.
	describeZones(t, nil, "--endpoint", url, "--data-dir", dataDir)
	// The body is optional.
	mustRun(t, nil, "call", "--endpoint", url, "--data-dir", dataDir, "DescribeZones")
	// Flags may follow the action.
	mustRun(t, nil, "call", "DescribeZones", "--endpoint", url, "--data-dir", dataDir)
	// An error envelope is printed, and fails the command.
	r := mustFail(t, nil, "call", "--endpoint", url, "--data-dir", dataDir, "NoSuchAction", "{}")
	if got := decodeCall(t, r.stdout).Code; got != "INVALID_ACTION" {
		t.Errorf("unknown action: got code %q, want INVALID_ACTION", got)
	}
	if !strings.Contains(r.err.Error(), "INVALID_ACTION") {
		t.Errorf("unknown action error: got %v, want it to name INVALID_ACTION", r.err)
	}
	mustFail(t, nil, "call", "--endpoint", url, "--data-dir", dataDir, "DescribeZones", "{not json")
	// ccs has its own default version.
	mustRun(t, nil, "call", "--endpoint", url, "--data-dir", dataDir, "--service", "ccs", "DescribeKeyPairs", "{}")

	admin := func(args ...string) string {
		t.Helper()
		return mustRun(t, nil, append(append([]string{"admin"}, args...), dbArgs...)...)
	}
	adminFail := func(args ...string) result {
		t.Helper()
		return mustFail(t, nil, append(append([]string{"admin"}, args...), dbArgs...)...)
	}

	// A team with a first key, usable at once.
	out := admin("teams", "create", "--name", "acme", "--credit", "1000.00", "--quota", "5", "--postpaid")
	teamID := field(t, out, "team id")
	keyID, secret := field(t, out, "access key id"), field(t, out, "access key password")
	if got := field(t, out, "balance"); got != "1000.0000" {
		t.Errorf("new team balance: got %s, want 1000.0000", got)
	}
	adminFail("teams", "create", "--name", "acme")
	keyEnv := map[string]string{"METALPLANE_ACCESS_KEY_ID": keyID, "METALPLANE_ACCESS_KEY_SECRET": secret}
	describeZones(t, keyEnv, "--endpoint", url, "--data-dir", t.TempDir())

	teamRow := func() []string {
		t.Helper()
		row := tableRow(admin("teams", "list"), teamID)
		if len(row) != 6 {
			t.Fatalf("teams list row of %s: got %q, want 6 columns", teamID, row)
		}
		return row
	}
	if row := teamRow(); row[1] != "acme" || row[3] != "5" || row[4] != "true" {
		t.Errorf("teams list: got %q, want acme with quota 5 and postpaid true", row)
	}

	// Money: credit by name, debit by id; the balance is the ledger sum.
	if got := field(t, admin("balance", "credit", "--team", "acme", "--amount", "100.50", "--note", "top-up"), "balance"); got != "1100.5000" {
		t.Errorf("balance after credit: got %s, want 1100.5000", got)
	}
	if got := field(t, admin("balance", "debit", "--team", teamID, "--amount", "10", "--note", "correction"), "balance"); got != "1090.5000" {
		t.Errorf("balance after debit: got %s, want 1090.5000", got)
	}
	adminFail("balance", "credit", "--team", "acme", "--amount", "-5")
	adminFail("balance", "debit", "--team", "acme", "--amount", "0.00001")
	adminFail("balance", "credit", "--team", "no-such-team", "--amount", "1")
	out = admin("balance", "show", "--team", "acme")
	balance, sum := field(t, out, "balance"), field(t, out, "ledger sum")
	if balance != "1090.5000" || sum != balance {
		t.Errorf("balance show: got balance %s and ledger sum %s, want both 1090.5000", balance, sum)
	}
	var kinds []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && (f[2] == "credit" || f[2] == "debit") {
			kinds = append(kinds, f[2]+" "+f[3])
		}
	}
	if want := []string{"credit 1000.0000", "credit 100.5000", "debit -10.0000"}; !slices.Equal(kinds, want) {
		t.Errorf("ledger rows: got %q, want %q\n%s", kinds, want, out)
	}

	// Quota and postpaid.
	admin("quota", "set", "--team", "acme", "--instances", "3")
	adminFail("quota", "set", "--team", "acme")
	admin("postpaid", "set", "--team", teamID, "--allowed=false")
	adminFail("postpaid", "set", "--team", teamID)
	if row := teamRow(); row[3] != "3" || row[4] != "false" {
		t.Errorf("teams list after quota/postpaid: got %q, want quota 3 and postpaid false", row)
	}

	// Hosts: one into maintenance and back.
	hosts := firstColumn(admin("hosts", "list", "--zone", "SEL-A", "--state", sqlstore.HostAvailable))
	if len(hosts) == 0 {
		t.Fatal("hosts list: no available hosts in SEL-A")
	}
	host := hosts[0]
	admin("hosts", "maintenance", "--host", host, "--on", "--note", "bad disk")
	row := tableRow(admin("hosts", "list", "--state", sqlstore.HostMaintenance), host)
	if len(row) < 10 || row[3] != sqlstore.HostMaintenance || row[5] != "sim" || row[9] != "bad" {
		t.Errorf("hosts list after maintenance --on: got %q, want %s in maintenance with its note", row, host)
	}
	adminFail("hosts", "maintenance", "--host", host)
	adminFail("hosts", "maintenance", "--host", "NO-SUCH-HOST", "--on")
	admin("hosts", "maintenance", "--host", host, "--off")
	if slices.Contains(firstColumn(admin("hosts", "list", "--state", sqlstore.HostMaintenance)), host) {
		t.Errorf("%s still in maintenance after --off", host)
	}
	if row := tableRow(admin("hosts", "list", "--zone", "SEL-A"), host); len(row) < 4 || row[3] != sqlstore.HostAvailable {
		t.Errorf("hosts list after maintenance --off: got %q, want %s available", row, host)
	}

	// A second key: listed without its password, usable, then revoked.
	out = admin("keys", "create", "--team", "acme")
	key2, secret2 := field(t, out, "access key id"), field(t, out, "access key password")
	out = admin("keys", "list", "--team", "acme")
	if ids := firstColumn(out); !slices.Contains(ids, keyID) || !slices.Contains(ids, key2) {
		t.Errorf("keys list: got %q, want %s and %s", ids, keyID, key2)
	}
	if strings.Contains(out, secret) || strings.Contains(out, secret2) {
		t.Errorf("keys list shows a password:\n%s", out)
	}
	key2Args := []string{"--endpoint", url, "--access-key-id", key2, "--access-key-secret", secret2}
	describeZones(t, nil, key2Args...)
	admin("keys", "revoke", "--key", key2)
	adminFail("keys", "revoke", "--key", "NOSUCHKEY")
	// The server keeps the key it read for sqlstore.ReadCacheTTL; the
	// revoke was made by another process.
	time.Sleep(sqlstore.ReadCacheTTL)
	r = mustFail(t, nil, append(append([]string{"call"}, key2Args...), "DescribeZones", "{}")...)
	if got := decodeCall(t, r.stdout).Code; got != "AUTH_FAILURE" {
		t.Errorf("call with a revoked key: got code %q, want AUTH_FAILURE", got)
	}
	if row := tableRow(admin("keys", "list", "--team", "acme"), key2); len(row) < 3 || row[2] != "false" {
		t.Errorf("keys list after revoke: got %q, want %s disabled", row, key2)
	}
	describeZones(t, keyEnv, "--endpoint", url, "--data-dir", t.TempDir())

	// A bearer token works in place of a signature until it is revoked;
	// the list shows its id, prefix, expiry and state, never the token.
	out = admin("tokens", "create", "--team", "acme", "--expires", "24h")
	token, tokenID := field(t, out, "bearer token"), field(t, out, "token id")
	if field(t, out, "expires") == "never" {
		t.Errorf("tokens create --expires 24h: got no expiry\n%s", out)
	}
	describeZones(t, nil, "--endpoint", url, "--token", token, "--data-dir", t.TempDir())
	out = admin("tokens", "list", "--team", "acme")
	if row := tableRow(out, tokenID); len(row) != 6 || !strings.HasPrefix(token, strings.TrimSuffix(row[1], "…")) || row[4] == "never" || row[5] != "active" {
		t.Errorf("tokens list: got row %q, want %s with its prefix, an expiry and active\n%s", row, tokenID, out)
	}
	if strings.Contains(out, token) {
		t.Errorf("tokens list shows the token:\n%s", out)
	}
	adminFail("tokens", "create", "--team", "acme", "--expires", "-1h")
	adminFail("tokens", "revoke", "--token", "tok-nosuchtoken")
	admin("tokens", "revoke", "--token", tokenID)
	if row := tableRow(admin("tokens", "list", "--team", "acme"), tokenID); len(row) != 6 || row[5] != "revoked" {
		t.Errorf("tokens list after revoke: got %q, want %s revoked", row, tokenID)
	}
	r = mustFail(t, nil, "call", "--endpoint", url, "--token", token, "--data-dir", t.TempDir(), "DescribeZones", "{}")
	if got := decodeCall(t, r.stdout).Code; got != "AUTH_FAILURE" {
		t.Errorf("call with a revoked token: got code %q, want AUTH_FAILURE", got)
	}

	// SIGTERM in main cancels Run's context: a graceful stop.
	if err := srv.stop(); err != nil {
		t.Fatalf("serve after cancel: got %v, want nil", err)
	}
	if !strings.Contains(srv.stderr.String(), "stopped") {
		t.Errorf("no stop logged:\n%s", srv.stderr)
	}
	if err := getHealthz(t, url); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// TestServeEnvironment: the demo key, the data dir and the listen address
// come from the environment, and flags win over it.
func TestServeEnvironment(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	env := map[string]string{
		"METALPLANE_DATA_DIR":          dataDir,
		"METALPLANE_LISTEN":            "not-an-address", // --listen wins
		"METALPLANE_LOG_FORMAT":        "json",
		"METALPLANE_ACCESS_KEY_ID":     "MPENVKEY0000000001",
		"METALPLANE_ACCESS_KEY_SECRET": "env-provided-secret-1234567890",
	}
	srv := startServe(t, env)
	if _, err := os.Stat(filepath.Join(dataDir, "metalplane.db")); err != nil {
		t.Errorf("METALPLANE_DATA_DIR was not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, app.CredentialsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file with an environment key: got %v, want none written", err)
	}
	banner := srv.stdout.String()
	if !strings.Contains(banner, "MPENVKEY0000000001") || strings.Contains(banner, "env-provided-secret") {
		t.Errorf("banner must name the environment key but not its password:\n%s", banner)
	}
	var line map[string]any
	first, _, _ := strings.Cut(srv.stderr.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Errorf("METALPLANE_LOG_FORMAT=json: first log line is not JSON: %q", first)
	}
	if strings.Contains(srv.stderr.String(), "env-provided-secret") {
		t.Error("the access key password was logged")
	}

	url := srv.app.URL()
	// `call` signs with the same environment variables.
	describeZones(t, env, "--endpoint", url)
	wrong := map[string]string{"METALPLANE_ACCESS_KEY_ID": "MPENVKEY0000000001", "METALPLANE_ACCESS_KEY_SECRET": "wrong"}
	r := mustFail(t, wrong, "call", "--endpoint", url, "DescribeZones")
	if got := decodeCall(t, r.stdout).Code; got != "AUTH_FAILURE_SIGNATURE_MISMATCH" {
		t.Errorf("wrong secret: got code %q, want AUTH_FAILURE_SIGNATURE_MISMATCH", got)
	}
	// A flag beats the environment.
	r = mustFail(t, env, "call", "--endpoint", url, "--access-key-secret", "wrong", "DescribeZones")
	if got := decodeCall(t, r.stdout).Code; got != "AUTH_FAILURE_SIGNATURE_MISMATCH" {
		t.Errorf("--access-key-secret over the environment: got code %q, want AUTH_FAILURE_SIGNATURE_MISMATCH", got)
	}
	// Admin finds the same database through METALPLANE_DATA_DIR.
	if row := tableRow(mustRun(t, env, "admin", "teams", "list"), "ID"); row == nil {
		t.Error("admin teams list printed no header")
	}
	if out := mustRun(t, env, "admin", "keys", "list", "--team", app.DemoTeamName); !strings.Contains(out, "MPENVKEY0000000001") {
		t.Errorf("keys list of the demo team lacks the environment key:\n%s", out)
	}
}

func TestParseServe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c *ServeConfig)
		wantErr bool
	}{
		{name: "defaults", check: func(t *testing.T, c *ServeConfig) {
			a := c.AppConfig(nil)
			if a.Listen != "127.0.0.1:8080" || a.DataDir != "./metalplane-data" || a.Database != "" || !a.Migrate || a.SelfSignedTLS {
				t.Errorf("got %+v, want the documented defaults", a)
			}
			if c.LogFormat != "text" || c.LogLevel.String() != "INFO" || c.ShutdownTimeout != 30*time.Second {
				t.Errorf("got log %s/%s, shutdown %s", c.LogFormat, c.LogLevel, c.ShutdownTimeout)
			}
		}},
		{name: "environment", env: map[string]string{
			"METALPLANE_LISTEN": "0.0.0.0:9000", "METALPLANE_DATA_DIR": "/var/lib/mp", "METALPLANE_DATABASE": "postgres://u@db/mp",
			"METALPLANE_CATALOG": "/etc/mp.yaml", "METALPLANE_TLS_SELF_SIGNED": "true", "METALPLANE_NO_MIGRATE": "1",
			"METALPLANE_LOG_LEVEL": "debug", "METALPLANE_ACCESS_KEY_ID": "K", "METALPLANE_ACCESS_KEY_SECRET": "sixteen-chars-ok",
			"METALPLANE_SECRET_KEY_FILE": "/etc/mp/secret.key",
		}, check: func(t *testing.T, c *ServeConfig) {
			a := c.AppConfig(nil)
			if a.Listen != "0.0.0.0:9000" || a.DataDir != "/var/lib/mp" || a.Database != "postgres://u@db/mp" || a.CatalogPath != "/etc/mp.yaml" ||
				!a.SelfSignedTLS || a.Migrate || a.DemoAccessKeyID != "K" || a.DemoAccessKeySecret != "sixteen-chars-ok" || c.LogLevel.String() != "DEBUG" ||
				a.SecretKeyFile != "/etc/mp/secret.key" {
				t.Errorf("got %+v (log level %s), want the environment's values", a, c.LogLevel)
			}
		}},
		{name: "flag wins", env: map[string]string{"METALPLANE_LISTEN": "0.0.0.0:9000", "METALPLANE_NO_MIGRATE": "true"},
			args: []string{"--listen", "127.0.0.1:0", "--no-migrate=false"}, check: func(t *testing.T, c *ServeConfig) {
				if c.Listen != "127.0.0.1:0" || c.NoMigrate {
					t.Errorf("got listen %s no-migrate %t, want the flags' values", c.Listen, c.NoMigrate)
				}
			}},
		{name: "tls files", args: []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, check: func(t *testing.T, c *ServeConfig) {
			if a := c.AppConfig(nil); a.TLSCert != "c.pem" || a.TLSKey != "k.pem" {
				t.Errorf("got %q %q", a.TLSCert, a.TLSKey)
			}
		}},
		{name: "edge limits on by default", check: func(t *testing.T, c *ServeConfig) {
			if got := c.AppConfig(nil).Edge; got != app.DefaultEdgeLimits || got.RateLimits.PerKey.PerSecond == 0 || got.MaxConnectionsPerSource == 0 {
				t.Errorf("got %+v, want app.DefaultEdgeLimits, every limit on", got)
			}
		}},
		{name: "edge limits from flags and environment", env: map[string]string{"METALPLANE_RATE_LIMIT_KEY": "5", "METALPLANE_MAX_CONNECTIONS": "0"},
			args: []string{"--rate-limit-key-burst", "7", "--max-connections-per-source", "9", "--rate-limit-auth-failures", "0"}, check: func(t *testing.T, c *ServeConfig) {
				e := c.AppConfig(nil).Edge
				if e.RateLimits.PerKey != (limit.Rate{PerSecond: 5, Burst: 7}) || e.MaxConnections != 0 || e.MaxConnectionsPerSource != 9 || e.RateLimits.AuthFailures.PerSecond != 0 {
					t.Errorf("got %+v, want the flags' and environment's values", e)
				}
			}},
		{name: "rate without burst", args: []string{"--rate-limit-source-burst", "0"}, wantErr: true},
		{name: "negative connection cap", args: []string{"--max-connections", "-1"}, wantErr: true},
		{name: "bad boolean in environment", env: map[string]string{"METALPLANE_NO_MIGRATE": "maybe"}, wantErr: true},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: true},
		{name: "bad log format", env: map[string]string{"METALPLANE_LOG_FORMAT": "xml"}, wantErr: true},
		{name: "key id without secret", env: map[string]string{"METALPLANE_ACCESS_KEY_ID": "K"}, wantErr: true},
		{name: "secret of 15 characters", env: map[string]string{"METALPLANE_ACCESS_KEY_ID": "K", "METALPLANE_ACCESS_KEY_SECRET": "fifteen-chars!!"}, wantErr: true},
		{name: "cert without key", args: []string{"--tls-cert", "c.pem"}, wantErr: true},
		{name: "unknown flag", args: []string{"--no-such-flag"}, wantErr: true},
		{name: "stray argument", args: []string{"now"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: mapEnv(tt.env)}
			c, err := m.parseServe(tt.args)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// TestMigrateAndNoMigrate: with --no-migrate, serve refuses a database
// that `migrate` has not brought up to date.
func TestMigrateAndNoMigrate(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	r := mustFail(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--no-migrate")
	if !errors.Is(r.err, sqlstore.ErrSchemaOutOfDate) {
		t.Fatalf("serve --no-migrate on a new database: got %v, want ErrSchemaOutOfDate", r.err)
	}
	// An admin command on a missing database fails instead of creating one.
	missing := filepath.Join(t.TempDir(), "nothing-here")
	r = mustFail(t, nil, "admin", "teams", "list", "--data-dir", missing)
	if !strings.Contains(r.err.Error(), "no database") {
		t.Errorf("admin on a missing database: got %v", r.err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin created %s", missing)
	}
	mustRun(t, nil, "migrate", "--data-dir", dataDir)
	mustRun(t, nil, "migrate", "--data-dir", dataDir) // idempotent
	srv := startServe(t, nil, "--data-dir", dataDir, "--no-migrate")
	if err := getHealthz(t, srv.app.URL()); err != nil {
		t.Fatal(err)
	}
}

// TestServeSelfSignedTLS: HTTPS with a generated certificate, trusted by
// `call --ca-cert` or skipped by `call --insecure`.
func TestServeSelfSignedTLS(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	srv := startServe(t, nil, "--data-dir", dataDir, "--tls-self-signed")
	url := srv.app.URL()
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("URL: got %s, want https", url)
	}
	cert := filepath.Join(dataDir, "tls.crt")
	if !strings.Contains(srv.stdout.String(), absPath(cert)) {
		t.Errorf("banner does not show the certificate path %s:\n%s", absPath(cert), srv.stdout)
	}
	describeZones(t, nil, "--endpoint", url, "--data-dir", dataDir, "--insecure")
	describeZones(t, nil, "--endpoint", url, "--data-dir", dataDir, "--ca-cert", cert)
	r := mustFail(t, nil, "call", "--endpoint", url, "--data-dir", dataDir, "DescribeZones")
	var certErr *tls.CertificateVerificationError
	if !errors.As(r.err, &certErr) {
		t.Errorf("untrusted certificate: got %v, want a certificate verification error", r.err)
	}
}

// TestClose: Close stops a running server and refuses later runs.
func TestClose(t *testing.T) {
	t.Parallel()
	srv := startServe(t, nil, "--data-dir", t.TempDir())
	srv.main.Close()
	if err := srv.stop(); err != nil {
		t.Fatalf("serve after Close: got %v, want nil", err)
	}
	if err := srv.main.Run(context.Background(), []string{"help"}); !errors.Is(err, errClosed) {
		t.Errorf("Run after Close: got %v, want errClosed", err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	if out := mustRun(t, nil, "help"); !strings.Contains(out, "metalplane serve") || !strings.Contains(out, "metalplane admin") {
		t.Errorf("help:\n%s", out)
	}
	if out := mustRun(t, nil, "help", "admin"); !strings.Contains(out, "hosts maintenance") {
		t.Errorf("help admin:\n%s", out)
	}
	if r := run(t, nil, "serve", "-h"); r.err != nil || !strings.Contains(r.stderr, "METALPLANE_TLS_SELF_SIGNED") {
		t.Errorf("serve -h: got %v and\n%s", r.err, r.stderr)
	}
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"admin"},
		{"admin", "teams", "delete"},
		{"admin", "teams", "list", "extra"},
		{"call"},
		{"call", "A", "{}", "extra"},
		{"call", "--service", "zrm", "--access-key-id", "K", "--access-key-secret", "S", "DescribeTags"},
		{"call", "--access-key-id", "K", "DescribeZones"},
		{"call", "--data-dir", t.TempDir(), "DescribeZones"},
		{"migrate", "now"},
	} {
		mustFail(t, nil, args...)
	}
}
