// Package app wires metalplane together: database, catalog, API server and
// provisioning workers. cmd/metalplane and the tests boot the same App.
package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/console"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/limit"
	"github.com/metalplane/metalplane/internal/metrics"
	"github.com/metalplane/metalplane/provision"
	"github.com/metalplane/metalplane/provision/sim"
	"github.com/metalplane/metalplane/sqlstore"
)

// Config is everything `metalplane serve` can be told.
type Config struct {
	Listen   string // host:port; ":0" picks a free port
	DataDir  string
	Database string // "" = SQLite file in DataDir; or postgres:// URL
	// CatalogPath is a catalog YAML file; "" = the embedded demo catalog.
	CatalogPath string
	TLSCert     string
	TLSKey      string
	// SelfSignedTLS makes the server generate a certificate in DataDir.
	SelfSignedTLS bool
	// DemoAccessKeyID/Secret, when both set, are the demo team's key; a
	// changed secret for an existing id replaces the stored one.
	DemoAccessKeyID     string
	DemoAccessKeySecret string
	// SecretKeyFile holds the key that seals secrets in the database;
	// "" = secret.key in DataDir, created on first start.
	SecretKeyFile string
	Logger        *slog.Logger
	// NowFunc is the clock of the whole server; nil = time.Now.
	NowFunc func() time.Time
	// Migrate applies pending migrations at start (serve does; a replica
	// started with --no-migrate refuses an out-of-date schema instead).
	Migrate bool
	// Provisioning.
	SimStepDelay time.Duration // each step of the sim driver
	StepTimeout  time.Duration // 0: provision's default
	Workers      int           // 0: provision's default
	// NoWorkers runs the API only; another process provisions.
	NoWorkers bool
	// PeriodicInterval is how often the clock sweep (hourly charges,
	// expiries, recycle-bin release) and the check for stranded instances
	// run; 0 = a minute, negative = never.
	PeriodicInterval time.Duration
	// Hosts with a BMC (hosts.go, docs/hardware.md): BMCTimeout bounds
	// one BMC call (0: provision's default); BMCPollInterval is how often
	// a power change is checked (0: the driver's); PowerSyncInterval is
	// how often every BMC's power state is read (0 = a minute, negative
	// = never).
	BMCTimeout        time.Duration
	BMCPollInterval   time.Duration
	PowerSyncInterval time.Duration
	// MaxAttempts and RetryBase tune the retries of jobs (0: provision's
	// defaults); tests shorten them.
	MaxAttempts int
	RetryBase   time.Duration
	// JobPollInterval is how often the workers look for jobs no
	// notification told them of (0: provision's default); tests make it
	// long to show that notifications alone wake them.
	JobPollInterval time.Duration
	// Getenv reads the variables a catalog names for BMC passwords;
	// nil = os.Getenv.
	Getenv func(string) string
	// Edge holds the limits on clients (docs/security.md); the zero
	// value limits nothing.
	Edge EdgeLimits
	// MetricsListen is where /metrics is served (host:port, its own
	// listener so that it can stay private); "" = no metrics.
	MetricsListen string
	// ConsoleOperatorTeam names the team whose admin keys see the
	// console's operator pages; "" = nobody (docs/console.md).
	ConsoleOperatorTeam string
	// Netboot is the provisioning listener (netboot.go).
	Netboot NetbootConfig
	// ImageRefresh is how often the images added on the database
	// are read (images.go); 0 = DefaultImageRefreshInterval, negative =
	// only at start.
	ImageRefresh time.Duration
}

// EdgeLimits bound what clients can take from the server.
type EdgeLimits struct {
	// MaxConnections caps the open connections; further clients wait in
	// the kernel's accept queue. 0 = no cap.
	MaxConnections int
	// MaxConnectionsPerSource caps the open connections from one source
	// address (an IPv4 address or an IPv6 /64); further ones are closed
	// at once. 0 = no cap.
	MaxConnectionsPerSource int
	// RateLimits are the API's token buckets.
	RateLimits httpapi.RateLimits
}

// DefaultEdgeLimits are serve's defaults: generous for any real client.
var DefaultEdgeLimits = EdgeLimits{MaxConnections: 2048, MaxConnectionsPerSource: 256, RateLimits: httpapi.DefaultRateLimits}

// DefaultSimStepDelay makes a simulated provision take about three seconds
// end to end: long enough to watch PENDING → CREATING → RUNNING.
const DefaultSimStepDelay = 500 * time.Millisecond

// App is a running metalplane.
type App struct {
	Config  Config
	DB      *sqlstore.DB
	Catalog *metalplane.Catalog
	API     *httpapi.Server
	// Provisioner runs the provisioning jobs (started unless NoWorkers).
	Provisioner *provision.Provisioner
	// Credentials is the demo key created at first start, if any.
	Credentials *metalplane.AccessKey
	// CertFile is the TLS certificate in use, if any.
	CertFile string

	listener net.Listener
	http     *http.Server
	ready    atomic.Bool
	served   chan error

	// workersStarted receives the provisioning workers' start, which
	// runs beside the first requests; nil with NoWorkers.
	workersStarted chan error
	// failed receives what stops the server from within (Failed).
	failed    chan error
	stopPurge chan struct{}

	// Console serves /console/.
	Console *console.Server
	// Metrics feeds /metrics; nil unless Config.MetricsListen is set.
	Metrics       *metrics.Metrics
	metricsServer *metricsServer
	// The provisioning listener (netboot.go), nil without.
	netboot       *http.Server
	netbootLn     net.Listener
	netbootURL    string
	netbootServed chan error
}

// Open opens the database, migrates it, loads and syncs the catalog and
// creates the demo team on an empty database. It does not listen yet.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "metalplane-data"
	}
	if cfg.DemoAccessKeySecret != "" {
		if err := metalplane.ValidateAccessKeySecret(cfg.DemoAccessKeySecret); err != nil {
			return nil, fmt.Errorf("METALPLANE_ACCESS_KEY_SECRET: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := restrictDataDir(cfg.DataDir, cfg.Logger); err != nil {
		return nil, err
	}
	dsn := cfg.Database
	if dsn == "" {
		dsn = sqlstore.SQLitePath(cfg.DataDir)
	}
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	db.NowFunc = cfg.NowFunc
	a := &App{Config: cfg, DB: db, served: make(chan error, 1), failed: make(chan error, 1)}
	if err := a.setup(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) setup(ctx context.Context) error {
	cfg := a.Config
	if cfg.Migrate {
		if err := a.DB.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := provision.Migrate(ctx, a.DB); err != nil {
			return fmt.Errorf("migrate job queue: %w", err)
		}
	} else {
		if err := a.DB.CheckSchema(ctx); err != nil {
			return err
		}
		if err := provision.CheckSchema(ctx, a.DB); err != nil {
			return err
		}
	}
	if err := OpenSecretKey(ctx, a.DB, cfg.SecretKeyFile, cfg.DataDir, true, cfg.Logger); err != nil {
		return err
	}
	data := metalplane.DemoCatalog()
	if cfg.CatalogPath != "" {
		var err error
		if data, err = os.ReadFile(cfg.CatalogPath); err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
	}
	cat, err := metalplane.LoadCatalog(data)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	a.Catalog = cat
	if err := a.DB.SyncCatalog(ctx, cat); err != nil {
		return err
	}
	if err := a.syncCatalogHosts(ctx, cat); err != nil {
		return err
	}
	if err := a.refreshImages(ctx); err != nil {
		return fmt.Errorf("read the images added on the database: %w", err)
	}
	if err := a.bootstrap(ctx); err != nil {
		return fmt.Errorf("create demo team: %w", err)
	}
	var observeStep func(driver, step string, took time.Duration, err error)
	if cfg.MetricsListen != "" {
		a.Metrics = metrics.New(a.DB, cat)
		a.DB.ObserveBatchFunc = a.Metrics.ObserveBatch
		observeStep = a.Metrics.ObserveStep
	}
	step := cfg.StepTimeout
	if step == 0 && cfg.SimStepDelay > 0 {
		step = 10*time.Second + 4*cfg.SimStepDelay
	}
	// The provisioner is created even with NoWorkers: the API enqueues
	// through it.
	p, err := provision.New(a.DB, provision.Config{
		Driver:      &sim.Driver{StepDelay: cfg.SimStepDelay, Faults: a.DB},
		Workers:     cfg.Workers,
		StepTimeout: step,
		Logger:      cfg.Logger,
		// Automatic renewals cost what RenewInstance costs.
		RenewalPriceFunc:    func(in *metalplane.Instance) (metalplane.Money, error) { return metalplane.RenewalPrice(cat, in) },
		PeriodicInterval:    cfg.PeriodicInterval,
		OrphanCheckInterval: cfg.PeriodicInterval,
		BMCProtocols:        BMCProtocols,
		BMCTimeout:          cfg.BMCTimeout,
		BMCPollInterval:     cfg.BMCPollInterval,
		PowerSyncInterval:   cfg.PowerSyncInterval,
		MaxAttempts:         cfg.MaxAttempts,
		RetryBase:           cfg.RetryBase,
		ObserveStepFunc:     observeStep,
		FetchPollInterval:   cfg.JobPollInterval,
		// Load balancers are state only here: the sim driver records.
		LoadBalancers: &sim.LoadBalancers{},
		NetInstaller:  a.netInstaller(),
	})
	if err != nil {
		return err
	}
	a.Provisioner = p
	a.API = &httpapi.Server{DB: a.DB, Catalog: cat, Logger: cfg.Logger, NowFunc: cfg.NowFunc, Ready: a.ready.Load, Enqueue: p.Enqueue,
		EnqueueLifecycle: p.EnqueueLifecycle, EnqueueEIP: p.EnqueueEIP, RateLimits: cfg.Edge.RateLimits, Workflows: provision.Workflows}
	// Traffic comes from the sim driver's model for every instance: no
	// driver reads switch counters yet (docs/api.md, Traffic data).
	a.API.Traffic = &sim.Driver{}
	a.API.EnqueueBlockIPs = p.EnqueueBlockIPs
	if a.Metrics != nil {
		a.API.ObserveRequestFunc, a.API.PurchasedFunc = a.Metrics.ObserveRequest, a.Metrics.Purchased
	}
	a.Console = &console.Server{API: a.API, DB: a.DB, Catalog: cat, Logger: cfg.Logger, OperatorTeam: cfg.ConsoleOperatorTeam, NowFunc: cfg.NowFunc}
	return nil
}

// DemoTeamName names the team created on an empty database.
const DemoTeamName = "demo"

// DemoCredit is the demo team's starting balance: generous enough for any
// demo, small enough that a test can exhaust it on purpose.
const DemoCredit = 1_000_000 * metalplane.MoneyScale

// CredentialsFile is the name of the demo credentials file in the data dir.
const CredentialsFile = "credentials"

// FileCredentials is the JSON of the credentials file.
type FileCredentials struct {
	AccessKeyID       string `json:"accessKeyId"`
	AccessKeyPassword string `json:"accessKeyPassword"`
}

func (a *App) bootstrap(ctx context.Context) error {
	cfg := a.Config
	fixedKey := cfg.DemoAccessKeyID != "" && cfg.DemoAccessKeySecret != ""
	n, err := a.DB.CountTeams(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return a.addFixedKey(ctx)
	}
	team, err := a.DB.CreateTeam(ctx, sqlstore.TeamCreate{Name: DemoTeamName, PostpaidAllowed: true, InitialCredit: DemoCredit})
	if err != nil {
		// Replicas started together on an empty database race to create
		// the demo team; the losers join the winner's.
		if n, cerr := a.DB.CountTeams(ctx); cerr == nil && n > 0 {
			return a.addFixedKey(ctx)
		}
		return err
	}
	key, err := a.DB.CreateAccessKey(ctx, team.ID, cfg.DemoAccessKeyID, cfg.DemoAccessKeySecret, true)
	if err != nil {
		// A replica that found this team already made adds the fixed key
		// too, and may have been first.
		if fixedKey {
			if _, ferr := a.DB.FindAccessKey(ctx, cfg.DemoAccessKeyID); ferr == nil {
				return nil
			}
		}
		return err
	}
	a.Credentials = key
	if fixedKey {
		return nil
	}
	body, _ := json.MarshalIndent(FileCredentials{AccessKeyID: key.ID, AccessKeyPassword: key.Secret}, "", "  ")
	return os.WriteFile(filepath.Join(cfg.DataDir, CredentialsFile), append(body, '\n'), 0o600)
}

// addFixedKey adds METALPLANE_ACCESS_KEY_ID/SECRET, when set after the
// first start (or by another replica), to the existing demo team.
func (a *App) addFixedKey(ctx context.Context) error {
	cfg := a.Config
	if cfg.DemoAccessKeyID == "" || cfg.DemoAccessKeySecret == "" {
		return nil
	}
	if existing, err := a.DB.FindAccessKey(ctx, cfg.DemoAccessKeyID); err == nil {
		return a.rotateFixedKey(ctx, existing)
	} else if !errors.Is(err, sqlstore.ErrNotFound) {
		return err
	}
	team, err := a.DB.FindTeam(ctx, DemoTeamName)
	if err != nil {
		return fmt.Errorf("add %s: %w", cfg.DemoAccessKeyID, err)
	}
	key, err := a.DB.CreateAccessKey(ctx, team.ID, cfg.DemoAccessKeyID, cfg.DemoAccessKeySecret, true)
	if err != nil {
		if _, ferr := a.DB.FindAccessKey(ctx, cfg.DemoAccessKeyID); ferr == nil {
			return nil // another replica added it at the same moment
		}
		return err
	}
	a.Credentials = key
	return nil
}

// Start listens and serves in the background.
func (a *App) Start(ctx context.Context) error {
	listen := a.Config.Listen
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = limit.Listener(ln, a.Config.Edge.MaxConnections, a.Config.Edge.MaxConnectionsPerSource)
	a.http = &http.Server{
		Handler: withConsole(a.Console.Handler(), a.API.Handler()),
		// Clients send their headers at once; 10 s covers a slow link
		// and bounds how long a silent connection holds its slot.
		ReadHeaderTimeout: 10 * time.Second,
		// Headers and a body of at most 1 MiB: 30 s is 35 KB/s. The
		// handler lifts the deadline once the body is read, so that a
		// long action is not cut short.
		ReadTimeout: 30 * time.Second,
		// A backstop only: API answers and errors set a write deadline of
		// their own just before writing (httpapi's answerWriteTimeout,
		// 3 s), since this one counts from the end of the headers and a
		// long action would eat into it.
		WriteTimeout: time.Minute,
		// Longer than the 90 s after which Go's http.Transport (the SDK's,
		// Terraform's) drops an idle connection, so that clients close
		// first: a POST sent on a connection the server is closing at
		// that moment can fail, and Go resends a POST only when it can
		// tell that none of it reached the server.
		IdleTimeout: 2 * time.Minute,
		// Twice what the API accepts, so that headers between the two are
		// answered by httpapi in the JSON envelope (431); only beyond this
		// (plus Go's 4 KiB of slack) does Go answer in plain text. Small,
		// since any client can make the server hold this much on each of
		// its connections for ReadHeaderTimeout (docs/security.md).
		MaxHeaderBytes: 2 * httpapi.MaxHeaderBytes,
		// OPTIONS * goes to the API like any other method (405 in JSON).
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(a.Config.Logger.Handler(), slog.LevelWarn),
	}
	certFile, keyFile := a.Config.TLSCert, a.Config.TLSKey
	if a.Config.SelfSignedTLS && certFile == "" {
		certFile, keyFile, err = ensureSelfSignedCert(a.Config.DataDir)
		if err != nil {
			ln.Close()
			return err
		}
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		a.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, a.http.TLSConfig)
		a.CertFile = certFile
	}
	a.listener = ln
	if a.Metrics != nil {
		if a.metricsServer, err = startMetrics(a.Config.MetricsListen, a.Metrics, a.Config.Logger); err != nil {
			ln.Close()
			return err
		}
	}
	if err := a.startNetboot(); err != nil {
		ln.Close()
		if a.metricsServer != nil {
			a.metricsServer.close(ctx)
			a.metricsServer = nil
		}
		return err
	}
	go func() { a.served <- a.http.Serve(ln) }()
	if !a.Config.NoWorkers {
		// The API does not wait for the workers: a purchase enqueues its
		// jobs whether or not they run yet, and River fetches what is
		// waiting when it starts. Starting River (its listener, the
		// leader's election, the queue's settings) took 30–40 ms of a
		// PostgreSQL restart (docs/performance.md, "The listener before
		// the workers").
		a.workersStarted = make(chan error, 1)
		go func() {
			err := a.Provisioner.Start(ctx)
			a.workersStarted <- err
			if err != nil && ctx.Err() == nil { // not a stop during the start
				a.failed <- fmt.Errorf("start provisioning workers: %w", err)
			}
		}()
	}
	a.stopPurge = make(chan struct{})
	go a.purgeReplays(a.stopPurge)
	go a.refreshImagesEvery(a.stopPurge)
	go a.foldInstanceCounts(a.stopPurge)
	go func(stop <-chan struct{}) {
		a.warmConnections(stop)
		a.rehearsePurchase(stop) // on the connections just warmed
	}(a.stopPurge)
	a.ready.Store(true)
	return nil
}

// warmConnections opens the PostgreSQL connections the first requests and
// provisions will use (sqlstore.WarmConnections), stopping with the server.
func (a *App) warmConnections(stop <-chan struct{}) {
	ctx, cancel := untilStopped(stop)
	defer cancel()
	a.DB.WarmConnections(ctx, warmConnectionCount)
}

// untilStopped returns a context that ends when stop closes or cancel is
// called, for work begun at start that must not outlive the server.
func untilStopped(stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// warmConnectionCount is how many connections a start warms: a purchase
// (the group committer's and a read), River's fetch, and a provision's
// read and finish, with room for a second request.
const warmConnectionCount = 8

// Failed receives an error when the server cannot go on after Start
// returned: its provisioning workers did not start. The caller should
// Close it.
func (a *App) Failed() <-chan error { return a.failed }

// Addr returns the address the server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// URL returns the base URL of the server.
func (a *App) URL() string {
	if a.CertFile != "" {
		return "https://" + a.Addr()
	}
	return "http://" + a.Addr()
}

// Close stops accepting requests, waits for those in flight, and closes the
// database.
func (a *App) Close(ctx context.Context) error {
	a.ready.Store(false)
	if a.stopPurge != nil {
		close(a.stopPurge)
	}
	var errs []error
	if a.metricsServer != nil {
		errs = append(errs, a.metricsServer.close(ctx))
	}
	if a.http != nil {
		if err := a.http.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-a.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if err := a.closeNetboot(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close the provisioning listener: %w", err))
	}
	if a.workersStarted != nil {
		if err := <-a.workersStarted; err == nil {
			if err := a.Provisioner.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop workers: %w", err))
			}
		}
		a.workersStarted = nil
	}
	if a.Provisioner != nil {
		a.Provisioner.Close()
	}
	errs = append(errs, a.DB.Close())
	return errors.Join(errs...)
}

// purgeReplays forgets stored answers of signed requests once their
// signatures have expired; running it on every replica is harmless.
func (a *App) purgeReplays(stop chan struct{}) {
	every(stop, time.Minute, func() {
		if err := a.DB.PurgeReplays(context.Background()); err != nil {
			a.Config.Logger.Warn("purge replays", "err", err)
		}
	})
}

// foldInstanceCounts keeps DescribeInstances' counts a few rows per team
// on PostgreSQL (sqlstore/counts.go); on SQLite it does nothing.
func (a *App) foldInstanceCounts(stop chan struct{}) {
	every(stop, time.Second, func() {
		if err := a.DB.FoldInstanceCounts(context.Background()); err != nil {
			a.Config.Logger.Warn("fold instance counts", "err", err)
		}
	})
}

// every runs fn every interval until stop is closed.
func every(stop chan struct{}, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fn()
		}
	}
}
