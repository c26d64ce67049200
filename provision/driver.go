package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// Hardware drivers are small capability interfaces, one per thing a
// baseboard controller or installer can do, so that a driver for a real
// protocol (IPMI, Redfish, PXE) implements exactly what it supports. Every
// call must honour ctx: the worker gives each step a deadline.

// Host identifies the physical server a call is about.
type Host struct {
	ID             string
	ZoneID         string
	InstanceTypeID string
}

// BootDevice is where a server boots from next.
type BootDevice int

// Boot devices.
const (
	BootDisk BootDevice = iota
	BootPXE
)

func (d BootDevice) String() string {
	switch d {
	case BootDisk:
		return "disk"
	case BootPXE:
		return "pxe"
	}
	return fmt.Sprintf("BootDevice(%d)", int(d))
}

// BootMode is the firmware interface a server boots through.
type BootMode int

// Boot modes. BootModeDefault leaves the choice to the driver's
// configuration of the host (its BMC address says uefi or legacy), so that
// workers need not know each server's firmware.
const (
	BootModeDefault BootMode = iota
	BootModeLegacy
	BootModeUEFI
)

func (m BootMode) String() string {
	switch m {
	case BootModeDefault:
		return "default"
	case BootModeLegacy:
		return "legacy"
	case BootModeUEFI:
		return "uefi"
	}
	return fmt.Sprintf("BootMode(%d)", int(m))
}

// ParseBootMode reads "uefi" or "legacy" (as written in BMC addresses).
func ParseBootMode(s string) (BootMode, error) {
	switch s {
	case "uefi":
		return BootModeUEFI, nil
	case "legacy":
		return BootModeLegacy, nil
	}
	return BootModeDefault, fmt.Errorf("boot mode %q: want uefi or legacy", s)
}

// BootOverride is the choice of the next boot.
type BootOverride struct {
	Device BootDevice
	// Persistent keeps the choice for every boot until it is changed;
	// otherwise it holds for the next boot only, after which the server
	// follows its own boot order again.
	Persistent bool
	Mode       BootMode
}

// PowerState is a server's power as its controller reports it.
type PowerState int

// Power states. PowerUnknown covers transitions (Redfish's PoweringOn)
// and anything a controller reports that is neither on nor off.
const (
	PowerUnknown PowerState = iota
	PowerOff
	PowerOn
)

func (s PowerState) String() string {
	switch s {
	case PowerOff:
		return "off"
	case PowerOn:
		return "on"
	}
	return "unknown"
}

// PowerSetter switches a server on or off. Off is a hard power-off; the
// call returns once the controller reports the new state.
type PowerSetter interface {
	SetPower(ctx context.Context, h Host, on bool) error
}

// PowerStateGetter reads a server's power state.
type PowerStateGetter interface {
	PowerState(ctx context.Context, h Host) (PowerState, error)
}

// PowerCycler restarts a server hard, like its reset button; a server that
// is off is switched on. It returns once the controller reports power on.
type PowerCycler interface {
	PowerCycle(ctx context.Context, h Host) error
}

// GracefulShutdowner asks the operating system to shut down (ACPI soft
// off) and returns once the controller reports power off; an OS that
// ignores the request keeps the call waiting until ctx ends, so callers
// give it a deadline and fall back to SetPower(false).
type GracefulShutdowner interface {
	ShutdownGraceful(ctx context.Context, h Host) error
}

// BootDeviceSetter chooses the next boot device.
type BootDeviceSetter interface {
	SetBootDevice(ctx context.Context, h Host, b BootOverride) error
}

// RaidConfigurer builds the disk arrays (nil config: no RAID).
type RaidConfigurer interface {
	ConfigureRaid(ctx context.Context, h Host, cfg *metalplane.RaidConfig) error
}

// InstallSpec is everything the OS installation needs. It carries secrets:
// drivers must never log it.
type InstallSpec struct {
	InstanceID string
	ImageID    string // "" when booting ipxeUrl or installing later
	IpxeURL    string
	Hostname   string
	Partitions []metalplane.Partition
	Password   string
	PublicKeys []string
	Nic        metalplane.Nic
	UserData   string
	// Network is the instance's addresses, for the installed system.
	Network NetworkSpec
}

// Imager installs the operating system.
type Imager interface {
	InstallOS(ctx context.Context, h Host, spec InstallSpec) error
}

// NetworkSpec is the network an instance is attached to.
type NetworkSpec struct {
	PublicIPv4 string
	PublicIPv6 string
	PrivateIP  string
	SubnetID   string
	// BandwidthMbps caps public outbound traffic.
	BandwidthMbps int
	// BlockIPs are the CIDR block addresses bound to the instance
	// (BindCidrBlockIps), routed to its public interface besides the
	// primary addresses.
	BlockIPs []string
}

// NetworkAttacher configures switch ports and addresses.
type NetworkAttacher interface {
	AttachNetwork(ctx context.Context, h Host, n NetworkSpec) error
}

// Driver is a complete hardware driver.
type Driver interface {
	// Name is recorded with every event the driver causes.
	Name() string
	PowerSetter
	BootDeviceSetter
	RaidConfigurer
	Imager
	NetworkAttacher
}

// PermanentError marks a failure that retrying cannot fix (a broken disk,
// an injected fault): the provision fails at once.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return e.Reason }

// UnsupportedError says that a server's controller cannot do what a step
// asks (RAID on a BMC without a Storage service, a boot device it does not
// offer). Retrying cannot help, so it is permanent too.
type UnsupportedError struct {
	Driver string // the driver's Name
	What   string // the capability, e.g. "RAID"
	Reason string // what the controller lacks
}

func (e *UnsupportedError) Error() string {
	return e.Driver + ": " + e.What + " is unsupported by this controller: " + e.Reason
}

// IsPermanent reports whether err, or an error it wraps, is one that
// retrying cannot fix.
func IsPermanent(err error) bool {
	var perm *PermanentError
	var unsup *UnsupportedError
	var img *ImageError
	return errors.As(err, &perm) || errors.As(err, &unsup) || errors.As(err, &img)
}

// AwaitPower polls read every interval until it reports want, and fails
// when ctx ends first, saying what the controller reported last. Drivers
// use it so that a power call returns when the change has happened, not
// when the controller merely accepted it.
func AwaitPower(ctx context.Context, interval time.Duration, want PowerState, read func(context.Context) (PowerState, error)) error {
	last := PowerUnknown
	var lastErr error
	for {
		st, err := read(ctx)
		switch {
		case err == nil && st == want:
			return nil
		case err == nil:
			last, lastErr = st, nil
		case ctx.Err() == nil:
			// A read cut short by the deadline says nothing about the
			// server; keep what the previous read said.
			lastErr = err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			switch {
			case lastErr != nil && last == PowerUnknown:
				return fmt.Errorf("waiting for power %s: %w (last read failed: %v)", want, ctx.Err(), lastErr)
			case lastErr != nil:
				// What the server said last still matters more than a
				// read the busy controller did not answer.
				return fmt.Errorf("waiting for power %s: %w (still %s; a later read failed: %v)", want, ctx.Err(), last, lastErr)
			}
			return fmt.Errorf("waiting for power %s: %w (still %s)", want, ctx.Err(), last)
		case <-t.C:
		}
	}
}
