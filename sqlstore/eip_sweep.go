package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// The clock's work on EIPs and DDoS-protected IPs, done by Sweep with the
// same exactly-once rules as for instances (periodic.go): each unit is one
// short transaction over one locked EIP that re-checks that the work is
// still due, and every hourly ledger row has a dedupe key.
//
// [decision] A PREPAID EIP is not renewed automatically (Allocate has no
// autoRenew, unlike CreateInstances): at its expiredTime it goes to the
// recycle bin, unassociated first, unless RenewEipAddress extended it.

// sweepEIPs performs the EIP transitions due at now.
func (db *DB) sweepEIPs(ctx context.Context, now time.Time, cfg SweepConfig, res *SweepResult) []error {
	var errs []error
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM eips WHERE charge_type = 'PREPAID' AND released = FALSE AND status NOT IN ('RECYCLE', 'RECYCLING')
		AND expired_time > 0 AND expired_time <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(id string) error { return db.expireEIP(ctx, id, now, cfg, res) })...)
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM eips WHERE charge_type = 'POSTPAID' AND hourly_closed = FALSE
		AND (recycled_at > 0 OR create_time + 3600 * (billed_hours + 1) <= $1)
		AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(id string) error {
			n := 0
			err := db.inTx(ctx, func(tx *sql.Tx) error {
				var err error
				n, err = db.accrueEIPTx(ctx, tx, id, now)
				return err
			})
			if err == nil {
				res.HourlyCharges += n
			}
			return err
		})...)
	cutoff := now.Add(-RecycleRetention)
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM eips WHERE released = FALSE AND status = 'RECYCLE'
		AND recycled_at > 0 AND recycled_at <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), cutoff.Unix(),
		func(id string) error { return db.releaseRecycledEIP(ctx, id, cutoff, now, res) })...)
	return errs
}

// expireEIP moves a PREPAID EIP whose period has ended into the recycle
// bin, recycled_at being the expiry itself (as for instances).
func (db *DB) expireEIP(ctx context.Context, id string, now time.Time, cfg SweepConfig, res *SweepResult) error {
	recycled := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		recycled = false
		e, err := scanEIP(tx.QueryRowContext(ctx, `SELECT `+eipColumns+` FROM eips WHERE id = $1 AND released = $2`+db.forUpdate(), id, false))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if e.ChargeType != metalplane.ChargeTypePrepaid || e.Status.Recycled() || e.ExpiredTime.IsZero() || e.ExpiredTime.After(now) {
			return nil
		}
		recycled = true
		return db.recycleEIPTx(ctx, tx, e, e.ExpiredTime, cfg.EIPEnqueueFunc)
	})
	if err == nil && recycled {
		res.Recycled++
	}
	return err
}

// accrueEIPTx charges the POSTPAID hours of the EIP that are due and not
// charged yet, with metalplane.HoursDue's rule: hour k runs from its
// createTime + k h; billing stops at recycled_at, whose hour is charged in
// full. It returns the rows written. Once recycled and fully charged the
// EIP's billing is closed.
func (db *DB) accrueEIPTx(ctx context.Context, tx *sql.Tx, id string, now time.Time) (int, error) {
	var teamID, chargeType string
	var price, created, recycled, billed int64
	var closed bool
	err := tx.QueryRowContext(ctx, `SELECT team_id, charge_type, hourly_price, create_time, recycled_at, billed_hours, hourly_closed FROM eips WHERE id = $1`+db.forUpdate(), id).
		Scan(&teamID, &chargeType, &price, &created, &recycled, &billed, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("lock: %w", err)
	}
	if closed || chargeType != metalplane.ChargeTypePostpaid {
		return 0, nil
	}
	if price < 0 {
		return 0, fmt.Errorf("hourly price %s is negative", metalplane.Money(price))
	}
	charged := 0
	due := metalplane.HoursDue(time.Unix(created, 0), unixOrZero(recycled), now)
	if due > billed && price > 0 {
		if _, err := db.findTeamTx(ctx, tx, teamID); err != nil {
			return 0, err
		}
		for k := billed; k < due; k++ {
			from := time.Unix(created+3600*k, 0).UTC()
			ok, err := db.addLedgerOnceTx(ctx, tx, metalplane.LedgerEntry{TeamID: teamID, Amount: -metalplane.Money(price), Kind: metalplane.LedgerHourlyCharge,
				Note: fmt.Sprintf("hour %d of address %s from %s", k+1, id, from.Format(apiTime))}, metalplane.EIPHourlyKey(id, k))
			if err != nil {
				return 0, err
			}
			if ok {
				charged++
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE eips SET billed_hours = $1, hourly_closed = $2 WHERE id = $3`, max(due, billed), recycled > 0, id); err != nil {
		return 0, fmt.Errorf("record billed hours: %w", err)
	}
	return charged, nil
}

// releaseRecycledEIP releases an EIP that entered the recycle bin at or
// before cutoff.
func (db *DB) releaseRecycledEIP(ctx context.Context, id string, cutoff, now time.Time, res *SweepResult) error {
	released := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		var recycled int64
		err := tx.QueryRowContext(ctx, `SELECT status, recycled_at FROM eips WHERE id = $1 AND released = $2`+db.forUpdate(), id, false).Scan(&status, &recycled)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if metalplane.EIPStatus(status) != metalplane.EIPRecycle || recycled <= 0 || recycled > cutoff.Unix() {
			return nil
		}
		released, err = db.releaseEIPTx(ctx, tx, id, now)
		return err
	})
	if err == nil && released {
		res.Released++
	}
	return err
}
