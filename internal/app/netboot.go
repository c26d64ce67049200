package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/metalplane/metalplane/netboot"
	"github.com/metalplane/metalplane/provision"
)

// NetbootConfig is the provisioning listener's part of Config
// (docs/hardware.md, "Network boot").
type NetbootConfig struct {
	// Listen is the provisioning listener's address (plain HTTP, on the
	// provisioning network); "" = no listener and no network
	// installation: servers behind a BMC install themselves, as before.
	Listen string
	// URL is how servers reach the listener, e.g. http://10.0.0.1:8081;
	// without a port, the listener's is added (tests listen on port 0);
	// "" = http:// and the listen address.
	URL string
	// RamdiskDir holds vmlinuz and initrd.gz (make ramdisk); "" =
	// DataDir/ramdisk.
	RamdiskDir string
	// KernelArgs are added to the deploy kernel's command line.
	KernelArgs string
	// InstallTimeout bounds one installation (0: netboot's default).
	InstallTimeout time.Duration
	// PowerOffWait is how long the agent is given to power the server
	// off after its last report (0: netboot's default).
	PowerOffWait time.Duration
}

// netInstaller is the installer the workers use, nil when there is no
// provisioning listener.
func (a *App) netInstaller() provision.NetInstaller {
	if a.Config.Netboot.Listen == "" {
		return nil
	}
	return &netboot.Installer{DB: a.DB, Images: a.Catalog.FindImage, InstallTimeout: a.Config.Netboot.InstallTimeout,
		PowerOffWait: a.Config.Netboot.PowerOffWait, Logger: a.Config.Logger}
}

// startNetboot listens on the provisioning listener, if there is one.
func (a *App) startNetboot() error {
	cfg := a.Config.Netboot
	if cfg.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("provisioning listener: %w", err)
	}
	base, err := advertisedURL(cfg.URL, ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		ln.Close()
		return err
	}
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	dir := cfg.RamdiskDir
	if dir == "" {
		dir = filepath.Join(a.Config.DataDir, "ramdisk")
	}
	srv := &netboot.Server{DB: a.DB, BaseURL: base, RamdiskDir: dir, DataDir: a.Config.DataDir, KernelArgs: cfg.KernelArgs, Logger: a.Config.Logger}
	a.netboot = netboot.NewHTTPServer(srv.Handler(), a.Config.Logger)
	a.netbootLn = ln
	a.netbootURL = base
	a.netbootServed = make(chan error, 1)
	go func() { a.netbootServed <- a.netboot.Serve(ln) }()
	return nil
}

// advertisedURL completes the URL servers reach the listener by with the
// listener's port when it names none.
func advertisedURL(raw string, port int) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("provisioning URL %q: want http://HOST[:PORT]", raw)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), fmt.Sprint(port))
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath(), nil
}

// NetbootURL is how servers reach the provisioning listener, "" without.
func (a *App) NetbootURL() string { return a.netbootURL }

func (a *App) closeNetboot(ctx context.Context) error {
	if a.netboot == nil {
		return nil
	}
	err := a.netboot.Shutdown(ctx)
	if serr := <-a.netbootServed; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
