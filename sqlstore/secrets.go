package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/seal"
)

// Secrets at rest (docs/secrets.md).
//
// Three kinds of secret must be stored so that they can be read back:
// access key secrets (HMAC verification recomputes the signature with
// them), instance passwords (the OS install writes them onto the server)
// and BMC passwords (the drivers log in to the servers' controllers with
// them, hosts.go). All are sealed with the process's secret key (internal/seal)
// before they are written and opened when read; each is bound to its
// column and row. Bearer tokens need no key: only their SHA-256 is stored.
//
// The table secret_keys records the id of the key the database's values
// are sealed with, so a process started with another key (a lost key file
// replaced by a new one, a replica given the wrong file) refuses to start
// instead of failing request by request.

// ErrNoSecretKey is returned when a secret must be sealed or opened by a
// DB that was given no key (UseSecretKey).
var ErrNoSecretKey = errors.New("no secret key: this process cannot store or read access key secrets and instance passwords (give it the database's --secret-key-file)")

// ErrSecretKeyMismatch is returned by UseSecretKey when the database's
// secrets are sealed with another key (as a *SecretKeyMismatchError).
var ErrSecretKeyMismatch = errors.New("the secret key does not match the database")

// SecretKeyMismatchError says which key the database wants.
type SecretKeyMismatchError struct {
	Recorded string // id of the key the database's secrets are sealed with
	Given    string // id of the key offered
}

func (e *SecretKeyMismatchError) Error() string {
	return fmt.Sprintf("%v: its secrets are sealed with key %s, this key is %s", ErrSecretKeyMismatch, e.Recorded, e.Given)
}

// Is makes errors.Is(err, ErrSecretKeyMismatch) true.
func (e *SecretKeyMismatchError) Is(target error) bool { return target == ErrSecretKeyMismatch }

// Where each sealed value lives: the additional data of its seal.
func accessKeySecretContext(id string) string  { return "access_keys.secret:" + id }
func instancePasswordContext(id string) string { return "instances.password:" + id }

// provisioningStatuses are the statuses in which an instance's password
// may still be needed: the install step has not run yet.
var provisioningStatuses = []any{string(metalplane.StatusPending), string(metalplane.StatusCreating), string(metalplane.StatusInstalling)}

// SecretKeyID returns the id of the key in use, or "" without one.
func (db *DB) SecretKeyID() string {
	if db.secrets == nil {
		return ""
	}
	return db.secrets.ID()
}

// LegacySecrets counts the values UseSecretKey found stored in the clear
// (written before secrets were sealed, or by an older binary since).
type LegacySecrets struct {
	// AccessKeys were sealed.
	AccessKeys int
	// Passwords of instances still being installed were sealed.
	Passwords int
	// ClearedPasswords belonged to instances that no longer need them
	// and were deleted.
	ClearedPasswords int
}

// Total is the number of values rewritten.
func (l LegacySecrets) Total() int { return l.AccessKeys + l.Passwords + l.ClearedPasswords }

// UseSecretKey makes key the DB's secret key. On a database that has none
// recorded yet it records key's id; on one sealed with another key it
// returns ErrSecretKeyMismatch and the DB keeps no key. Then it seals
// every secret still stored in the clear and deletes the passwords no
// longer needed, and reports how many it rewrote. It needs the schema of
// migration 0013.
func (db *DB) UseSecretKey(ctx context.Context, key *seal.Key) (LegacySecrets, error) {
	var legacy LegacySecrets
	recorded, err := db.recordSecretKey(ctx, key.ID())
	if err != nil {
		return legacy, err
	}
	if recorded != key.ID() {
		return legacy, &SecretKeyMismatchError{Recorded: recorded, Given: key.ID()}
	}
	db.secrets = key
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		legacy, err = db.sealLegacyTx(ctx, tx)
		return err
	})
	return legacy, err
}

// recordSecretKey records id as the database's key unless one is recorded
// already, and returns the recorded one. Replicas starting together on a
// new database agree on whichever was recorded first.
func (db *DB) recordSecretKey(ctx context.Context, id string) (string, error) {
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO secret_keys (singleton, key_id, created_at) VALUES (1, $1, $2) ON CONFLICT (singleton) DO NOTHING`,
		id, db.Now().Unix()); err != nil {
		return "", fmt.Errorf("record the secret key: %w", err)
	}
	var recorded string
	if err := db.SQL.QueryRowContext(ctx, `SELECT key_id FROM secret_keys WHERE singleton = 1`).Scan(&recorded); err != nil {
		return "", fmt.Errorf("read the secret key id: %w", err)
	}
	return recorded, nil
}

// sealLegacyTx rewrites the secrets stored in the clear: access key
// secrets and the passwords of instances being installed are sealed, the
// other passwords deleted. The rows are read before any is written (one
// connection cannot do both at once) and each update is a
// compare-and-set, so two processes doing this at once do it once; both
// lock the rows in id order, so they cannot deadlock.
func (db *DB) sealLegacyTx(ctx context.Context, tx *sql.Tx) (LegacySecrets, error) {
	var legacy LegacySecrets
	type row struct{ id, value, status string }
	collect := func(query string, args ...any) ([]row, error) {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.value, &r.status); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
	keys, err := collect(`SELECT id, secret, '' FROM access_keys WHERE secret NOT LIKE $1 ORDER BY id`, seal.Prefix+"%")
	if err != nil {
		return legacy, fmt.Errorf("find access keys stored in the clear: %w", err)
	}
	for _, k := range keys {
		sealed := db.secrets.Seal(k.value, accessKeySecretContext(k.id))
		if _, err := tx.ExecContext(ctx, `UPDATE access_keys SET secret = $1 WHERE id = $2 AND secret = $3`, sealed, k.id, k.value); err != nil {
			return legacy, fmt.Errorf("seal the secret of access key %s: %w", k.id, err)
		}
		legacy.AccessKeys++
	}
	// The condition is the partial index's of migration 0036, literal
	// included (a parameter would not let the planners match it): only the
	// passwords in the clear are read, not every instance being installed.
	passwords, err := collect(`SELECT id, password, status FROM instances WHERE ` + clearPasswordCondition + ` ORDER BY id`)
	if err != nil {
		return legacy, fmt.Errorf("find instance passwords stored in the clear: %w", err)
	}
	for _, p := range passwords {
		value := ""
		if isProvisioning(p.status) {
			value = db.secrets.Seal(p.value, instancePasswordContext(p.id))
			legacy.Passwords++
		} else {
			legacy.ClearedPasswords++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET password = $1 WHERE id = $2 AND password = $3`, value, p.id, p.value); err != nil {
			return legacy, fmt.Errorf("seal the password of instance %s: %w", p.id, err)
		}
	}
	return legacy, nil
}

// clearPasswordCondition is the predicate of the index
// instances_password_clear (migration 0036), seal.Prefix written out.
const clearPasswordCondition = `password <> '' AND password NOT LIKE 'mpsealed1:%'`

func isProvisioning(status string) bool {
	for _, s := range provisioningStatuses {
		if s == status {
			return true
		}
	}
	return false
}

// sealSecret seals a value for storage; "" stays "" (no secret).
func (db *DB) sealSecret(plaintext, context string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	if db.secrets == nil {
		return "", ErrNoSecretKey
	}
	return db.secrets.Seal(plaintext, context), nil
}

// openSecret returns the plaintext of a stored value. A value stored in
// the clear (by a binary older than sealing, e.g. a replica not yet
// upgraded) is returned as it is; the next start seals it.
func (db *DB) openSecret(stored, context string) (string, error) {
	if !seal.Sealed(stored) {
		return stored, nil
	}
	if db.secrets == nil {
		return "", ErrNoSecretKey
	}
	plain, err := db.secrets.Open(stored, context)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", context, err)
	}
	return plain, nil
}

// RotateSecretKey re-seals every sealed secret with next and records it
// as the database's key, in one transaction; the DB uses next afterwards.
// Processes still holding the old key fail to open the re-sealed values
// (and refuse to start), so stop them first and start them with the new
// key file. Returns how many values were re-sealed.
func (db *DB) RotateSecretKey(ctx context.Context, next *seal.Key) (int, error) {
	if db.secrets == nil {
		return 0, ErrNoSecretKey
	}
	n := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		// Lock out concurrent starts and rotations (PostgreSQL).
		if _, err := tx.ExecContext(ctx, `UPDATE secret_keys SET key_id = key_id WHERE singleton = 1`); err != nil {
			return err
		}
		for _, col := range []struct {
			table, column string
			context       func(string) string
		}{
			{"access_keys", "secret", accessKeySecretContext},
			{"instances", "password", instancePasswordContext},
			{"hosts", "bmc_password", hostPasswordContext},
		} {
			rows, err := tx.QueryContext(ctx, `SELECT id, `+col.column+` FROM `+col.table+` WHERE `+col.column+` <> '' AND `+col.column+` LIKE $1 ORDER BY id`, seal.Prefix+"%")
			if err != nil {
				return err
			}
			type value struct{ id, sealed string }
			var values []value
			for rows.Next() {
				var v value
				if err := rows.Scan(&v.id, &v.sealed); err != nil {
					rows.Close()
					return err
				}
				values = append(values, v)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, v := range values {
				plain, err := db.openSecret(v.sealed, col.context(v.id))
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE `+col.table+` SET `+col.column+` = $1 WHERE id = $2`, next.Seal(plain, col.context(v.id)), v.id); err != nil {
					return fmt.Errorf("re-seal %s: %w", col.context(v.id), err)
				}
				n++
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE secret_keys SET key_id = $1, created_at = $2 WHERE singleton = 1 AND key_id = $3`, next.ID(), db.Now().Unix(), db.secrets.ID())
		if err != nil {
			return err
		}
		if rows, _ := res.RowsAffected(); rows != 1 {
			return fmt.Errorf("%w: another process rotated it meanwhile", ErrSecretKeyMismatch)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	db.secrets = next
	// The kept access keys are sealed with the old key.
	db.caches.accessKeys.dropAll()
	return n, nil
}

// newInstancePassword returns the sealed password to store for instance
// id: the one given, or a generated one.
func (db *DB) newInstancePassword(id, given string) (string, error) {
	if given == "" {
		given = metalplane.GeneratePassword()
	}
	return db.sealSecret(given, instancePasswordContext(id))
}

// forgetPasswordTx deletes an instance's password once the OS install no
// longer needs it: the install step is done, or the instance reached
// RUNNING or failed. A reinstall stores a new one.
func (db *DB) forgetPasswordTx(ctx context.Context, tx queryer, instanceID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET password = '' WHERE id = $1 AND password <> ''`, instanceID); err != nil {
		return fmt.Errorf("delete the password of %s: %w", instanceID, err)
	}
	return nil
}
