package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Each host names its driver (sqlstore.HostAccess): "sim" for simulated
// hosts, or a BMC protocol (ipmi, redfish) with the BMC's address and
// password. The provisioner keeps one driver per BMC, built on first use
// and rebuilt when the host's address or password changes, so that every
// call to one BMC from this process (workers, power sync) goes through
// one BMCCaller: one call at a time.

// BMCConfig is what opens the driver of one BMC.
type BMCConfig struct {
	// Address is the BMC's address as stored, without password.
	Address  string
	Password string
	// Timeout bounds each call; PollInterval is how often a power change
	// is checked (0: the driver's defaults).
	Timeout      time.Duration
	PollInterval time.Duration
	Logger       *slog.Logger
}

// BMCDriver is what every driver of a baseboard controller does: power,
// power state and next boot device. Some do more (RaidConfigurer).
type BMCDriver interface {
	Name() string
	PowerSetter
	PowerStateGetter
	BootDeviceSetter
}

// BMCProtocol is one family of BMCs: the URL schemes of its addresses, how
// to read one, and how to open a driver. Each driver package exports its
// own (ipmi.Protocol, redfish.Protocol); the program wires the list.
type BMCProtocol struct {
	// Name is the driver name stored with each host.
	Name    string
	Schemes []string
	// Parse reads an address and returns its canonical form (without
	// password) and the password it held, if any. Its errors never quote
	// the address.
	Parse func(raw string) (address, password string, err error)
	Open  func(BMCConfig) (BMCDriver, error)
}

// ParsedBMC is a BMC address read by its protocol.
type ParsedBMC struct {
	Driver  string
	Address string // canonical, without password
	// Password is the one written in the address, if any: callers
	// refuse it where passwords do not belong (catalog, command line).
	Password string
}

// ParseBMC reads a BMC address with the protocol its scheme names.
func ParseBMC(raw string, protocols []BMCProtocol) (ParsedBMC, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return ParsedBMC{}, errors.New("a BMC address is a URL such as ipmi://admin@10.0.0.5 or redfish+https://root@10.0.0.6/redfish/v1/Systems/1")
	}
	var names []string
	for _, p := range protocols {
		for _, s := range p.Schemes {
			names = append(names, s)
			if strings.EqualFold(s, scheme) {
				addr, pw, err := p.Parse(raw)
				if err != nil {
					return ParsedBMC{}, err
				}
				return ParsedBMC{Driver: p.Name, Address: addr, Password: pw}, nil
			}
		}
	}
	return ParsedBMC{}, fmt.Errorf("BMC address scheme %q: want one of %s", scheme, strings.Join(names, ", "))
}

// hostDrivers finds the driver of each host.
type hostDrivers struct {
	sim       Driver
	protocols map[string]BMCProtocol
	config    BMCConfig // without address and password

	// installer installs OSes over the network, nil when not set up.
	installer NetInstaller

	mu    sync.Mutex
	cache map[string]cachedDriver // by host id
}

type cachedDriver struct {
	fingerprint string
	driver      *bmcHost
}

func newHostDrivers(sim Driver, protocols []BMCProtocol, config BMCConfig) *hostDrivers {
	h := &hostDrivers{sim: sim, protocols: map[string]BMCProtocol{}, config: config, cache: map[string]cachedDriver{}}
	for _, p := range protocols {
		h.protocols[p.Name] = p
	}
	return h
}

// forHost returns the driver of a host: the simulator for simulated
// hosts, else the one of its BMC.
func (h *hostDrivers) forHost(a *sqlstore.HostAccess) (Driver, error) {
	if a.Driver == sqlstore.DriverSim {
		return h.sim, nil
	}
	return h.bmc(a)
}

func (h *hostDrivers) bmc(a *sqlstore.HostAccess) (*bmcHost, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.cache[a.ID]; ok && c.fingerprint == a.Fingerprint {
		return c.driver, nil
	}
	p, ok := h.protocols[a.Driver]
	if !ok {
		return nil, &PermanentError{Reason: fmt.Sprintf("host %s: this server has no driver %q", a.ID, a.Driver)}
	}
	cfg := h.config
	cfg.Address, cfg.Password = a.BMCAddress, a.Password
	d, err := p.Open(cfg)
	if err != nil {
		return nil, &PermanentError{Reason: fmt.Sprintf("host %s: open its %s driver: %v", a.ID, a.Driver, err)}
	}
	b := &bmcHost{BMCDriver: d, mac: a.MAC, installer: h.installer}
	h.cache[a.ID] = cachedDriver{fingerprint: a.Fingerprint, driver: b}
	return b, nil
}

// bmcHost is the Driver of a server behind a BMC: power and boot device
// through the BMC, RAID where its driver can build it. The OS installation
// and the switch ports are not the BMC's: metalplane has no installer or
// switch driver yet, so those steps do nothing here and say so
// (StepNote); the server installs itself from the network boot the
// operator's PXE service gives it after the final power-on.
type bmcHost struct {
	BMCDriver
	// mac is the provisioning NIC's; with an installer, install_os
	// installs the OS over the network (netinstall.go).
	mac       string
	installer NetInstaller
}

// netInstalls reports whether install_os installs the OS over the
// network on this server.
func (b *bmcHost) netInstalls() bool { return b.installer != nil && b.mac != "" }

// StepTimeout implements stepTimeouter: a network installation is bounded
// by the installer's timeout, not by one BMC call's.
func (b *bmcHost) StepTimeout(step string) time.Duration {
	if step == StepInstallOS && b.netInstalls() {
		return b.installer.Timeout()
	}
	return 0
}

var (
	_ Driver           = (*bmcHost)(nil)
	_ PowerStateGetter = (*bmcHost)(nil)
)

// ConfigureRaid implements RaidConfigurer: the BMC driver's, where it has
// one; without, asking for no RAID is nothing to do and asking for RAID is
// unsupported.
func (b *bmcHost) ConfigureRaid(ctx context.Context, h Host, cfg *metalplane.RaidConfig) error {
	if r, ok := b.BMCDriver.(RaidConfigurer); ok {
		return r.ConfigureRaid(ctx, h, cfg)
	}
	if cfg == nil {
		return nil
	}
	return &UnsupportedError{Driver: b.Name(), What: "RAID", Reason: "the " + b.Name() + " protocol has no RAID configuration"}
}

// InstallOS implements Imager: over the network when the server can be
// (netInstalls), else nothing (see bmcHost).
func (b *bmcHost) InstallOS(ctx context.Context, h Host, spec InstallSpec) error {
	if b.netInstalls() {
		return b.installer.Install(ctx, b.BMCDriver, h, b.mac, spec)
	}
	return nil
}

// AttachNetwork implements NetworkAttacher: nothing (see bmcHost).
func (b *bmcHost) AttachNetwork(ctx context.Context, h Host, n NetworkSpec) error { return nil }

// StepNote says what a step that did nothing left to others; it is
// recorded with the step.
func (b *bmcHost) StepNote(step string) string {
	switch step {
	case StepInstallOS:
		if b.netInstalls() {
			return ""
		}
		return "not done by metalplane: the server installs its OS from the network boot that follows the power-on (the operator's PXE service)"
	case StepNetwork:
		return "not done by metalplane: no switch driver; the server's ports are configured outside"
	}
	return ""
}

// stepNoter is a driver with notes on steps it leaves to others.
type stepNoter interface {
	StepNote(step string) string
}

// instanceDriver returns the host of a live instance and its driver;
// sqlstore.ErrNotFound when the instance is released.
func (p *Provisioner) instanceDriver(ctx context.Context, instanceID string) (string, Driver, error) {
	a, err := p.db.FindInstanceHostAccess(ctx, instanceID)
	if err != nil {
		return "", nil, err
	}
	d, err := p.hosts.forHost(a)
	return a.ID, d, err
}

// driverOf returns the driver of an instance's host.
func (p *Provisioner) driverOf(ctx context.Context, hostID string) (Driver, error) {
	a, err := p.db.FindHostAccess(ctx, hostID)
	if err != nil {
		return nil, err
	}
	return p.hosts.forHost(a)
}

// NewBMCProtocol builds the BMCProtocol of a driver package from its
// address parser (which returns the address without password, and the
// password apart) and its constructor.
func NewBMCProtocol[A fmt.Stringer](name string, schemes []string, parse func(string) (A, string, error),
	open func(A, BMCConfig) (BMCDriver, error)) BMCProtocol {
	return BMCProtocol{
		Name:    name,
		Schemes: schemes,
		Parse: func(raw string) (string, string, error) {
			a, password, err := parse(raw)
			if err != nil {
				return "", "", err
			}
			return a.String(), password, nil
		},
		Open: func(cfg BMCConfig) (BMCDriver, error) {
			a, _, err := parse(cfg.Address)
			if err != nil {
				return nil, err
			}
			return open(a, cfg)
		},
	}
}
