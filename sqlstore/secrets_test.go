package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/seal"
	"github.com/metalplane/metalplane/internal/testdb"
)

// useNewSecretKey gives db a new key, as serve does on a first start.
func useNewSecretKey(t *testing.T, db *DB) *seal.Key {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UseSecretKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	return key
}

func openTestDB(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migratedTestDB opens dsn and brings its schema up to date.
func migratedTestDB(t *testing.T, dsn string) *DB {
	t.Helper()
	db := openTestDB(t, dsn)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// buyWithPassword buys one POSTPAID instance with the password and returns
// its id.
func buyWithPassword(t *testing.T, db *DB, cat *metalplane.Catalog, team *metalplane.Team, password string) string {
	t.Helper()
	ctx := context.Background()
	str := func(s string) *string { return &s }
	in := metalplane.CreateInstancesInput{ZoneID: str("SEL-A"), InstanceChargeType: str("POSTPAID"), InstanceTypeID: str("M6C"),
		InternetChargeType: str("ByBandwidth"), ImageID: str("b3b6849e-3b32-4737-b7ba-d48477a9677b"), Password: str(password)}
	plan, err := metalplane.ValidateCreate(ctx, &in, metalplane.CreateContext{Catalog: cat, Team: team, Version: "2026-02-01", Lookups: db.Lookups()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.CreateInstances(ctx, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.InstanceIDSet[0]
}

func column(t *testing.T, db *DB, query, id string) string {
	t.Helper()
	var v string
	if err := db.SQL.QueryRowContext(context.Background(), query, id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

const (
	secretOf   = `SELECT secret FROM access_keys WHERE id = $1`
	passwordOf = `SELECT password FROM instances WHERE id = $1`
)

// A database written before secrets were sealed keeps working: the upgrade
// deletes the passwords no instance needs any more, the first start with
// a key seals the rest, and they open to what was stored.
func TestUpgradeSealsWhatWasStoredInTheClear(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openTestDB(t, dsn)
		// The schema of the release before sealing.
		if err := db.migrateUpTo(ctx, 12); err != nil {
			t.Fatal(err)
		}
		cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
		if err != nil {
			t.Fatal(err)
		}
		// Two hosts and the addresses, as that release's catalog sync
		// wrote them (today's knows columns of later migrations).
		if err := db.inTx(ctx, func(tx *sql.Tx) error {
			for n := 1; n <= 2; n++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO hosts (id, zone_id, instance_type_id, state, instance_id, note, updated_at) VALUES ($1, 'SEL-A', 'M6C', $2, NULL, '', 0)`,
					HostID("SEL-A", "M6C", n), HostAvailable); err != nil {
					return err
				}
			}
			return db.syncIPsTx(ctx, tx, cat, false)
		}); err != nil {
			t.Fatal(err)
		}
		team, err := db.CreateTeam(ctx, TeamCreate{Name: "legacy", PostpaidAllowed: true, InitialCredit: 1_000_000 * metalplane.MoneyScale})
		if err != nil {
			t.Fatal(err)
		}
		const legacySecret = "legacy-secret-in-the-clear-0001"
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO access_keys (id, team_id, secret, is_admin, enabled, created_at) VALUES ($1, $2, $3, $4, $5, 0)`,
			"AKLEGACY", team.ID, legacySecret, true, true); err != nil {
			t.Fatal(err)
		}
		// Instances as the old release wrote them: passwords in the
		// clear, one still being provisioned and one RUNNING.
		const pendingPassword, runningPassword = "Pending~Pass1", "Running~Pass2"
		// Today's CreateInstances needs a key and columns of later
		// migrations (0017 address holders, 0029 live-instance counts);
		// they are lent for the purchases only.
		db.secrets, _ = seal.NewKey()
		lent := [][2]string{{"public_ips", "held_by TEXT"}}
		if db.Dialect == Postgres {
			lent = append(lent, [2]string{"teams", "live_instances INTEGER NOT NULL DEFAULT 0"})
		}
		for _, c := range lent {
			if _, err := db.SQL.ExecContext(ctx, `ALTER TABLE `+c[0]+` ADD COLUMN `+c[1]); err != nil {
				t.Fatal(err)
			}
		}
		pending := buyWithPassword(t, db, cat, team, "Unused~Pass0")
		running := buyWithPassword(t, db, cat, team, "Unused~Pass0")
		for _, c := range lent {
			if _, err := db.SQL.ExecContext(ctx, `ALTER TABLE `+c[0]+` DROP COLUMN `+strings.Fields(c[1])[0]); err != nil {
				t.Fatal(err)
			}
		}
		db.secrets = nil
		for id, pw := range map[string]string{pending: pendingPassword, running: runningPassword} {
			if _, err := db.SQL.ExecContext(ctx, `UPDATE instances SET password = $1 WHERE id = $2`, pw, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL.ExecContext(ctx, `UPDATE instances SET status = 'RUNNING' WHERE id = $1`, running); err != nil {
			t.Fatal(err)
		}

		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := column(t, db, passwordOf, running); got != "" {
			t.Errorf("password of the RUNNING instance after the upgrade: got %q, want it deleted", got)
		}
		key, err := seal.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		legacy, err := db.UseSecretKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if want := (LegacySecrets{AccessKeys: 1, Passwords: 1}); legacy != want {
			t.Errorf("first start with a key sealed %+v, want %+v", legacy, want)
		}
		for _, c := range []struct{ query, id, plaintext string }{{secretOf, "AKLEGACY", legacySecret}, {passwordOf, pending, pendingPassword}} {
			if got := column(t, db, c.query, c.id); !seal.Sealed(got) || strings.Contains(got, c.plaintext) {
				t.Errorf("%s of %s after the first start: got %q, want it sealed", c.query, c.id, got)
			}
		}
		k, err := db.FindAccessKey(ctx, "AKLEGACY")
		if err != nil || k.Secret != legacySecret {
			t.Fatalf("legacy key after sealing: got %+v, %v, want its old secret", k, err)
		}
		if again, err := db.UseSecretKey(ctx, key); err != nil || again.Total() != 0 {
			t.Errorf("second start: sealed %+v, %v; want nothing left to seal", again, err)
		}

		// The provisioner reads the password back. It is kept while the
		// instance is CREATING, even past the OS install step (a host
		// whose BMC fails a later step is replaced by another, which
		// installs it again), and deleted when the provision ends.
		target, done, err := db.BeginProvision(ctx, pending, "test")
		if err != nil || done {
			t.Fatalf("BeginProvision: %v, done %t", err, done)
		}
		if target.Password != pendingPassword {
			t.Errorf("provisioner got password %q, want %q", target.Password, pendingPassword)
		}
		if _, err := db.CompleteStep(ctx, pending, 4, "install_os", "test"); err != nil {
			t.Fatal(err)
		}
		if got := column(t, db, passwordOf, pending); got == "" {
			t.Error("password deleted while the instance is still CREATING")
		}
		if err := db.FinishProvision(ctx, pending, "test"); err != nil {
			t.Fatal(err)
		}
		if got := column(t, db, passwordOf, pending); got != "" {
			t.Errorf("password once RUNNING: got %q, want it deleted", got)
		}
		problems, err := db.Audit(ctx)
		if err != nil || len(problems) > 0 {
			t.Errorf("audit: %v %q", err, problems)
		}
	})
}

// A process given another key than the one the database's secrets are
// sealed with refuses at once, and a sealed value opens only in its row.
func TestSecretKeyMustMatch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := migratedTestDB(t, dsn)
		team, err := db.CreateTeam(ctx, TeamCreate{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccessKey(ctx, team.ID, "", "", false); !errors.Is(err, ErrNoSecretKey) {
			t.Fatalf("CreateAccessKey without a key: got %v, want ErrNoSecretKey", err)
		}
		key := useNewSecretKey(t, db)
		a, err := db.CreateAccessKey(ctx, team.ID, "", "", false)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.CreateAccessKey(ctx, team.ID, "", "", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccessKey(ctx, team.ID, "", "fifteen-chars!!", false); err == nil || strings.Contains(err.Error(), "fifteen") {
			t.Errorf("a 15-character secret: got %v, want a refusal that does not repeat it", err)
		}

		other := openTestDB(t, dsn)
		wrong, err := seal.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.UseSecretKey(ctx, wrong); !errors.Is(err, ErrSecretKeyMismatch) || !strings.Contains(err.Error(), key.ID()) {
			t.Fatalf("another key: got %v, want ErrSecretKeyMismatch naming %s", err, key.ID())
		}
		if _, err := other.FindAccessKey(ctx, a.ID); !errors.Is(err, ErrNoSecretKey) {
			t.Errorf("FindAccessKey after a refused key: got %v, want ErrNoSecretKey", err)
		}

		// b's sealed secret copied into a's row does not open there.
		if _, err := db.SQL.ExecContext(ctx, `UPDATE access_keys SET secret = (SELECT secret FROM access_keys WHERE id = $1) WHERE id = $2`, b.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if k, err := db.FindAccessKey(ctx, a.ID); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("a secret moved to another row: got %+v, %v; want an error", k, err)
		}
	})
}

// Rotating the secret key re-seals every value: the new key opens them,
// the old one is refused.
func TestRotateSecretKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := migratedTestDB(t, dsn)
		old := useNewSecretKey(t, db)
		team, err := db.CreateTeam(ctx, TeamCreate{Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		k, err := db.CreateAccessKey(ctx, team.ID, "", "", false)
		if err != nil {
			t.Fatal(err)
		}
		const bmcPassword = "Bmc~Rotate~1"
		if err := db.EnrollHost(ctx, HostEnrollment{ID: "rack-1", ZoneID: "SEL-A", InstanceTypeID: "M6C", Driver: "ipmi",
			BMCAddress: "ipmi://admin@127.0.0.1:623?cipher=17", Password: bmcPassword}); err != nil {
			t.Fatal(err)
		}
		// Read once, so that the key's row is kept in memory sealed with
		// the old key.
		if _, err := db.FindAccessKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		next, err := seal.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.RotateSecretKey(ctx, next)
		if err != nil || n != 2 {
			t.Fatalf("RotateSecretKey: %d re-sealed, %v; want 2 (an access key secret and a BMC password)", n, err)
		}
		if got, err := db.FindHostAccess(ctx, "rack-1"); err != nil || got.Password != bmcPassword {
			t.Errorf("BMC password after rotation: %v (unchanged: %t)", err, got != nil && got.Password == bmcPassword)
		}
		if got := column(t, db, secretOf, k.ID); seal.KeyID(got) != next.ID() {
			t.Errorf("stored secret after rotation is sealed with %q, want %s", seal.KeyID(got), next.ID())
		}
		if got, err := db.FindAccessKey(ctx, k.ID); err != nil || got.Secret != k.Secret {
			t.Errorf("after rotation: got %v, %v; want the same secret", got, err)
		}
		if _, err := openTestDB(t, dsn).UseSecretKey(ctx, old); !errors.Is(err, ErrSecretKeyMismatch) {
			t.Errorf("the old key after rotation: got %v, want ErrSecretKeyMismatch", err)
		}
		if _, err := openTestDB(t, dsn).UseSecretKey(ctx, next); err != nil {
			t.Errorf("the new key after rotation: %v", err)
		}
	})
}

// Database files left readable by others by an earlier version are
// narrowed to their owner when opened.
func TestOpenNarrowsSQLiteFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metalplane.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openTestDB(t, path)
	for _, p := range []string{path, path + "-wal"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s after Open: got mode %o, want 600", filepath.Base(p), mode)
		}
	}
}

// The search for passwords in the clear writes seal.Prefix out, to match
// its index (migration 0036): a new prefix must be written there too, or
// every sealed password would count as one in the clear.
func TestClearPasswordConditionSpellsTheSealPrefix(t *testing.T) {
	if want := "NOT LIKE '" + seal.Prefix + "%'"; !strings.Contains(clearPasswordCondition, want) {
		t.Errorf("clearPasswordCondition %q does not contain %q", clearPasswordCondition, want)
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		sql, err := migrationFiles.ReadFile("migrations/" + dialect + "/0036_start_up_indexes.sql")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(sql), "WHERE "+clearPasswordCondition+";") {
			t.Errorf("%s migration 0036 does not index %q", dialect, clearPasswordCondition)
		}
	}
}
