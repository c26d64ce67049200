package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/metalplane/metalplane/sqlstore"
)

// Operator switches that the API reads but no action sets (issue 14):
// gateway mode, POC vouchers and resource groups of a team.

func adminGatewaySet(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	allowed := fs.Bool("allowed", false, "whether the team may create instances with enableGatewayMode (write --allowed=false to forbid)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if !flagGiven(fs, "allowed") {
			return errors.New("--allowed=true or --allowed=false is required")
		}
		if err := db.UpdateTeam(ctx, team.ID, sqlstore.TeamUpdate{GatewayModeAllowed: allowed}); err != nil {
			return err
		}
		fmt.Fprintf(out, "gateway mode allowed for %s (%s):\t%t\n", team.Name, team.ID, *allowed)
		return nil
	}
}

func adminVouchersSet(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	count := fs.Int("count", -1, "number of POC vouchers the team holds (each pays one CreateInstances with usePocVoucher)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if *count < 0 {
			return errors.New("--count is required and must not be negative")
		}
		if err := db.UpdateTeam(ctx, team.ID, sqlstore.TeamUpdate{PocVouchers: count}); err != nil {
			return err
		}
		fmt.Fprintf(out, "POC vouchers of %s (%s):\t%d\n", team.Name, team.ID, *count)
		return nil
	}
}

func adminGroupsCreate(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	name := fs.String("name", "", "name of the group, unique in the team")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if *name == "" {
			return errors.New("--name is required")
		}
		g, err := db.CreateResourceGroup(ctx, team.ID, *name)
		if err != nil {
			return fmt.Errorf("create resource group %q (names are unique in a team): %w", *name, err)
		}
		fmt.Fprintf(out, "resource group id:\t%s\nname:\t%s\n", g.ID, g.Name)
		return nil
	}
}

func adminGroupsList(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		groups, err := db.ListResourceGroups(ctx, team.ID)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "ID\tNAME\tDEFAULT\tCREATED")
		for _, g := range groups {
			fmt.Fprintf(out, "%s\t%s\t%t\t%s\n", g.ID, g.Name, g.IsDefault, formatTime(g.CreatedAt))
		}
		return nil
	}
}

func adminGroupsDelete(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	group := fs.String("group", "", "id of the group to delete")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if *group == "" {
			return errors.New("--group is required")
		}
		if err := db.DeleteResourceGroup(ctx, team.ID, *group); err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted resource group:\t%s\n", *group)
		return nil
	}
}

// flagGiven reports whether the flag was set on the command line (a bool
// flag's default cannot tell "false" from "forgotten").
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
