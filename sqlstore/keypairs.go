package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// KeyPairCreate is the input of CreateKeyPair; the handler has validated
// the name, keys and description.
type KeyPairCreate struct {
	// ID is the new key pair's ID, drawn by the caller so that the answer
	// stored for a retry can name it; "" draws one here.
	ID          string
	TeamID      string
	Name        string
	PublicKey   string
	Description string
}

// CreateKeyPair stores a new key pair of the team and returns it. Returns
// INVALID_KEY_PAIR_NAME_EXIST when the team has a key pair of that name and
// INVALID_KEY_PAIR_EXCEED_LIMIT when it already holds key_pair_quota of
// them.
//
// [decision] The name is checked before the quota: a retried import of a
// name that already exists is told so even when the team is at its quota.
func (db *DB) CreateKeyPair(ctx context.Context, in KeyPairCreate) (*metalplane.KeyPair, error) {
	kp := &metalplane.KeyPair{
		ID: in.ID, TeamID: in.TeamID, Name: in.Name,
		PublicKey: in.PublicKey, Description: in.Description, CreatedAt: db.Now(),
	}
	if kp.ID == "" {
		kp.ID = metalplane.NewKeyPairID()
	}
	nameExists := func() error {
		return metalplane.Errorf("INVALID_KEY_PAIR_NAME_EXIST", "The key name %s is already used.", in.Name)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The team lock serialises imports of one team on PostgreSQL, so
		// two concurrent imports cannot both pass the quota check.
		team, err := db.findTeamTx(ctx, tx, in.TeamID)
		if err != nil {
			return err
		}
		var sameName, count int
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN name = $2 THEN 1 ELSE 0 END), 0) FROM key_pairs WHERE team_id = $1`,
			in.TeamID, in.Name).Scan(&count, &sameName)
		if err != nil {
			return fmt.Errorf("count key pairs: %w", err)
		}
		if sameName > 0 {
			return nameExists()
		}
		if count >= team.KeyPairQuota {
			return metalplane.Errorf("INVALID_KEY_PAIR_EXCEED_LIMIT", "The team may hold at most %d key pairs.", team.KeyPairQuota)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO key_pairs (id, team_id, name, public_key, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			kp.ID, kp.TeamID, kp.Name, kp.PublicKey, kp.Description, kp.CreatedAt.Unix())
		if isUniqueViolation(err) {
			// The UNIQUE (team_id, name) constraint is the last word should
			// the lock above ever be bypassed; an ID collision (62^8) is
			// not worth a retry loop.
			return nameExists()
		}
		if err != nil {
			return fmt.Errorf("insert key pair: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kp, nil
}

// KeyPairFilter selects key pairs of a team for FindKeyPairs.
type KeyPairFilter struct {
	TeamID string
	// IDs, when not empty, keeps only these key pairs; unknown IDs match
	// nothing.
	IDs []string
	// NameContains, when not empty, keeps names containing it, ignoring
	// case (DescribeKeyPairs' fuzzy keyName).
	NameContains string
	// PageNum (from 1) and PageSize select one page; PageSize 0 returns
	// every match.
	PageNum, PageSize int
}

const keyPairColumns = `id, team_id, name, public_key, description, created_at`

func scanKeyPair(row interface{ Scan(...any) error }) (*metalplane.KeyPair, error) {
	var kp metalplane.KeyPair
	var created int64
	if err := row.Scan(&kp.ID, &kp.TeamID, &kp.Name, &kp.PublicKey, &kp.Description, &created); err != nil {
		return nil, err
	}
	kp.CreatedAt = time.Unix(created, 0).UTC()
	return &kp, nil
}

// FindKeyPairs returns one page of the team's matching key pairs, oldest
// first (then by ID), and the number of matches on all pages.
func (db *DB) FindKeyPairs(ctx context.Context, f KeyPairFilter) ([]*metalplane.KeyPair, int, error) {
	conds := []string{"team_id = $1"}
	args := []any{f.TeamID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.IDs) > 0 {
		ph := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ph[i] = arg(id)
		}
		conds = append(conds, "id IN ("+strings.Join(ph, ", ")+")")
	}
	if f.NameContains != "" {
		// LIKE with the wildcards of the filter escaped: names may hold
		// '_', which would otherwise match any character. LOWER on both
		// sides because PostgreSQL's LIKE is case-sensitive.
		conds = append(conds, "LOWER(name) LIKE LOWER("+arg("%"+escapeLike(f.NameContains)+"%")+") ESCAPE '!'")
	}
	where := strings.Join(conds, " AND ")
	out := []*metalplane.KeyPair{}
	var total int
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM key_pairs WHERE `+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("count key pairs: %w", err)
		}
		limit, offset, ok := pageWindow(f.PageNum, f.PageSize, total)
		if !ok {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+keyPairColumns+` FROM key_pairs WHERE `+where+
			fmt.Sprintf(` ORDER BY created_at, id LIMIT %d OFFSET %d`, limit, offset), args...)
		if err != nil {
			return fmt.Errorf("find key pairs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			kp, err := scanKeyPair(rows)
			if err != nil {
				return err
			}
			out = append(out, kp)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// FindKeyPair returns the team's key pair. Returns
// INVALID_KEY_PAIR_NOT_FOUND, also for another team's key pair.
func (db *DB) FindKeyPair(ctx context.Context, teamID, id string) (*metalplane.KeyPair, error) {
	kp, err := scanKeyPair(db.readRow(ctx, `SELECT `+keyPairColumns+` FROM key_pairs WHERE team_id = $1 AND id = $2`, teamID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, keyPairNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("find key pair: %w", err)
	}
	return kp, nil
}

func keyPairNotFound(id string) error {
	return metalplane.Errorf("INVALID_KEY_PAIR_NOT_FOUND", "The key pair %s does not exist.", id)
}

// UpdateKeyPairDescription replaces the description of the team's key pair
// ("" clears it). Returns INVALID_KEY_PAIR_NOT_FOUND.
func (db *DB) UpdateKeyPairDescription(ctx context.Context, teamID, id, description string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE key_pairs SET description = $1 WHERE team_id = $2 AND id = $3`, description, teamID, id)
		if err != nil {
			return fmt.Errorf("update key pair: %w", err)
		}
		// Rows matched, not changed: both drivers report matched rows, so
		// setting the same description again is not "not found".
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update key pair: %w", err)
		} else if n == 0 {
			return keyPairNotFound(id)
		}
		return nil
	})
}

// DeleteKeyPairs deletes the team's key pairs, all or none: if any ID is
// not one of the team's key pairs it returns INVALID_KEY_PAIR_NOT_FOUND
// naming the first such ID and deletes nothing. An ID given twice is
// deleted once. Instances installed with a deleted key keep it and its ID.
func (db *DB) DeleteKeyPairs(ctx context.Context, teamID string, ids []string) error {
	ids = uniqueStrings(ids)
	if len(ids) == 0 {
		return nil
	}
	args := []any{teamID}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", i+2)
	}
	in := strings.Join(ph, ", ")
	return db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM key_pairs WHERE team_id = $1 AND id IN (`+in+`)`+db.forUpdate(), args...)
		if err != nil {
			return fmt.Errorf("find key pairs: %w", err)
		}
		found := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			found[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if !found[id] {
				return keyPairNotFound(id)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM key_pairs WHERE team_id = $1 AND id IN (`+in+`)`, args...); err != nil {
			return fmt.Errorf("delete key pairs: %w", err)
		}
		return nil
	})
}

// Helpers shared by the paged Find methods of key pairs and subnets.

// readTx runs fn in a read-only transaction. On PostgreSQL it is REPEATABLE
// READ so that a count and the page read after it see the same snapshot:
// Terraform computes its page count from totalCount, then fetches the pages
// concurrently (PROTOCOL.md §10). SQLite transactions are snapshots anyway.
func (db *DB) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.SQL.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Nothing was written: rolling back ends the read either way.
	defer tx.Rollback()
	return fn(tx)
}

// pageWindow turns a 1-based page number and a page size into LIMIT and
// OFFSET for a result of total rows; ok is false when the page is empty
// (beyond the last one), so no query is needed. A size of 0 means one page
// with everything. Comparing page numbers before multiplying keeps a huge
// pageNum from overflowing the offset.
func pageWindow(num, size, total int) (limit, offset int, ok bool) {
	if total == 0 {
		return 0, 0, false
	}
	if size <= 0 {
		return total, 0, true
	}
	if num < 1 {
		num = 1
	}
	pages := (total + size - 1) / size
	if num > pages {
		return 0, 0, false
	}
	return size, (num - 1) * size, true
}

// escapeLike escapes the LIKE wildcards of s with '!' (ESCAPE '!'), an
// escape character that needs no quoting on either database.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// uniqueStrings returns ss without repeats, in first-seen order.
func uniqueStrings(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
