package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// Clock-driven transitions (docs/lifecycle.md, "Clock-driven transitions"):
// POSTPAID hourly charges, PREPAID expiry (auto-renewal or the recycle
// bin) and the release of the recycle bin after 24 h. Sweep performs all
// of them at the clock's current time (db.Now, never time.Now, so tests
// move the clock instead of sleeping).
//
// Exactly once, whoever runs it: every unit of work is one short
// transaction over one instance that locks its row, re-reads it and acts
// only if the work is still due, and every ledger row it writes has a
// dedupe key. Two sweeps running at once (two replicas, a periodic job
// and an operator, a leader change) therefore serialise on each row and
// the second finds nothing left to do; a sweep that dies half-way leaves
// every instance either done or untouched, and the next one resumes.

// ClockDriver is the driver recorded on the events of clock-driven
// transitions.
const ClockDriver = "clock"

// RecycleRetention is how long an instance stays in the recycle bin
// before it is released (ACTIONS.md §1.1).
const RecycleRetention = 24 * time.Hour

// sweepBatch bounds the IDs one candidate query returns; the sweep pages
// through them by id.
const sweepBatch = 500

// SweepConfig is what Sweep needs from outside the store.
type SweepConfig struct {
	// RenewalPriceFunc prices one more period of a PREPAID instance; nil
	// uses the instance's stored period price.
	RenewalPriceFunc func(*metalplane.Instance) (metalplane.Money, error)
	// EnqueueFunc enqueues the power-off job of an instance that expires
	// into the recycle bin, in the same transaction; nil enqueues nothing.
	EnqueueFunc LifecycleEnqueueFunc
	// EIPEnqueueFunc enqueues the job that withdraws the route of an
	// associated EIP that expires into the recycle bin; nil recycles it
	// at once.
	EIPEnqueueFunc EIPEnqueueFunc
	// BlockIPsEnqueueFunc enqueues the driver job of instances whose CIDR
	// block addresses an expiring block takes away; nil enqueues nothing.
	BlockIPsEnqueueFunc BlockIPsEnqueueFunc
}

// SweepResult counts what one Sweep did (work found done by a concurrent
// sweep is not counted).
type SweepResult struct {
	InternetChanges int // scheduled bandwidth/traffic downgrades applied
	Renewals        int // PREPAID periods renewed
	Recycled        int // PREPAID instances moved to RECYCLE at expiry
	HourlyCharges   int // POSTPAID hourly ledger rows written
	Released        int // instances released from the recycle bin
	// CIDR blocks (cidr.go): POSTPAID hourly rows, PREPAID blocks moved
	// to RECYCLE at expiry, blocks released from the recycle bin.
	BlockHourlyCharges, BlocksRecycled, BlocksReleased int
	// Load balancers (loadbalancers.go): POSTPAID hours charged, PREPAID
	// ones recycled at expiry, and ones released from the recycle bin.
	LoadBalancerHours, LoadBalancersRecycled, LoadBalancersReleased int
	// LoadBalancersApplied counts configurations the load balancer driver
	// applied after the sweep (provision.SyncLoadBalancers).
	LoadBalancersApplied int
}

// Sweep performs the clock-driven transitions due at db.Now(), in this
// order: scheduled internet downgrades (they change the price of what
// follows), PREPAID expiries, POSTPAID accrual, release of the recycle
// bin. After a downtime it catches up in one sweep: every missed hour is
// charged, every missed period renewed. An error on one instance does not
// stop the others; the errors are returned together.
func (db *DB) Sweep(ctx context.Context, cfg SweepConfig) (SweepResult, error) {
	var res SweepResult
	var errs []error
	now := db.Now()
	n, err := db.ApplyDueInternetChanges(ctx)
	res.InternetChanges = n
	if err != nil {
		errs = append(errs, err)
	}
	// PREPAID instances due for renewal or the recycle bin.
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM instances WHERE charge_type = 'PREPAID' AND released = FALSE AND status <> 'RECYCLE'
		AND expired_time > 0 AND expired_time <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(id string) error { return db.expireInstance(ctx, id, now, cfg, &res) })...)
	// POSTPAID instances with a finished hour to charge, or billing to
	// close. PENDING and CREATING are skipped, not forgotten: their hours
	// are charged from createTime once they run.
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM instances WHERE charge_type = 'POSTPAID' AND hourly_closed = FALSE
		AND status NOT IN ('PENDING', 'CREATING')
		AND (recycled_at > 0 OR status = 'CREATE_FAILED' OR create_time + 3600 * (billed_hours + 1) <= $1)
		AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(id string) error { return db.accrueInstance(ctx, id, now, &res) })...)
	// The recycle bin: released RecycleRetention after recycled_at.
	cutoff := now.Add(-RecycleRetention)
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM instances WHERE released = FALSE AND status = 'RECYCLE'
		AND recycled_at > 0 AND recycled_at <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), cutoff.Unix(),
		func(id string) error { return db.releaseRecycled(ctx, id, cutoff, &res) })...)
	// Elastic and DDoS-protected IPs (eip_sweep.go), counted with the
	// instances.
	errs = append(errs, db.sweepEIPs(ctx, now, cfg, &res)...)
	errs = append(errs, db.sweepCidrBlocks(ctx, now, cfg, &res)...)
	errs = append(errs, db.sweepLoadBalancers(ctx, now, &res)...)
	return res, errors.Join(errs...)
}

// eachDue pages through the IDs query returns (its parameters are at and
// the last ID seen) and calls fn on each, collecting errors. The query is
// only a candidate list: fn re-checks each instance under its row lock.
// Paging by id, not by re-running the query until empty, guarantees the
// loop ends even when an instance keeps failing.
func (db *DB) eachDue(ctx context.Context, query string, at int64, fn func(id string) error) []error {
	var errs []error
	last := ""
	for {
		rows, err := db.SQL.QueryContext(ctx, query, at, last)
		if err != nil {
			return append(errs, fmt.Errorf("find due instances: %w", err))
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return append(errs, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return append(errs, err)
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return append(errs, ctx.Err())
			}
			if err := fn(id); err != nil {
				errs = append(errs, fmt.Errorf("instance %s: %w", id, err))
			}
		}
		if len(ids) < sweepBatch {
			return errs
		}
		last = ids[len(ids)-1]
	}
}

// lockLiveInstanceTx reads a live instance by id under its row lock, or
// nil if it is gone.
func (db *DB) lockLiveInstanceTx(ctx context.Context, tx *sql.Tx, id string) (*metalplane.Instance, error) {
	in, err := scanInstance(tx.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = $1 AND released = $2`+db.forUpdate(), id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return in, err
}

// renewalKey is the dedupe key of the automatic renewal of the period
// that ended at expiry: one debit per instance and period, however many
// sweeps see it due.
func renewalKey(instanceID string, expiry time.Time) string {
	return fmt.Sprintf("renewal:%s:%d", instanceID, expiry.Unix())
}

// hourlyKey is the dedupe key of hour k (from 0) of a POSTPAID instance.
func hourlyKey(instanceID string, k int64) string {
	return fmt.Sprintf("hourly:%s:%d", instanceID, k)
}

const apiTime = "2006-01-02T15:04:05Z"

// expireInstance handles a PREPAID instance whose expiredTime has come
// (ACTIONS.md §1.2): with autoRenew and a balance that covers a period,
// one period is debited and expiredTime moves on by the period — again
// while it is still in the past, so a long downtime renews every missed
// period; otherwise the instance goes to RECYCLE, powered off by a job
// enqueued in the same transaction (an INSTALLING instance is recycled
// once its reinstall ends). recycled_at is the expiry itself
// [decision], not the moment the sweep noticed, so the 24 h of the recycle
// bin do not depend on when (or whether, during a downtime) a sweep ran.
func (db *DB) expireInstance(ctx context.Context, id string, now time.Time, cfg SweepConfig, res *SweepResult) error {
	renewed, recycled := 0, false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		renewed, recycled = 0, false
		for {
			in, err := db.lockLiveInstanceTx(ctx, tx, id)
			if err != nil || in == nil {
				return err
			}
			if in.ChargeType != metalplane.ChargeTypePrepaid || in.Status == metalplane.StatusRecycle || in.ExpiredTime.IsZero() || in.ExpiredTime.After(now) {
				return nil
			}
			// The downgrades scheduled for this expiry take effect first,
			// so the next period is priced at the new bandwidth.
			if err := db.applyDueInternetChangesTx(ctx, tx, id); err != nil {
				return err
			}
			if in, err = db.lockLiveInstanceTx(ctx, tx, id); err != nil || in == nil {
				return err
			}
			why := "autoRenew off"
			if in.AutoRenew {
				ok, err := db.autoRenewTx(ctx, tx, in, cfg)
				if err != nil {
					return err
				}
				if ok {
					renewed++
					continue
				}
				why = "balance short of a period"
			}
			if in.Status == metalplane.StatusInstalling {
				// TerminateInstance is refused while INSTALLING (ACTIONS.md
				// §1.3); the recycle bin likewise waits for the reinstall
				// to end, a sweep or two later. recycled_at is still the
				// expiry.
				return nil
			}
			recycled = true
			return db.recycleAtExpiryTx(ctx, tx, in, why, cfg)
		}
	})
	if err == nil {
		res.Renewals += renewed
		if recycled {
			res.Recycled++
		}
	}
	return err
}

// autoRenewTx debits one period of the locked instance and extends its
// expiredTime, or reports false if the balance does not cover it.
func (db *DB) autoRenewTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance, cfg SweepConfig) (bool, error) {
	var amount metalplane.Money
	if cfg.RenewalPriceFunc != nil {
		var err error
		if amount, err = cfg.RenewalPriceFunc(in); err != nil {
			return false, err
		}
	} else {
		var p int64
		if err := tx.QueryRowContext(ctx, `SELECT period_price FROM instances WHERE id = $1`, in.ID).Scan(&p); err != nil {
			return false, fmt.Errorf("read price: %w", err)
		}
		amount = metalplane.Money(p)
	}
	if err := metalplane.CheckDebit("the auto-renewal of "+in.ID, amount, 0); err != nil {
		return false, err
	}
	team, err := db.findTeamTx(ctx, tx, in.TeamID)
	if err != nil {
		return false, err
	}
	if team.Balance < amount {
		return false, nil
	}
	if in.Period < 1 {
		return false, fmt.Errorf("PREPAID instance with a period of %d months", in.Period)
	}
	old := in.ExpiredTime
	expired := old.AddDate(0, in.Period, 0)
	if amount > 0 {
		if _, err := db.addLedgerOnceTx(ctx, tx, metalplane.LedgerEntry{TeamID: in.TeamID, Amount: -amount, Kind: metalplane.LedgerRenewal,
			OrderNumber: in.OrderNumber, InstanceID: in.ID, Note: fmt.Sprintf("auto-renewal of %s for %d months from %s", in.ID, in.Period, old.Format(apiTime))},
			renewalKey(in.ID, old)); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET expired_time = $1 WHERE id = $2`, expired.Unix(), in.ID); err != nil {
		return false, fmt.Errorf("extend: %w", err)
	}
	return true, db.addEventTx(ctx, tx, in.ID, "renewed", "expiry", ClockDriver,
		fmt.Sprintf("auto-renewal at %s: %s debited, expires %s", old.Format(apiTime), amount, expired.Format(apiTime)))
}

// recycleAtExpiryTx moves the locked, expired instance to RECYCLE and
// enqueues its power-off (ACTIONS.md §1.2: an instance in RECYCLE is
// powered off). A power job driving it meanwhile (BOOTING, STOPPING)
// finds it no longer in the status it expects and stops.
func (db *DB) recycleAtExpiryTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance, why string, cfg SweepConfig) error {
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET status = $1, recycled_at = $2 WHERE id = $3`,
		string(metalplane.StatusRecycle), in.ExpiredTime.Unix(), in.ID); err != nil {
		return fmt.Errorf("recycle: %w", err)
	}
	if err := db.addEventTx(ctx, tx, in.ID, "status", "expiry", ClockDriver,
		fmt.Sprintf("%s → %s: expired at %s (%s)", in.Status, metalplane.StatusRecycle, in.ExpiredTime.Format(apiTime), why)); err != nil {
		return err
	}
	return enqueueTx(ctx, tx, cfg.EnqueueFunc, []LifecycleJob{{InstanceID: in.ID, Op: metalplane.OpTerminate, From: in.Status}})
}

// accrueInstance charges the POSTPAID hours of an instance that are due
// and not charged yet [decision]: hour k runs from createTime + k h; while
// the instance is live an hour is charged once it has ended; billing stops
// when the instance enters the recycle bin (TerminateInstance: "billing
// stops"), and the hour it stops in is charged in full. STOPPED and
// INSTALL_FAILED instances accrue (the server stays reserved); a
// CREATE_FAILED instance is never charged. Each hour is one ledger row at
// the instance's current hourly price.
func (db *DB) accrueInstance(ctx context.Context, id string, now time.Time, res *SweepResult) error {
	charged := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		charged = 0
		var teamID, orderNumber, chargeType, status string
		var price, created, recycled, billed int64
		var closed bool
		err := tx.QueryRowContext(ctx, `SELECT team_id, order_number, charge_type, status, hourly_price, create_time, recycled_at, billed_hours, hourly_closed
			FROM instances WHERE id = $1`+db.forUpdate(), id).Scan(&teamID, &orderNumber, &chargeType, &status, &price, &created, &recycled, &billed, &closed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if closed || chargeType != metalplane.ChargeTypePostpaid {
			return nil
		}
		if price < 0 {
			// Never billed by the test below, and a charge of -price
			// would credit: report it every sweep until an operator
			// looks (Audit reports it too).
			return fmt.Errorf("hourly price %s is negative", metalplane.Money(price))
		}
		switch metalplane.InstanceStatus(status) {
		case metalplane.StatusPending, metalplane.StatusCreating:
			return nil
		case metalplane.StatusCreateFailed:
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET hourly_closed = $1 WHERE id = $2`, true, id); err != nil {
				return fmt.Errorf("close billing: %w", err)
			}
			return db.addEventTx(ctx, tx, id, "billing", "hourly", ClockDriver, fmt.Sprintf("billing closed after %d hours: a failed provision is not billed", billed))
		}
		due := metalplane.HoursDue(time.Unix(created, 0), unixOrZero(recycled), now)
		if charged, err = db.chargeHoursTx(ctx, tx, hourlyCharges{TeamID: teamID, OrderNumber: orderNumber, InstanceID: id, Price: metalplane.Money(price),
			Created: created, From: billed, To: due,
			Key:  func(k int64) string { return hourlyKey(id, k) },
			Note: func(k int64, from string) string { return fmt.Sprintf("hour %d of %s from %s", k+1, id, from) }}); err != nil {
			return err
		}
		stopped := recycled > 0
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET billed_hours = $1, hourly_closed = $2 WHERE id = $3`, max(due, billed), stopped, id); err != nil {
			return fmt.Errorf("record billed hours: %w", err)
		}
		if stopped {
			return db.addEventTx(ctx, tx, id, "billing", "hourly", ClockDriver,
				fmt.Sprintf("billing stopped at %s after %d hours", time.Unix(recycled, 0).UTC().Format(apiTime), max(due, billed)))
		}
		return nil
	})
	if err == nil {
		res.HourlyCharges += charged
	}
	return err
}

// unixOrZero is the time of Unix seconds s, or the zero time for 0 (the
// columns' "not set").
func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// releaseRecycled releases an instance that entered the recycle bin at
// or before cutoff, through the one release path, ReleaseInstanceTx.
func (db *DB) releaseRecycled(ctx context.Context, id string, cutoff time.Time, res *SweepResult) error {
	released := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		var recycled int64
		err := tx.QueryRowContext(ctx, `SELECT status, recycled_at FROM instances WHERE id = $1 AND released = $2`+db.forUpdate(), id, false).Scan(&status, &recycled)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if metalplane.InstanceStatus(status) != metalplane.StatusRecycle || recycled <= 0 || recycled > cutoff.Unix() {
			return nil
		}
		released, err = db.ReleaseInstanceTx(ctx, tx, id, fmt.Sprintf("%s: %s in the recycle bin since %s", ClockDriver, RecycleRetention,
			time.Unix(recycled, 0).UTC().Format(apiTime)))
		return err
	})
	if err == nil && released {
		res.Released++
	}
	return err
}

// hourlyCharges are the hours From to To-1 (from 0) of a POSTPAID
// resource created at Created (Unix seconds), each charged Price once
// under its dedupe key.
type hourlyCharges struct {
	TeamID, OrderNumber, InstanceID string
	Price                           metalplane.Money
	Created, From, To               int64
	Key                             func(k int64) string
	Note                            func(k int64, from string) string
}

// chargeHoursTx writes the ledger rows of h not written yet, under the
// team lock, and returns how many it wrote. A price of 0 charges nothing.
func (db *DB) chargeHoursTx(ctx context.Context, tx *sql.Tx, h hourlyCharges) (int, error) {
	if h.To <= h.From || h.Price <= 0 {
		return 0, nil
	}
	if _, err := db.findTeamTx(ctx, tx, h.TeamID); err != nil {
		return 0, err
	}
	charged := 0
	for k := h.From; k < h.To; k++ {
		from := time.Unix(h.Created+3600*k, 0).UTC().Format(apiTime)
		ok, err := db.addLedgerOnceTx(ctx, tx, metalplane.LedgerEntry{TeamID: h.TeamID, Amount: -h.Price, Kind: metalplane.LedgerHourlyCharge,
			OrderNumber: h.OrderNumber, InstanceID: h.InstanceID, Note: h.Note(k, from)}, h.Key(k))
		if err != nil {
			return 0, err
		}
		if ok {
			charged++
		}
	}
	return charged, nil
}
