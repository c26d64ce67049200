// Package netboot installs operating systems over the network: the
// provisioning listener (server.go) gives each server its iPXE script,
// the deploy ramdisk, its image and a NoCloud metadata service, and takes
// the deploy agent's reports (cmd/metalplane-agent); the Installer
// (this file) is what a provisioning step calls to install a server
// through its BMC and wait for the agent. Both meet in the database
// (sqlstore/deployments.go), so any replica's listener serves any
// replica's workers.
package netboot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/GehirnInc/crypt/sha512_crypt"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/netboot/agentapi"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// ImageFinder finds an image of the catalog by id.
type ImageFinder func(id string) (*metalplane.Image, bool)

// Installer implements provision.NetInstaller.
type Installer struct {
	DB     *sqlstore.DB
	Images ImageFinder
	// InstallTimeout bounds one installation, from the power-on to the
	// agent's last report; 0 = DefaultInstallTimeout.
	InstallTimeout time.Duration
	// PollInterval is how often the deployment's state is read; 0 = 500 ms.
	PollInterval time.Duration
	// PowerOffWait is how long the agent is given to power the server
	// off after its last report before the BMC does it; 0 = a minute.
	PowerOffWait time.Duration
	Logger       *slog.Logger
}

// DefaultInstallTimeout bounds an installation: a server's firmware alone
// may take minutes to reach the network boot.
const DefaultInstallTimeout = 30 * time.Minute

var _ provision.NetInstaller = (*Installer)(nil)

// Timeout implements provision.NetInstaller.
func (in *Installer) Timeout() time.Duration {
	if in.InstallTimeout > 0 {
		return in.InstallTimeout
	}
	return DefaultInstallTimeout
}

func (in *Installer) pollInterval() time.Duration {
	if in.PollInterval > 0 {
		return in.PollInterval
	}
	return 500 * time.Millisecond
}

// Install implements provision.NetInstaller: power off, boot from the
// network once, start a deployment, power on, wait for the agent (or,
// for an ipxeUrl, for the script to be fetched), then for an image leave
// the server off and set to boot from its disk.
func (in *Installer) Install(ctx context.Context, bmc provision.BMCDriver, h provision.Host, mac string, spec provision.InstallSpec) error {
	task, mode, err := in.task(spec)
	if err != nil || mode == "" {
		return err
	}
	if err := bmc.SetPower(ctx, h, false); err != nil {
		return err
	}
	if err := bmc.SetBootDevice(ctx, h, provision.BootOverride{Device: provision.BootPXE}); err != nil {
		return err
	}
	d := &sqlstore.Deployment{ID: newDeploymentID(), InstanceID: spec.InstanceID, HostID: h.ID, MAC: mac, Mode: mode, Task: *task}
	if err := in.DB.StartDeployment(ctx, d); err != nil {
		return err
	}
	ended := false
	defer func() {
		if ended {
			return
		}
		// Given up (deadline, BMC error): the token dies with the
		// attempt (a retry starts a new deployment), and the server,
		// perhaps still netbooting, is switched off so that a host
		// given up on is not left running the ramdisk.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := in.DB.CancelDeployment(cctx, d.ID); err != nil {
			in.logger().Warn("cancel deployment", "deployment", d.ID, "err", err)
		}
		if err := bmc.SetPower(cctx, h, false); err != nil {
			in.logger().Warn("power off a server whose installation was given up", "host", h.ID, "err", err)
		}
	}()
	if err := bmc.SetPower(ctx, h, true); err != nil {
		return err
	}
	last, err := in.await(ctx, d.ID)
	if err != nil {
		return err
	}
	ended = true
	if mode == sqlstore.DeployModeIPXE {
		// The tenant's script runs on; the server stays on.
		return nil
	}
	if err := in.awaitPowerOff(ctx, bmc, h); err != nil {
		return err
	}
	if last.State == sqlstore.DeployFailed {
		return failure(last)
	}
	return bmc.SetBootDevice(ctx, h, provision.BootOverride{Device: provision.BootDisk, Persistent: true})
}

// task is what the deployment of spec installs, and its mode; mode ""
// means nothing to install (no image and no ipxeUrl: installed later).
func (in *Installer) task(spec provision.InstallSpec) (*sqlstore.DeployTask, string, error) {
	t := &sqlstore.DeployTask{InstanceID: spec.InstanceID, Hostname: spec.Hostname, PublicKeys: spec.PublicKeys, UserData: spec.UserData,
		PublicIPv4: spec.Network.PublicIPv4, PublicIPv6: spec.Network.PublicIPv6, PrivateIP: spec.Network.PrivateIP}
	if spec.Password != "" {
		hash, err := sha512_crypt.New().Generate([]byte(spec.Password), nil)
		if err != nil {
			return nil, "", fmt.Errorf("hash the password: %w", err)
		}
		t.PasswordHash = hash
	}
	switch {
	case spec.ImageID != "":
		img, ok := in.Images(spec.ImageID)
		if !ok {
			return nil, "", &provision.ImageError{Reason: fmt.Sprintf("image %s is no longer offered", spec.ImageID)}
		}
		if img.Source == "" {
			return nil, "", &provision.ImageError{Reason: fmt.Sprintf("image %s cannot be installed on this server: it has no source to install from", spec.ImageID)}
		}
		if len(spec.Partitions) > 0 {
			// The agent writes the image's own partitions; laying out
			// others would mean resizing its filesystems.
			return nil, "", &provision.ImageError{Reason: fmt.Sprintf("custom partitions cannot be installed with image %s on this server: its image keeps its own partitions", spec.ImageID)}
		}
		t.ImageID, t.ImageSource, t.ImageSHA256, t.ImageFormat = img.ID, img.Source, img.SHA256, img.Format
		return t, sqlstore.DeployModeImage, nil
	case spec.IpxeURL != "":
		t.IpxeURL = spec.IpxeURL
		return t, sqlstore.DeployModeIPXE, nil
	}
	return nil, "", nil
}

// await polls the deployment until it has ended (done or failed).
func (in *Installer) await(ctx context.Context, id string) (*sqlstore.Deployment, error) {
	var last *sqlstore.Deployment
	for {
		d, err := in.DB.Deployment(ctx, id)
		switch {
		case err == nil:
			last = d
			switch d.State {
			case sqlstore.DeployDone, sqlstore.DeployFailed:
				return d, nil
			case sqlstore.DeployCancelled:
				return nil, errors.New("the network installation was replaced by another")
			}
		case ctx.Err() == nil:
			in.logger().Warn("read deployment", "deployment", id, "err", err)
		}
		t := time.NewTimer(in.pollInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			where := "the server never fetched its iPXE script"
			if last != nil && last.State == sqlstore.DeployBooted {
				where = "the agent's last report: " + last.Step
				if last.Step == "" {
					where = "the agent never reported after the iPXE script was fetched"
				}
			}
			return nil, fmt.Errorf("network installation did not finish (%s): %w", where, ctx.Err())
		case <-t.C:
		}
	}
}

// awaitPowerOff gives the agent PowerOffWait to switch the server off,
// then switches it off through the BMC.
func (in *Installer) awaitPowerOff(ctx context.Context, bmc provision.BMCDriver, h provision.Host) error {
	wait := in.PowerOffWait
	if wait == 0 {
		wait = time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	err := provision.AwaitPower(wctx, in.pollInterval(), provision.PowerOff, func(ctx context.Context) (provision.PowerState, error) {
		return bmc.PowerState(ctx, h)
	})
	cancel()
	if err == nil {
		return nil
	}
	return bmc.SetPower(ctx, h, false)
}

// failure turns the agent's failure into the provision's error: the
// image's faults are the tenant's to know and leave the server in stock;
// others (a disk that fails writes) are the server's, retried and then
// quarantined.
func failure(d *sqlstore.Deployment) error {
	switch d.FailCode {
	case agentapi.FailChecksum:
		return &provision.ImageError{Reason: fmt.Sprintf("image %s failed its checksum check: the image is damaged", d.Task.ImageID)}
	case agentapi.FailTooSmall:
		return &provision.ImageError{Reason: fmt.Sprintf("image %s is larger than the server's disk", d.Task.ImageID)}
	case agentapi.FailImage:
		return &provision.ImageError{Reason: fmt.Sprintf("image %s cannot be installed: %s", d.Task.ImageID, d.Detail)}
	}
	return fmt.Errorf("the deploy agent failed at %s: %s", d.Step, d.Detail)
}

func (in *Installer) logger() *slog.Logger {
	if in.Logger != nil {
		return in.Logger
	}
	return slog.Default()
}

func newDeploymentID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "dep-" + hex.EncodeToString(b)
}
