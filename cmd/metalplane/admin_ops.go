package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// Operator commands for when something goes wrong: injecting faults into
// the sim driver, reading an instance's history, auditing the database.

func adminFaultsInject(fs *flag.FlagSet) adminFunc {
	var f sqlstore.Fault
	fs.StringVar(&f.ZoneID, "zone", "", "only provisions in this zone (default: any)")
	fs.StringVar(&f.InstanceTypeID, "type", "", "only provisions of this instance type (default: any)")
	fs.StringVar(&f.Step, "step", "", "the step that fails: "+strings.Join(provision.Steps, ", "))
	fs.IntVar(&f.Remaining, "count", 1, "how many provisions it hits")
	hang := fs.Bool("hang", false, "make the step hang until its timeout (the job is retried) instead of failing for good")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		known := false
		for _, s := range provision.Steps {
			known = known || s == f.Step
		}
		if !known {
			return fmt.Errorf("--step must be one of %s", strings.Join(provision.Steps, ", "))
		}
		f.Mode = sqlstore.FaultFail
		if *hang {
			f.Mode = sqlstore.FaultHang
		}
		if err := db.InjectFault(ctx, f); err != nil {
			return err
		}
		fmt.Fprintf(out, "the next %d provisions in zone %s of type %s will %s at %s\n", f.Remaining, anyIfEmpty(f.ZoneID), anyIfEmpty(f.InstanceTypeID), f.Mode, f.Step)
		return nil
	}
}

func anyIfEmpty(s string) string {
	if s == "" {
		return "(any)"
	}
	return s
}

func adminFaultsList(fs *flag.FlagSet) adminFunc {
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		faults, err := db.Faults(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "ID\tZONE\tTYPE\tSTEP\tMODE\tREMAINING")
		for _, f := range faults {
			fmt.Fprintf(out, "%d\t%s\t%s\t%s\t%s\t%d\n", f.ID, anyIfEmpty(f.ZoneID), anyIfEmpty(f.InstanceTypeID), f.Step, f.Mode, f.Remaining)
		}
		return nil
	}
}

func adminInstancesEvents(fs *flag.FlagSet) adminFunc {
	id := fs.String("instance", "", "instance id")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *id == "" {
			return errors.New("--instance is required")
		}
		events, err := db.InstanceEvents(ctx, *id)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return fmt.Errorf("no events for instance %s", *id)
		}
		fmt.Fprintln(out, "TIME\tKIND\tSTEP\tDRIVER\tDETAIL")
		for _, e := range events {
			fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\n", e.At.Format("2006-01-02T15:04:05.000Z07:00"), e.Kind, dash(e.Step), dash(e.Driver), e.Detail)
		}
		return nil
	}
}

// errInconsistent makes `admin db check` exit non-zero on a violation.
var errInconsistent = errors.New("the database is inconsistent")

func adminDBCheck(fs *flag.FlagSet) adminFunc {
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		problems, err := db.Audit(ctx)
		if err != nil {
			return err
		}
		for _, p := range problems {
			fmt.Fprintln(out, p)
		}
		if len(problems) > 0 {
			return fmt.Errorf("%d problems: %w", len(problems), errInconsistent)
		}
		fmt.Fprintln(out, "ok: hosts, addresses, balances, orders and refunds are consistent; every transient instance has a job")
		return nil
	}
}
