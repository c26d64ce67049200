package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/provision/ipmi"
	"github.com/metalplane/metalplane/provision/redfish"
	"github.com/metalplane/metalplane/sqlstore"
)

// BMCProtocols are the BMC drivers of this program: a host may be
// enrolled with an address of any of them (docs/hardware.md).
var BMCProtocols = []provision.BMCProtocol{ipmi.Protocol, redfish.Protocol}

// raidCapable names the drivers that build RAID volumes.
var raidCapable = map[string]bool{"redfish": true}

// ParseBMC reads the BMC address of a host being enrolled. The address
// must not hold a password (catalog files and command lines are no place
// for one), and errors never quote it.
func ParseBMC(raw string) (provision.ParsedBMC, error) {
	if err := metalplane.CheckBMCAddress(raw); err != nil {
		return provision.ParsedBMC{}, err
	}
	return provision.ParseBMC(raw, BMCProtocols)
}

// syncCatalogHosts enrolls the hosts the catalog lists one by one.
func (a *App) syncCatalogHosts(ctx context.Context, cat *metalplane.Catalog) error {
	getenv := a.Config.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	hosts, err := CatalogHosts(cat, getenv, a.Config.Logger)
	if err != nil {
		return err
	}
	if err := a.DB.SyncCatalogHosts(ctx, hosts); err != nil {
		return fmt.Errorf("sync the catalog's hosts: %w", err)
	}
	return nil
}

// CatalogHosts resolves the hosts the catalog lists: their drivers and
// canonical BMC addresses, and their passwords, read from the files or
// environment variables (read with getenv) the catalog names. Every
// problem is reported.
func CatalogHosts(cat *metalplane.Catalog, getenv func(string) string, logger *slog.Logger) ([]sqlstore.HostEnrollment, error) {
	var out []sqlstore.HostEnrollment
	var errs []error
	for _, h := range cat.Hosts {
		bmc, err := ParseBMC(h.BMC)
		if err != nil {
			errs = append(errs, fmt.Errorf("catalog host %s: %w", h.ID, err))
			continue
		}
		if t, ok := cat.FindInstanceType(h.InstanceTypeID); ok && len(t.SupportRaids) > 0 && !raidCapable[bmc.Driver] {
			logger.Warn("instance type "+t.ID+" offers RAID, which the "+bmc.Driver+" driver cannot build: a purchase asking for RAID on this host fails (refunded)",
				"host", h.ID)
		}
		password, err := catalogHostPassword(h, getenv, logger)
		if err != nil {
			errs = append(errs, fmt.Errorf("catalog host %s: %w", h.ID, err))
			continue
		}
		out = append(out, sqlstore.HostEnrollment{ID: h.ID, ZoneID: h.ZoneID, InstanceTypeID: h.InstanceTypeID,
			Driver: bmc.Driver, BMCAddress: bmc.Address, MAC: h.MAC, Password: password})
	}
	return out, errors.Join(errs...)
}

// catalogHostPassword reads the password a catalog host names, "" when it
// names none (then the one stored, if any, stays). Errors never show the
// file's contents.
func catalogHostPassword(h metalplane.CatalogHost, getenv func(string) string, logger *slog.Logger) (string, error) {
	switch {
	case h.PasswordFile != "":
		info, err := os.Stat(h.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("passwordFile: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			logger.Warn("a BMC password file is readable by others than its owner; chmod 600 it", "host", h.ID, "file", h.PasswordFile)
		}
		data, err := os.ReadFile(h.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("passwordFile: %w", err)
		}
		password := strings.TrimRight(string(data), "\r\n")
		if password == "" {
			return "", fmt.Errorf("passwordFile %s is empty", h.PasswordFile)
		}
		return password, nil
	case h.PasswordEnv != "":
		password := getenv(h.PasswordEnv)
		if password == "" {
			return "", fmt.Errorf("passwordEnv: %s is not set", h.PasswordEnv)
		}
		return password, nil
	}
	return "", nil
}
