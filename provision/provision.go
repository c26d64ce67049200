// Package provision turns PENDING instances into RUNNING ones, and runs
// the hardware side of the lifecycle actions (lifecycle.go) and the clock
// sweep (periodic.go). Each
// instance is one durable River job (notes/RIVER.md: one job per instance
// is several times faster than one job per step); the job walks the steps
// of the workflow through a hardware Driver and records each finished step
// in its own short transaction, so a job resumed after a crash skips what
// is done. Jobs are enqueued in the CreateInstances transaction.
package provision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Workflow steps, in order. Their names are recorded in instance events
// and used to inject faults.
const (
	StepPowerOff  = "power_off"
	StepBootPXE   = "boot_pxe"
	StepRaid      = "raid"
	StepInstallOS = "install_os"
	StepNetwork   = "network"
	StepPowerOn   = "power_on"
)

// Steps lists the workflow in order.
var Steps = []string{StepPowerOff, StepBootPXE, StepRaid, StepInstallOS, StepNetwork, StepPowerOn}

// ProvisionArgs is the job that provisions one instance.
type ProvisionArgs struct {
	InstanceID string `json:"instance_id"`
}

// Kind implements river.JobArgs; it is stable across releases because
// jobs outlive processes.
func (ProvisionArgs) Kind() string { return "provision_instance" }

// Config tunes the provisioner.
type Config struct {
	Driver Driver
	// Workers is the number of jobs run at once by this process.
	Workers int
	// StepTimeout bounds one driver call; a step that hangs is retried.
	StepTimeout time.Duration
	// MaxAttempts bounds the retries of a job whose steps keep failing
	// with non-permanent errors; then the instance is CREATE_FAILED.
	MaxAttempts int
	// RetryBase is the first retry delay; it doubles each attempt.
	RetryBase time.Duration
	Logger    *slog.Logger
	// PeriodicInterval is how often the clock sweep runs (periodic.go);
	// 0 = DefaultPeriodicInterval, negative = never (tests sweep by hand).
	PeriodicInterval time.Duration
	// RenewalPriceFunc prices an automatic PREPAID renewal; nil = the
	// instance's stored period price.
	RenewalPriceFunc func(*metalplane.Instance) (metalplane.Money, error)
}

func (c *Config) setDefaults() {
	if c.Workers == 0 {
		c.Workers = 100
	}
	if c.StepTimeout == 0 {
		c.StepTimeout = 10 * time.Minute
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.RetryBase == 0 {
		c.RetryBase = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Provisioner runs provisioning jobs.
type Provisioner struct {
	db     *sqlstore.DB
	client *river.Client[*sql.Tx]
	cfg    Config
}

func riverDriver(db *sqlstore.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == sqlstore.Postgres {
		return riverdatabasesql.New(db.SQL)
	}
	return riversqlite.New(db.SQL)
}

// Migrate applies River's own migrations (its job tables live in the same
// database, which is what makes enqueueing transactional).
func Migrate(ctx context.Context, db *sqlstore.DB) error {
	m, err := rivermigrate.New(riverDriver(db), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// New returns a provisioner on db.
func New(db *sqlstore.DB, cfg Config) (*Provisioner, error) {
	cfg.setDefaults()
	if cfg.Driver == nil {
		return nil, errors.New("provision: no driver")
	}
	p := &Provisioner{db: db, cfg: cfg}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{p: p})
	river.AddWorker(workers, &powerWorker{p: p})
	river.AddWorker(workers, &reinstallWorker{p: p})
	river.AddWorker(workers, &periodicWorker{p: p})
	jobTimeout := time.Duration(len(Steps)+1) * cfg.StepTimeout
	client, err := river.NewClient(riverDriver(db), &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers: workers,
		// Measured settings (notes/RIVER.md): the defaults cap near 100
		// jobs/s.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
		JobTimeout:        jobTimeout,
		// A job whose process died (kill -9) is picked up again once it
		// has been running longer than any live job could.
		RescueStuckJobsAfter: jobTimeout + 5*time.Second,
		MaxAttempts:          cfg.MaxAttempts,
		PeriodicJobs:         periodicJobs(cfg.PeriodicInterval),
		Logger:               cfg.Logger.With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("create job queue client: %w", err)
	}
	p.client = client
	return p, nil
}

// Start begins working jobs.
func (p *Provisioner) Start(ctx context.Context) error { return p.client.Start(ctx) }

// Stop waits for running jobs to finish their current step (or ctx).
func (p *Provisioner) Stop(ctx context.Context) error { return p.client.Stop(ctx) }

// StopAndCancel stops at once: running steps see their context cancelled
// and their jobs are retried by whichever process works them next (every
// step is idempotent). Tests use it to freeze instances mid-workflow.
func (p *Provisioner) StopAndCancel(ctx context.Context) error { return p.client.StopAndCancel(ctx) }

// Enqueue inserts one provisioning job per instance on tx; it is the
// sqlstore.EnqueueFunc of CreateInstances.
func (p *Provisioner) Enqueue(ctx context.Context, tx *sql.Tx, instanceIDs []string) error {
	params := make([]river.InsertManyParams, len(instanceIDs))
	for i, id := range instanceIDs {
		params[i] = river.InsertManyParams{Args: ProvisionArgs{InstanceID: id}}
	}
	_, err := p.client.InsertManyFastTx(ctx, tx, params)
	return err
}

type worker struct {
	river.WorkerDefaults[ProvisionArgs]
	p *Provisioner
}

// NextRetry retries quickly: a hung or flaky step is worth another try
// soon, and the attempts are bounded by MaxAttempts.
func (w *worker) NextRetry(job *river.Job[ProvisionArgs]) time.Time {
	return time.Now().Add(w.p.cfg.RetryBase << min(job.Attempt-1, 10))
}

func (w *worker) Work(ctx context.Context, job *river.Job[ProvisionArgs]) error {
	err := w.p.run(ctx, job.Args.InstanceID)
	switch {
	case err == nil:
		return nil
	case IsPermanent(err), job.Attempt >= job.MaxAttempts:
		if ferr := w.p.fail(ctx, job.Args.InstanceID, err); ferr != nil {
			return ferr
		}
		return nil
	default:
		w.p.cfg.Logger.Warn("provision step failed; will retry", "instance", job.Args.InstanceID, "attempt", job.Attempt, "err", err)
		return err
	}
}

// stepError names the step that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func (p *Provisioner) fail(ctx context.Context, instanceID string, err error) error {
	step := ""
	var se *stepError
	if errors.As(err, &se) {
		step = se.step
	}
	return p.db.FailProvision(ctx, instanceID, step, p.cfg.Driver.Name(), err.Error())
}

// run performs the steps not done yet. Every step is idempotent: redoing
// a step whose completion was not recorded before a crash is harmless.
func (p *Provisioner) run(ctx context.Context, instanceID string) error {
	d := p.cfg.Driver
	target, done, err := p.db.BeginProvision(ctx, instanceID, d.Name())
	if err != nil || done {
		return err
	}
	in := target.Instance
	host := hostOf(in)
	calls := append(installCalls(d, target),
		func(ctx context.Context) error {
			return d.AttachNetwork(ctx, host, NetworkSpec{PublicIPv4: in.PublicIPv4, PublicIPv6: in.PublicIPv6, PrivateIP: in.PrivateIP,
				SubnetID: in.SubnetID, BandwidthMbps: in.BandwidthOutMbps})
		},
		func(ctx context.Context) error { return d.SetPower(ctx, host, true) },
	)
	more, err := p.runSteps(ctx, Steps, calls, target.Step, func(n int, name string) (bool, error) {
		return p.db.CompleteStep(ctx, instanceID, n, name, d.Name())
	})
	if err != nil || !more {
		return err
	}
	return p.db.FinishProvision(ctx, instanceID, d.Name())
}

// runSteps runs the calls after step done (1-based: the count already
// recorded), each under the step timeout, recording each with complete.
// It reports false, with no error, when complete says the instance was
// finished or failed elsewhere (nothing more to do).
func (p *Provisioner) runSteps(ctx context.Context, names []string, calls []func(context.Context) error, done int,
	complete func(n int, name string) (bool, error)) (bool, error) {
	for i, call := range calls {
		n := i + 1
		if n <= done {
			continue
		}
		stepCtx, cancel := context.WithTimeout(ctx, p.cfg.StepTimeout)
		err := call(stepCtx)
		cancel()
		if err != nil {
			return false, &stepError{step: names[i], err: err}
		}
		ok, err := complete(n, names[i])
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// hostOf names the physical server of an instance for the driver.
func hostOf(in *metalplane.Instance) Host {
	return Host{ID: in.HostID, ZoneID: in.ZoneID, InstanceTypeID: in.InstanceTypeID}
}

// installCalls are the driver calls that put an operating system on the
// server, shared by provisioning and reinstallation: power off, boot from
// the network, build the RAID, install the OS with its credentials.
func installCalls(d Driver, target *sqlstore.ProvisionTarget) []func(context.Context) error {
	in := target.Instance
	host := hostOf(in)
	keys := target.SSHKeys
	if target.PublicKeys != "" {
		keys = append(keys, target.PublicKeys)
	}
	return []func(context.Context) error{
		func(ctx context.Context) error { return d.SetPower(ctx, host, false) },
		func(ctx context.Context) error { return d.SetBootDevice(ctx, host, BootOverride{Device: BootPXE}) },
		func(ctx context.Context) error { return d.ConfigureRaid(ctx, host, in.RaidConfig) },
		func(ctx context.Context) error {
			return d.InstallOS(ctx, host, InstallSpec{ImageID: in.ImageID, IpxeURL: in.IpxeURL, Hostname: in.Hostname, Partitions: in.Partitions,
				Password: target.Password, PublicKeys: keys, Nic: in.Nic, UserData: target.UserData})
		},
	}
}
