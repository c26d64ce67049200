package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// The crash and replica tests run the real binary as child processes, so
// that kill -9 is a real kill -9: no deferred function, no graceful
// shutdown, whatever the process was writing is cut off.

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// metalplaneBinary builds cmd/metalplane once per test run.
func metalplaneBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "metalplane-bin-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "metalplane")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// processKey is the demo key the child servers get from the environment.
var processKey = struct{ ID, Secret string }{"AKPROCESSTEST0001", "process-test-secret-0123456789abcdef"}

// process is one `metalplane serve` child.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
}

var listeningLine = regexp.MustCompile(`serving the Zenlayer Cloud API 2\.0 at (https?://\S+)`)

// startProcess runs `metalplane serve` on the data dir and database with
// extra flags and waits until it answers /healthz.
func startProcess(t *testing.T, name, dataDir, dsn string, flags ...string) *process {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--database", dsn, "--log-level", "warn"}, flags...)
	cmd := exec.Command(metalplaneBinary(t), args...)
	cmd.Env = append(os.Environ(), "METALPLANE_ACCESS_KEY_ID="+processKey.ID, "METALPLANE_ACCESS_KEY_SECRET="+processKey.Secret)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, name: name, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case p.url = <-urls:
	case <-p.exited:
		t.Fatalf("%s exited before serving:\n%s", name, p.stderr)
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not start:\n%s", name, p.stderr)
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		p.t.Fatalf("%s did not stop on SIGTERM:\n%s", p.name, p.stderr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("%s exited with %d after SIGTERM:\n%s", p.name, code, p.stderr)
	}
}

// client returns a bmc 2026-02-01 client of the demo key.
func (p *process) client() *httpapi.Client {
	return &httpapi.Client{Endpoint: p.url, Service: "bmc", Version: httpapi.BMCVersion2026,
		AccessKeyID: processKey.ID, AccessKeySecret: processKey.Secret}
}

// runAdmin runs `metalplane admin args...` against the data dir and
// database and returns its output; it fails the test on a non-zero exit
// unless allowFail.
func runAdmin(t *testing.T, dataDir, dsn string, allowFail bool, args ...string) (string, error) {
	t.Helper()
	args = append(append([]string{"admin"}, args...), "--data-dir", dataDir, "--database", dsn)
	out, err := exec.Command(metalplaneBinary(t), args...).CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("metalplane %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// processDSN is the --database of a child server: an SQLite file in the
// data dir, or a new PostgreSQL database.
func processDSN(t *testing.T, dialect, dataDir string) string {
	if dialect == "postgres" {
		return testdb.PostgresDSN(t)
	}
	return filepath.Join(dataDir, "metalplane.db")
}

// eachDialect runs fn on SQLite and on PostgreSQL.
func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// openStore opens the database of stopped children for final checks.
func openStore(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
