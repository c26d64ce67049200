// Package provision turns PENDING instances into RUNNING ones, and runs
// the hardware side of the lifecycle actions (lifecycle.go) and the clock
// sweep (periodic.go). Each
// instance is one durable River job (notes/RIVER.md: one job per instance
// is several times faster than one job per step); the job walks the steps
// of the workflow through a hardware Driver and records the finished
// steps (at most 20 ms late, those of quick steps together:
// steprecords.go), so a job resumed after a crash skips what is done.
// Jobs are enqueued in the CreateInstances transaction.
package provision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

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
	// LoadBalancers configures the operator's load balancers
	// (loadbalancer.go); nil leaves them as the API records them.
	LoadBalancers LoadBalancerDriver
	// Driver drives the simulated hosts (driver "sim").
	Driver Driver
	// NetInstaller, when set, installs the OS of servers behind a BMC
	// that have a provisioning MAC (netboot); without it their
	// install_os step does nothing, as before.
	NetInstaller NetInstaller
	// BMCProtocols open the drivers of the hosts with a BMC (hosts.go).
	BMCProtocols []BMCProtocol
	// BMCTimeout bounds one call to a BMC, and so each step on a host
	// with a BMC (real servers take longer than StepTimeout allows the
	// simulator); 0 = DefaultBMCTimeout.
	BMCTimeout time.Duration
	// BMCPollInterval is how often a BMC is asked whether a power change
	// has happened; 0 = the driver's default.
	BMCPollInterval time.Duration
	// PowerSyncInterval is how often every BMC is asked for its power
	// state (powersync.go); 0 = DefaultPowerSyncInterval, negative =
	// never.
	PowerSyncInterval time.Duration
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
	// OrphanCheckInterval is how often stranded instances are looked for
	// (orphans.go); 0 = DefaultOrphanCheckInterval, negative = never.
	OrphanCheckInterval time.Duration
	// HeartbeatInterval is how often this process tells the others it is
	// alive, and looks for jobs held by dead ones (rescue.go).
	HeartbeatInterval time.Duration
	// DeadAfter is how old the last heartbeat of a process must be for
	// the jobs it holds to be handed to live processes.
	DeadAfter time.Duration
	// ObserveStepFunc, when set, is told how long each driver call of a
	// workflow step took and whether it failed (/metrics).
	ObserveStepFunc func(driver, step string, took time.Duration, err error)
	// FetchPollInterval is how often the workers look for jobs that no
	// notification told them of (listen.go, wake.go); 0 =
	// DefaultFetchPollInterval. Tests make it long to show that the
	// notifications alone wake the workers.
	FetchPollInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.Workers == 0 {
		c.Workers = 100
	}
	if c.StepTimeout == 0 {
		c.StepTimeout = 10 * time.Minute
	}
	if c.BMCTimeout == 0 {
		c.BMCTimeout = DefaultBMCTimeout
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
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = DefaultDeadAfter
	}
	if c.FetchPollInterval == 0 {
		c.FetchPollInterval = DefaultFetchPollInterval
	}
}

// fetchCooldown is the least time between two job fetches, and between
// two insert notifications River sends (measured, notes/RIVER.md).
const fetchCooldown = 10 * time.Millisecond

// DefaultFetchPollInterval is how often the workers look for jobs that
// no notification told them of: jobs whose notification was lost while
// the listener reconnected, or held back by the one-per-FetchCooldown
// limit on notifications.
const DefaultFetchPollInterval = 100 * time.Millisecond

// DefaultBMCTimeout bounds one call to a BMC, power change included.
const DefaultBMCTimeout = 2 * time.Minute

// Provisioner runs provisioning jobs.
type Provisioner struct {
	db     *sqlstore.DB
	driver riverdriver.Driver[*sql.Tx]
	client *river.Client[*sql.Tx]
	cfg    Config
	hosts  *hostDrivers
	// listenPool holds River's listener connection on PostgreSQL
	// (listen.go); nil on SQLite.
	listenPool *listenPool

	// draining is set when Stop begins: jobs finish the step they are in
	// and hand themselves back instead of starting the next.
	draining atomic.Bool
	// gate lets provisions begin beside purchases (gate.go).
	gate *startGate
	// heartbeats runs while the workers do (rescue.go).
	heartbeats     *heartbeats
	stopHeartbeats sync.Once
}

// riverDriver returns the River driver of db without a listener on
// PostgreSQL: migrations need none, and the workers' driver comes from
// workersDriver.
func riverDriver(db *sqlstore.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == sqlstore.Postgres {
		return riverdatabasesql.New(db.SQL)
	}
	return newWakingDriver(riversqlite.New(db.SQL))
}

// workersDriver returns the River driver of db for a client that works
// jobs: one with a listener, so that an enqueued job wakes the workers at
// once (listen.go, wake.go).
func workersDriver(db *sqlstore.DB) (riverdriver.Driver[*sql.Tx], *listenPool, error) {
	if db.Dialect == sqlstore.Postgres && db.PostgresURL != "" {
		return newListeningDriver(db)
	}
	return riverDriver(db), nil, nil
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
	driver, listenPool, err := workersDriver(db)
	if err != nil {
		return nil, err
	}
	p := &Provisioner{db: db, driver: driver, listenPool: listenPool, cfg: cfg, gate: newStartGate(db),
		hosts: newHostDrivers(cfg.Driver, cfg.BMCProtocols, BMCConfig{Timeout: cfg.BMCTimeout, PollInterval: cfg.BMCPollInterval, Logger: cfg.Logger})}
	p.hosts.installer = cfg.NetInstaller
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{p: p})
	river.AddWorker(workers, &powerWorker{p: p})
	river.AddWorker(workers, &reinstallWorker{p: p})
	river.AddWorker(workers, &periodicWorker{p: p})
	river.AddWorker(workers, &orphanWorker{p: p})
	river.AddWorker(workers, &powerSyncWorker{p: p})
	river.AddWorker(workers, &eipWorker{p: p})
	river.AddWorker(workers, &blockIPsWorker{p: p})
	jobTimeout := time.Duration(len(Steps)+1) * max(cfg.StepTimeout, cfg.BMCTimeout)
	if cfg.NetInstaller != nil {
		jobTimeout += cfg.NetInstaller.Timeout()
	}
	client, err := river.NewClient(p.driver, &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers: workers,
		// Measured settings (notes/RIVER.md): the defaults cap near 100
		// jobs/s.
		FetchCooldown:     fetchCooldown,
		FetchPollInterval: cfg.FetchPollInterval,
		JobTimeout:        jobTimeout,
		// A job whose process died (kill -9) is handed on within
		// seconds by the heartbeats (rescue.go); River's own rescue,
		// once a job has been running longer than any live job could,
		// remains for processes that write no heartbeat.
		RescueStuckJobsAfter: jobTimeout + 5*time.Second,
		MaxAttempts:          cfg.MaxAttempts,
		PeriodicJobs: slices.Concat(periodicJobs(cfg.PeriodicInterval), orphanCheckJobs(cfg.OrphanCheckInterval),
			powerSyncJobs(cfg.PowerSyncInterval)),
		Logger: cfg.Logger.With("component", "river"),
	})
	if err != nil {
		listenPool.close()
		return nil, fmt.Errorf("create job queue client: %w", err)
	}
	p.client = client
	return p, nil
}

// handBackTimeout bounds the wait for jobs whose steps Stop cancelled to
// return and be handed back.
const handBackTimeout = 10 * time.Second

// finalWriteTimeout bounds the write of a job's terminal failure.
const finalWriteTimeout = 30 * time.Second

// errDraining ends a job between two steps when the process is stopping.
var errDraining = errors.New("the workers are stopping")

// Start begins working jobs. ctx bounds the start only: the workers run
// until Stop, because River treats the end of its start context as an
// abrupt stop that charges every running job an attempt.
func (p *Provisioner) Start(ctx context.Context) error {
	if err := p.startHeartbeats(ctx); err != nil {
		return err
	}
	go p.gate.run()
	if err := p.client.Start(context.WithoutCancel(ctx)); err != nil {
		p.gate.close()
		p.endHeartbeats(ctx)
		return err
	}
	return nil
}

// Stop stops fetching jobs and lets each running job finish the step it
// is in; the job then hands itself back (river.JobSnooze(0): available at
// once, no attempt spent) and the next process to start, or another
// replica, carries on from the next step. Steps still running when ctx
// ends are cancelled and their jobs handed back the same way, to be
// redone from the start of that step (every step is idempotent).
func (p *Provisioner) Stop(ctx context.Context) error {
	p.draining.Store(true)
	p.gate.close()
	err := p.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handBackTimeout)
		defer cancel()
		err = p.client.StopAndCancel(cancelCtx)
	}
	p.Close()
	return errors.Join(err, p.endHeartbeats(ctx))
}

// StopAndCancel stops at once: running steps see their context cancelled
// and their jobs are handed back without spending an attempt, to be
// resumed by whichever process works them next. Tests use it to freeze
// instances mid-workflow.
func (p *Provisioner) StopAndCancel(ctx context.Context) error {
	p.draining.Store(true)
	p.gate.close()
	err := p.client.StopAndCancel(ctx)
	p.Close()
	return errors.Join(err, p.endHeartbeats(ctx))
}

// Close releases what New opened beside the database (the listener's
// pool on PostgreSQL); Stop and StopAndCancel close it too. A closed
// provisioner is not started again.
func (p *Provisioner) Close() { p.listenPool.close() }

// settle turns what one run of a job returned into what River records:
// nothing on success; a hand-back when the process is stopping; a retry
// while attempts remain; else the job's terminal failure, written by fail
// with a context of its own, because the job's context may be over (its
// timeout) and a failure written with it would never land, leaving the
// instance stranded.
func (p *Provisioner) settle(ctx context.Context, job *rivertype.JobRow, instanceID string, err error, fail func(context.Context, error) error) error {
	if err == nil {
		return nil
	}
	if p.draining.Load() && (errors.Is(err, errDraining) || ctx.Err() != nil) {
		p.cfg.Logger.Info("job handed back at shutdown", "kind", job.Kind, "instance", instanceID, "attempt", job.Attempt)
		return river.JobSnooze(0)
	}
	if !IsPermanent(err) && job.Attempt < job.MaxAttempts {
		p.cfg.Logger.Warn("job failed; will retry", "kind", job.Kind, "instance", instanceID, "attempt", job.Attempt, "err", err)
		return err
	}
	failCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	if ferr := fail(failCtx, err); ferr != nil {
		return fmt.Errorf("record the failure (%v): %w", err, ferr)
	}
	return nil
}

// EnqueueRehearsal is Enqueue for the purchase rehearsed at start
// (sqlstore.Rehearse), whose transaction is rolled back: the same insert,
// in a queue of its own that no worker serves. River sends one insert
// notification per queue per FetchCooldown, and counts a notification
// when it inserts, commit or not: in the default queue the rehearsal's
// would stand in for the next purchase's, whose job would then wait for
// the workers' poll. No tap either (wake.go), for the same reason.
func (p *Provisioner) EnqueueRehearsal(ctx context.Context, tx *sql.Tx, instanceIDs []string) error {
	params := make([]river.InsertManyParams, len(instanceIDs))
	for i, id := range instanceIDs {
		params[i] = river.InsertManyParams{Args: ProvisionArgs{InstanceID: id}, InsertOpts: &river.InsertOpts{Queue: rehearsalQueue}}
	}
	_, err := p.client.InsertManyFastTx(ctx, tx, params)
	return err
}

// rehearsalQueue is EnqueueRehearsal's queue.
const rehearsalQueue = "rehearsal"

// Enqueue inserts one provisioning job per instance on tx; it is the
// sqlstore.EnqueueFunc of CreateInstances.
func (p *Provisioner) Enqueue(ctx context.Context, tx *sql.Tx, instanceIDs []string) error {
	params := make([]river.InsertManyParams, len(instanceIDs))
	for i, id := range instanceIDs {
		params[i] = river.InsertManyParams{Args: ProvisionArgs{InstanceID: id}}
	}
	_, err := p.client.InsertManyFastTx(ctx, tx, params)
	if w, ok := p.driver.(*wakingDriver); ok && err == nil {
		w.tap() // wake.go
	}
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
	id := job.Args.InstanceID
	return w.p.settle(ctx, job.JobRow, id, w.p.run(ctx, id), func(ctx context.Context, err error) error { return w.p.fail(ctx, id, err) })
}

// stepError names the step that failed and the driver it failed in.
type stepError struct {
	step   string
	driver string
	err    error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// failedStep names the step err happened in, "" when not in a step.
func failedStep(err error) string {
	var se *stepError
	if errors.As(err, &se) {
		return se.step
	}
	return ""
}

// failedDriver names the driver err happened in, "" when not in a step.
func failedDriver(err error) string {
	var se *stepError
	if errors.As(err, &se) {
		return se.driver
	}
	return ""
}

// fail ends a provision whose job failed for the last time. A step that
// failed for good (a permanent error: a fault, something the server
// cannot do) fails the provision, refunded. A step that kept failing
// until the attempts ran out (a BMC that stopped answering) says the host
// is bad: it is quarantined and the provision moved to another free host
// of the same offer, if there is one (sqlstore.QuarantineHost).
func (p *Provisioner) fail(ctx context.Context, instanceID string, err error) error {
	step, driver := failedStep(err), failedDriver(err)
	var imgErr *ImageError
	if errors.As(err, &imgErr) {
		// The image's fault, not the host's: back to stock.
		return p.db.FailProvisionKeepHost(ctx, instanceID, step, driver, imgErr.Reason)
	}
	if step == "" || IsPermanent(err) {
		return p.db.FailProvision(ctx, instanceID, step, driver, err.Error())
	}
	next, qerr := p.db.QuarantineHost(ctx, sqlstore.Quarantine{InstanceID: instanceID, Step: step, Driver: driver, Reason: err.Error()}, p.Enqueue)
	if qerr == nil {
		p.cfg.Logger.Warn("host quarantined after its BMC kept failing", "instance", instanceID, "step", step, "driver", driver, "next_host", next, "err", err)
	}
	return qerr
}

// run performs the steps not done yet. Every step is idempotent: redoing
// a step whose completion was not recorded before a crash is harmless.
func (p *Provisioner) run(ctx context.Context, instanceID string) error {
	if p.draining.Load() {
		return errDraining // fetched as the stop began: not even begun
	}
	if err := p.gate.enter(ctx); err != nil {
		return err
	}
	ctx = withJobMemo(ctx)
	d, target, started, done, err := p.begin(ctx, instanceID)
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
	more, unrecorded, err := p.runSteps(ctx, d, instanceID, Steps, calls, target.Step, started, func(ctx context.Context, steps []sqlstore.StepDone) (bool, error) {
		return p.db.CompleteSteps(ctx, instanceID, steps, d.Name())
	})
	if err != nil || !more {
		return err
	}
	return p.db.FinishProvisionOf(ctx, in, d.Name(), unrecorded...)
}

// begin reads the instance to provision and its host's driver, in one
// query. A PENDING instance's start (PENDING → CREATING) is not written
// here: it is returned as the first record of the job, to be written with
// the first steps' records or with the finish (steprecords.go), so that a
// provision whose steps are quick is one write. Until then the instance
// stays PENDING, which every action treats as CREATING, and a crash
// leaves it to be provisioned anew, its steps redone as after any lost
// record. A CREATING instance (a resumed job) is begun as before, its
// resumption recorded at once. done means there is nothing to do: the
// instance was released or has finished.
func (p *Provisioner) begin(ctx context.Context, instanceID string) (d Driver, target *sqlstore.ProvisionTarget, started []sqlstore.StepDone, done bool, err error) {
	a, target, err := p.db.ReadProvision(ctx, instanceID)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return nil, nil, nil, true, nil // released: nothing to do
	}
	if err != nil {
		return nil, nil, nil, false, err
	}
	if d, err = p.hosts.forHost(a); err != nil {
		return nil, nil, nil, false, err
	}
	if target.Instance.Status == metalplane.StatusPending {
		return d, target, []sqlstore.StepDone{sqlstore.StartStep(p.db.Now())}, false, nil
	}
	if target, done, err = p.db.BeginProvision(ctx, instanceID, d.Name()); err != nil || done {
		return nil, nil, nil, done, err
	}
	if target.Instance.HostID != a.ID {
		return nil, nil, nil, false, fmt.Errorf("instance %s moved from host %s to %s meanwhile", instanceID, a.ID, target.Instance.HostID)
	}
	return d, target, nil, false, nil
}

// runSteps runs the calls of driver d after step done (1-based: the count
// already recorded), each under the step timeout, recording the finished
// steps with record, late and together (steprecords.go), after the
// records pending already (the provision's start, or none). It returns the
// steps it has not recorded yet, for the caller to record with its
// finish. It reports false, with no error, when record says the instance
// was finished or failed elsewhere (nothing more to do), and errDraining
// instead of starting a step once the workers are stopping; in both cases
// and on a failed step, what finished before is recorded first.
func (p *Provisioner) runSteps(ctx context.Context, d Driver, instanceID string, names []string, calls []func(context.Context) error, done int,
	pending []sqlstore.StepDone, record func(ctx context.Context, steps []sqlstore.StepDone) (bool, error)) (more bool, unrecorded []sqlstore.StepDone, err error) {
	log := stepLog{record: record}
	for _, s := range pending {
		log.add(s)
	}
	for i, call := range calls {
		n := i + 1
		if n <= done {
			continue
		}
		if p.draining.Load() {
			_, err := log.flush(ctx)
			return false, nil, errors.Join(errDraining, err)
		}
		stepCtx, cancel := context.WithTimeout(ctx, p.stepTimeout(d, names[i]))
		log.flushLater(ctx)
		began := time.Now()
		err := call(stepCtx)
		cancel()
		if observe := p.cfg.ObserveStepFunc; observe != nil {
			observe(d.Name(), names[i], time.Since(began), err)
		}
		ok, ferr := log.settle()
		if err != nil {
			if ok && ferr == nil {
				_, ferr = log.flush(ctx)
			}
			if ferr != nil {
				p.cfg.Logger.Warn("record the steps before a failed one", "instance", instanceID, "err", ferr)
			}
			return false, nil, &stepError{step: names[i], driver: d.Name(), err: err}
		}
		if ferr != nil || !ok {
			return false, nil, ferr
		}
		if noter, ok := d.(stepNoter); ok {
			if note := noter.StepNote(names[i]); note != "" {
				// The note comes after the records of the steps before.
				if ok, err := log.flush(ctx); err != nil || !ok {
					return false, nil, err
				}
				if err := p.db.RecordEvent(ctx, instanceID, "note", names[i], d.Name(), note); err != nil {
					return false, nil, err
				}
			}
		}
		log.add(sqlstore.StepDone{N: n, Name: names[i], At: p.db.Now()})
	}
	return true, log.pending, nil
}

// stepTimeout bounds one step of driver d: BMCs get BMCTimeout, a
// network installation its own.
func (p *Provisioner) stepTimeout(d Driver, step string) time.Duration {
	if st, ok := d.(stepTimeouter); ok {
		if t := st.StepTimeout(step); t > 0 {
			return t
		}
	}
	if _, ok := d.(*bmcHost); ok {
		return p.cfg.BMCTimeout
	}
	return p.cfg.StepTimeout
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
			return d.InstallOS(ctx, host, InstallSpec{InstanceID: in.ID, ImageID: in.ImageID, IpxeURL: in.IpxeURL, Hostname: in.Hostname, Partitions: in.Partitions,
				Password: target.Password, PublicKeys: keys, Nic: in.Nic, UserData: target.UserData,
				Network: NetworkSpec{PublicIPv4: in.PublicIPv4, PublicIPv6: in.PublicIPv6, PrivateIP: in.PrivateIP, SubnetID: in.SubnetID, BandwidthMbps: in.BandwidthOutMbps}})
		},
	}
}
