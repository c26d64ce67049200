package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/metalplane/metalplane/sqlstore"
)

// CheckSchema reports whether the job queue's tables are fully migrated,
// for servers started with --no-migrate: without it such a server would
// start and then fail on its first purchase.
func CheckSchema(ctx context.Context, db *sqlstore.DB) error {
	m, err := rivermigrate.New(riverDriver(db), nil)
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check the job queue schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w (job queue: %s)", sqlstore.ErrSchemaOutOfDate, strings.Join(res.Messages, "; "))
	}
	return nil
}
