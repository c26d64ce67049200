// Package redfish drives a server through its BMC's Redfish service, with
// github.com/stmcginnis/gofish: power on, off, graceful shutdown, restart
// and status (ComputerSystem.Reset and PowerState), the boot source
// override, and RAID volumes through Storage/Volumes where the BMC offers
// them. It cannot install an operating system; the provisioning workflow
// gets that from another driver.
//
// A Driver talks to one ComputerSystem. Calls to it run one at a time
// (a BMC answers 409 Conflict to a reset while another is pending), each
// with HTTP Basic authentication: no session to leak or expire.
package redfish

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/metalplane/metalplane/provision"
)

// Defaults of Config.
const (
	DefaultTimeout      = time.Minute
	DefaultPollInterval = time.Second
)

// Config says which ComputerSystem a Driver talks to and how patiently.
type Config struct {
	Address Address
	// User overrides Address.User when set. Password comes from the
	// operator's secret store, never from logs or the address's String.
	User     string
	Password string
	// Timeout bounds each call, waiting for the power state or a RAID
	// task included; an earlier ctx deadline wins.
	Timeout time.Duration
	// PollInterval is how often the power state or a task is read while
	// waiting, and how long to wait before retrying a busy BMC.
	PollInterval time.Duration
	// TLSConfig verifies the BMC's certificate (for instance against the
	// operator's CA); nil uses the system roots. Address.Insecure wins.
	TLSConfig *tls.Config
	// Logger receives one debug line per call (never a password).
	Logger *slog.Logger
}

// Driver is the Redfish driver of one ComputerSystem.
type Driver struct {
	cfg   Config
	user  string
	http  *http.Client
	calls *provision.BMCCaller
}

var (
	_ provision.PowerSetter        = (*Driver)(nil)
	_ provision.PowerStateGetter   = (*Driver)(nil)
	_ provision.PowerCycler        = (*Driver)(nil)
	_ provision.GracefulShutdowner = (*Driver)(nil)
	_ provision.BootDeviceSetter   = (*Driver)(nil)
	_ provision.RaidConfigurer     = (*Driver)(nil)
)

// New returns the driver of the system cfg names. It does not contact the
// BMC.
func New(cfg Config) (*Driver, error) {
	a := cfg.Address
	if a.Scheme != "https" && a.Scheme != "http" || a.Host == "" || a.SystemPath == "" {
		return nil, errors.New("redfish: no BMC address")
	}
	user := cfg.User
	if user == "" {
		user = a.User
	}
	if user == "" {
		return nil, fmt.Errorf("redfish: no user for %s", a)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if a.Insecure {
		tlsConfig.InsecureSkipVerify = true
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Driver{
		cfg:  cfg,
		user: user,
		// No redirects: one could carry the Authorization header elsewhere.
		http:  &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		calls: provision.NewBMCCaller("redfish", cfg.Address, cfg.Timeout, cfg.Logger),
	}, nil
}

// Name is recorded with the events the driver causes.
func (d *Driver) Name() string { return "redfish" }

// String names the system without the password, so that printing a Driver
// with %v cannot leak it.
func (d *Driver) String() string { return "redfish driver for " + d.cfg.Address.String() }

// call connects under the call timeout, reads the system and runs fn.
func (d *Driver) call(ctx context.Context, h provision.Host, op string, fn func(context.Context, *gofish.APIClient, *schemas.ComputerSystem) error) error {
	return d.calls.Do(ctx, h, op, func(ctx context.Context) error {
		return d.withSystem(ctx, fn)
	})
}

func (d *Driver) withSystem(ctx context.Context, fn func(context.Context, *gofish.APIClient, *schemas.ComputerSystem) error) error {
	var c *gofish.APIClient
	var sys *schemas.ComputerSystem
	err := d.retryBusy(ctx, func() error {
		var err error
		c, err = gofish.ConnectContext(ctx, gofish.ClientConfig{
			Endpoint:          d.cfg.Address.Endpoint(),
			Username:          d.user,
			Password:          d.cfg.Password,
			BasicAuth:         true,
			HTTPClient:        d.http,
			NoModifyTransport: true,
			ReuseConnections:  true,
		})
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		sys, err = d.system(c)
		return err
	})
	if err != nil {
		return err
	}
	return fn(ctx, c, sys)
}

func (d *Driver) system(c *gofish.APIClient) (*schemas.ComputerSystem, error) {
	sys, err := schemas.GetComputerSystem(c, d.cfg.Address.SystemPath)
	if err != nil {
		return nil, fmt.Errorf("read system: %w", err)
	}
	return sys, nil
}

func powerState(s schemas.PowerState) provision.PowerState {
	switch s {
	case schemas.OnPowerState:
		return provision.PowerOn
	case schemas.OffPowerState:
		return provision.PowerOff
	}
	return provision.PowerUnknown
}

// PowerState implements provision.PowerStateGetter. Transitions
// (PoweringOn, PoweringOff) and Paused read as PowerUnknown.
func (d *Driver) PowerState(ctx context.Context, h provision.Host) (provision.PowerState, error) {
	var st provision.PowerState
	err := d.call(ctx, h, "power status", func(_ context.Context, _ *gofish.APIClient, sys *schemas.ComputerSystem) error {
		st = powerState(sys.PowerState)
		return nil
	})
	return st, err
}

// SetPower implements provision.PowerSetter with reset On and ForceOff; a
// system already in the wanted state gets no reset (many BMCs refuse an On
// to a system that is on).
func (d *Driver) SetPower(ctx context.Context, h provision.Host, on bool) error {
	if on {
		return d.call(ctx, h, "power on", func(ctx context.Context, c *gofish.APIClient, sys *schemas.ComputerSystem) error {
			return d.reset(ctx, c, sys, provision.PowerOn, schemas.OnResetType, schemas.ForceOnResetType)
		})
	}
	return d.call(ctx, h, "power off", func(ctx context.Context, c *gofish.APIClient, sys *schemas.ComputerSystem) error {
		return d.reset(ctx, c, sys, provision.PowerOff, schemas.ForceOffResetType)
	})
}

// ShutdownGraceful implements provision.GracefulShutdowner with reset
// GracefulShutdown.
func (d *Driver) ShutdownGraceful(ctx context.Context, h provision.Host) error {
	return d.call(ctx, h, "graceful shutdown", func(ctx context.Context, c *gofish.APIClient, sys *schemas.ComputerSystem) error {
		return d.reset(ctx, c, sys, provision.PowerOff, schemas.GracefulShutdownResetType)
	})
}

// PowerCycle implements provision.PowerCycler as ForceOff, wait for off,
// On, wait for on, as the IPMI driver does: after a ForceRestart the state
// reads "On" before and after, and "Off" in between, so neither its end
// nor the next call's reading can be trusted. A BMC that allows neither
// ForceOff nor On gets ForceRestart (or PowerCycle) and a wait for on.
func (d *Driver) PowerCycle(ctx context.Context, h provision.Host) error {
	return d.call(ctx, h, "power cycle", func(ctx context.Context, c *gofish.APIClient, sys *schemas.ComputerSystem) error {
		if _, err := d.resetType(sys, schemas.ForceOffResetType); err != nil {
			rt, err := d.resetType(sys, schemas.ForceRestartResetType, schemas.PowerCycleResetType)
			if err != nil {
				return err
			}
			if err := d.retryBusy(ctx, func() error { _, err := sys.Reset(rt); return err }); err != nil {
				return fmt.Errorf("reset %s: %w", rt, err)
			}
			return d.awaitPower(ctx, c, provision.PowerOn)
		}
		if err := d.reset(ctx, c, sys, provision.PowerOff, schemas.ForceOffResetType); err != nil {
			return err
		}
		// Read again: the reset above changed the state sys holds.
		sys, err := d.system(c)
		if err != nil {
			return err
		}
		return d.reset(ctx, c, sys, provision.PowerOn, schemas.OnResetType, schemas.ForceOnResetType)
	})
}

// reset sends the first of types the system allows, unless the system is
// in want already, and waits until it is.
func (d *Driver) reset(ctx context.Context, c *gofish.APIClient, sys *schemas.ComputerSystem, want provision.PowerState, types ...schemas.ResetType) error {
	if powerState(sys.PowerState) == want {
		return nil
	}
	rt, err := d.resetType(sys, types...)
	if err != nil {
		return err
	}
	if err := d.retryBusy(ctx, func() error { _, err := sys.Reset(rt); return err }); err != nil {
		return fmt.Errorf("reset %s: %w", rt, err)
	}
	return d.awaitPower(ctx, c, want)
}

// resetType picks the first of types the system lists as allowed (all,
// when it lists none).
func (d *Driver) resetType(sys *schemas.ComputerSystem, types ...schemas.ResetType) (schemas.ResetType, error) {
	allowed, err := sys.GetSupportedResetTypes()
	if err != nil {
		return "", fmt.Errorf("read allowed reset types: %w", err)
	}
	if len(allowed) == 0 {
		return types[0], nil
	}
	for _, t := range types {
		if slices.Contains(allowed, t) {
			return t, nil
		}
	}
	return "", &provision.UnsupportedError{Driver: d.Name(), What: fmt.Sprintf("reset %s", types[0]),
		Reason: fmt.Sprintf("the system allows only %v", allowed)}
}

func (d *Driver) awaitPower(ctx context.Context, c *gofish.APIClient, want provision.PowerState) error {
	return provision.AwaitPower(ctx, d.cfg.PollInterval, want, func(context.Context) (provision.PowerState, error) {
		sys, err := d.system(c)
		if err != nil {
			return provision.PowerUnknown, err
		}
		return powerState(sys.PowerState), nil
	})
}

// retryBusy runs fn again, every PollInterval until ctx ends, while the
// BMC answers 409 Conflict (another operation still running) or 503
// Service Unavailable (restarting, overloaded).
func (d *Driver) retryBusy(ctx context.Context, fn func() error) error {
	var busy error
	for {
		err := fn()
		var rerr *schemas.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &rerr) && (rerr.HTTPReturnedStatusCode == http.StatusConflict || rerr.HTTPReturnedStatusCode == http.StatusServiceUnavailable):
			busy = err
		case busy != nil && ctx.Err() != nil:
			// The deadline cut the last try short: say why it was needed.
			return fmt.Errorf("%w (the BMC stayed busy: %v)", ctx.Err(), busy)
		default:
			return err
		}
		t := time.NewTimer(d.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (the BMC stayed busy: %v)", ctx.Err(), busy)
		case <-t.C:
		}
	}
}

// SetBootDevice implements provision.BootDeviceSetter with the system's
// boot source override: Pxe or Hdd, Once or Continuous, UEFI or Legacy
// (left alone when neither the override nor the address names a mode).
func (d *Driver) SetBootDevice(ctx context.Context, h provision.Host, b provision.BootOverride) error {
	var target schemas.BootSource
	switch b.Device {
	case provision.BootPXE:
		target = schemas.PxeBootSource
	case provision.BootDisk:
		target = schemas.HddBootSource
	default:
		return &provision.UnsupportedError{Driver: d.Name(), What: "boot device " + b.Device.String(), Reason: "not a Redfish boot source"}
	}
	boot := &schemas.Boot{BootSourceOverrideTarget: target, BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled}
	if b.Persistent {
		boot.BootSourceOverrideEnabled = schemas.ContinuousBootSourceOverrideEnabled
	}
	mode := b.Mode
	if mode == provision.BootModeDefault {
		mode = d.cfg.Address.BootMode
	}
	switch mode {
	case provision.BootModeUEFI:
		boot.BootSourceOverrideMode = schemas.UEFIBootSourceOverrideMode
	case provision.BootModeLegacy:
		boot.BootSourceOverrideMode = schemas.LegacyBootSourceOverrideMode
	}
	return d.call(ctx, h, "boot device "+b.Device.String(), func(ctx context.Context, _ *gofish.APIClient, sys *schemas.ComputerSystem) error {
		if allowed := sys.Boot.AllowableBootSourceOverrideTargetValues; len(allowed) > 0 && !slices.Contains(allowed, target) {
			return &provision.UnsupportedError{Driver: d.Name(), What: "boot source " + string(target),
				Reason: fmt.Sprintf("the system allows only %v", allowed)}
		}
		return d.retryBusy(ctx, func() error { return sys.SetBoot(boot) })
	})
}
