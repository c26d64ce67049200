package sqlstore

// The clock-driven work of CIDR blocks, part of Sweep (periodic.go).

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// sweepCidrBlocks performs the clock-driven work of blocks at now, as
// Sweep does for instances: PREPAID expiry (no auto-renewal exists for
// blocks, so an expired block goes to the recycle bin), POSTPAID hourly
// accrual, and the release of the recycle bin after RecycleRetention.
func (db *DB) sweepCidrBlocks(ctx context.Context, now time.Time, cfg SweepConfig, res *SweepResult) []error {
	var errs []error
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM cidr_blocks WHERE charge_type = 'PREPAID' AND released = FALSE AND status <> 'RECYCLE'
		AND expired_at > 0 AND expired_at <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(id string) error { return db.expireBlock(ctx, id, now, cfg.BlockIPsEnqueueFunc, res) })...)
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM cidr_blocks WHERE charge_type = 'POSTPAID' AND hourly_closed = FALSE
		AND (recycled_at > 0 OR created_at + 3600 * (billed_hours + 1) <= $1) AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), now.Unix(),
		func(id string) error { return db.accrueBlock(ctx, id, now, res) })...)
	cutoff := now.Add(-RecycleRetention)
	errs = append(errs, db.eachDue(ctx, `SELECT id FROM cidr_blocks WHERE released = FALSE AND status = 'RECYCLE'
		AND recycled_at > 0 AND recycled_at <= $1 AND id > $2 ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), cutoff.Unix(),
		func(id string) error { return db.releaseRecycledBlock(ctx, id, cutoff, res) })...)
	return errs
}

// blockRow is what the sweep reads of a block under its lock.
type blockRow struct {
	teamID, orderNumber, chargeType, status string
	price, created, expired, recycled       int64
	billed                                  int64
	closed, released                        bool
}

// sweepBlock runs one unit of the sweep on a block: act gets the block's
// row under its lock, in one transaction, and reports how much it did;
// count adds that to the result once the transaction has committed.
func (db *DB) sweepBlock(ctx context.Context, id string, act func(tx *sql.Tx, b blockRow) (int, error), count func(n int)) error {
	done := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var b blockRow
		err := tx.QueryRowContext(ctx, `SELECT team_id, order_number, charge_type, status, hourly_price, created_at, expired_at, recycled_at,
			billed_hours, hourly_closed, released FROM cidr_blocks WHERE id = $1`+db.forUpdate(), id).Scan(&b.teamID, &b.orderNumber, &b.chargeType,
			&b.status, &b.price, &b.created, &b.expired, &b.recycled, &b.billed, &b.closed, &b.released)
		if err != nil {
			return fmt.Errorf("lock block: %w", err)
		}
		done, err = act(tx, b)
		return err
	})
	if err == nil {
		count(done)
	}
	return err
}

// expireBlock moves a PREPAID block whose period has ended to the recycle
// bin. recycled_at is the expiry, not the sweep's time, so the 24 h of the
// bin do not depend on when a sweep ran. [decision] Its addresses are
// unbound at once (a block in the bin serves no instance, and
// UnbindCidrBlockIps refuses it): the bindings go and the driver job of
// each instance concerned is enqueued in the same transaction.
func (db *DB) expireBlock(ctx context.Context, id string, now time.Time, enqueue BlockIPsEnqueueFunc, res *SweepResult) error {
	return db.sweepBlock(ctx, id, func(tx *sql.Tx, b blockRow) (int, error) {
		if b.released || b.status == metalplane.CidrBlockRecycle || b.expired == 0 || b.expired > now.Unix() {
			return 0, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cidr_blocks SET status = $1, recycled_at = $2 WHERE id = $3`, metalplane.CidrBlockRecycle, b.expired, id); err != nil {
			return 0, err
		}
		return 1, dropBlockBindingsTx(ctx, tx, id, enqueue)
	}, func(n int) { res.BlocksRecycled += n })
}

// accrueBlock charges the due POSTPAID hours of a block, by the rule of
// instances (metalplane.HoursDue): an hour is owed once it has ended, and
// billing stops when the block enters the recycle bin, that hour charged
// in full.
func (db *DB) accrueBlock(ctx context.Context, id string, now time.Time, res *SweepResult) error {
	return db.sweepBlock(ctx, id, func(tx *sql.Tx, b blockRow) (int, error) {
		if b.closed || b.chargeType != metalplane.ChargeTypePostpaid {
			return 0, nil
		}
		if b.price < 0 {
			return 0, fmt.Errorf("hourly price %s is negative", metalplane.Money(b.price))
		}
		due := metalplane.HoursDue(time.Unix(b.created, 0), unixOrZero(b.recycled), now)
		charged, err := db.chargeHoursTx(ctx, tx, hourlyCharges{TeamID: b.teamID, OrderNumber: b.orderNumber, Price: metalplane.Money(b.price),
			Created: b.created, From: b.billed, To: due,
			Key: func(k int64) string { return blockHourlyKey(id, k) },
			Note: func(k int64, from string) string {
				return fmt.Sprintf("hour %d of CIDR block %s from %s", k+1, id, from)
			}})
		if err != nil {
			return 0, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE cidr_blocks SET billed_hours = $1, hourly_closed = $2 WHERE id = $3`, max(due, b.billed), b.recycled > 0, id)
		return charged, err
	}, func(n int) { res.BlockHourlyCharges += n })
}

// releaseRecycledBlock releases a block that entered the recycle bin at or
// before cutoff.
func (db *DB) releaseRecycledBlock(ctx context.Context, id string, cutoff time.Time, res *SweepResult) error {
	return db.sweepBlock(ctx, id, func(tx *sql.Tx, b blockRow) (int, error) {
		if b.released || b.status != metalplane.CidrBlockRecycle || b.recycled <= 0 || b.recycled > cutoff.Unix() {
			return 0, nil
		}
		return 1, releaseBlockTx(ctx, tx, id)
	}, func(n int) { res.BlocksReleased += n })
}
