package provision

import (
	"context"

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

// PowerSetter switches a server on or off.
type PowerSetter interface {
	SetPower(ctx context.Context, h Host, on bool) error
}

// BootDeviceSetter chooses the next boot device.
type BootDeviceSetter interface {
	SetBootDevice(ctx context.Context, h Host, dev BootDevice) error
}

// RaidConfigurer builds the disk arrays (nil config: no RAID).
type RaidConfigurer interface {
	ConfigureRaid(ctx context.Context, h Host, cfg *metalplane.RaidConfig) error
}

// InstallSpec is everything the OS installation needs. It carries secrets:
// drivers must never log it.
type InstallSpec struct {
	ImageID    string // "" when booting ipxeUrl or installing later
	IpxeURL    string
	Hostname   string
	Partitions []metalplane.Partition
	Password   string
	PublicKeys []string
	Nic        metalplane.Nic
	UserData   string
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
