// Package apitest boots a whole metalplane on a real listener and database
// for tests, and gives them clients that sign requests as the SDK does.
package apitest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// Clock is a clock tests move by hand. The zero Clock reads real time
// until Set is called.
type Clock struct {
	mu  sync.Mutex
	set bool
	t   time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		return time.Now()
	}
	return c.t
}

// Set fixes the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set, c.t = true, t
}

// Advance moves a fixed clock forward (fixing it at now first).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		c.set, c.t = true, time.Now()
	}
	c.t = c.t.Add(d)
}

// Env is a running metalplane for one test.
type Env struct {
	App   *app.App
	DB    *sqlstore.DB
	Clock *Clock
	// Team and Key are the demo team and its access key.
	Team *metalplane.Team
	Key  *metalplane.AccessKey
	// SecretKeyFile is the key file the database's secrets are sealed
	// with, for a replica of this server.
	SecretKeyFile string
}

// Options changes how Start boots the server.
type Options struct {
	// CatalogPath replaces the demo catalog.
	CatalogPath string
	// NoWorkers leaves instances PENDING (no provisioning).
	NoWorkers bool
	// SimStepDelay slows the sim driver down.
	SimStepDelay time.Duration
	// PeriodicInterval, when positive, runs the clock sweep in the
	// background. By default it never runs by itself: tests move Clock
	// and call Provisioner.RunPeriodic, and a sweep at a real-time tick
	// would race with the time they set.
	PeriodicInterval time.Duration
	// Logger replaces the discarding logger.
	Logger *slog.Logger
	// SecretKeyFile is the key the database's secrets are sealed with;
	// "" makes one in the server's data dir. A second server on the same
	// database (a replica) must be given the first one's (Env.SecretKeyFile).
	SecretKeyFile string
	// BeforeAnswerFunc is the server's hook between a successful action
	// and its answer (httpapi.Server.BeforeAnswerFunc).
	BeforeAnswerFunc func(ctx context.Context, action string)
	// BMCTimeout bounds each call to a BMC (0: the default); hardware
	// tests shorten it, with MaxAttempts and RetryBase, so that a BMC
	// that stops answering is given up on within seconds.
	BMCTimeout  time.Duration
	MaxAttempts int
	RetryBase   time.Duration
	// BMCPollInterval is how often a power change is checked (0: the
	// driver's default of a second).
	BMCPollInterval time.Duration
	// PowerSyncInterval, when positive, runs the power sync in the
	// background; by default tests call Provisioner.SyncPower.
	PowerSyncInterval time.Duration
	// Edge replaces the limits on clients. By default the server has
	// serve's connection caps and no rate limits: tests send requests as
	// fast as the machine allows, and the tests of the limits set them.
	Edge *app.EdgeLimits
	// DataDir is the server's data dir; "" = a new temporary one.
	DataDir string
	// Netboot starts the provisioning listener (docs/hardware.md).
	Netboot app.NetbootConfig
	// SkipAudit skips the consistency audit after the test, for tests
	// that put the database into states no request could (e.g. a status
	// forced in SQL).
	SkipAudit bool
	// ConsoleOperatorTeam names the team whose admin keys are the web
	// console's operators.
	ConsoleOperatorTeam string
	// JobPollInterval is how often the workers look for jobs that no
	// notification told them of (0: the default).
	JobPollInterval time.Duration
}

// Start boots metalplane on the database dsn (see testdb) on a free
// loopback port; it stops when the test ends.
func Start(t testing.TB, dsn string, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	clock := &Clock{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("METALPLANE_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Logger != nil {
		logger = o.Logger
	}
	periodic := o.PeriodicInterval
	if periodic <= 0 {
		periodic = -1
	}
	powerSync := o.PowerSyncInterval
	if powerSync <= 0 {
		powerSync = -1
	}
	edge := app.DefaultEdgeLimits
	edge.RateLimits = httpapi.RateLimits{}
	if o.Edge != nil {
		edge = *o.Edge
	}
	ctx := context.Background()
	dataDir := o.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	copied, err := startFromTemplate(dsn, dataDir, o)
	if err != nil {
		t.Fatalf("copy a first start: %v", err)
	}
	a, err := app.Open(ctx, app.Config{
		Listen: "127.0.0.1:0", DataDir: dataDir, Database: dsn, CatalogPath: o.CatalogPath, SecretKeyFile: o.SecretKeyFile,
		Logger: logger, NowFunc: clock.Now, Migrate: true, NoWorkers: o.NoWorkers, SimStepDelay: o.SimStepDelay,
		PeriodicInterval: periodic, PowerSyncInterval: powerSync, BMCTimeout: o.BMCTimeout, BMCPollInterval: o.BMCPollInterval,
		MaxAttempts: o.MaxAttempts, RetryBase: o.RetryBase, JobPollInterval: o.JobPollInterval,
		Edge: edge, ConsoleOperatorTeam: o.ConsoleOperatorTeam, Netboot: o.Netboot,
	})
	if err != nil {
		t.Fatalf("open metalplane: %v", err)
	}
	a.API.BeforeAnswerFunc = o.BeforeAnswerFunc
	if err := a.Start(ctx); err != nil {
		a.Close(ctx)
		t.Fatalf("start metalplane: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("close metalplane: %v", err)
		}
	})
	// Runs before the close above (cleanups run last-in first-out): after
	// every test, whatever it did, money, stock and addresses still add
	// up (sqlstore.Audit, the same check as `metalplane admin db check`).
	t.Cleanup(func() {
		if o.SkipAudit {
			return
		}
		problems, err := a.DB.Audit(context.Background())
		if err != nil {
			t.Errorf("audit: %v", err)
		}
		for _, p := range problems {
			t.Errorf("audit after the test: %s", p)
		}
	})
	team, err := a.DB.FindTeam(ctx, app.DemoTeamName)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := o.SecretKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(dataDir, app.SecretKeyFile)
	}
	key := a.Credentials
	if copied {
		if key, err = templateKeyOf(ctx, a.DB, dataDir); err != nil {
			t.Fatal(err)
		}
	}
	return &Env{App: a, DB: a.DB, Clock: clock, Team: team, Key: key, SecretKeyFile: keyFile}
}

// Client returns a client of the service and version signed with the demo
// key.
func (e *Env) Client(service, version string) *httpapi.Client {
	return e.ClientWithKey(service, version, e.Key)
}

// BMC returns a bmc client of version 2026-02-01.
func (e *Env) BMC() *httpapi.Client { return e.Client("bmc", httpapi.BMCVersion2026) }

// BMC2022 returns a bmc client of version 2022-11-20 (Terraform's).
func (e *Env) BMC2022() *httpapi.Client { return e.Client("bmc", httpapi.BMCVersion2022) }

// CCS returns a ccs client.
func (e *Env) CCS() *httpapi.Client { return e.Client("ccs", httpapi.CCSVersion) }

// ClientWithKey returns a client signing with key.
func (e *Env) ClientWithKey(service, version string, key *metalplane.AccessKey) *httpapi.Client {
	return &httpapi.Client{Endpoint: e.App.URL(), Service: service, Version: version,
		AccessKeyID: key.ID, AccessKeySecret: key.Secret, NowFunc: e.Clock.Now}
}

// NewTeam creates another team with a key, for isolation tests.
func (e *Env) NewTeam(t testing.TB, name string) (*metalplane.Team, *metalplane.AccessKey) {
	t.Helper()
	ctx := context.Background()
	team, err := e.DB.CreateTeam(ctx, sqlstore.TeamCreate{Name: name, PostpaidAllowed: true, InitialCredit: app.DemoCredit})
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.DB.CreateAccessKey(ctx, team.ID, "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	return team, key
}

// ExpectCode asserts that err is an API error with the code and the code's
// HTTP status.
func ExpectCode(t testing.TB, err error, code metalplane.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	apiErr, ok := err.(*httpapi.APIError)
	if !ok {
		t.Fatalf("got %v, want API error %s", err, code)
	}
	if apiErr.Code != code || apiErr.Status != code.Status() {
		t.Fatalf("got %s (HTTP %d: %s), want %s (HTTP %d)", apiErr.Code, apiErr.Status, apiErr.Message, code, code.Status())
	}
}

// Each runs fn against a fresh server on SQLite and on PostgreSQL.
func Each(t *testing.T, fn func(t *testing.T, env *Env), opts ...Options) {
	t.Helper()
	testdb.Each(t, func(t *testing.T, dsn string) { fn(t, Start(t, dsn, opts...)) })
}
