package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/seal"
	"github.com/metalplane/metalplane/sqlstore"
)

// Operator commands about credentials at rest: bearer tokens and the
// secret key that seals access key secrets (docs/secrets.md).

// registerSecretKeyFlag defines --secret-key-file, shared by serve and
// admin so that both find the same key.
func registerSecretKeyFlag(fs *flag.FlagSet, path *string) {
	fs.StringVar(path, "secret-key-file", "", "file holding the key that seals access key secrets and instance passwords in the database (default: "+app.SecretKeyFile+" in the data dir, created by serve on first start)")
}

// errNeedSecretKey explains what an admin command that stores a secret
// lacks.
var errNeedSecretKey = errors.New("this command stores an access key secret and needs the database's secret key: run it with the server's --data-dir (which holds " +
	app.SecretKeyFile + ") or pass --secret-key-file (env METALPLANE_SECRET_KEY_FILE)")

// needSecretKey fails before anything is written when db has no key.
func needSecretKey(db *sqlstore.DB) error {
	if db.SecretKeyID() == "" {
		return errNeedSecretKey
	}
	return nil
}

func adminTokensCreate(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	admin := fs.Bool("admin", false, "create an admin token of the team")
	expires := fs.Duration("expires", 0, "how long the token works, e.g. 24h or 720h (default: until revoked)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if *expires < 0 {
			return errors.New("--expires must be positive")
		}
		in := sqlstore.BearerTokenCreate{TeamID: team.ID, IsAdmin: *admin}
		if *expires > 0 {
			in.ExpiresAt = db.Now().Add(*expires)
		}
		t, token, err := db.CreateBearerToken(ctx, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "team id:\t%s\n", team.ID)
		fmt.Fprintf(out, "token id:\t%s\n", t.ID)
		fmt.Fprintf(out, "bearer token:\t%s\n", token)
		fmt.Fprintf(out, "expires:\t%s\n", expiry(t.ExpiresAt))
		fmt.Fprintln(out, "(only a hash is stored: the token is shown only now)")
		return nil
	}
}

func adminTokensList(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		tokens, err := db.ListBearerTokens(ctx, team.ID)
		if err != nil {
			return err
		}
		now := db.Now()
		fmt.Fprintln(out, "TOKEN ID\tPREFIX\tADMIN\tCREATED\tEXPIRES\tSTATE")
		for _, t := range tokens {
			state := "active"
			switch {
			case t.Revoked:
				state = "revoked"
			case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
				state = "expired"
			}
			prefix := "-"
			if t.Prefix != "" {
				prefix = t.Prefix + "…"
			}
			fmt.Fprintf(out, "%s\t%s\t%t\t%s\t%s\t%s\n", t.ID, prefix, t.IsAdmin, formatTime(t.CreatedAt), expiry(t.ExpiresAt), state)
		}
		return nil
	}
}

func adminTokensRevoke(fs *flag.FlagSet) adminFunc {
	id := fs.String("token", "", "token id (see `admin tokens list`), not the token itself")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *id == "" {
			return errors.New("--token is required (a token id)")
		}
		if err := db.RevokeBearerToken(ctx, *id); err != nil {
			return err
		}
		fmt.Fprintf(out, "bearer token %s revoked\n", *id)
		return nil
	}
}

// expiry shows a token's expiry, "never" for none.
func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return formatTime(t)
}

func adminSecretKeyRotate(fs *flag.FlagSet) adminFunc {
	next := fs.String("new-key-file", "", "file of the new key: created (mode 0600) if it does not exist")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *next == "" {
			return errors.New("--new-key-file is required")
		}
		if db.SecretKeyID() == "" {
			return errors.New("rotating needs the current key: run with the server's --data-dir or pass --secret-key-file")
		}
		key, created, err := seal.LoadOrCreateFile(*next)
		if err != nil {
			return err
		}
		if key.ID() == db.SecretKeyID() {
			return fmt.Errorf("%s holds the key in use already", *next)
		}
		old := db.SecretKeyID()
		n, err := db.RotateSecretKey(ctx, key)
		if err != nil {
			if created {
				os.Remove(*next)
			}
			return err
		}
		fmt.Fprintf(out, "re-sealed:\t%d secrets\n", n)
		fmt.Fprintf(out, "old key id:\t%s\n", old)
		fmt.Fprintf(out, "new key id:\t%s\n", key.ID())
		fmt.Fprintf(out, "new key file:\t%s\n", absPath(*next))
		fmt.Fprintln(out, "start every server with this file (--secret-key-file, or copy it over secret.key in the data dir); the old key opens nothing now")
		return nil
	}
}
