package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

func TestParseEndpoints(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string // nil: refused
	}{
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}},
		{"http://127.0.0.1:1/, https://127.0.0.1:2", []string{"http://127.0.0.1:1", "https://127.0.0.1:2"}},
		{"http://127.0.0.1:1,", nil},
		{"", nil},
		{"127.0.0.1:8080", nil},
		{"ftp://127.0.0.1", nil},
		{"http://", nil},
	} {
		got, err := parseEndpoints(tc.list)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parseEndpoints(%q) = %q, want an error", tc.list, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseEndpoints(%q) = %q, %v; want %q", tc.list, got, err, tc.want)
		}
	}
}

// TestNoopServerChecksSignature: the no-op ceiling answers a request signed
// with its key and refuses a wrong secret, another key and a body changed
// after signing, as the real server would.
func TestNoopServerChecksSignature(t *testing.T) {
	const keyID, secret = "AKNOOPTEST0001", "noop-test-secret-0123456789abcdef"
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- serveNoop(ctx, "127.0.0.1:0", keyID, secret, &bytes.Buffer{}, func(a string) { addr <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("no-op server: %v", err)
		}
	})
	endpoint := "http://" + <-addr
	client := func(id, secret string) *httpapi.Client {
		return &httpapi.Client{Endpoint: endpoint, Service: "bmc", Version: httpapi.BMCVersion2026, AccessKeyID: id, AccessKeySecret: secret}
	}

	var out struct {
		RequestID string `json:"requestId"`
	}
	if err := client(keyID, secret).Call(ctx, actionCreate, map[string]any{"amount": 1}, &out); err != nil {
		t.Fatalf("correctly signed request: %v", err)
	}
	if out.RequestID == "" {
		t.Error("the answer has no requestId")
	}
	for name, c := range map[string]*httpapi.Client{
		"wrong secret": client(keyID, secret+"x"),
		"another key":  client("AKNOOPTEST0002", secret),
	} {
		var apiErr *httpapi.APIError
		err := c.Call(ctx, actionCreate, map[string]any{"amount": 1}, nil)
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
			t.Errorf("%s: got %v, want a 401 error envelope", name, err)
		}
	}

	req, err := client(keyID, secret).SignedRequest(ctx, actionCreate, []byte(`{"amount":1}`))
	if err != nil {
		t.Fatal(err)
	}
	tampered, _ := http.NewRequestWithContext(ctx, http.MethodPost, req.URL.String(), strings.NewReader(`{"amount":2}`))
	tampered.Header = req.Header
	resp, err := http.DefaultClient.Do(tampered)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("body changed after signing: HTTP %d, want 401", resp.StatusCode)
	}
}

// TestFillDescribeUntilRunning drives a real server with the new modes:
// --fill buys instances first, --until-running waits until those of the
// run are RUNNING, and DescribeInstances reads them.
func TestFillDescribeUntilRunning(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		getenv := func(name string) string {
			return map[string]string{"METALPLANE_ACCESS_KEY_ID": env.Key.ID, "METALPLANE_ACCESS_KEY_SECRET": env.Key.Secret}[name]
		}
		// The same server twice: requests alternate between the two URLs.
		endpoints := env.App.URL() + "," + env.App.URL()
		ctx := context.Background()
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"--endpoint", endpoints, "--fill", "3", "--requests", "3", "--amount", "2",
			"--concurrency", "2", "--until-running", "--name-prefix", "t"}, getenv, &out, &errOut)
		if err != nil {
			t.Fatalf("mploadgen: %v\n%s%s", err, out.String(), errOut.String())
		}
		for _, want := range []string{"fill          3 instances", "requests      3 (3 ok, 0 failed)",
			"last of 6 instances settled (6 RUNNING, 0 failed, 0 other)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}

		var page struct {
			TotalCount int `json:"totalCount"`
		}
		if err := env.BMC().Call(ctx, actionDescribe, map[string]any{"instanceName": "t-*", "instanceStatus": "RUNNING"}, &page); err != nil {
			t.Fatal(err)
		}
		// The fill's instances settle too; the run's six were RUNNING
		// when mploadgen said so.
		if page.TotalCount < 6 {
			t.Errorf("%d instances named t-* RUNNING, want at least the run's 6", page.TotalCount)
		}

		out.Reset()
		err = run(ctx, []string{"--endpoint", endpoints, "--action", actionDescribe, "--requests", "4", "--concurrency", "2",
			"--filter-zone", "SEL-A", "--filter-name", "t-*"}, getenv, &out, &errOut)
		if err != nil || !strings.Contains(out.String(), "requests      4 (4 ok, 0 failed)") {
			t.Errorf("DescribeInstances run: %v\n%s%s", err, out.String(), errOut.String())
		}
	}, apitest.Options{SimStepDelay: 0})
}
