package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/sqlstore"
)

// adminCommand is one `metalplane admin GROUP VERB`. setup defines the
// command's flags on fs and returns the function that runs it once they
// are parsed.
type adminCommand struct {
	group, verb string
	synopsis    string
	summary     string
	setup       func(fs *flag.FlagSet) adminFunc
}

// adminFunc runs an admin command against an open, migrated database and
// writes aligned text to out.
type adminFunc func(ctx context.Context, db *sqlstore.DB, out io.Writer) error

// adminCommands is the one list of admin commands; usage and dispatch are
// built from it.
var adminCommands = []adminCommand{
	{"teams", "list", "", "list teams with balance, quota and postpaid permission", adminTeamsList},
	{"teams", "create", "--name N [--postpaid] [--quota Q] [--credit 1000.00]", "create a team and its first access key", adminTeamsCreate},
	{"keys", "create", "--team T [--admin]", "create an access key (prints the password once)", adminKeysCreate},
	{"keys", "list", "--team T", "list a team's access keys (never their passwords)", adminKeysList},
	{"keys", "revoke", "--key K", "disable an access key; requests signed with it fail", adminKeysRevoke},
	{"tokens", "create", "--team T [--admin] [--expires 24h]", "create a bearer token (prints it once), optionally expiring", adminTokensCreate},
	{"tokens", "list", "--team T", "list a team's bearer tokens: id, prefix, expiry, state (never the tokens)", adminTokensList},
	{"tokens", "revoke", "--token ID", "revoke a bearer token by its id; requests carrying it fail", adminTokensRevoke},
	{"secret-key", "rotate", "--new-key-file F", "re-seal every stored secret with a new key (stop the servers first)", adminSecretKeyRotate},
	{"balance", "show", "--team T", "show the balance and the ledger", adminBalanceShow},
	{"balance", "credit", "--team T --amount 100.50 [--note TEXT]", "add money to a team", adminBalanceCredit},
	{"balance", "debit", "--team T --amount 10 [--note TEXT]", "take money from a team (a negative ledger row)", adminBalanceDebit},
	{"quota", "set", "--team T --instances N", "set a team's instance quota", adminQuotaSet},
	{"postpaid", "set", "--team T --allowed=true|false", "allow or forbid POSTPAID instances", adminPostpaidSet},
	{"gateway", "set", "--team T --allowed=true|false", "allow or forbid enableGatewayMode on the team's instances", adminGatewaySet},
	{"vouchers", "set", "--team T --count N", "set how many POC vouchers (usePocVoucher) the team holds", adminVouchersSet},
	{"groups", "create", "--team T --name N", "add a resource group to a team", adminGroupsCreate},
	{"groups", "list", "--team T", "list a team's resource groups, the default one first", adminGroupsList},
	{"groups", "delete", "--team T --group G", "delete an empty resource group (never the default one)", adminGroupsDelete},
	{"hosts", "list", "[--zone Z] [--type T] [--state S] [--bmc]", "list physical hosts: state, driver, power, last BMC contact (never a password)", adminHostsList},
	{"hosts", "enroll", "--host H --zone Z --type T --bmc URL [--mac M] [--password-file F|-]", "add a server powered through its BMC (ipmi:// or redfish+https://)", adminHostsEnroll},
	{"hosts", "update", "--host H [--bmc URL] [--mac M] [--password-file F|-] [--no-password]", "change an enrolled server's BMC address, MAC or BMC password", adminHostsUpdate},
	{"hosts", "remove", "--host H", "remove an enrolled server that holds no instance", adminHostsRemove},
	{"hosts", "events", "--host H", "show what happened to a host: enrolment, power drift, BMC failures, quarantine", adminHostsEvents},
	{"hosts", "maintenance", "--host H --on|--off [--note TEXT]", "move a free host into or out of maintenance", adminHostsMaintenance},
	{"images", "add", "--id I --name N --catalog C --instance-types T1,T2 [--source URL|FILE --sha256 H] [--format raw]", "add an image on the live database (a source makes it installable on real servers)", adminImagesAdd},
	{"images", "list", "", "list the images added on the database (not the catalog file's)", adminImagesList},
	{"images", "remove", "--id I", "remove an image added on the database", adminImagesRemove},
	{"faults", "inject", "--step S [--zone Z] [--type T] [--count N] [--hang]", "make the next N simulated provisions fail (or hang) at a step", adminFaultsInject},
	{"faults", "list", "", "list injected faults and how many provisions each still hits", adminFaultsList},
	{"instances", "events", "--instance I", "show what happened to an instance, step by step", adminInstancesEvents},
	{"db", "check", "", "audit hosts, addresses, balances, orders, refunds and stranded instances; exit 1 on a problem", adminDBCheck},
}

func (m *Main) adminUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: metalplane admin GROUP VERB [flags]\n\n")
	fmt.Fprint(w, "Operator commands. They work on the same database as a running server\n(SQLite or PostgreSQL). Teams are addressed by id or name.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range adminCommands {
		fmt.Fprintf(tw, "  %s %s %s\t%s\n", c.group, c.verb, c.synopsis, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nEvery command also takes --data-dir DIR (env METALPLANE_DATA_DIR, default ./metalplane-data)\nand --database DSN (env METALPLANE_DATABASE), like serve.\n")
}

// runAdmin dispatches `metalplane admin GROUP VERB`.
func (m *Main) runAdmin(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		m.adminUsage(m.Stdout)
		return nil
	}
	if len(args) < 2 {
		m.adminUsage(m.Stderr)
		return fmt.Errorf("admin: want GROUP VERB: %w", errReported)
	}
	var cmd *adminCommand
	for i := range adminCommands {
		if adminCommands[i].group == args[0] && adminCommands[i].verb == args[1] {
			cmd = &adminCommands[i]
		}
	}
	if cmd == nil {
		m.adminUsage(m.Stderr)
		return fmt.Errorf("admin: unknown command %q: %w", args[0]+" "+args[1], errReported)
	}
	name := "admin " + cmd.group + " " + cmd.verb
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var d dbFlags
	d.register(fs)
	var keyFile string
	registerSecretKeyFlag(fs, &keyFile)
	run := cmd.setup(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: metalplane %s %s\n\n%s.\n\nFlags:\n", name, cmd.synopsis, cmd.summary)
		fs.PrintDefaults()
	}
	rest, err := m.parseFlags(fs, args[2:], map[string]string{"data-dir": "METALPLANE_DATA_DIR", "database": "METALPLANE_DATABASE", "secret-key-file": "METALPLANE_SECRET_KEY_FILE"})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%s: unexpected arguments %q (values go in flags)", name, rest)
	}
	db, err := openExisting(ctx, d, true)
	if err != nil {
		return err
	}
	defer db.Close()
	// Writing to a database the server has not migrated could corrupt
	// what a newer schema expects; refuse instead.
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	// Admin never creates a key: with none in the data dir, commands that
	// touch no secret still work and the others say what is missing.
	logger := slog.New(slog.NewTextHandler(m.Stderr, nil))
	if err := app.OpenSecretKey(ctx, db, keyFile, d.DataDir, false, logger); err != nil {
		return err
	}
	out := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	err = run(ctx, db, out)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

// findTeam resolves --team, which is required.
func findTeam(ctx context.Context, db *sqlstore.DB, idOrName string) (*metalplane.Team, error) {
	if idOrName == "" {
		return nil, errors.New("--team is required (a team id or name)")
	}
	return db.FindTeam(ctx, idOrName)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func adminTeamsList(fs *flag.FlagSet) adminFunc {
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		teams, err := db.ListTeams(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "ID\tNAME\tBALANCE\tINSTANCE QUOTA\tPOSTPAID\tCREATED")
		for _, t := range teams {
			fmt.Fprintf(out, "%s\t%s\t%s\t%d\t%t\t%s\n", t.ID, t.Name, t.Balance, t.InstanceQuota, t.PostpaidAllowed, formatTime(t.CreatedAt))
		}
		return nil
	}
}

func adminTeamsCreate(fs *flag.FlagSet) adminFunc {
	name := fs.String("name", "", "team name (unique)")
	postpaid := fs.Bool("postpaid", false, "allow POSTPAID (pay-as-you-go) instances")
	quota := fs.Int("quota", metalplane.DefaultInstanceQuota, "instance quota")
	credit := fs.String("credit", "0", "starting balance, a decimal amount such as 1000.00")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *name == "" {
			return errors.New("--name is required")
		}
		if *quota < 1 {
			// CreateTeam reads 0 as "the default"; a zero quota is set
			// explicitly afterwards with `admin quota set`.
			return errors.New("--quota must be at least 1 (use `admin quota set` for 0)")
		}
		amount, err := metalplane.ParseMoney(*credit)
		if err != nil {
			return fmt.Errorf("--credit: %w", err)
		}
		if amount < 0 {
			return errors.New("--credit must not be negative")
		}
		if err := needSecretKey(db); err != nil {
			return err
		}
		team, err := db.CreateTeam(ctx, sqlstore.TeamCreate{Name: *name, InstanceQuota: *quota, PostpaidAllowed: *postpaid, InitialCredit: amount})
		if err != nil {
			return err
		}
		// A team without a key is useless to its tenant, so the first key
		// comes with it. It is a separate transaction: if it fails, the
		// team exists and `admin keys create` finishes the job.
		key, err := db.CreateAccessKey(ctx, team.ID, "", "", true)
		if err != nil {
			return fmt.Errorf("team %s created, but its access key was not: %w", team.ID, err)
		}
		fmt.Fprintf(out, "team id:\t%s\n", team.ID)
		fmt.Fprintf(out, "team name:\t%s\n", team.Name)
		fmt.Fprintf(out, "balance:\t%s\n", team.Balance)
		printKey(out, key)
		return nil
	}
}

// printKey prints a new key with its password, which cannot be shown again
// by any command.
func printKey(out io.Writer, key *metalplane.AccessKey) {
	fmt.Fprintf(out, "access key id:\t%s\n", key.ID)
	fmt.Fprintf(out, "access key password:\t%s\n", key.Secret)
	fmt.Fprintf(out, "admin:\t%t\n", key.IsAdmin)
	fmt.Fprintln(out, "(the password is shown only now: store it safely)")
}

func adminKeysCreate(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	admin := fs.Bool("admin", false, "create an admin key of the team")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if err := needSecretKey(db); err != nil {
			return err
		}
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		key, err := db.CreateAccessKey(ctx, team.ID, "", "", *admin)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "team id:\t%s\n", team.ID)
		printKey(out, key)
		return nil
	}
}

func adminKeysList(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		keys, err := db.ListAccessKeys(ctx, team.ID)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "ACCESS KEY ID\tADMIN\tENABLED\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(out, "%s\t%t\t%t\t%s\n", k.ID, k.IsAdmin, k.Enabled, formatTime(k.CreatedAt))
		}
		return nil
	}
}

func adminKeysRevoke(fs *flag.FlagSet) adminFunc {
	keyFlag := fs.String("key", "", "access key id")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *keyFlag == "" {
			return errors.New("--key is required")
		}
		if err := db.RevokeAccessKey(ctx, *keyFlag); err != nil {
			return err
		}
		fmt.Fprintf(out, "access key %s revoked\n", *keyFlag)
		return nil
	}
}

func adminBalanceShow(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		rows, err := db.Ledger(ctx, team.ID)
		if err != nil {
			return err
		}
		sum, err := db.LedgerSum(ctx, team.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "team:\t%s (%s)\n", team.ID, team.Name)
		fmt.Fprintf(out, "balance:\t%s\n", team.Balance)
		fmt.Fprintf(out, "ledger sum:\t%s\n", sum)
		fmt.Fprintln(out)
		fmt.Fprintln(out, "ID\tTIME\tKIND\tAMOUNT\tORDER\tINSTANCE\tNOTE")
		for _, e := range rows {
			fmt.Fprintf(out, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, formatTime(e.CreatedAt), e.Kind, e.Amount,
				dash(e.OrderNumber), dash(e.InstanceID), dash(e.Note))
		}
		// The two are read in separate queries, so a charge landing between
		// them could make them differ for a moment; a persistent
		// difference is a bug worth an exit status.
		if sum != team.Balance {
			return fmt.Errorf("balance %s differs from the ledger sum %s", team.Balance, sum)
		}
		return nil
	}
}

// dash keeps empty table cells visible.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func adminBalanceCredit(fs *flag.FlagSet) adminFunc {
	return adminLedger(fs, metalplane.LedgerCredit, 1)
}

func adminBalanceDebit(fs *flag.FlagSet) adminFunc {
	return adminLedger(fs, metalplane.LedgerDebit, -1)
}

// adminLedger writes an operator ledger row of kind; sign turns the
// positive --amount into a credit (1) or a debit (-1).
func adminLedger(fs *flag.FlagSet, kind string, sign metalplane.Money) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	amountFlag := fs.String("amount", "", "positive decimal amount such as 100.50 (at most 4 decimals)")
	note := fs.String("note", "", "note kept on the ledger row")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if *amountFlag == "" {
			return errors.New("--amount is required")
		}
		amount, err := metalplane.ParseMoney(*amountFlag)
		if err != nil {
			return fmt.Errorf("--amount: %w", err)
		}
		if amount <= 0 {
			return errors.New("--amount must be positive (credit and debit give the direction)")
		}
		if err := db.AddLedgerEntry(ctx, metalplane.LedgerEntry{TeamID: team.ID, Amount: sign * amount, Kind: kind, Note: *note}); err != nil {
			return err
		}
		team, err = db.FindTeam(ctx, team.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s:\t%s\n", kind, sign*amount)
		fmt.Fprintf(out, "balance:\t%s\n", team.Balance)
		return nil
	}
}

func adminQuotaSet(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	instances := fs.Int("instances", -1, "maximum number of instances the team may have")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if *instances < 0 {
			return errors.New("--instances is required and must not be negative")
		}
		if err := db.UpdateTeam(ctx, team.ID, sqlstore.TeamUpdate{InstanceQuota: instances}); err != nil {
			return err
		}
		fmt.Fprintf(out, "instance quota of %s (%s):\t%d\n", team.Name, team.ID, *instances)
		return nil
	}
}

func adminPostpaidSet(fs *flag.FlagSet) adminFunc {
	teamFlag := fs.String("team", "", "team id or name")
	allowed := fs.Bool("allowed", false, "whether the team may create POSTPAID instances (write --allowed=false to forbid)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		team, err := findTeam(ctx, db, *teamFlag)
		if err != nil {
			return err
		}
		if !flagGiven(fs, "allowed") {
			return errors.New("--allowed=true or --allowed=false is required")
		}
		if err := db.UpdateTeam(ctx, team.ID, sqlstore.TeamUpdate{PostpaidAllowed: allowed}); err != nil {
			return err
		}
		fmt.Fprintf(out, "postpaid allowed for %s (%s):\t%t\n", team.Name, team.ID, *allowed)
		return nil
	}
}
