package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/limit"
	"github.com/metalplane/metalplane/netboot"
	"github.com/metalplane/metalplane/provision"
)

// ServeConfig is everything `metalplane serve` reads from its flags and the
// environment.
type ServeConfig struct {
	DB            dbFlags
	Listen        string
	CatalogPath   string
	TLSCert       string
	TLSKey        string
	SelfSignedTLS bool
	// NoMigrate makes serve refuse an out-of-date schema instead of
	// migrating it, for replicas whose schema a deploy step migrates.
	NoMigrate       bool
	LogLevel        slog.Level
	LogFormat       string // "text" or "json"
	ShutdownTimeout time.Duration
	// DemoAccessKeyID and DemoAccessKeySecret come only from the
	// environment (METALPLANE_ACCESS_KEY_ID/SECRET), never from flags, so
	// the secret does not show in the process list.
	DemoAccessKeyID     string
	DemoAccessKeySecret string
	// SecretKeyFile holds the key that seals secrets in the database.
	SecretKeyFile string
	// Getenv reads the variables the catalog names for BMC passwords.
	Getenv func(string) string

	// Provision holds the provisioning settings (driver, simulated step
	// delays, worker counts). See ProvisionFlags for how to add one.
	Provision ProvisionFlags
	// Edge holds the connection caps and rate limits.
	Edge app.EdgeLimits
	// PprofListen, when set, serves Go's profiles there (cmd/metalplane/pprof.go).
	PprofListen string
	// MetricsListen is where /metrics is served; "" = nowhere.
	MetricsListen string
	// ConsoleOperatorTeam is the team whose admin keys are the console's
	// operators.
	ConsoleOperatorTeam string
}

// registerEdgeFlags defines the flags of the limits on clients, defaulting
// to app.DefaultEdgeLimits.
func registerEdgeFlags(fs *flag.FlagSet, e *app.EdgeLimits) {
	d := app.DefaultEdgeLimits
	fs.IntVar(&e.MaxConnections, "max-connections", d.MaxConnections, "open connections at most; further clients wait (0: no cap)")
	fs.IntVar(&e.MaxConnectionsPerSource, "max-connections-per-source", d.MaxConnectionsPerSource, "open connections at most from one IPv4 address or IPv6 /64; further ones are closed at once (0: no cap)")
	rateFlags := func(name, what string, r *limit.Rate, def limit.Rate) {
		fs.Float64Var(&r.PerSecond, name, def.PerSecond, what+" per second, per replica (0: no limit)")
		fs.IntVar(&r.Burst, name+"-burst", def.Burst, "how many of --"+name+" may come at once")
	}
	rateFlags("rate-limit-key", "API requests of one access key or bearer token", &e.RateLimits.PerKey, d.RateLimits.PerKey)
	rateFlags("rate-limit-source", "API requests from one IPv4 address or IPv6 /64", &e.RateLimits.PerSource, d.RateLimits.PerSource)
	rateFlags("rate-limit-auth-failures", "failed authentications (401) from one IPv4 address or IPv6 /64; beyond them all its requests get 429", &e.RateLimits.AuthFailures, d.RateLimits.AuthFailures)
}

// checkEdgeFlags refuses limits that make no sense.
func checkEdgeFlags(e app.EdgeLimits) error {
	if e.MaxConnections < 0 || e.MaxConnectionsPerSource < 0 {
		return errors.New("--max-connections and --max-connections-per-source must not be negative")
	}
	for name, r := range map[string]limit.Rate{"rate-limit-key": e.RateLimits.PerKey, "rate-limit-source": e.RateLimits.PerSource, "rate-limit-auth-failures": e.RateLimits.AuthFailures} {
		if r.PerSecond < 0 || (r.PerSecond > 0 && r.Burst < 1) {
			return fmt.Errorf("--%s must not be negative, and --%s-burst must be at least 1 when it is set", name, name)
		}
	}
	return nil
}

// ProvisionFlags are the provisioning settings of serve. Each flag also
// reads its METALPLANE_* environment variable (see envNames).
type ProvisionFlags struct {
	// SimStepDelay is how long each simulated step takes (0: as fast as
	// the machine allows).
	SimStepDelay time.Duration
	// StepTimeout bounds one driver call; a step that hangs longer is
	// abandoned and the job retried (0: a default from the step delay).
	StepTimeout time.Duration
	// Workers is how many instances this process provisions at once.
	Workers int
	// NoWorkers makes this process serve the API only.
	NoWorkers bool
	// PeriodicInterval is how often the clock sweep runs.
	PeriodicInterval time.Duration
	// BMCTimeout bounds one call to a server's BMC.
	BMCTimeout time.Duration
	// PowerSyncInterval is how often every BMC's power state is read.
	PowerSyncInterval time.Duration
	// Netboot is the provisioning listener (docs/hardware.md).
	Netboot app.NetbootConfig
	// ImageRefresh is how often images added on the database are read.
	ImageRefresh time.Duration
}

// registerProvisionFlags defines the provisioning flags.
func registerProvisionFlags(fs *flag.FlagSet, p *ProvisionFlags) {
	fs.DurationVar(&p.SimStepDelay, "sim-step-delay", app.DefaultSimStepDelay, "time each of the six simulated provisioning steps takes (0: as fast as possible)")
	fs.DurationVar(&p.StepTimeout, "provision-step-timeout", 0, "longest a provisioning step may take before it is retried (0: 10s + 4 × sim-step-delay)")
	fs.IntVar(&p.Workers, "workers", 0, "instances this process provisions at once (0: 100)")
	fs.BoolVar(&p.NoWorkers, "no-workers", false, "serve the API only; other processes on the same database provision")
	fs.DurationVar(&p.PeriodicInterval, "periodic-interval", time.Minute, "how often hourly charges, PREPAID expiries and recycle-bin releases are swept and stranded instances resumed or failed (one process of those on a database does it)")
	fs.DurationVar(&p.BMCTimeout, "bmc-timeout", provision.DefaultBMCTimeout, "longest one call to a server's BMC may take, power change included, before the step is retried (hosts with an ipmi or redfish driver)")
	fs.DurationVar(&p.PowerSyncInterval, "power-sync-interval", provision.DefaultPowerSyncInterval, "how often every enrolled host's BMC is asked for its power state, recording drift (0 or negative: never; one process of those on a database does it)")
	fs.StringVar(&p.Netboot.Listen, "provision-listen", "", "address of the provisioning listener (plain HTTP on the provisioning network: iPXE scripts, deploy ramdisk, images, metadata); empty: servers behind a BMC are not installed over the network")
	fs.StringVar(&p.Netboot.URL, "provision-url", "", "URL servers reach the provisioning listener by, e.g. http://10.0.0.1:8081 (no port: the listener's; empty: http:// and --provision-listen)")
	fs.StringVar(&p.Netboot.RamdiskDir, "ramdisk-dir", "", "directory holding the deploy ramdisk's vmlinuz and initrd.gz, from make ramdisk (empty: DATA-DIR/ramdisk)")
	fs.StringVar(&p.Netboot.KernelArgs, "ramdisk-kernel-args", "console=tty0 console=ttyS0,115200", "extra command line of the deploy kernel")
	fs.DurationVar(&p.ImageRefresh, "image-refresh-interval", app.DefaultImageRefreshInterval, "how often the images added with admin images add are read from the database (negative: only at start)")
	fs.DurationVar(&p.Netboot.InstallTimeout, "install-timeout", netboot.DefaultInstallTimeout, "longest a network installation may take, from power-on to the agent's last report, before it is retried")
}

// AppConfig returns the app configuration of the server.
func (c *ServeConfig) AppConfig(logger *slog.Logger) app.Config {
	return app.Config{
		Listen:              c.Listen,
		DataDir:             c.DB.DataDir,
		Database:            c.DB.Database,
		CatalogPath:         c.CatalogPath,
		TLSCert:             c.TLSCert,
		TLSKey:              c.TLSKey,
		SelfSignedTLS:       c.SelfSignedTLS,
		DemoAccessKeyID:     c.DemoAccessKeyID,
		DemoAccessKeySecret: c.DemoAccessKeySecret,
		SecretKeyFile:       c.SecretKeyFile,
		Logger:              logger,
		Migrate:             !c.NoMigrate,
		SimStepDelay:        c.Provision.SimStepDelay,
		StepTimeout:         c.Provision.StepTimeout,
		Workers:             c.Provision.Workers,
		NoWorkers:           c.Provision.NoWorkers,
		PeriodicInterval:    c.Provision.PeriodicInterval,
		BMCTimeout:          c.Provision.BMCTimeout,
		PowerSyncInterval:   powerSyncInterval(c.Provision.PowerSyncInterval),
		Getenv:              c.Getenv,
		Edge:                c.Edge,
		MetricsListen:       c.MetricsListen,
		ConsoleOperatorTeam: c.ConsoleOperatorTeam,
		Netboot:             c.Provision.Netboot,
		ImageRefresh:        c.Provision.ImageRefresh,
	}
}

// powerSyncInterval maps the flag's "0: never" to the app's "negative:
// never" (the app reads 0 as its default).
func powerSyncInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// parseServe reads the serve configuration from args and the environment.
func (m *Main) parseServe(args []string) (*ServeConfig, error) {
	cfg := &ServeConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.DB.register(fs)
	fs.StringVar(&cfg.Listen, "listen", defaultListen, "address to listen on (host:port; port 0 picks a free one)")
	fs.StringVar(&cfg.CatalogPath, "catalog", "", "catalog YAML file: zones, instance types, images, offers, hosts (default: the embedded demo catalog)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS with --tls-key")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&cfg.SelfSignedTLS, "tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in the data dir (tls.crt)")
	fs.BoolVar(&cfg.NoMigrate, "no-migrate", false, "do not migrate the database; refuse to start if its schema is out of date")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format on stderr: text or json")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a graceful shutdown waits for requests and provisioning steps in flight (a step still running then is cancelled and its job handed back)")
	fs.StringVar(&cfg.PprofListen, "pprof-listen", "", "serve Go's CPU, heap, block and mutex profiles at http://ADDR/debug/pprof/ (host:port; off when empty; never on a public address)")
	registerSecretKeyFlag(fs, &cfg.SecretKeyFile)
	registerProvisionFlags(fs, &cfg.Provision)
	registerEdgeFlags(fs, &cfg.Edge)
	fs.StringVar(&cfg.ConsoleOperatorTeam, "console-operator-team", "", "team (id or name) whose admin keys see the web console's operator pages: stock, hosts, faults, teams (default: none)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve Prometheus /metrics on this address (host:port), apart from the API; keep it private (default: off)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: metalplane serve [flags]\n\nRuns the API server. METALPLANE_ACCESS_KEY_ID and METALPLANE_ACCESS_KEY_SECRET,\nwhen both are set, become the demo team's access key.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := m.parseFlags(fs, args, envNames(fs))
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		fs.Usage()
		return nil, fmt.Errorf("serve takes no arguments, got %q", rest)
	}
	cfg.Getenv = m.getenv
	cfg.DemoAccessKeyID = m.getenv("METALPLANE_ACCESS_KEY_ID")
	cfg.DemoAccessKeySecret = m.getenv("METALPLANE_ACCESS_KEY_SECRET")
	if (cfg.DemoAccessKeyID == "") != (cfg.DemoAccessKeySecret == "") {
		return nil, errors.New("set both METALPLANE_ACCESS_KEY_ID and METALPLANE_ACCESS_KEY_SECRET, or neither")
	}
	if cfg.DemoAccessKeySecret != "" {
		if err := metalplane.ValidateAccessKeySecret(cfg.DemoAccessKeySecret); err != nil {
			return nil, fmt.Errorf("METALPLANE_ACCESS_KEY_SECRET: %w", err)
		}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if cfg.SelfSignedTLS && cfg.TLSCert != "" {
		return nil, errors.New("--tls-self-signed and --tls-cert exclude each other")
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return nil, fmt.Errorf("--log-format must be text or json, got %q", cfg.LogFormat)
	}
	if err := checkEdgeFlags(cfg.Edge); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(w io.Writer, cfg *ServeConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runServe runs the server until ctx is done, then shuts it down.
func (m *Main) runServe(ctx context.Context, args []string) error {
	cfg, err := m.parseServe(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := newLogger(m.Stderr, cfg)
	if cfg.PprofListen != "" {
		stop, err := startPprof(cfg.PprofListen, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	a, err := app.Open(ctx, cfg.AppConfig(logger))
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(err, a.Close(closeCtx))
	}
	m.printBanner(a, cfg)
	// The secret goes to stdout in the banner only; slog sees the key id.
	logger.Info("metalplane serving", "url", a.URL(), "database", describeDSN(cfg.DB.DSN()))
	if m.ReadyFunc != nil {
		m.ReadyFunc(a)
	}

	var failed error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	case failed = <-a.Failed():
		logger.Error("shutting down", "err", failed, "timeout", cfg.ShutdownTimeout)
	}
	// ctx may be cancelled: the shutdown gets a fresh deadline of its own.
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := a.Close(closeCtx); err != nil {
		return errors.Join(failed, fmt.Errorf("shutdown: %w", err))
	}
	if failed != nil {
		return failed
	}
	logger.Info("stopped")
	return nil
}

// printBanner tells the operator where the server is and how to call it.
// The demo key's password is printed here once, when this start created it.
func (m *Main) printBanner(a *app.App, cfg *ServeConfig) {
	w := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "metalplane is serving the Zenlayer Cloud API 2.0 at %s\n", a.URL())
	fmt.Fprintf(w, "  endpoints:\t%s/api/v2/bmc, %s/api/v2/ccs, %s/healthz\n", a.URL(), a.URL(), a.URL())
	fmt.Fprintf(w, "  web console:\t%s/console/\n", a.URL())
	fmt.Fprintf(w, "  database:\t%s\n", describeDSN(cfg.DB.DSN()))
	fmt.Fprintf(w, "  catalog:\t%s\n", catalogSummary(a, cfg.CatalogPath))
	if u := a.MetricsURL(); u != "" {
		fmt.Fprintf(w, "  metrics:\t%s\n", u)
	}
	if a.CertFile != "" {
		note := ""
		if cfg.SelfSignedTLS {
			note = " (self-signed: clients must trust it)"
		}
		fmt.Fprintf(w, "  TLS certificate:\t%s%s\n", absPath(a.CertFile), note)
	}
	credFile := filepath.Join(cfg.DB.DataDir, app.CredentialsFile)
	switch {
	case a.Credentials != nil && cfg.DemoAccessKeyID == "":
		fmt.Fprintf(w, "\nA demo team %q was created with this access key (the password is shown only now):\n", app.DemoTeamName)
		fmt.Fprintf(w, "  access key id:\t%s\n", a.Credentials.ID)
		fmt.Fprintf(w, "  access key password:\t%s\n", a.Credentials.Secret)
		fmt.Fprintf(w, "  saved in:\t%s (mode 0600)\n", absPath(credFile))
	case a.Credentials != nil:
		fmt.Fprintf(w, "\nAccess key %s from METALPLANE_ACCESS_KEY_ID was added to the demo team %q.\n", a.Credentials.ID, app.DemoTeamName)
	default:
		if _, err := os.Stat(credFile); err == nil {
			fmt.Fprintf(w, "\nDemo credentials:\t%s\n", absPath(credFile))
		}
	}
	fmt.Fprintf(w, "\nFirst call:\t%s\n", callHint(a, cfg))
}

// catalogSummary counts what the catalog offers.
func catalogSummary(a *app.App, path string) string {
	c := a.Catalog
	hosts := c.TotalHosts()
	source := "embedded demo catalog"
	if path != "" {
		source = path
	}
	return fmt.Sprintf("%s: %d zones, %d instance types, %d images, %d offers, %d hosts (%d with a BMC)",
		source, len(c.Zones), len(c.InstanceTypes), len(c.Images), len(c.Offers), hosts, len(c.Hosts))
}

// callHint is the `metalplane call` command line that reaches this server.
func callHint(a *app.App, cfg *ServeConfig) string {
	parts := []string{"metalplane call"}
	if u := a.URL(); u != "http://"+defaultListen {
		parts = append(parts, "--endpoint "+u)
	}
	if filepath.Clean(cfg.DB.DataDir) != filepath.Clean(defaultDataDir) && cfg.DemoAccessKeyID == "" {
		parts = append(parts, "--data-dir "+cfg.DB.DataDir)
	}
	if a.CertFile != "" {
		parts = append(parts, "--ca-cert "+a.CertFile)
	}
	return strings.Join(append(parts, "DescribeZones '{}'"), " ")
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
