package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/sqlstore"
)

// The tests below restart the real server during one slow provision:
// gracefully (SIGTERM, as a rolling deploy does) and abruptly (SIGKILL).
// Each prints how long after the restarted server answered the
// provisioning was resumed; docs/operations.md records those figures.

// slowSteps returns the flags that make each of the six simulated steps
// take 2 s, so that one provision spans several restarts, and more.
func slowSteps(more ...string) []string {
	return append([]string{"--sim-step-delay", "2s"}, more...)
}

// runStarts counts the runs of the provision job that got as far as the
// instance: the first one moves it PENDING → CREATING, each later one
// records "resumed".
func runStarts(events []sqlstore.Event) int {
	n := 0
	for _, e := range events {
		if e.Kind == "resumed" || e.Kind == "status" && e.Detail == "PENDING → CREATING" {
			n++
		}
	}
	return n
}

// waitRunStarts polls the instance's events until its provision job has
// started n runs, and returns when it saw the n-th.
func waitRunStarts(t *testing.T, db *sqlstore.DB, id string, n int, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		events, err := db.InstanceEvents(context.Background(), id)
		if err == nil && runStarts(events) >= n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s: run %d of its provision did not start within %s (err %v); events: %+v", id, n, timeout, err, events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// provisionJobAttempts returns attempt and max_attempts of the provision
// jobs, as River recorded them.
func provisionJobAttempts(t *testing.T, db *sqlstore.DB) [][2]int {
	t.Helper()
	rows, err := db.SQL.QueryContext(context.Background(), `SELECT attempt, max_attempts FROM river_job WHERE kind = 'provision_instance' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]int
	for rows.Next() {
		var a [2]int
		if err := rows.Scan(&a[0], &a[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// slowProvision is a server provisioning one order slowly on a fresh
// database, and the test's own connection to that database.
type slowProvision struct {
	t            *testing.T
	dataDir, dsn string
	srv          *process
	ids          []string
	db           *sqlstore.DB
}

// startSlowProvision starts a server with flags and buys amount PREPAID
// instances in one order (SEL-A, S8I).
func startSlowProvision(t *testing.T, dialect string, amount int, flags ...string) *slowProvision {
	t.Helper()
	s := &slowProvision{t: t, dataDir: t.TempDir()}
	s.dsn = processDSN(t, dialect, s.dataDir)
	s.srv = startProcess(t, "server", s.dataDir, s.dsn, flags...)
	s.ids = createFleet(t, []*httpapi.Client{s.srv.client()}, amount, amount)
	s.db = openStore(t, s.dsn)
	return s
}

// interrupt waits until run n of the first instance's provision has
// started and is half a second into its step, then ends the server with
// end (stop or kill), and returns when the server was gone.
func (s *slowProvision) interrupt(n int, end func(*process)) time.Time {
	s.t.Helper()
	waitRunStarts(s.t, s.db, s.ids[0], n, time.Minute)
	time.Sleep(500 * time.Millisecond)
	end(s.srv)
	return time.Now()
}

// restart starts the server again with flags after interrupt(n, ...) and
// returns when it answered and when run n+1 of the provision started.
func (s *slowProvision) restart(n int, flags []string) (ready, resumed time.Time) {
	s.t.Helper()
	s.srv = startProcess(s.t, fmt.Sprintf("server after restart %d", n), s.dataDir, s.dsn, flags...)
	ready = time.Now()
	return ready, waitRunStarts(s.t, s.db, s.ids[0], n+1, time.Minute)
}

// TestProvisionSurvivesRollingRestarts stops the server with SIGTERM and
// starts it again six times during one provision. Half of the stops let
// the step in flight finish (the default --shutdown-timeout), half cut it
// short (--shutdown-timeout 300ms), so both ways of handing the job back
// are taken. The instance must end RUNNING once, with each step recorded
// once, without the restarts spending any of the job's attempts (before,
// every stop cost one and the fifth stranded the instance in CREATING).
func TestProvisionSurvivesRollingRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for tens of seconds")
	}
	eachDialect(t, func(t *testing.T, dialect string) {
		// The server started before restart n is the one stopped at
		// restart n: odd stops wait for the step, even ones cut it.
		flagsFor := func(stop int) []string {
			if stop%2 == 0 {
				return slowSteps("--shutdown-timeout", "300ms")
			}
			return slowSteps()
		}
		s := startSlowProvision(t, dialect, 1, flagsFor(1)...)
		var delays []time.Duration
		for n := 1; n <= 6; n++ {
			exited := s.interrupt(n, (*process).stop)
			ready, resumed := s.restart(n, flagsFor(n+1))
			delays = append(delays, resumed.Sub(ready).Round(time.Millisecond))
			t.Logf("SIGTERM restart %d: provisioning resumed %v after the restarted server answered (%v after the old one exited)",
				n, resumed.Sub(ready).Round(time.Millisecond), resumed.Sub(exited).Round(time.Millisecond))
		}
		waitUntil(t, s.srv.client(), time.Minute, "the instance is RUNNING", allSettled(s.ids))
		s.srv.stop()
		t.Logf("SIGTERM restarts: resumed %v after the restarted server answered", delays)
		// A restart hands the job back without spending an attempt: its
		// last run was its first attempt.
		if got := provisionJobAttempts(t, s.db); len(got) != 1 || got[0][0] != 1 {
			t.Errorf("provision job (attempt, max attempts): got %v, want one job on attempt 1", got)
		}
		verifyFleet(t, s.dataDir, s.dsn, s.ids, "", "", 0)
	})
}

// TestProvisionSurvivesKill kills the server with SIGKILL twice during one
// provision and restarts it at once: the dead server's job is handed on
// within seconds (its heartbeat stops), not after River's stuck-job
// horizon (7 step timeouts + 5 s, here over two minutes), and the
// instance ends RUNNING once.
func TestProvisionSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for tens of seconds")
	}
	eachDialect(t, func(t *testing.T, dialect string) {
		s := startSlowProvision(t, dialect, 1, slowSteps()...)
		for n := 1; n <= 2; n++ {
			killed := s.interrupt(n, (*process).kill)
			ready, resumed := s.restart(n, slowSteps())
			t.Logf("SIGKILL restart %d: provisioning resumed %v after the restarted server answered (%v after the kill)",
				n, resumed.Sub(ready).Round(time.Millisecond), resumed.Sub(killed).Round(time.Millisecond))
			if d := resumed.Sub(killed); d > 15*time.Second {
				t.Errorf("kill %d: the job was resumed %v after the kill, want within seconds", n, d)
			}
		}
		waitUntil(t, s.srv.client(), time.Minute, "the instance is RUNNING", allSettled(s.ids))
		s.srv.stop()
		verifyFleet(t, s.dataDir, s.dsn, s.ids, "", "", 0)
	})
}

// TestProvisionOutOfAttemptsFails kills the server during the last
// attempt of a provision job: the job is discarded, and the instance must
// not stay CREATING (host held, PREPAID charge kept, audit clean, as
// before) but end CREATE_FAILED with its charge refunded.
func TestProvisionOutOfAttemptsFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for tens of seconds")
	}
	eachDialect(t, func(t *testing.T, dialect string) {
		flags := slowSteps("--periodic-interval", "1s")
		s := startSlowProvision(t, dialect, 1, flags...)
		s.interrupt(1, (*process).kill)
		// Two attempts instead of five, so two deaths use them up.
		if _, err := s.db.SQL.ExecContext(context.Background(), `UPDATE river_job SET max_attempts = 2 WHERE kind = 'provision_instance'`); err != nil {
			t.Fatal(err)
		}
		s.restart(1, flags)
		s.interrupt(2, (*process).kill)
		s.srv = startProcess(t, "server after the second kill", s.dataDir, s.dsn, flags...)
		waitUntil(t, s.srv.client(), time.Minute, "the instance is CREATE_FAILED", func(m map[string]string) bool { return m[s.ids[0]] == "CREATE_FAILED" })
		s.srv.stop()
		verifyFleet(t, s.dataDir, s.dsn, s.ids, "SEL-A", "S8I", 1)
	})
}

// TestOrphanCheck strands two instances while the server is stopped, as a
// restored backup or a process dying in a job's last attempt would: one
// loses its job, the other's job is discarded. `admin db check` must
// report both; the restarted server's orphan check must resume the first
// (it ends RUNNING) and fail the second with a refund.
func TestOrphanCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for tens of seconds")
	}
	eachDialect(t, func(t *testing.T, dialect string) {
		flags := slowSteps("--periodic-interval", "1s")
		s := startSlowProvision(t, dialect, 2, flags...)
		lost, gaveUp := s.ids[0], s.ids[1]
		waitRunStarts(t, s.db, gaveUp, 1, time.Minute)
		s.interrupt(1, (*process).stop)

		ctx := context.Background()
		about := `json_extract(args, '$.instance_id') = $1`
		if dialect == "postgres" {
			about = `args->>'instance_id' = $1`
		}
		if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM river_job WHERE kind = 'provision_instance' AND `+about, lost); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = CURRENT_TIMESTAMP WHERE kind = 'provision_instance' AND `+about, gaveUp); err != nil {
			t.Fatal(err)
		}
		out, err := runAdmin(t, s.dataDir, s.dsn, true, "db", "check")
		for _, id := range s.ids {
			if want := "instance " + id + " is CREATING, but no job will move it on"; err == nil || !strings.Contains(out, want) {
				t.Errorf("admin db check: got %v\n%s\nwant a line %q", err, out, want)
			}
		}

		s.srv = startProcess(t, "restarted server", s.dataDir, s.dsn, flags...)
		waitUntil(t, s.srv.client(), time.Minute, "both instances settled", allSettled(s.ids))
		m, err := statuses(s.srv.client())
		if err != nil {
			t.Fatal(err)
		}
		if m[lost] != "RUNNING" || m[gaveUp] != "CREATE_FAILED" {
			t.Errorf("after the orphan check: %s (lost its job) is %s, want RUNNING; %s (job discarded) is %s, want CREATE_FAILED",
				lost, m[lost], gaveUp, m[gaveUp])
		}
		s.srv.stop()
		verifyFleet(t, s.dataDir, s.dsn, s.ids, "SEL-A", "S8I", 1)
	})
}
