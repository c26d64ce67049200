package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/seal"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// The first start creates the secret key in the data dir, private like
// the database; later starts, admin commands and other replicas must use
// that key, and a missing or different one stops them with a message that
// says so.
func TestSecretKeyFile(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			dbArgs := []string{"--data-dir", dataDir}
			if dialect == "postgres" {
				dbArgs = append(dbArgs, "--database", testdb.PostgresDSN(t))
			}
			srv := startServe(t, nil, dbArgs...)
			if err := srv.stop(); err != nil {
				t.Fatal(err)
			}
			keyFile := filepath.Join(dataDir, app.SecretKeyFile)
			private := map[string]os.FileMode{dataDir: 0o700, keyFile: 0o600}
			if dialect == "sqlite" {
				private[filepath.Join(dataDir, "metalplane.db")] = 0o600
			}
			for path, want := range private {
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := info.Mode().Perm(); got != want {
					t.Errorf("%s: got mode %o, want %o", filepath.Base(path), got, want)
				}
			}

			// Another key: refused, and the message names the file.
			saved := filepath.Join(t.TempDir(), "saved.key")
			if err := os.Rename(keyFile, saved); err != nil {
				t.Fatal(err)
			}
			if _, err := seal.CreateFile(keyFile); err != nil {
				t.Fatal(err)
			}
			r := mustFail(t, nil, append([]string{"serve", "--listen", "127.0.0.1:0"}, dbArgs...)...)
			if !errors.Is(r.err, sqlstore.ErrSecretKeyMismatch) || !strings.Contains(r.err.Error(), keyFile) {
				t.Errorf("serve with another key: got %v, want a key mismatch naming %s", r.err, keyFile)
			}
			r = mustFail(t, nil, append([]string{"admin", "teams", "list"}, dbArgs...)...)
			if !errors.Is(r.err, sqlstore.ErrSecretKeyMismatch) {
				t.Errorf("admin with another key: got %v, want a key mismatch", r.err)
			}

			// No key: refused, and no new key is left behind.
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
			r = mustFail(t, nil, append([]string{"serve", "--listen", "127.0.0.1:0"}, dbArgs...)...)
			if !strings.Contains(r.err.Error(), "no secret key file at "+keyFile) {
				t.Errorf("serve without its key: got %v, want it to say the key file is missing", r.err)
			}
			if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("serve without its key left a key file behind: %v", err)
			}
			// Admin commands that store no secret work without the key;
			// the others say what they need.
			mustRun(t, nil, append([]string{"admin", "teams", "list"}, dbArgs...)...)
			r = mustFail(t, nil, append([]string{"admin", "keys", "create", "--team", app.DemoTeamName}, dbArgs...)...)
			if !errors.Is(r.err, errNeedSecretKey) {
				t.Errorf("admin keys create without the key: got %v, want errNeedSecretKey", r.err)
			}
			withKey := append([]string{"--secret-key-file", saved}, dbArgs...)
			out := mustRun(t, nil, append([]string{"admin", "keys", "create", "--team", app.DemoTeamName}, withKey...)...)

			// The key given by flag (as replicas get it): the server
			// starts, and the new key signs.
			srv = startServe(t, nil, withKey...)
			describeZones(t, nil, "--endpoint", srv.app.URL(), "--access-key-id", field(t, out, "access key id"),
				"--access-key-secret", field(t, out, "access key password"))
		})
	}
}

// Changing METALPLANE_ACCESS_KEY_SECRET for a key id that exists rotates
// that key's secret, with a warning that does not show it.
func TestBootstrapSecretRotates(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, dialect string) {
		t.Parallel()
		dataDir := t.TempDir()
		dbArgs := []string{"--data-dir", dataDir}
		if dialect == "postgres" {
			dbArgs = append(dbArgs, "--database", testdb.PostgresDSN(t))
		}
		const id, first, second = "MPROTATE0000000001", "first-secret-0123456789", "second-secret-9876543210"
		envWith := func(secret string) map[string]string {
			return map[string]string{"METALPLANE_ACCESS_KEY_ID": id, "METALPLANE_ACCESS_KEY_SECRET": secret}
		}
		srv := startServe(t, envWith(first), dbArgs...)
		describeZones(t, envWith(first), "--endpoint", srv.app.URL())
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}

		srv = startServe(t, envWith(second), dbArgs...)
		url := srv.app.URL()
		describeZones(t, envWith(second), "--endpoint", url)
		r := mustFail(t, envWith(first), "call", "--endpoint", url, "DescribeZones", "{}")
		if got := decodeCall(t, r.stdout).Code; got != "AUTH_FAILURE_SIGNATURE_MISMATCH" {
			t.Errorf("the old secret after rotation: got code %q, want AUTH_FAILURE_SIGNATURE_MISMATCH", got)
		}
		logs := srv.stderr.String()
		if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, id) {
			t.Errorf("rotation logged no warning naming %s:\n%s", id, logs)
		}
		if strings.Contains(logs, first) || strings.Contains(logs, second) {
			t.Errorf("rotation logged a secret:\n%s", logs)
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}

		// The same secret again: nothing to rotate, nothing logged.
		srv = startServe(t, envWith(second), dbArgs...)
		if strings.Contains(srv.stderr.String(), "level=WARN") {
			t.Errorf("a start with the stored secret warned:\n%s", srv.stderr)
		}
	})
}

// A secret shorter than 16 characters is refused before anything starts:
// the binary exits 1 and says why without repeating it.
func TestShortBootstrapSecretRefused(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	// A binary that accepted the secret would serve until killed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, metalplaneBinary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), "METALPLANE_ACCESS_KEY_ID=MPSHORT00000000001", "METALPLANE_ACCESS_KEY_SECRET=short-secret")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve with a 12-character secret: got %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "at least 16 characters") || strings.Contains(string(out), "short-secret") {
		t.Errorf("got %q, want a message asking for 16 characters without the secret", out)
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Errorf("the refused start wrote %d files into the data dir", len(entries))
	}
}

// `admin secret-key rotate` re-seals the stored secrets with a new key:
// the server then starts with the new key file only, and the access keys
// still sign.
func TestSecretKeyRotateCommand(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	srv := startServe(t, nil, "--data-dir", dataDir)
	key := srv.app.Credentials
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	newKey := filepath.Join(t.TempDir(), "new.key")
	out := mustRun(t, nil, "admin", "secret-key", "rotate", "--new-key-file", newKey, "--data-dir", dataDir)
	if got := field(t, out, "re-sealed"); got != "1 secrets" {
		t.Errorf("rotate: got %q re-sealed, want the demo key's secret", got)
	}
	if info, err := os.Stat(newKey); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v, want mode 600", err)
	}
	r := mustFail(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	if !errors.Is(r.err, sqlstore.ErrSecretKeyMismatch) {
		t.Errorf("serve with the old key after rotation: got %v, want a key mismatch", r.err)
	}
	mustFail(t, nil, "admin", "secret-key", "rotate", "--new-key-file", newKey, "--data-dir", dataDir)
	srv = startServe(t, nil, "--data-dir", dataDir, "--secret-key-file", newKey)
	describeZones(t, nil, "--endpoint", srv.app.URL(), "--access-key-id", key.ID, "--access-key-secret", key.Secret)
}
