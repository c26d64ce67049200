// Package sim is the default hardware driver: it simulates every step with
// a delay and fails where a test or an operator injected a fault.
package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/sqlstore"
)

// FaultSource says whether a step on a host must fail (sqlstore's
// TakeFault, so faults are shared by every process on the database), and
// whether any fault waits for a zone and type (AnyFault).
type FaultSource interface {
	TakeFault(ctx context.Context, zoneID, instanceTypeID, step string) (sqlstore.FaultMode, error)
	AnyFault(ctx context.Context, zoneID, instanceTypeID string) (bool, error)
}

// faultsWaiting is remembered for a job (provision.Remember): whether any
// fault waited for its host's zone and type at its first step. A job that
// found none takes none at its later steps either, without asking the
// database again; a fault injected while a provision runs is therefore
// taken by the provisions that start after it (and by those that found
// faults waiting already), which is all a test or a demo needs of it.
type faultsWaiting struct{}

// Driver simulates hardware.
type Driver struct {
	// StepDelay is how long each step takes.
	StepDelay time.Duration
	Faults    FaultSource
}

var (
	_ provision.Driver          = (*Driver)(nil)
	_ provision.AddressAssigner = (*Driver)(nil)
)

// Name implements provision.Driver.
func (d *Driver) Name() string { return "sim" }

// step waits StepDelay (or until ctx ends) and fails if a fault is
// injected for this step.
func (d *Driver) step(ctx context.Context, h provision.Host, name string) error {
	if d.StepDelay > 0 {
		t := time.NewTimer(d.StepDelay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if d.Faults == nil {
		return nil
	}
	waiting, looked := provision.Recall(ctx, faultsWaiting{})
	if !looked {
		found, err := d.Faults.AnyFault(ctx, h.ZoneID, h.InstanceTypeID)
		if err != nil {
			return err
		}
		provision.Remember(ctx, faultsWaiting{}, found)
		waiting = found
	}
	if found, _ := waiting.(bool); !found {
		return nil
	}
	mode, err := d.Faults.TakeFault(ctx, h.ZoneID, h.InstanceTypeID, name)
	if err != nil {
		return err
	}
	switch mode {
	case sqlstore.FaultFail:
		return &provision.PermanentError{Reason: "injected fault at " + name}
	case sqlstore.FaultHang:
		// Like a controller that stops answering: only the worker's step
		// deadline ends the call.
		<-ctx.Done()
		return fmt.Errorf("%s hung (injected): %w", name, ctx.Err())
	}
	return nil
}

// SetPower implements provision.PowerSetter.
func (d *Driver) SetPower(ctx context.Context, h provision.Host, on bool) error {
	if on {
		return d.step(ctx, h, provision.StepPowerOn)
	}
	return d.step(ctx, h, provision.StepPowerOff)
}

// SetBootDevice implements provision.BootDeviceSetter. The provisioning
// workflow's one-time network boot is the boot_pxe step, where faults are
// injected; the lasting choice a start or reboot makes is another step
// (boot_device), so that it takes no fault meant for a provision.
func (d *Driver) SetBootDevice(ctx context.Context, h provision.Host, b provision.BootOverride) error {
	if b.Persistent {
		return d.step(ctx, h, provision.StepBootDevice)
	}
	return d.step(ctx, h, provision.StepBootPXE)
}

// ConfigureRaid implements provision.RaidConfigurer.
func (d *Driver) ConfigureRaid(ctx context.Context, h provision.Host, cfg *metalplane.RaidConfig) error {
	return d.step(ctx, h, provision.StepRaid)
}

// InstallOS implements provision.Imager.
func (d *Driver) InstallOS(ctx context.Context, h provision.Host, spec provision.InstallSpec) error {
	return d.step(ctx, h, provision.StepInstallOS)
}

// AttachNetwork implements provision.NetworkAttacher.
func (d *Driver) AttachNetwork(ctx context.Context, h provision.Host, n provision.NetworkSpec) error {
	return d.step(ctx, h, provision.StepNetwork)
}

// AssignAddress implements provision.AddressAssigner: a step named
// provision.StepEIP; the job records the address and its mode in the
// instance's events.
func (d *Driver) AssignAddress(ctx context.Context, h provision.Host, a provision.AddressSpec) error {
	return d.step(ctx, h, provision.StepEIP)
}

// UnassignAddress implements provision.AddressAssigner, like AssignAddress.
func (d *Driver) UnassignAddress(ctx context.Context, h provision.Host, a provision.AddressSpec) error {
	return d.step(ctx, h, provision.StepEIP)
}
