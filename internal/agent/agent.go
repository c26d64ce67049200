// Package agent is the deploy agent's work (cmd/metalplane-agent): fetch
// the task, stream the image to the disk while hashing it, check the
// hash, add a cidata partition holding the NoCloud seed, and report each
// step. It runs in the deploy ramdisk, and in tests against a disk file.
package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/metalplane/metalplane/netboot/agentapi"
)

// Config is where the agent works.
type Config struct {
	// TaskURL is GET {api}/agent/{token}/task.
	TaskURL string
	// Disk is the target disk (a block device, or a file in tests).
	Disk string
	// ProgressEvery is how many bytes are written between two progress
	// reports; 0 = 256 MiB.
	ProgressEvery int64
	HTTPClient    *http.Client
	Log           func(format string, args ...any)
}

// Failure is an error with the code the agent reports.
type Failure struct {
	Code string
	Err  error
}

func (f *Failure) Error() string { return f.Code + ": " + f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(code string, format string, args ...any) error {
	return &Failure{Code: code, Err: fmt.Errorf(format, args...)}
}

type runner struct {
	cfg  Config
	task agentapi.Task
}

// Run does the task and reports its end (done, or the failure); it
// returns the failure too. The caller powers the server off.
func Run(ctx context.Context, cfg Config) error {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 0}
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 256 << 20
	}
	r := &runner{cfg: cfg}
	if err := r.fetchTask(ctx); err != nil {
		return err // nowhere to report to
	}
	written, err := r.run(ctx)
	if err != nil {
		code := agentapi.FailIO
		var f *Failure
		if errors.As(err, &f) {
			code = f.Code
		}
		r.cfg.Log("failed: %v", err)
		r.report(ctx, agentapi.Report{Step: agentapi.StepFailed, Bytes: written, Done: true, FailCode: code, Detail: truncate(err.Error(), 1000)})
		return err
	}
	return r.report(ctx, agentapi.Report{Step: agentapi.StepDone, Bytes: written, Done: true})
}

func (r *runner) run(ctx context.Context) (int64, error) {
	if err := r.report(ctx, agentapi.Report{Step: agentapi.StepStarted}); err != nil {
		return 0, err
	}
	if r.task.ImageFormat != "raw" {
		return 0, fail(agentapi.FailImage, "format %q is not one the agent writes", r.task.ImageFormat)
	}
	written, err := r.writeImage(ctx)
	if err != nil {
		return written, err
	}
	if err := r.report(ctx, agentapi.Report{Step: agentapi.StepImageWritten, Bytes: written, Detail: "sha256 verified"}); err != nil {
		return written, err
	}
	seed, err := r.fetchSeed(ctx)
	if err != nil {
		return written, err
	}
	n, err := WriteSeed(r.cfg.Disk, written, seed)
	if err != nil {
		return written, err
	}
	if err := r.report(ctx, agentapi.Report{Step: agentapi.StepSeedWritten, Bytes: n, Detail: "cidata partition"}); err != nil {
		return written, err
	}
	return written, nil
}

// fetchTask reads the task, retrying for a while: the network may come
// up slowly.
func (r *runner) fetchTask(ctx context.Context) error {
	var lastErr error
	for range 30 {
		body, err := r.get(ctx, r.cfg.TaskURL, 64<<10)
		if err == nil {
			return json.Unmarshal(body, &r.task)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("fetch the task: %w", lastErr)
}

func (r *runner) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("GET %s: more than %d bytes", url, limit)
	}
	return body, nil
}

func (r *runner) report(ctx context.Context, rep agentapi.Report) error {
	r.cfg.Log("report: %s, %d bytes %s", rep.Step, rep.Bytes, rep.Detail)
	body, _ := json.Marshal(rep)
	var lastErr error
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.task.ReportURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := r.cfg.HTTPClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
			err = fmt.Errorf("report %s: %s", rep.Step, resp.Status)
			if resp.StatusCode == http.StatusNotFound {
				return err // the deployment ended or was replaced
			}
		}
		lastErr = err
		time.Sleep(time.Second)
	}
	return lastErr
}

// writeImage streams the image to the disk, hashing what it writes, and
// checks the hash; a damaged image has its first MiB zeroed so that the
// server cannot boot half of it.
func (r *runner) writeImage(ctx context.Context) (int64, error) {
	disk, err := os.OpenFile(r.cfg.Disk, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("open the disk: %w", err)
	}
	defer disk.Close()
	size, err := diskSize(disk)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.task.ImageURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetch the image: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("fetch the image: %s", resp.Status)
	}
	if resp.ContentLength > size {
		return 0, fail(agentapi.FailTooSmall, "the image has %d bytes, the disk %d", resp.ContentLength, size)
	}
	h := sha256.New()
	w := &progressWriter{w: io.MultiWriter(disk, h), limit: size, every: r.cfg.ProgressEvery,
		progress: func(n int64) { r.report(ctx, agentapi.Report{Step: agentapi.StepWriting, Bytes: n}) }}
	if _, err := io.Copy(w, resp.Body); err != nil {
		if errors.Is(err, errDiskFull) {
			return w.n, fail(agentapi.FailTooSmall, "the image is larger than the disk (%d bytes)", size)
		}
		return w.n, fmt.Errorf("write the image: %w", err)
	}
	if err := disk.Sync(); err != nil {
		return w.n, fmt.Errorf("sync the disk: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != r.task.ImageSHA256 {
		zero := make([]byte, min(1<<20, w.n))
		disk.WriteAt(zero, 0)
		disk.Sync()
		return w.n, fail(agentapi.FailChecksum, "sha256 of the %d bytes written is %s, want %s", w.n, got, r.task.ImageSHA256)
	}
	return w.n, nil
}

func (r *runner) fetchSeed(ctx context.Context) (map[string][]byte, error) {
	seed := map[string][]byte{}
	for _, name := range agentapi.SeedFiles {
		body, err := r.get(ctx, r.task.SeedURL+name, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("fetch the seed: %w", err)
		}
		seed[name] = body
	}
	return seed, nil
}

var errDiskFull = errors.New("the disk is full")

// progressWriter counts bytes, refuses to go past limit and calls
// progress every `every` bytes.
type progressWriter struct {
	w        io.Writer
	n, limit int64
	every    int64
	next     int64
	progress func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if p.n+int64(len(b)) > p.limit {
		return 0, errDiskFull
	}
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.next == 0 {
		p.next = p.every
	}
	if p.n >= p.next {
		p.progress(p.n)
		p.next += p.every
	}
	return n, err
}

// diskSize is the size of a block device or file.
func diskSize(f *os.File) (int64, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("size of the disk: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return size, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
