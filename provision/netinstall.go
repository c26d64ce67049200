package provision

import (
	"context"
	"time"
)

// NetInstaller installs the operating system of a server behind a BMC
// over the network (package netboot): it boots the server into the deploy
// agent through the BMC, waits for the agent to write the image and the
// seed, and leaves the server off, set to boot from its disk.
type NetInstaller interface {
	// Install installs spec on the server h whose provisioning NIC has
	// the MAC mac. Errors the server is not to blame for (a broken
	// image) are *ImageError.
	Install(ctx context.Context, bmc BMCDriver, h Host, mac string, spec InstallSpec) error
	// Timeout bounds one installation, boot and writing included.
	Timeout() time.Duration
}

// ImageError is a failure of an installation that the server is not to
// blame for (an image whose checksum does not match, one larger than the
// disk): permanent, and the server goes back to stock. Reason is safe to
// show the tenant.
type ImageError struct{ Reason string }

func (e *ImageError) Error() string { return e.Reason }

// stepTimeouter is a driver with a step that takes longer than its
// others (the network installation of an OS).
type stepTimeouter interface {
	StepTimeout(step string) time.Duration
}
