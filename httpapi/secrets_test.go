package httpapi_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/seal"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// storedPassword reads an instance's password column as stored.
func storedPassword(t *testing.T, env *apitest.Env, id string) string {
	t.Helper()
	var pw string
	if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT password FROM instances WHERE id = $1`, id).Scan(&pw); err != nil {
		t.Fatal(err)
	}
	return pw
}

// Whoever reads the database (a backup, a dump, the files) finds neither
// access key secrets nor instance passwords, and the keys still sign.
func TestSecretsAreSealedAtRest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		// No workers: the instance stays PENDING, when its password
		// must still be stored.
		env := apitest.Start(t, dsn, apitest.Options{NoWorkers: true})
		ctx := context.Background()
		_, key := env.NewTeam(t, "sealed")
		const password = "Sealed~Pass42"
		req := minimalCreate()
		req["imageId"] = demoImageCentOS79
		req["password"] = password
		id := createIDs(t, env, env.BMC(), req, 1)[0]

		secrets := []string{env.Key.Secret, key.Secret, password}
		rows, err := env.DB.SQL.QueryContext(ctx, `SELECT id, secret FROM access_keys`)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var id, stored string
			if err := rows.Scan(&id, &stored); err != nil {
				t.Fatal(err)
			}
			n++
			if !seal.Sealed(stored) || containsAny(stored, secrets) {
				t.Errorf("access key %s: stored secret %q, want it sealed", id, stored)
			}
		}
		rows.Close()
		if n != 2 {
			t.Errorf("read %d access keys, want 2", n)
		}
		if pw := storedPassword(t, env, id); !seal.Sealed(pw) || strings.Contains(pw, password) {
			t.Errorf("PENDING instance: stored password %q, want it sealed", pw)
		}
		if testdb.Describe(dsn) == "sqlite" {
			// The files themselves, write-ahead log included.
			for _, suffix := range []string{"", "-wal", "-shm"} {
				data, err := os.ReadFile(dsn + suffix)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range secrets {
					if bytes.Contains(data, []byte(s)) {
						t.Errorf("metalplane.db%s contains the secret %q in the clear", suffix, s)
					}
				}
			}
		}
		// Verification opens the sealed secret on every request.
		if err := env.ClientWithKey("bmc", httpapi.BMCVersion2026, key).Call(ctx, "DescribeZones", nil, nil); err != nil {
			t.Fatalf("a request signed with the new key: %v", err)
		}
	})
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// The SQLite database and its companion files are readable by their owner
// only.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dsn := testdb.SQLiteDSN(t)
	env := apitest.Start(t, dsn)
	// A purchase writes the WAL and the shared memory file for sure.
	createIDs(t, env, env.BMC(), minimalCreate(), 1)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		info, err := os.Stat(dsn + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("metalplane.db%s: got mode %o, want 600", suffix, mode)
		}
	}
}

// An instance keeps its password only until its OS is installed, whether
// the installation succeeds or fails, and a reinstall keeps its new one
// only as long.
func TestPasswordDeletedOnceInstalled(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		req := minimalCreate()
		req["imageId"] = demoImageCentOS79
		req["password"] = "Install~Pass1"
		id := createIDs(t, env, c, req, 1)[0]
		waitForStatus(t, env, c, id, "RUNNING")
		if pw := storedPassword(t, env, id); pw != "" {
			t.Errorf("RUNNING: stored password %q, want none", pw)
		}

		mustTickCall(t, env, c, "ReinstallInstance", map[string]any{"instanceId": id, "password": "Reinstall~Pass2"}, nil)
		waitForStatus(t, env, c, id, "RUNNING")
		if pw := storedPassword(t, env, id); pw != "" {
			t.Errorf("RUNNING after a reinstall: stored password %q, want none", pw)
		}

		injectFault(t, env, "install_os", sqlstore.FaultFail, 1)
		mustTickCall(t, env, c, "ReinstallInstance", one(id), nil)
		waitForStatus(t, env, c, id, "INSTALL_FAILED")
		if pw := storedPassword(t, env, id); pw != "" {
			t.Errorf("INSTALL_FAILED: stored password %q, want none", pw)
		}

		injectFault(t, env, "raid", sqlstore.FaultFail, 1)
		failed := createIDs(t, env, c, req, 1)[0]
		waitForStatus(t, env, c, failed, "CREATE_FAILED")
		if pw := storedPassword(t, env, failed); pw != "" {
			t.Errorf("CREATE_FAILED: stored password %q, want none", pw)
		}
	})
}

// A bearer token stops working when it expires or is revoked, and its
// listing tells which.
func TestBearerTokenExpiresAndIsRevoked(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		call := func(token string) error {
			c := &httpapi.Client{Endpoint: env.App.URL(), Service: "bmc", Version: httpapi.BMCVersion2026, Token: token}
			return c.Call(ctx, "DescribeZones", nil, nil)
		}
		expiring, expiringToken, err := env.DB.CreateBearerToken(ctx, sqlstore.BearerTokenCreate{TeamID: env.Team.ID, ExpiresAt: env.Clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		lasting, lastingToken, err := env.DB.CreateBearerToken(ctx, sqlstore.BearerTokenCreate{TeamID: env.Team.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{expiringToken, lastingToken} {
			if err := call(tok); err != nil {
				t.Fatalf("a new token: %v", err)
			}
		}

		env.Clock.Advance(time.Hour)
		apitest.ExpectCode(t, call(expiringToken), "AUTH_FAILURE")
		if err := call(lastingToken); err != nil {
			t.Fatalf("a token without expiry an hour later: %v", err)
		}
		if err := env.DB.RevokeBearerToken(ctx, lasting.ID); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, call(lastingToken), "AUTH_FAILURE")
		if err := env.DB.RevokeBearerToken(ctx, "tok-nosuchtoken"); !strings.Contains(errString(err), "not found") {
			t.Errorf("revoking an unknown token: got %v, want not found", err)
		}

		list, err := env.DB.ListBearerTokens(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("listed %d tokens, want 2", len(list))
		}
		for _, tok := range list {
			switch tok.ID {
			case expiring.ID:
				if tok.Revoked || tok.ExpiresAt.IsZero() || tok.Prefix != expiringToken[:len(tok.Prefix)] || len(tok.Prefix) == 0 {
					t.Errorf("expiring token listed as %+v", tok)
				}
			case lasting.ID:
				if !tok.Revoked || !tok.ExpiresAt.IsZero() {
					t.Errorf("revoked token listed as %+v", tok)
				}
			default:
				t.Errorf("unexpected token %+v", tok)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
