// Package ipmi drives a server's baseboard management controller over IPMI
// LAN, with the pure-Go github.com/bougou/go-ipmi: power on, off, cycle,
// soft off and status, and the next boot device. It cannot build RAID or
// install an operating system; the provisioning workflow gets those from
// other drivers.
//
// A Driver talks to one BMC. Each call opens its own session and closes
// it, so nothing goes stale between calls, and calls to one BMC run one
// at a time, because BMCs have few session slots and a power-off must not
// interleave with a boot-device change.
package ipmi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/metalplane/metalplane/provision"
)

// Defaults of Config.
const (
	DefaultTimeout         = time.Minute
	DefaultExchangeTimeout = 2 * time.Second
	DefaultRetries         = 2
	DefaultPollInterval    = time.Second
)

// Config says which BMC a Driver talks to and how patiently.
type Config struct {
	Address Address
	// User overrides Address.User when set. Password comes from the
	// operator's secret store, never from logs or the address's String.
	User     string
	Password string
	// Timeout bounds each call, waiting for the power state included; an
	// earlier ctx deadline wins.
	Timeout time.Duration
	// ExchangeTimeout bounds one UDP request and its answer; Retries more
	// tries follow a timed-out exchange (UDP loses packets).
	ExchangeTimeout time.Duration
	Retries         int
	// PollInterval is how often the power state is read while waiting
	// for a change.
	PollInterval time.Duration
	// Logger receives one debug line per call (never a password).
	Logger *slog.Logger
}

// Driver is the IPMI driver of one BMC.
type Driver struct {
	cfg   Config
	user  string
	calls *provision.BMCCaller
}

var (
	_ provision.PowerSetter        = (*Driver)(nil)
	_ provision.PowerStateGetter   = (*Driver)(nil)
	_ provision.PowerCycler        = (*Driver)(nil)
	_ provision.GracefulShutdowner = (*Driver)(nil)
	_ provision.BootDeviceSetter   = (*Driver)(nil)
)

// New returns the driver of the BMC cfg names. It does not contact the BMC.
func New(cfg Config) (*Driver, error) {
	a := cfg.Address
	if a.Host == "" || a.Port == 0 {
		return nil, errors.New("ipmi: no BMC address")
	}
	if a.Interface != Lanplus && a.Interface != Lan {
		return nil, fmt.Errorf("ipmi: interface %q, want lanplus or lan", a.Interface)
	}
	if a.Interface == Lanplus && len(a.CipherSuites) == 0 {
		cfg.Address.CipherSuites = []uint8{DefaultCipherSuite}
	}
	user := cfg.User
	if user == "" {
		user = a.User
	}
	if user == "" {
		return nil, fmt.Errorf("ipmi: no user for %s", a)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ExchangeTimeout <= 0 {
		cfg.ExchangeTimeout = DefaultExchangeTimeout
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	return &Driver{cfg: cfg, user: user, calls: provision.NewBMCCaller("ipmi", cfg.Address, cfg.Timeout, cfg.Logger)}, nil
}

// Name is recorded with the events the driver causes.
func (d *Driver) Name() string { return "ipmi" }

// String names the BMC without its password, so that printing a Driver
// with %v cannot leak it.
func (d *Driver) String() string { return "ipmi driver for " + d.cfg.Address.String() }

// session runs fn in a new session with the BMC, under the call timeout.
func (d *Driver) session(ctx context.Context, h provision.Host, op string, fn func(context.Context, *client.Client) error) error {
	return d.calls.Do(ctx, h, op, func(ctx context.Context) error {
		return d.inSession(ctx, fn)
	})
}

func (d *Driver) inSession(ctx context.Context, fn func(context.Context, *client.Client) error) error {
	a := d.cfg.Address
	c, err := client.NewClient(a.Host, a.Port, d.user, d.cfg.Password)
	if err != nil {
		return err
	}
	c.WithTimeout(d.cfg.ExchangeTimeout).WithRetry(d.cfg.Retries)
	if a.Interface == Lan {
		c.WithInterface(client.InterfaceLan)
	} else {
		c.WithInterface(client.InterfaceLanplus)
		suites := make([]types.CipherSuiteID, len(a.CipherSuites))
		for i, s := range a.CipherSuites {
			suites[i] = types.CipherSuiteID(s)
		}
		c.WithCipherSuiteID(suites...)
	}
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer func() {
		// Close even when ctx has ended, briefly: a session left open
		// holds one of the BMC's few slots until it times out.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ExchangeTimeout)
		defer cancel()
		c.Close(closeCtx)
	}()
	return fn(ctx, c)
}

func readPower(c *client.Client) func(context.Context) (provision.PowerState, error) {
	return func(ctx context.Context) (provision.PowerState, error) {
		st, err := c.GetChassisStatus(ctx)
		if err != nil {
			return provision.PowerUnknown, fmt.Errorf("get chassis status: %w", err)
		}
		if st.PowerIsOn {
			return provision.PowerOn, nil
		}
		return provision.PowerOff, nil
	}
}

// control sends a chassis control command unless the server is in want
// already, then waits until it is.
func (d *Driver) control(ctx context.Context, c *client.Client, cmd chassis.ChassisControl, want provision.PowerState) error {
	read := readPower(c)
	now, err := read(ctx)
	if err != nil {
		return err
	}
	if now == want {
		return nil
	}
	if _, err := c.ChassisControl(ctx, cmd); err != nil {
		return fmt.Errorf("chassis control %d: %w", cmd, err)
	}
	return provision.AwaitPower(ctx, d.cfg.PollInterval, want, read)
}

// PowerState implements provision.PowerStateGetter.
func (d *Driver) PowerState(ctx context.Context, h provision.Host) (provision.PowerState, error) {
	var st provision.PowerState
	err := d.session(ctx, h, "power status", func(ctx context.Context, c *client.Client) error {
		var err error
		st, err = readPower(c)(ctx)
		return err
	})
	return st, err
}

// SetPower implements provision.PowerSetter: power up, or a hard power
// down; a server already in the wanted state gets no command.
func (d *Driver) SetPower(ctx context.Context, h provision.Host, on bool) error {
	if on {
		return d.session(ctx, h, "power on", func(ctx context.Context, c *client.Client) error {
			return d.control(ctx, c, chassis.ChassisControlPowerUp, provision.PowerOn)
		})
	}
	return d.session(ctx, h, "power off", func(ctx context.Context, c *client.Client) error {
		return d.control(ctx, c, chassis.ChassisControlPowerDown, provision.PowerOff)
	})
}

// ShutdownGraceful implements provision.GracefulShutdowner with the
// chassis "soft shutdown" (an ACPI power-button press).
func (d *Driver) ShutdownGraceful(ctx context.Context, h provision.Host) error {
	return d.session(ctx, h, "soft off", func(ctx context.Context, c *client.Client) error {
		return d.control(ctx, c, chassis.ChassisControlSoftShutdown, provision.PowerOff)
	})
}

// PowerCycle implements provision.PowerCycler as power down, wait for off,
// power up, wait for on, as Ironic does. The BMC's own "power cycle" would
// give no sign of its end (the state reads "on" before and after), and
// BMCs refuse it for a server that is off.
func (d *Driver) PowerCycle(ctx context.Context, h provision.Host) error {
	return d.session(ctx, h, "power cycle", func(ctx context.Context, c *client.Client) error {
		if err := d.control(ctx, c, chassis.ChassisControlPowerDown, provision.PowerOff); err != nil {
			return err
		}
		return d.control(ctx, c, chassis.ChassisControlPowerUp, provision.PowerOn)
	})
}

// SetBootDevice implements provision.BootDeviceSetter with the "boot
// flags" boot option: device, once or persistent, legacy or EFI.
func (d *Driver) SetBootDevice(ctx context.Context, h provision.Host, b provision.BootOverride) error {
	var dev types.BootDeviceSelector
	switch b.Device {
	case provision.BootPXE:
		dev = types.BootDeviceSelectorForcePXE
	case provision.BootDisk:
		dev = types.BootDeviceSelectorForceHardDrive
	default:
		return &provision.UnsupportedError{Driver: d.Name(), What: "boot device " + b.Device.String(), Reason: "not an IPMI boot device"}
	}
	mode := b.Mode
	if mode == provision.BootModeDefault {
		mode = d.cfg.Address.BootMode
	}
	// IPMI has no "keep the current mode": the flag is in the same byte as
	// the device. Legacy is ipmitool's default too; UEFI servers need
	// boot=uefi in their address, or some BMCs switch them to legacy.
	bootType := types.BIOSBootTypeLegacy
	if mode == provision.BootModeUEFI {
		bootType = types.BIOSBootTypeEFI
	}
	op := fmt.Sprintf("boot device %s", b.Device)
	return d.session(ctx, h, op, func(ctx context.Context, c *client.Client) error {
		return c.SetBootDevice(ctx, dev, bootType, b.Persistent)
	})
}
