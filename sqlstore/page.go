package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// findPageTx counts the rows of table matching where (with args) and scans
// one page of them in order, in tx: the shape of every Find… that answers a
// Describe with totalCount. pageNum and pageSize follow pageWindow (size 0:
// every match). FindSubnets and FindKeyPairs spell the same steps out and
// could use it.
func findPageTx[T any](ctx context.Context, tx *sql.Tx, table, columns, where string, args []any, order string, pageNum, pageSize int,
	scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, int, error) {
	out := []T{}
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", table, err)
	}
	limit, offset, ok := pageWindow(pageNum, pageSize, total)
	if !ok {
		return out, total, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+` FROM `+table+` WHERE `+where+
		fmt.Sprintf(` ORDER BY %s LIMIT %d OFFSET %d`, order, limit, offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}

// scanIDNames reads rows of (id, name) into a map.
func scanIDNames(rows *sql.Rows) (map[string]string, error) {
	defer rows.Close()
	names := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		names[id] = name
	}
	return names, rows.Err()
}
