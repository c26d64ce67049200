package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/metalplane/metalplane"
)

// Bandwidth and traffic package changes (metalplane/internet.go decides how
// they take effect; this file writes them). A scheduled downgrade is a row
// of internet_downgrades until it takes effect or is cancelled.
//
// Scheduled downgrades take effect lazily: every method here first applies
// the instance's due rows in its own transaction, and
// ApplyDueInternetChanges applies every due row (for a periodic sweep, and
// for the renewal code, which must apply them before charging the next
// period).

const downgradeColumns = `instance_id, kind, bandwidth_mbps, traffic_package_tb, period_price_delta, order_number, effective_at`

func scanDowngrade(row interface{ Scan(...any) error }) (*metalplane.PendingInternetChange, error) {
	var p metalplane.PendingInternetChange
	var kind string
	var delta, effective int64
	if err := row.Scan(&p.InstanceID, &kind, &p.BandwidthMbps, &p.TrafficPackageTB, &delta, &p.OrderNumber, &effective); err != nil {
		return nil, err
	}
	p.Kind, p.PeriodPriceDelta, p.EffectiveAt = metalplane.InternetChangeKind(kind), metalplane.Money(delta), time.Unix(effective, 0).UTC()
	return &p, nil
}

// lockInstanceTx reads the team's live instance and, on PostgreSQL, locks
// its row until the transaction ends. Returns INVALID_INSTANCE_NOT_FOUND.
func (db *DB) lockInstanceTx(ctx context.Context, tx *sql.Tx, teamID, id string) (*metalplane.Instance, error) {
	in, err := scanInstance(tx.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE team_id = $1 AND id = $2 AND released = $3`+db.forUpdate(), teamID, id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("lock instance: %w", err)
	}
	return in, nil
}

// pendingDowngradesTx returns the instance's scheduled downgrades by kind.
func pendingDowngradesTx(ctx context.Context, q queryer, instanceID string) (map[metalplane.InternetChangeKind]*metalplane.PendingInternetChange, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+downgradeColumns+` FROM internet_downgrades WHERE instance_id = $1`, instanceID)
	if err != nil {
		return nil, fmt.Errorf("find downgrades: %w", err)
	}
	defer rows.Close()
	out := map[metalplane.InternetChangeKind]*metalplane.PendingInternetChange{}
	for rows.Next() {
		p, err := scanDowngrade(rows)
		if err != nil {
			return nil, err
		}
		out[p.Kind] = p
	}
	return out, rows.Err()
}

// applyDowngradeTx makes a scheduled downgrade take effect: the new value
// and the lower period price, then the row is gone. An instance released
// meanwhile only loses the row.
func (db *DB) applyDowngradeTx(ctx context.Context, tx *sql.Tx, p *metalplane.PendingInternetChange) error {
	col, val := "bandwidth_out_mbps", any(p.BandwidthMbps)
	if p.Kind == metalplane.ChangeTraffic {
		col, val = "traffic_package_tb", p.TrafficPackageTB
	}
	price, err := db.shiftedPeriodPriceTx(ctx, tx, p.InstanceID, p.PeriodPriceDelta)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE instances SET `+col+` = $1, period_price = $2 WHERE id = $3 AND released = $4`,
		val, int64(price), p.InstanceID, false)
	if err != nil {
		return fmt.Errorf("apply %s downgrade: %w", p.Kind, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM internet_downgrades WHERE instance_id = $1 AND kind = $2`, p.InstanceID, string(p.Kind)); err != nil {
		return fmt.Errorf("delete downgrade: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return db.addEventTx(ctx, tx, p.InstanceID, "internet", "", "", fmt.Sprintf("scheduled %s downgrade of order %s took effect", p.Kind, p.OrderNumber))
}

// shiftedPeriodPriceTx returns the instance's period price moved by delta
// (metalplane.ShiftPeriodPrice). It is computed here rather than in SQL,
// where an overflow would be an error on PostgreSQL and a silent change to
// a float on SQLite. The caller holds the instance's row lock.
func (db *DB) shiftedPeriodPriceTx(ctx context.Context, tx *sql.Tx, instanceID string, delta metalplane.Money) (metalplane.Money, error) {
	var price int64
	if err := tx.QueryRowContext(ctx, `SELECT period_price FROM instances WHERE id = $1`, instanceID).Scan(&price); err != nil {
		return 0, fmt.Errorf("read period price of %s: %w", instanceID, err)
	}
	return metalplane.ShiftPeriodPrice(metalplane.Money(price), delta)
}

// applyDueInternetChangesTx applies the instance's downgrades whose time
// has come. The caller holds the instance's row lock.
func (db *DB) applyDueInternetChangesTx(ctx context.Context, tx *sql.Tx, instanceID string) error {
	pending, err := pendingDowngradesTx(ctx, tx, instanceID)
	if err != nil {
		return err
	}
	now := db.Now()
	for _, kind := range []metalplane.InternetChangeKind{metalplane.ChangeBandwidth, metalplane.ChangeTraffic} {
		if p := pending[kind]; p != nil && !p.EffectiveAt.After(now) {
			if err := db.applyDowngradeTx(ctx, tx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// ApplyDueInternetChanges applies every scheduled downgrade whose time has
// come and returns how many took effect. Each instance is handled in its
// own transaction under its row lock.
func (db *DB) ApplyDueInternetChanges(ctx context.Context) (int, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT DISTINCT instance_id FROM internet_downgrades WHERE effective_at <= $1`, db.Now().Unix())
	if err != nil {
		return 0, fmt.Errorf("find due downgrades: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	done := 0
	for _, id := range ids {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT id FROM instances WHERE id = $1`+db.forUpdate(), id); err != nil {
				return err
			}
			before, err := pendingDowngradesTx(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := db.applyDueInternetChangesTx(ctx, tx, id); err != nil {
				return err
			}
			after, err := pendingDowngradesTx(ctx, tx, id)
			done += len(before) - len(after)
			return err
		})
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// InternetStatus is what DescribeInstanceInternetStatus reports.
type InternetStatus struct {
	Instance *metalplane.Instance
	// Pending holds the scheduled downgrades by kind.
	Pending map[metalplane.InternetChangeKind]*metalplane.PendingInternetChange
}

// FindInternetStatus returns the team's instance (recycled ones included)
// and its scheduled downgrades, after applying the due ones. Returns
// INVALID_INSTANCE_NOT_FOUND.
func (db *DB) FindInternetStatus(ctx context.Context, teamID, instanceID string) (*InternetStatus, error) {
	var st InternetStatus
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.lockInstanceTx(ctx, tx, teamID, instanceID); err != nil {
			return err
		}
		if err := db.applyDueInternetChangesTx(ctx, tx, instanceID); err != nil {
			return err
		}
		in, err := db.lockInstanceTx(ctx, tx, teamID, instanceID)
		if err != nil {
			return err
		}
		st.Instance = in
		st.Pending, err = pendingDowngradesTx(ctx, tx, instanceID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// InternetPlanFunc checks a change against the locked instance and its
// scheduled downgrade of the same kind (nil if none) and decides how it
// takes effect; an error is answered as is and nothing is written.
type InternetPlanFunc func(in *metalplane.Instance, pending *metalplane.PendingInternetChange) (*metalplane.InternetChangePlan, error)

// ModifyInternetResult is the answer of ModifyInstanceBandwidth and
// ModifyInstanceTrafficPackage.
type ModifyInternetResult struct {
	OrderNumber string `json:"orderNumber"`
}

// ModifyInternet changes the bandwidth or traffic package of the team's
// instance in one transaction: it locks the instance, applies its due
// downgrades, lets plan check and price the change, then records an order,
// debits a PREPAID upgrade (one ledger row) and either updates the
// instance or schedules the downgrade. A signed request's claim (WithReplay)
// is written first in the same transaction with this answer, so that an
// identical request racing this one never pays twice. Returns INVALID_INSTANCE_NOT_FOUND, plan's errors,
// OPERATION_DENIED_BALANCE_INSUFFICIENT, or ErrReplayed.
func (db *DB) ModifyInternet(ctx context.Context, teamID, instanceID string, req metalplane.InternetChangeRequest, plan InternetPlanFunc) (*ModifyInternetResult, error) {
	result := &ModifyInternetResult{OrderNumber: metalplane.NewOrderNumber()}
	response, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	if claim := replayFrom(ctx); claim != nil {
		// inTx writes it first.
		claim.Response = response
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.lockInstanceTx(ctx, tx, teamID, instanceID); err != nil {
			return err
		}
		if err := db.applyDueInternetChangesTx(ctx, tx, instanceID); err != nil {
			return err
		}
		in, err := db.lockInstanceTx(ctx, tx, teamID, instanceID)
		if err != nil {
			return err
		}
		pending, err := pendingDowngradesTx(ctx, tx, instanceID)
		if err != nil {
			return err
		}
		p, err := plan(in, pending[req.Kind])
		if err != nil {
			return err
		}
		return db.writeInternetChangeTx(ctx, tx, in, req, p, result.OrderNumber)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

func (db *DB) writeInternetChangeTx(ctx context.Context, tx *sql.Tx, in *metalplane.Instance, req metalplane.InternetChangeRequest, p *metalplane.InternetChangePlan, orderNumber string) error {
	now := db.Now()
	target, col, val := fmt.Sprintf("%d Mbps", req.BandwidthMbps), "bandwidth_out_mbps", any(req.BandwidthMbps)
	if req.Kind == metalplane.ChangeTraffic {
		target, col, val = fmt.Sprintf("%g TB", req.TrafficPackageTB), "traffic_package_tb", req.TrafficPackageTB
	}
	if in.ChargeType == metalplane.ChargeTypePostpaid && p.Immediate {
		// A POSTPAID upgrade raises what the team owes by the hour: like
		// a POSTPAID purchase, it needs a positive balance. Downgrades and
		// unchanged prices never do.
		var hourly int64
		if err := tx.QueryRowContext(ctx, `SELECT hourly_price FROM instances WHERE id = $1`, in.ID).Scan(&hourly); err != nil {
			return err
		}
		if p.HourlyPrice > metalplane.Money(hourly) {
			team, err := db.findTeamTx(ctx, tx, in.TeamID)
			if err != nil {
				return err
			}
			if team.Balance <= 0 {
				return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "A POSTPAID upgrade needs a positive balance; the balance is %s.", team.Balance)
			}
		}
	}
	// Every amount is checked before the first write: the charge never
	// credits, the hourly price is never below zero (it would never be
	// billed), and the new period price fits.
	if err := metalplane.CheckDebit(fmt.Sprintf("the %s change of %s", req.Kind, in.ID), p.Charge, 0); err != nil {
		return err
	}
	if p.HourlyPrice < 0 {
		return fmt.Errorf("refusing an hourly price of %s for %s: it would never be billed", p.HourlyPrice, in.ID)
	}
	periodPrice, err := db.shiftedPeriodPriceTx(ctx, tx, in.ID, p.PeriodPriceDelta)
	if err != nil {
		return err
	}
	if p.Charge > 0 {
		team, err := db.findTeamTx(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		if team.Balance < p.Charge {
			return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "The upgrade costs %s for the rest of the period; the balance is %s.", p.Charge, team.Balance)
		}
		if err := db.addLedgerTx(ctx, tx, metalplane.LedgerEntry{TeamID: in.TeamID, Amount: -p.Charge, Kind: metalplane.LedgerInternetUpgrade,
			OrderNumber: orderNumber, InstanceID: in.ID, Note: fmt.Sprintf("%s upgrade of %s to %s until %s", req.Kind, in.ID, target, in.ExpiredTime.Format(time.RFC3339))}); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (order_number, team_id, charge_type, amount, total, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		orderNumber, in.TeamID, in.ChargeType, 1, int64(p.Charge), now.Unix()); err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	if !p.Immediate {
		_, err := tx.ExecContext(ctx, `INSERT INTO internet_downgrades (instance_id, kind, bandwidth_mbps, traffic_package_tb, period_price_delta, order_number, effective_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			in.ID, string(req.Kind), req.BandwidthMbps, req.TrafficPackageTB, int64(p.PeriodPriceDelta), orderNumber, p.EffectiveAt.Unix(), now.Unix())
		if err != nil {
			return fmt.Errorf("schedule downgrade: %w", err)
		}
		return db.addEventTx(ctx, tx, in.ID, "internet", "", "", fmt.Sprintf("%s downgrade to %s scheduled for %s (order %s)", req.Kind, target, p.EffectiveAt.Format(time.RFC3339), orderNumber))
	}
	q := `UPDATE instances SET ` + col + ` = $1, period_price = $2`
	args := []any{val, int64(periodPrice)}
	if in.ChargeType != metalplane.ChargeTypePrepaid {
		q += `, hourly_price = $3 WHERE id = $4`
		args = append(args, int64(p.HourlyPrice), in.ID)
	} else {
		q += ` WHERE id = $3`
		args = append(args, in.ID)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("change %s: %w", req.Kind, err)
	}
	return db.addEventTx(ctx, tx, in.ID, "internet", "", "", fmt.Sprintf("%s changed to %s (order %s, charged %s)", req.Kind, target, orderNumber, p.Charge))
}

// CancelInternetDowngrade removes the scheduled downgrade of this kind of
// the team's instance, after check has accepted the locked instance.
// Returns INVALID_INSTANCE_NOT_FOUND, check's errors, or
// OPERATION_DENIED_DOWNGRADE_NOT_EXIST when none is scheduled (also when it
// has already taken effect).
func (db *DB) CancelInternetDowngrade(ctx context.Context, teamID, instanceID string, kind metalplane.InternetChangeKind, check func(in *metalplane.Instance) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		in, err := db.lockInstanceTx(ctx, tx, teamID, instanceID)
		if err != nil {
			return err
		}
		if err := check(in); err != nil {
			return err
		}
		if err := db.applyDueInternetChangesTx(ctx, tx, instanceID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM internet_downgrades WHERE instance_id = $1 AND kind = $2`, instanceID, string(kind))
		if err != nil {
			return fmt.Errorf("cancel downgrade: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return metalplane.Errorf("OPERATION_DENIED_DOWNGRADE_NOT_EXIST", "The instance %s has no scheduled %s downgrade.", instanceID, kind)
		}
		return db.addEventTx(ctx, tx, instanceID, "internet", "", "", fmt.Sprintf("scheduled %s downgrade cancelled", kind))
	})
}

// InstancePrices returns the stored period price (PREPAID) and hourly
// price (POSTPAID) of an instance, for operators and tests.
func (db *DB) InstancePrices(ctx context.Context, instanceID string) (period, hourly metalplane.Money, err error) {
	var p, h int64
	err = db.SQL.QueryRowContext(ctx, `SELECT period_price, hourly_price FROM instances WHERE id = $1`, instanceID).Scan(&p, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("instance %s: %w", instanceID, ErrNotFound)
	}
	return metalplane.Money(p), metalplane.Money(h), err
}
