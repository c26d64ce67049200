package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Once the checkpointer has copied a small WAL whole, it restarts the WAL
// itself: the next write appends to a WAL whose new header is already on
// disk, instead of restarting it (and syncing) inside its own COMMIT.
// With nothing else written it leaves the WAL alone, and a write from
// another connection, as `metalplane admin` makes from its own process, is
// copied like the writer's.
func TestCheckpointerRestartsTheWALAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metalplane.db")
	db := openTestDB(t, path)
	ctx := context.Background()
	write := func(q *sql.DB) {
		t.Helper()
		if _, err := q.ExecContext(ctx, `INSERT INTO scratch (n) VALUES (1)`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE scratch (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	write(db.SQL)

	// The WAL header's checkpoint sequence number (bytes 12–15 of the
	// -wal file) goes up by one at each restart of the WAL.
	generation := func() uint32 {
		t.Helper()
		f, err := os.Open(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var header [16]byte
		if _, err := f.ReadAt(header[:], 0); err != nil {
			t.Fatal(err)
		}
		return binary.BigEndian.Uint32(header[12:])
	}
	restartedAfter := func(g uint32, what string) uint32 {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for generation() == g {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the checkpointer did not restart the WAL within 5 s (generation %d)", what, g)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return generation()
	}

	g := restartedAfter(generation(), "after the first writes")
	time.Sleep(5 * checkpointInterval)
	if now := generation(); now != g {
		t.Fatalf("with nothing written the WAL was restarted again (generation %d, then %d)", g, now)
	}
	write(db.SQL)
	if now := generation(); now != g {
		t.Fatalf("the write restarted the WAL itself (generation %d, then %d)", g, now)
	}
	g = restartedAfter(g, "after the writer's write")

	// It waits for the lock as admin's connections do: the checkpointer
	// may still hold it for the sync of the restart just seen.
	other, err := sql.Open(cachingSQLiteDriverName(), "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	write(other)
	restartedAfter(g, "after another connection's write")

	var rows int
	if err := db.reads.sql.QueryRowContext(ctx, `SELECT count(*) FROM scratch`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 3 {
		t.Fatalf("%d rows after three writes", rows)
	}
}
