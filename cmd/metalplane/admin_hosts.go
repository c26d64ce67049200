package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/sqlstore"
)

// Operator commands about the physical hosts: listing them, enrolling,
// changing and removing servers powered through their BMC
// (docs/hardware.md), maintenance.

func adminHostsList(fs *flag.FlagSet) adminFunc {
	var f sqlstore.HostFilter
	fs.StringVar(&f.ZoneID, "zone", "", "only hosts in this zone (e.g. SEL-A)")
	fs.StringVar(&f.InstanceTypeID, "type", "", "only hosts of this instance type")
	fs.StringVar(&f.State, "state", "", "only hosts in this state: "+strings.Join([]string{sqlstore.HostAvailable, sqlstore.HostAllocated, sqlstore.HostMaintenance, sqlstore.HostRetired}, ", "))
	fs.BoolVar(&f.WithBMC, "bmc", false, "only hosts powered through a BMC (not simulated)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		hosts, err := db.FindHosts(ctx, f)
		if err != nil {
			return err
		}
		// Every cell but the last is one word, so that scripts can split
		// rows on blanks; the note, free text, comes last.
		fmt.Fprintln(out, "HOST ID\tZONE\tTYPE\tSTATE\tINSTANCE\tDRIVER\tPOWER\tLAST CONTACT\tBMC\tNOTE")
		for _, h := range hosts {
			contact := "-"
			if !h.LastContact.IsZero() {
				contact = formatTime(h.LastContact)
			}
			fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.ZoneID, h.InstanceTypeID, h.State, dash(h.InstanceID),
				h.Driver, powerCell(h), contact, dash(h.BMCAddress), dash(h.Note))
		}
		return nil
	}
}

// powerCell shows what the power sync knows of a host in one word: "-"
// for a simulated host, "never" before the first read, the state read
// last, ",expected=off" after it when that differs from what the host's
// use expects, "unreachable" while its BMC does not answer.
func powerCell(h sqlstore.Host) string {
	switch {
	case h.Driver == sqlstore.DriverSim:
		return "-"
	case h.PowerError != "":
		return "unreachable"
	case h.PowerState == "":
		return "never"
	}
	cell := h.PowerState
	if want, ok := strings.CutPrefix(h.PowerDrift, "expected "); ok {
		want, _, _ = strings.Cut(want, ",")
		cell += ",expected=" + want
	}
	return cell
}

// readPassword reads a BMC password from a file, "-" for stdin: never
// from a flag, which the process list would show. One trailing newline is
// dropped.
func readPassword(path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", errors.New("--password-file: the password is empty")
	}
	return password, nil
}

func registerPasswordFlag(fs *flag.FlagSet) *string {
	return fs.String("password-file", "", "file holding the BMC password (\"-\": read it from stdin); it is stored sealed with the secret key and never shown")
}

func adminHostsEnroll(fs *flag.FlagSet) adminFunc {
	var h sqlstore.HostEnrollment
	fs.StringVar(&h.ID, "host", "", "host id: letters, digits, '.', '-', '_' (e.g. rack1-node01)")
	fs.StringVar(&h.ZoneID, "zone", "", "zone the host is sold in (e.g. SEL-A); the catalog needs an offer of the zone and type")
	fs.StringVar(&h.InstanceTypeID, "type", "", "instance type of the host (e.g. M6C)")
	bmc := fs.String("bmc", "", "BMC address without password: ipmi://USER@HOST[:PORT][?cipher=17|3] or redfish+https://USER@HOST/redfish/v1/Systems/ID")
	mac := fs.String("mac", "", "MAC address of the provisioning NIC (optional)")
	passwordFile := registerPasswordFlag(fs)
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if h.ID == "" || h.ZoneID == "" || h.InstanceTypeID == "" || *bmc == "" {
			return errors.New("--host, --zone, --type and --bmc are required")
		}
		parsed, err := app.ParseBMC(*bmc)
		if err != nil {
			return fmt.Errorf("--bmc: %w", err)
		}
		h.Driver, h.BMCAddress = parsed.Driver, parsed.Address
		if *mac != "" {
			if h.MAC, err = metalplane.NormalizeMAC(*mac); err != nil {
				return fmt.Errorf("--mac: %w", err)
			}
		}
		if *passwordFile != "" {
			if err := needSecretKey(db); err != nil {
				return err
			}
			if h.Password, err = readPassword(*passwordFile); err != nil {
				return err
			}
		}
		if err := db.EnrollHost(ctx, h); err != nil {
			return err
		}
		fmt.Fprintf(out, "host:\t%s\n", h.ID)
		fmt.Fprintf(out, "offer:\t%s %s (sold only if the server's catalog has an offer of them)\n", h.ZoneID, h.InstanceTypeID)
		fmt.Fprintf(out, "driver:\t%s\n", h.Driver)
		fmt.Fprintf(out, "bmc:\t%s\n", h.BMCAddress)
		fmt.Fprintf(out, "mac:\t%s\n", dash(h.MAC))
		fmt.Fprintf(out, "password:\t%s\n", storedOrNone(h.Password != ""))
		fmt.Fprintf(out, "state:\t%s\n", sqlstore.HostAvailable)
		return nil
	}
}

func storedOrNone(stored bool) string {
	if stored {
		return "stored (sealed)"
	}
	return "none"
}

func adminHostsUpdate(fs *flag.FlagSet) adminFunc {
	id := fs.String("host", "", "host id")
	bmc := fs.String("bmc", "", "new BMC address, without password")
	mac := fs.String("mac", "", "new MAC address of the provisioning NIC (\"none\" deletes it)")
	passwordFile := registerPasswordFlag(fs)
	noPassword := fs.Bool("no-password", false, "delete the stored BMC password")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *id == "" {
			return errors.New("--host is required")
		}
		var u sqlstore.HostUpdate
		if *bmc != "" {
			parsed, err := app.ParseBMC(*bmc)
			if err != nil {
				return fmt.Errorf("--bmc: %w", err)
			}
			u.Driver, u.BMCAddress = &parsed.Driver, &parsed.Address
		}
		switch *mac {
		case "":
		case "none":
			u.MAC = new(string)
		default:
			normalized, err := metalplane.NormalizeMAC(*mac)
			if err != nil {
				return fmt.Errorf("--mac: %w", err)
			}
			u.MAC = &normalized
		}
		switch {
		case *passwordFile != "" && *noPassword:
			return errors.New("give --password-file or --no-password, not both")
		case *passwordFile != "":
			if err := needSecretKey(db); err != nil {
				return err
			}
			password, err := readPassword(*passwordFile)
			if err != nil {
				return err
			}
			u.Password = &password
		case *noPassword:
			u.Password = new(string)
		}
		if u == (sqlstore.HostUpdate{}) {
			return errors.New("nothing to change: give --bmc, --mac, --password-file or --no-password")
		}
		changed, err := db.UpdateHost(ctx, *id, u)
		if err != nil {
			return err
		}
		if len(changed) == 0 {
			fmt.Fprintf(out, "host %s:\tunchanged\n", *id)
			return nil
		}
		fmt.Fprintf(out, "host %s:\t%s\n", *id, strings.Join(changed, ", "))
		return nil
	}
}

func adminHostsRemove(fs *flag.FlagSet) adminFunc {
	id := fs.String("host", "", "host id")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *id == "" {
			return errors.New("--host is required")
		}
		if err := db.RemoveHost(ctx, *id); err != nil {
			return err
		}
		fmt.Fprintf(out, "host %s:\tremoved (its events stay: admin hosts events)\n", *id)
		return nil
	}
}

func adminHostsEvents(fs *flag.FlagSet) adminFunc {
	id := fs.String("host", "", "host id")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *id == "" {
			return errors.New("--host is required")
		}
		events, err := db.HostEvents(ctx, *id)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return fmt.Errorf("no events for host %s", *id)
		}
		fmt.Fprintln(out, "TIME\tKIND\tDRIVER\tDETAIL")
		for _, e := range events {
			fmt.Fprintf(out, "%s\t%s\t%s\t%s\n", e.At.Format("2006-01-02T15:04:05.000Z07:00"), e.Kind, dash(e.Driver), e.Detail)
		}
		return nil
	}
}

func adminHostsMaintenance(fs *flag.FlagSet) adminFunc {
	host := fs.String("host", "", "host id (see `admin hosts list`)")
	on := fs.Bool("on", false, "move the host into maintenance (it must be free)")
	off := fs.Bool("off", false, "return the host to stock")
	note := fs.String("note", "", "why (kept on the host)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *host == "" {
			return errors.New("--host is required")
		}
		if *on == *off {
			return errors.New("give exactly one of --on and --off")
		}
		if err := db.SetHostMaintenance(ctx, *host, *on, *note); err != nil {
			return err
		}
		state := sqlstore.HostAvailable
		if *on {
			state = sqlstore.HostMaintenance
		}
		fmt.Fprintf(out, "host %s:\t%s\n", *host, state)
		return nil
	}
}
