package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// where builds the WHERE clause of a filtered list of a team's rows, with
// numbered arguments for both databases.
type where struct {
	conds []string
	args  []any
}

// teamRows starts a clause that keeps the team's rows.
func teamRows(teamID string) *where {
	return &where{conds: []string{"team_id = $1"}, args: []any{teamID}}
}

// arg adds an argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// add adds a condition.
func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// in keeps rows whose col is one of vals; no vals filter nothing.
func (w *where) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = w.arg(v)
	}
	w.add(col + " IN (" + strings.Join(ph, ", ") + ")")
}

// eq keeps rows whose col equals v; "" filters nothing.
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col + " = " + w.arg(v))
	}
}

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

// findPage counts the rows of table that w keeps, then reads page num of
// size rows (pageWindow) oldest first, then by ID, handing each to scan.
// It returns the count of all pages. table and columns are constants of the
// callers, never input.
func findPage(ctx context.Context, tx *sql.Tx, table, columns string, w *where, num, size int, scan func(*sql.Rows) error) (int, error) {
	_, total, err := findPageTx(ctx, tx, table, columns, w.String(), w.args, "created_at, id", num, size,
		func(row interface{ Scan(...any) error }) (struct{}, error) { return struct{}{}, scan(row.(*sql.Rows)) })
	return total, err
}

// idNames maps the first column of query's rows (an ID) to the second (a
// name); query takes the team ID as $1.
func (db *DB) idNames(ctx context.Context, query, teamID string) (map[string]string, error) {
	rows, err := db.readRows(ctx, query, teamID)
	if err != nil {
		return nil, err
	}
	return scanIDNames(rows)
}
