package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/metalplane/metalplane"
)

// createPipelined is one purchase on PostgreSQL in its own transaction (the
// group committer's purchase alone; groupcommit_pg.go), where purchases run in
// parallel on many connections. Two things made it slow when it ran
// createTx's statements one at a time (docs/performance.md, round three):
// every statement was a round trip to the server, about sixteen per
// purchase, and the team's row was locked by the first of them and held to
// the commit, so the purchases of one team ran one after another, each for
// all its round trips.
//
// Here the statements go in batches that pgx sends at once, one round trip
// each: the claim, the team read without a lock and the picks; River's job
// insert (it needs the database/sql transaction); the rows and the money.
// The team's row is locked only by the money's conditional updates (a
// PREPAID debit, a POC voucher), sent last, and by the count of the new
// instances that its trigger adds at commit, which also refuses a commit
// beyond the quota (migration 0034): the checks on the unlocked read keep
// the documented order of refusals (quota, stock, balance), and those
// conditions decide between purchases that race for the last quota, money
// or voucher.
//
// Every transaction that locks the team's row and then waits for rows a
// purchase may hold (free hosts and pool addresses, taken FOR UPDATE SKIP
// LOCKED before the team) must therefore take the team's row after those
// rows, as CreateCidrBlocks does; otherwise the two wait for each other. A
// purchase into a subnet locks the team first, as before: other
// transactions lock the team before a subnet's row.
func (db *DB) createPipelined(ctx context.Context, plan *metalplane.CreatePlan, result *CreateResult, claim *Replay, enqueue EnqueueFunc) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()
	// A deadlock PostgreSQL breaks rolls the purchase back whole; it is
	// run again rather than answered with an internal error.
	for attempt := 1; ; attempt++ {
		err = db.createOnConn(ctx, conn, plan, result, claim, enqueue)
		if attempt == 3 || !isDeadlock(err) {
			return err
		}
	}
}

func (db *DB) createOnConn(ctx context.Context, conn *sql.Conn, plan *metalplane.CreatePlan, result *CreateResult, claim *Replay, enqueue EnqueueFunc) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
	team, err := db.purchaseOnConn(ctx, conn, tx, nil, plan, result, claim, enqueue)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return commitError(err, team)
	}
	if claim != nil {
		claim.written = true
	}
	return nil
}

// commitError is what a purchase's failed commit means to its buyer.
func commitError(err error, team *metalplane.Team) error {
	if isQuotaViolation(err) {
		// A purchase that committed since this one read the count took
		// the last of the quota (migration 0034).
		return metalplane.Errorf("OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", "The team's quota of %d instances would be exceeded.", team.InstanceQuota)
	}
	return fmt.Errorf("commit: %w", err)
}

// purchaseOnConn runs a purchase's statements inside tx, conn's open
// transaction, without committing it; prefix are statements without
// arguments sent first, in the same round trip (a batch's savepoints). It
// returns the team as read, for the commit's refusal.
func (db *DB) purchaseOnConn(ctx context.Context, conn *sql.Conn, tx *sql.Tx, prefix []string, plan *metalplane.CreatePlan, result *CreateResult, claim *Replay, enqueue EnqueueFunc) (*metalplane.Team, error) {
	lockTeamFirst := plan.SubnetID != ""
	teamQuery := `SELECT ` + teamColumns + `, live_instances FROM teams WHERE id = $1`
	lockTeam := teamQuery + ` FOR NO KEY UPDATE`
	var (
		team  *metalplane.Team
		live  int
		stock purchaseStock
	)
	first := &pgx.Batch{}
	for _, q := range prefix {
		first.Queue(q)
	}
	if claim != nil {
		// First, so that an identical request holding the signature makes
		// this one roll back before allocating anything.
		st := db.claimWrite(claim)
		first.Queue(st.query, st.args...)
	}
	if lockTeamFirst {
		first.Queue(lockTeam, plan.TeamID)
	} else {
		first.Queue(teamQuery, plan.TeamID)
	}
	first.Queue(db.pickHostsSQL(""), pickHostsArgs(plan)...)
	first.Queue(pickAddressesSQL+db.skipLocked(), pickAddressesArgs(plan, 4)...)
	if plan.EnableIPv6 {
		first.Queue(pickAddressesSQL+db.skipLocked(), pickAddressesArgs(plan, 6)...)
	}
	err := sendBatch(ctx, conn, first, func(br pgx.BatchResults) (err error) {
		for _, q := range prefix {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		if claim != nil {
			tag, err := br.Exec()
			if err != nil {
				return fmt.Errorf("claim signature: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return ErrReplayed
			}
		}
		if team, err = scanTeam(br.QueryRow(), &live); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("team %q: %w", plan.TeamID, ErrNotFound)
			}
			return fmt.Errorf("read team: %w", err)
		}
		if stock.hosts, err = batchStrings(br); err != nil {
			return fmt.Errorf("pick hosts: %w", err)
		}
		if stock.ipv4, err = batchStrings(br); err != nil {
			return fmt.Errorf("pick IPv4: %w", err)
		}
		if plan.EnableIPv6 {
			if stock.ipv6, err = batchStrings(br); err != nil {
				return fmt.Errorf("pick IPv6: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// 15. Quota, 16. stock, 17. balance, in this order.
	if err := checkQuota(team, live, plan.Amount); err != nil {
		return nil, err
	}
	total, one, err := db.checkPicksAndMoneyTx(ctx, tx, plan, result.OrderNumber, team, &stock)
	if err != nil {
		return nil, err
	}

	if enqueue != nil {
		// River's insert needs the database/sql transaction; it goes
		// before the writes below so that none of its round trips falls
		// while this transaction holds the team's row.
		if err := enqueue(ctx, tx, result.InstanceIDSet); err != nil {
			return nil, fmt.Errorf("enqueue provisioning: %w", err)
		}
	}
	rows, err := db.purchaseRows(plan, result, team.ID, &stock, total, one)
	if err != nil {
		return nil, err
	}
	money, err := db.purchaseMoney(plan, result.OrderNumber, team.ID, total)
	if err != nil {
		return nil, err
	}
	writes := &pgx.Batch{}
	for _, st := range rows {
		writes.Queue(st.query, st.args...)
	}
	for _, st := range money {
		writes.Queue(st.query, st.args...)
	}
	err = sendBatch(ctx, conn, writes, func(br pgx.BatchResults) error {
		for _, st := range rows {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		for _, st := range money {
			tag, err := br.Exec()
			if err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
			if tag.RowsAffected() != 1 {
				return st.refusal()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return team, nil
}

// purchaseMoney returns the writes of a purchase to the team's row: the
// ledger row and the debit of a PREPAID order, the POC voucher taken. Each
// affects one row, or none when a purchase that committed since this one
// read the team took the money or the voucher; refusal then says so. They
// are the only statements of a purchase that lock the team's row (besides
// the count at commit), and they are sent last, just before the commit.
func (db *DB) purchaseMoney(plan *metalplane.CreatePlan, orderNumber, teamID string, total metalplane.Money) ([]guardedWrite, error) {
	var out []guardedWrite
	if total > 0 {
		entry := purchaseCharge(plan, orderNumber, teamID, total)
		if err := metalplane.CheckLedgerSign(entry); err != nil {
			return nil, fmt.Errorf("ledger row for team %s: %w", teamID, err)
		}
		insert, debit := ledgerWrites(entry, "", db.Now().Unix())
		// The debit's bound keeps the balance in range; a purchase also
		// needs the balance to cover it, which is the tighter bound.
		debit.args[2] = int64(total)
		out = append(out,
			guardedWrite{insert, func() error { return fmt.Errorf("ledger row of order %s not written", orderNumber) }},
			guardedWrite{debit, func() error {
				return metalplane.Errorf("OPERATION_DENIED_BALANCE_INSUFFICIENT", "This costs %s; the balance no longer covers it.", total)
			}})
	}
	if plan.UsePocVoucher {
		out = append(out, guardedWrite{statement{"take POC voucher", takeVoucherSQL, []any{teamID}}, errNoVoucher})
	}
	return out, nil
}

// guardedWrite is a statement that must affect exactly one row.
type guardedWrite struct {
	statement
	refusal func() error
}

// sendBatch sends b on conn's session (inside its open transaction) in one
// round trip and hands the results to read, in the order queued.
func sendBatch(ctx context.Context, conn *sql.Conn, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("batch on a %T connection", driverConn)
		}
		br := c.Conn().SendBatch(ctx, b)
		err := read(br)
		if closeErr := br.Close(); err == nil {
			err = closeErr
		}
		return err
	})
}

// batchStrings reads the next result of a batch as one string per row.
func batchStrings(br pgx.BatchResults) ([]string, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// isDeadlock reports whether PostgreSQL broke a deadlock by failing this
// transaction.
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// isQuotaViolation reports whether the count's trigger refused a commit
// beyond the team's quota (migration 0034).
func isQuotaViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && pgErr.ConstraintName == "instance_quota"
}
