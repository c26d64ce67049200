package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/app"
)

// callConfig is what `metalplane call` reads from its flags.
type callConfig struct {
	Endpoint        string
	Service         string
	Version         string
	AccessKeyID     string
	AccessKeySecret string
	Token           string
	DataDir         string
	Insecure        bool
	CACert          string
	Timeout         time.Duration
	// Wait follows the instances the action works on until they settle.
	Wait         bool
	WaitTimeout  time.Duration
	WaitInterval time.Duration
}

// runCall sends one signed request, as the Go SDK would, and prints the
// response body. An error envelope is printed too, and returns an error so
// that the exit status is 1.
func (m *Main) runCall(ctx context.Context, args []string) error {
	var c callConfig
	fset := flag.NewFlagSet("call", flag.ContinueOnError)
	fset.StringVar(&c.Endpoint, "endpoint", "http://"+defaultListen, "server URL: scheme, host and port")
	fset.StringVar(&c.Service, "service", "bmc", "service: bmc or ccs")
	fset.StringVar(&c.Version, "version", "", "API version (default "+httpapi.BMCVersion2026+" for bmc, "+httpapi.CCSVersion+" for ccs)")
	fset.StringVar(&c.AccessKeyID, "access-key-id", "", "access key id (default: the credentials file in --data-dir)")
	fset.StringVar(&c.AccessKeySecret, "access-key-secret", "", "access key password")
	fset.StringVar(&c.Token, "token", "", "send this bearer token instead of signing (see `admin tokens create`)")
	fset.StringVar(&c.DataDir, "data-dir", defaultDataDir, "data dir whose credentials file holds the key when none is given")
	fset.BoolVar(&c.Insecure, "insecure", false, "skip TLS certificate verification (for a self-signed certificate)")
	fset.StringVar(&c.CACert, "ca-cert", "", "trust this PEM certificate, such as the data dir's tls.crt")
	fset.DurationVar(&c.Timeout, "timeout", time.Minute, "time limit of the request")
	fset.BoolVar(&c.Wait, "wait", false, "after CreateInstances, ReinstallInstance, StartInstances, StopInstances or RebootInstances, follow the instances on stderr until they settle (a bar each on a terminal, a line per change otherwise); exit 1 if any failed")
	fset.DurationVar(&c.WaitTimeout, "wait-timeout", time.Hour, "how long --wait follows the instances at most")
	fset.DurationVar(&c.WaitInterval, "wait-interval", time.Second, "how often --wait asks for their progress")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), "Usage: metalplane call [flags] ACTION [JSON]\n\nSends ACTION with the JSON body (default {}) to /api/v2/{service}, signed\nwith ZC2-HMAC-SHA256 as the Go SDK signs, and prints the response body.\nExits with status 1 on an error response. With --wait, then follows the\ninstances the action works on until they settle, and exits with status 1\nif any failed.\n\nFlags:\n")
		fset.PrintDefaults()
	}
	rest, err := m.parseFlags(fset, args, map[string]string{
		"access-key-id":     "METALPLANE_ACCESS_KEY_ID",
		"access-key-secret": "METALPLANE_ACCESS_KEY_SECRET",
		"data-dir":          "METALPLANE_DATA_DIR",
	})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) < 1 || len(rest) > 2 {
		fset.Usage()
		return fmt.Errorf("call: want ACTION and an optional JSON body, got %d arguments: %w", len(rest), errReported)
	}
	action, body := rest[0], []byte("{}")
	if len(rest) == 2 {
		body = []byte(rest[1])
	}
	if !json.Valid(body) {
		return fmt.Errorf("call: the body is not valid JSON: %s", body)
	}
	if c.Wait && (c.WaitInterval <= 0 || c.WaitTimeout <= 0) {
		return errors.New("call: --wait-interval and --wait-timeout must be positive")
	}
	if c.Wait && !waitActions[action] {
		return fmt.Errorf("call: --wait follows CreateInstances, ReinstallInstance, StartInstances, StopInstances and RebootInstances, not %s", action)
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	reqCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	resp, err := client.Do(reqCtx, action, body)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, resp.Body, "", "  "); err != nil {
		m.Stdout.Write(resp.Body)
	} else {
		pretty.WriteByte('\n')
		m.Stdout.Write(pretty.Bytes())
	}
	if resp.Status != http.StatusOK {
		var env struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		json.Unmarshal(resp.Body, &env)
		if env.Code == "" {
			env.Code = "no error code"
		}
		return fmt.Errorf("%s failed: HTTP %d %s: %s", action, resp.Status, env.Code, env.Message)
	}
	if !c.Wait {
		return nil
	}
	ids, err := waitedInstances(action, body, resp.Body)
	if err != nil {
		return err
	}
	waitCtx, cancelWait := context.WithTimeout(ctx, c.WaitTimeout)
	defer cancelWait()
	return waitSettled(waitCtx, client, ids, m.Stderr, c.WaitInterval)
}

// client builds the signing client, finding the key in the flags, the
// environment or the credentials file, in that order.
func (c *callConfig) client() (*httpapi.Client, error) {
	version := c.Version
	if version == "" {
		switch c.Service {
		case "bmc":
			version = httpapi.BMCVersion2026
		case "ccs":
			version = httpapi.CCSVersion
		default:
			return nil, fmt.Errorf("no default version for service %q: pass --version", c.Service)
		}
	}
	client := &httpapi.Client{Endpoint: c.Endpoint, Service: c.Service, Version: version, Token: c.Token,
		AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret}
	if c.Token == "" && (c.AccessKeyID == "" || c.AccessKeySecret == "") {
		if c.AccessKeyID != "" || c.AccessKeySecret != "" {
			return nil, errors.New("give both the access key id and its password, or neither")
		}
		creds, err := readCredentials(c.DataDir)
		if err != nil {
			return nil, err
		}
		client.AccessKeyID, client.AccessKeySecret = creds.AccessKeyID, creds.AccessKeyPassword
	}
	if c.Insecure || c.CACert != "" {
		tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.Insecure {
			tlsConfig.InsecureSkipVerify = true
		} else {
			pem, err := os.ReadFile(c.CACert)
			if err != nil {
				return nil, fmt.Errorf("read --ca-cert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-cert %s holds no PEM certificate", c.CACert)
			}
			tlsConfig.RootCAs = pool
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsConfig
		client.HTTPClient = &http.Client{Transport: transport}
	}
	return client, nil
}

// readCredentials reads the demo key that serve wrote into the data dir.
func readCredentials(dataDir string) (*app.FileCredentials, error) {
	path := filepath.Join(dataDir, app.CredentialsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no access key: set METALPLANE_ACCESS_KEY_ID and METALPLANE_ACCESS_KEY_SECRET, pass --access-key-id and --access-key-secret, or start `metalplane serve` once so that %s exists (or point --data-dir at it)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	var creds app.FileCredentials
	if err := json.Unmarshal(data, &creds); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if creds.AccessKeyID == "" || creds.AccessKeyPassword == "" {
		return nil, fmt.Errorf("%s has no accessKeyId and accessKeyPassword", path)
	}
	return &creds, nil
}
