package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/metalplane/metalplane/provision"
)

// runMigrate applies pending migrations, ours and then the job queue's
// (River keeps its tables in the same database), and exits: the deploy step
// of a setup whose servers run with --no-migrate.
func (m *Main) runMigrate(ctx context.Context, args []string) error {
	var d dbFlags
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	d.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: metalplane migrate [--database URL | --data-dir DIR]\n\nApplies pending database migrations and exits.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := m.parseFlags(fs, args, envNames(fs))
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("migrate takes no arguments, got %q", rest)
	}
	db, err := openExisting(ctx, d, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", describeDSN(d.DSN()), err)
	}
	if err := provision.Migrate(ctx, db); err != nil {
		return fmt.Errorf("migrate the job queue in %s: %w", describeDSN(d.DSN()), err)
	}
	fmt.Fprintf(m.Stdout, "database schema is up to date (%s)\n", describeDSN(d.DSN()))
	return nil
}
