package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/seal"
	"github.com/metalplane/metalplane/sqlstore"
)

// SecretKeyFile is the name of the secret key file in the data dir, used
// when no --secret-key-file is given (docs/secrets.md).
const SecretKeyFile = "secret.key"

// OpenSecretKey gives db the key that seals its secrets and seals what an
// older version left in the clear. path is the key file; "" means
// SecretKeyFile in dataDir, created (0600) when create is set and it does
// not exist — serve does that on a first start; admin commands only read.
// A named file must exist. It returns nil without a key when path is ""
// and the data dir has none and create is not set: the caller can still
// do everything that touches no secret.
func OpenSecretKey(ctx context.Context, db *sqlstore.DB, path, dataDir string, create bool, logger *slog.Logger) error {
	named := path != ""
	if !named {
		path = filepath.Join(dataDir, SecretKeyFile)
	}
	var key *seal.Key
	created := false
	var err error
	switch {
	case named:
		key, err = seal.LoadFile(path)
	case create:
		key, created, err = seal.LoadOrCreateFile(path)
	default:
		if _, statErr := os.Stat(path); errors.Is(statErr, os.ErrNotExist) {
			return nil
		}
		key, err = seal.LoadFile(path)
	}
	if err != nil {
		return err
	}
	legacy, err := db.UseSecretKey(ctx, key)
	var mismatch *sqlstore.SecretKeyMismatchError
	if errors.As(err, &mismatch) && created {
		// The database was sealed with a key this data dir no longer
		// has: a new one would open nothing. Take it back so the next
		// start says the same thing instead of a different one.
		os.Remove(path)
		return fmt.Errorf("no secret key file at %s, but this database's secrets are sealed with key %s: restore that key file there or give it with --secret-key-file (env METALPLANE_SECRET_KEY_FILE)", path, mismatch.Recorded)
	}
	if err != nil {
		return fmt.Errorf("secret key file %s: %w", path, err)
	}
	if created {
		logger.Info("created a new secret key file: back it up, the stored access key secrets cannot be read without it", "path", path, "key_id", key.ID())
	}
	if legacy.Total() > 0 {
		logger.Info("sealed secrets stored in the clear by an earlier version", "access_keys", legacy.AccessKeys,
			"instance_passwords", legacy.Passwords, "deleted_instance_passwords", legacy.ClearedPasswords)
	}
	return nil
}

// sameSecret compares secrets in constant time.
func sameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// rotateFixedKey replaces the stored secret of the key named by
// METALPLANE_ACCESS_KEY_ID when METALPLANE_ACCESS_KEY_SECRET no longer
// matches it: changing the variable is how an operator rotates that key,
// and ignoring it would leave the old secret working.
func (a *App) rotateFixedKey(ctx context.Context, existing *metalplane.AccessKey) error {
	cfg := a.Config
	if !existing.Enabled {
		// A revoked key stays revoked, whatever its secret.
		cfg.Logger.Warn("the access key of METALPLANE_ACCESS_KEY_ID is revoked; requests signed with it fail", "access_key_id", existing.ID)
		return nil
	}
	if sameSecret(existing.Secret, cfg.DemoAccessKeySecret) {
		return nil
	}
	if err := a.DB.SetAccessKeySecret(ctx, existing.ID, cfg.DemoAccessKeySecret); err != nil {
		return fmt.Errorf("rotate access key %s: %w", existing.ID, err)
	}
	cfg.Logger.Warn("METALPLANE_ACCESS_KEY_SECRET differs from the stored secret of its key: the secret was replaced, requests signed with the old one now fail",
		"access_key_id", existing.ID, "team", existing.TeamID)
	return nil
}

// restrictDataDir narrows a data dir readable by others to its owner: it
// holds the database, the credentials file and the secret key.
func restrictDataDir(dir string, logger *slog.Logger) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if info.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict data dir %s to its owner: %w", dir, err)
	}
	logger.Warn("data dir was readable by others; restricted it to its owner (0700)", "path", dir, "was", info.Mode().Perm().String())
	return nil
}
