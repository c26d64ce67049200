package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/metalplane/metalplane/sqlstore"
)

// The power sync asks every host with a BMC for its power state, as
// Ironic's periodic power-state sync does, and records what it read, when
// the BMC last answered, and any drift from what the host's use expects
// (sqlstore.RecordPowerReading), each change as a host event. It does not
// switch servers on or off: a drift may be an operator at work, and the
// tenant's next Start, Stop or Reboot sets the power anyway. Like the
// clock sweep it is a River periodic job enqueued by the leader only
// (periodic.go says why).

// DefaultPowerSyncInterval is how often the power sync runs (Ironic's
// default too).
const DefaultPowerSyncInterval = time.Minute

// powerSyncParallel is how many BMCs are read at once.
const powerSyncParallel = 16

// powerSyncReadTimeout bounds one read of a power state (BMCTimeout, when
// shorter, wins).
const powerSyncReadTimeout = 30 * time.Second

// PowerSyncArgs is the job that runs one power sync.
type PowerSyncArgs struct{}

// Kind implements river.JobArgs; stable across releases.
func (PowerSyncArgs) Kind() string { return "power_sync" }

type powerSyncWorker struct {
	river.WorkerDefaults[PowerSyncArgs]
	p *Provisioner
}

// Timeout bounds one sync; hosts not read by then are read by the next.
func (w *powerSyncWorker) Timeout(*river.Job[PowerSyncArgs]) time.Duration { return 10 * time.Minute }

func (w *powerSyncWorker) Work(ctx context.Context, job *river.Job[PowerSyncArgs]) error {
	res, err := w.p.SyncPower(ctx)
	if res.Unreachable > 0 || res.Drifting > 0 {
		w.p.cfg.Logger.Warn("power sync", "hosts", res.Hosts, "unreachable", res.Unreachable, "drifting", res.Drifting, "busy", res.Busy)
	}
	return err
}

// PowerSyncResult counts what one power sync found.
type PowerSyncResult struct {
	Hosts       int // hosts with a BMC, retired ones excepted
	Unreachable int // the BMC did not answer
	Drifting    int // the power differs from what the host's use expects
	// Busy hosts were not read: another call to their BMC (a job's)
	// outlasted the read's deadline.
	Busy int
}

// SyncPower runs one power sync: what the periodic job runs, and what
// tests call. Safe to run concurrently with itself and with the workers.
func (p *Provisioner) SyncPower(ctx context.Context) (PowerSyncResult, error) {
	var res PowerSyncResult
	hosts, err := p.db.FindHosts(ctx, sqlstore.HostFilter{WithBMC: true})
	if err != nil {
		return res, fmt.Errorf("list hosts: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, powerSyncParallel)
	)
	for _, h := range hosts {
		if h.State == sqlstore.HostRetired {
			continue
		}
		res.Hosts++
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outcome, err := p.syncHostPower(ctx, h)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("host %s: %w", h.ID, err))
			case outcome == powerBusy:
				res.Busy++
			case outcome == powerUnreachable:
				res.Unreachable++
			case outcome == powerDrifting:
				res.Drifting++
			}
		}()
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

type powerOutcome int

const (
	powerRead powerOutcome = iota
	powerBusy
	powerUnreachable
	powerDrifting
)

// syncHostPower reads and records the power state of one host.
func (p *Provisioner) syncHostPower(ctx context.Context, h sqlstore.Host) (powerOutcome, error) {
	a, err := p.db.FindHostAccess(ctx, h.ID)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return powerRead, nil // removed meanwhile
	}
	if err != nil {
		return powerRead, err
	}
	reading := sqlstore.PowerReading{HostID: h.ID, Driver: a.Driver, Before: h}
	d, err := p.hosts.bmc(a)
	if err != nil {
		reading.Err = err.Error()
	} else {
		readCtx, cancel := context.WithTimeout(ctx, min(powerSyncReadTimeout, p.cfg.BMCTimeout))
		st, err := d.PowerState(readCtx, Host{ID: h.ID, ZoneID: h.ZoneID, InstanceTypeID: h.InstanceTypeID})
		cancel()
		switch {
		case errors.Is(err, ErrBMCBusy):
			return powerBusy, nil
		case err != nil && ctx.Err() != nil:
			return powerRead, ctx.Err() // the sync itself is over
		case err != nil:
			reading.Err = err.Error()
		default:
			reading.State = powerStateName(st)
		}
	}
	drift, err := p.db.RecordPowerReading(ctx, reading)
	switch {
	case err != nil:
		return powerRead, err
	case reading.Err != "":
		return powerUnreachable, nil
	case drift != "":
		return powerDrifting, nil
	}
	return powerRead, nil
}

func powerStateName(s PowerState) string {
	switch s {
	case PowerOn:
		return sqlstore.PowerOn
	case PowerOff:
		return sqlstore.PowerOff
	}
	return sqlstore.PowerUnknown
}

// powerSyncJobs returns the power sync's periodic job, or none when the
// interval is negative.
func powerSyncJobs(interval time.Duration) []*river.PeriodicJob {
	return leaderJob(PowerSyncArgs{}, interval, DefaultPowerSyncInterval)
}
