// Command metalplane runs a bare-metal cloud control plane that speaks the
// Zenlayer Cloud API 2.0, and the operator tools that go with it.
//
//	metalplane serve     run the API server (SQLite by default, or PostgreSQL)
//	metalplane migrate   apply database migrations and exit
//	metalplane admin     manage teams, keys, balances, quotas and hosts
//	metalplane call      send one signed API request and print the answer
//	metalplane help      show usage
//
// Everything the program does goes through Main, so the tests boot the same
// code the binary runs (see main_test.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/metalplane/metalplane/internal/app"
	"github.com/metalplane/metalplane/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling so that a second
	// Ctrl-C kills a shutdown that hangs instead of being swallowed.
	go func() {
		<-ctx.Done()
		stop()
	}()
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	m.Close()
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(m.Stderr, "metalplane: %v\n", err)
		}
		os.Exit(1)
	}
}

// errReported marks an error that has already been shown to the user (flag
// parse errors print themselves with the usage); main exits with status 1
// without repeating it.
var errReported = errors.New("error already reported")

// errClosed is returned by Run after Close.
var errClosed = errors.New("metalplane: Main is closed")

// Main is the metalplane program. The zero value is not usable: call NewMain
// or set Stdout and Stderr.
type Main struct {
	// Stdout receives command output (tables, JSON, the serve banner).
	Stdout io.Writer
	// Stderr receives logs, usage and error messages.
	Stderr io.Writer
	// Getenv reads the environment; nil means os.Getenv. Tests set it so
	// that they can run in parallel with different environments.
	Getenv func(string) string
	// ReadyFunc, if set, is called by `serve` once the server listens and
	// the banner is printed, with the running app; tests learn the bound
	// address (a.URL()) from it. It must not block.
	ReadyFunc func(a *app.App)

	mu      sync.Mutex
	closing chan struct{} // closed by Close; stops every Run
	closed  bool
	running sync.WaitGroup
}

// NewMain returns a Main writing to the process's stdout and stderr.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr}
}

func (m *Main) getenv(name string) string {
	if m.Getenv != nil {
		return m.Getenv(name)
	}
	return os.Getenv(name)
}

// Run runs the command named by args (without the program name). `serve`
// blocks until ctx is cancelled or Close is called, then shuts the server
// down gracefully and returns nil. Other commands return when done. An
// error means exit status 1; it has usually not been printed yet (main
// prints it), except flag errors, which wrap errReported.
func (m *Main) Run(ctx context.Context, args []string) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	if m.closing == nil {
		m.closing = make(chan struct{})
	}
	closing := m.closing
	m.running.Add(1)
	m.mu.Unlock()
	defer m.running.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-closing:
			cancel()
		case <-ctx.Done():
		}
	}()

	if len(args) == 0 {
		m.usage(m.Stderr)
		return fmt.Errorf("no command given: %w", errReported)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return m.runServe(ctx, rest)
	case "migrate":
		return m.runMigrate(ctx, rest)
	case "admin":
		return m.runAdmin(ctx, rest)
	case "call":
		return m.runCall(ctx, rest)
	case "help", "-h", "-help", "--help":
		return m.runHelp(ctx, rest)
	default:
		m.usage(m.Stderr)
		return fmt.Errorf("unknown command %q: %w", cmd, errReported)
	}
}

// Close stops every Run in progress (a running server shuts down
// gracefully) and waits for them to return. Later Runs fail. Close may be
// called more than once.
func (m *Main) Close() {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		if m.closing == nil {
			m.closing = make(chan struct{})
		}
		close(m.closing)
	}
	m.mu.Unlock()
	m.running.Wait()
}

func (m *Main) runHelp(ctx context.Context, args []string) error {
	if len(args) > 0 {
		// Each command's flag set prints its own help on -h.
		switch args[0] {
		case "admin":
			m.adminUsage(m.Stdout)
			return nil
		case "serve":
			return m.runServe(ctx, []string{"-h"})
		case "migrate":
			return m.runMigrate(ctx, []string{"-h"})
		case "call":
			return m.runCall(ctx, []string{"-h"})
		}
	}
	m.usage(m.Stdout)
	return nil
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprint(w, `metalplane: a bare-metal cloud control plane speaking the Zenlayer Cloud API 2.0

Usage:
  metalplane serve   [flags]                 run the API server
  metalplane migrate [flags]                 apply database migrations and exit
  metalplane admin   GROUP VERB [flags]      operator commands (metalplane help admin)
  metalplane call    [flags] ACTION [JSON]   send one signed API request
  metalplane help    [COMMAND]               show help for a command

Run "metalplane COMMAND -h" for the flags of a command. Every flag of serve
can also be set through an environment variable (METALPLANE_ + the flag name
in upper case with dashes as underscores); a flag on the command line wins.
`)
}

// parseFlags parses args into fs, then fills every flag named in env that
// was not given on the command line from its environment variable: the
// command line wins over the environment, which wins over the default.
// Positional arguments may be mixed with flags; they are returned in order.
// A -h request returns flag.ErrHelp after printing the usage.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string, env map[string]string) ([]string, error) {
	fs.SetOutput(m.Stderr)
	for name, variable := range env {
		if f := fs.Lookup(name); f != nil && !strings.Contains(f.Usage, variable) {
			f.Usage += " (env " + variable + ")"
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, fmt.Errorf("%s: %w", fs.Name(), errReported)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// The flag package stops at the first positional argument; keep
		// parsing after it so `call DescribeZones --insecure` works.
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if set[name] {
			continue
		}
		v := m.getenv(env[name])
		if v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", env[name], err)
		}
	}
	return positional, nil
}

// envNames maps every flag of fs to METALPLANE_<NAME>, so a flag added later
// (such as a provisioning flag) gets its environment variable for free.
func envNames(fs *flag.FlagSet) map[string]string {
	env := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		env[f.Name] = "METALPLANE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
	})
	return env
}

// Defaults shared by serve, migrate and admin.
const (
	defaultDataDir = "./metalplane-data"
	defaultListen  = "127.0.0.1:8080"
)

// dbFlags are the flags that locate the database, shared by serve, migrate
// and admin so that they all find the same one.
type dbFlags struct {
	DataDir  string
	Database string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.DataDir, "data-dir", defaultDataDir, "directory for the SQLite database, credentials file and TLS certificate")
	fs.StringVar(&d.Database, "database", "", "database: an SQLite file path or a postgres:// URL (default: metalplane.db in the data dir)")
}

// DSN returns the database to open.
func (d *dbFlags) DSN() string {
	if d.Database != "" {
		return d.Database
	}
	return sqlstore.SQLitePath(d.DataDir)
}

// describeDSN names the database for humans without its password.
func describeDSN(dsn string) string {
	if isPostgres(dsn) {
		if u, err := url.Parse(dsn); err == nil {
			return "postgres " + u.Redacted()
		}
		return "postgres (unparseable URL)"
	}
	return "sqlite " + strings.TrimPrefix(dsn, "sqlite://")
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openExisting opens the database for migrate (create) or admin (must
// exist and be migrated). Opening an SQLite file creates it, so admin
// checks first: an operator with a mistyped --data-dir should get an
// error, not a new empty database.
func openExisting(ctx context.Context, d dbFlags, mustExist bool) (*sqlstore.DB, error) {
	dsn := d.DSN()
	if mustExist && !isPostgres(dsn) {
		path := strings.TrimPrefix(dsn, "sqlite://")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s: start `metalplane serve` or run `metalplane migrate` first, or pass --data-dir/--database", path)
		}
	}
	return sqlstore.Open(ctx, dsn)
}
