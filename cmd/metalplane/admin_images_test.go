package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/testdb"
)

// Images added, listed and removed on a live database: the running server
// offers an added image within its refresh interval, sells it (on the
// simulated hosts of the demo catalog), and stops offering it once
// removed; bad images are refused before they reach the database.
func TestAdminImagesAddListRemove(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		dbArgs := []string{"--data-dir", t.TempDir(), "--database", dsn}
		srv := startServe(t, nil, append(dbArgs, "--sim-step-delay", "0", "--power-sync-interval", "0", "--image-refresh-interval", "50ms")...)
		admin := func(args ...string) string {
			t.Helper()
			return mustRun(t, nil, append(append([]string{"admin", "images"}, args...), dbArgs...)...)
		}
		c := &httpapi.Client{Endpoint: srv.app.URL(), Service: "bmc", Version: httpapi.BMCVersion2026,
			AccessKeyID: srv.app.Credentials.ID, AccessKeySecret: srv.app.Credentials.Secret}
		offered := func() []string {
			t.Helper()
			var out struct {
				Images []struct {
					ImageID string `json:"imageId"`
				} `json:"images"`
			}
			if err := c.Call(context.Background(), "DescribeImages", map[string]any{}, &out); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, im := range out.Images {
				ids = append(ids, im.ImageID)
			}
			return ids
		}
		waitOffered := func(id string, want bool) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); slices.Contains(offered(), id) != want; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("image %s offered: %t after 30 s, want %t", id, !want, want)
				}
			}
		}
		const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b4b0b822cd15d6c15b0f00a08"
		admin("add", "--id", "debian-12-raw", "--name", "Debian 12 raw", "--catalog", "debian", "--instance-types", "M6C,S8I",
			"--source", "https://images.example/debian-12.raw", "--sha256", strings.ToUpper(sum))
		// Unknown to the server's catalog (type NOPE): stored, but left out.
		admin("add", "--id", "odd", "--name", "Odd", "--catalog", "debian", "--instance-types", "NOPE")
		row := tableRow(admin("list"), "debian-12-raw")
		if row == nil || row[4] != "M6C,S8I" || row[5] != "raw" || row[6] != sum || row[7] != "https://images.example/debian-12.raw" {
			t.Errorf("list row: %q", row)
		}
		waitOffered("debian-12-raw", true)
		if slices.Contains(offered(), "odd") {
			t.Error("an image for an instance type the catalog does not have is offered")
		}

		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := c.Call(context.Background(), "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "imageId": "debian-12-raw",
			"instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth", "password": "Image~Pass1"}, &created); err != nil {
			t.Fatalf("purchase of the added image: %v", err)
		}

		for _, bad := range [][]string{
			{"--id", "x1", "--name", "X", "--catalog", "debian", "--instance-types", "M6C", "--source", "/etc/passwd", "--sha256", sum},
			{"--id", "x2", "--name", "X", "--catalog", "debian", "--instance-types", "M6C", "--source", "../up.raw", "--sha256", sum},
			{"--id", "x3", "--name", "X", "--catalog", "debian", "--instance-types", "M6C", "--source", "a.raw", "--sha256", "abc"},
			{"--id", "x4", "--name", "X", "--catalog", "debian", "--instance-types", "M6C", "--source", "a.raw", "--sha256", sum, "--format", "qcow2"},
			{"--id", "x5", "--name", "X", "--catalog", "debian", "--instance-types", "M6C", "--source", "ftp://h/a.raw", "--sha256", sum},
			{"--id", "x6", "--name", "X", "--catalog", "debian", "--instance-types", "M6C", "--source", "https://u:p@h/a.raw", "--sha256", sum},
			{"--id", "x7", "--name", "X", "--catalog", "plan9", "--instance-types", "M6C"},
			{"--id", "debian-12-raw", "--name", "X", "--catalog", "debian", "--instance-types", "M6C"},
			{"--name", "X", "--catalog", "debian", "--instance-types", "M6C"},
		} {
			mustFail(t, nil, append(append([]string{"admin", "images", "add"}, bad...), dbArgs...)...)
		}
		if got := firstColumn(admin("list")); !slices.Equal(got, []string{"debian-12-raw", "odd"}) {
			t.Errorf("images after the refusals: %q", got)
		}

		admin("remove", "--id", "debian-12-raw")
		waitOffered("debian-12-raw", false)
		mustFail(t, nil, append([]string{"admin", "images", "remove", "--id", "debian-12-raw"}, dbArgs...)...)
	})
}
