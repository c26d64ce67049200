package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
)

// The compiled statements an SQLite connection keeps (sqlitestmts.go) must
// answer as fresh ones would: the same text run again while its first
// rows are still being read (one connection: inside a transaction), and
// the same text after it failed.
func TestKeptStatementsAnswerAsFreshOnes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "metalplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	for k, v := range []string{"a", "b", "c"} {
		if _, err := db.SQL.ExecContext(ctx, insert, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL.ExecContext(ctx, insert, 1, "again"); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if _, err := db.SQL.ExecContext(ctx, insert, 3, "d"); err != nil {
		t.Fatalf("the insert after a failed one: %v", err)
	}

	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const list = `SELECT k, v FROM kv WHERE k >= $1 ORDER BY k`
	outer, err := tx.QueryContext(ctx, list, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k int
		var v string
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		// The same text while outer is open, on the same connection.
		inner, err := tx.QueryContext(ctx, list, k+1)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
		if want := 3 - k; n != want {
			t.Errorf("after %s: %d rows with a greater key, want %d", v, n, want)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if want := []string{"a", "b", "c", "d"}; len(got) != len(want) || got[0] != "a" || got[3] != "d" {
		t.Errorf("rows %v, want %v", got, want)
	}
}
