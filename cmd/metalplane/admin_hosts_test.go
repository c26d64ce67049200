package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/testdb"
	"github.com/metalplane/metalplane/sqlstore"
)

// Servers enrolled on a live database: listed with their driver and BMC,
// never their password (stored sealed); changed, removed when free,
// refused when they hold an instance; and every change in their events.
func TestAdminHostsEnrollUpdateRemove(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		dbArgs := []string{"--data-dir", t.TempDir(), "--database", dsn}
		srv := startServe(t, nil, append(dbArgs, "--sim-step-delay", "0", "--power-sync-interval", "0", "--bmc-timeout", "1s")...)
		admin := func(args ...string) string {
			t.Helper()
			return mustRun(t, nil, append(append([]string{"admin", "hosts"}, args...), dbArgs...)...)
		}
		adminFail := func(args ...string) string {
			t.Helper()
			r := mustFail(t, nil, append(append([]string{"admin", "hosts"}, args...), dbArgs...)...)
			return r.err.Error() + r.stdout + r.stderr
		}
		const password, password2 = "Bmc~Secret~4711", "Bmc~Secret~0815"
		pwFile, pwFile2 := filepath.Join(t.TempDir(), "pw"), filepath.Join(t.TempDir(), "pw2")
		for f, pw := range map[string]string{pwFile: password + "\n", pwFile2: password2} {
			if err := os.WriteFile(f, []byte(pw), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var printed strings.Builder
		show := func(out string) string { printed.WriteString(out); return out }

		// SAO-A sells M6C from no simulated host: the enrolled one is the
		// only one.
		out := show(admin("enroll", "--host", "rack1-n1", "--zone", "SAO-A", "--type", "M6C",
			"--bmc", "ipmi://admin@127.0.0.1:1?cipher=3", "--mac", "52:54:00:AA:BB:01", "--password-file", pwFile))
		if got := field(t, out, "driver"); got != "ipmi" {
			t.Errorf("enroll: driver %q, want ipmi", got)
		}
		if got := field(t, out, "bmc"); got != "ipmi://admin@127.0.0.1:1?cipher=3" {
			t.Errorf("enroll: bmc %q", got)
		}
		if got := field(t, out, "mac"); got != "52:54:00:aa:bb:01" {
			t.Errorf("enroll: mac %q, want it in lower case", got)
		}
		show(admin("enroll", "--host", "rack1-n2", "--zone", "SAO-A", "--type", "M6C",
			"--bmc", "redfish+https://root@127.0.0.1:2/redfish/v1/Systems/1?insecure=true"))

		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"password in the address", []string{"--host", "x1", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin:" + password + "@127.0.0.1:3"}, "holds a password"},
			{"existing id", []string{"--host", "rack1-n1", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:4?cipher=3"}, "exists already"},
			{"same BMC", []string{"--host", "x2", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:1?cipher=3"}, "rack1-n1"},
			{"same MAC", []string{"--host", "x3", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:5", "--mac", "52:54:00:aa:bb:01"}, "rack1-n1"},
			{"weak cipher suite", []string{"--host", "x4", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:6?cipher=2"}, "cipher"},
			{"unknown scheme", []string{"--host", "x5", "--zone", "SAO-A", "--type", "M6C", "--bmc", "idrac://root@127.0.0.1"}, "scheme"},
			{"bad MAC", []string{"--host", "x6", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:7", "--mac", "52:54"}, "MAC"},
			{"bad id", []string{"--host", "x 7", "--zone", "SAO-A", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:8"}, "id may hold only"},
			{"no zone", []string{"--host", "x8", "--type", "M6C", "--bmc", "ipmi://admin@127.0.0.1:9"}, "required"},
		} {
			if got := show(adminFail(append([]string{"enroll"}, tc.args...)...)); !strings.Contains(got, tc.want) {
				t.Errorf("enroll with %s: got %q, want it to say %q", tc.name, got, tc.want)
			}
		}

		out = show(admin("list", "--bmc"))
		row := tableRow(out, "rack1-n1")
		// HOST ID ZONE TYPE STATE INSTANCE DRIVER POWER LAST-CONTACT BMC NOTE
		if len(row) != 10 || row[3] != sqlstore.HostAvailable || row[5] != "ipmi" || row[6] != "never" || row[7] != "-" || row[8] != "ipmi://admin@127.0.0.1:1?cipher=3" {
			t.Errorf("hosts list row: %q", row)
		}
		if ids := firstColumn(out); len(ids) != 2 {
			t.Errorf("hosts list --bmc: got %q, want the two enrolled hosts only", ids)
		}
		var sealed string
		if err := srv.app.DB.SQL.QueryRow(`SELECT bmc_password FROM hosts WHERE id = 'rack1-n1'`).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "mpsealed1:") || strings.Contains(sealed, password) {
			t.Errorf("stored BMC password %q: want it sealed", sealed)
		}

		out = show(admin("update", "--host", "rack1-n1", "--bmc", "ipmi://operator@127.0.0.1:11?cipher=17,3", "--password-file", pwFile2, "--mac", "none"))
		for _, want := range []string{"ipmi://operator@127.0.0.1:11?cipher=17,3", "password replaced", "mac -"} {
			if !strings.Contains(out, want) {
				t.Errorf("update printed %q, want %q", out, want)
			}
		}
		show(adminFail("update", "--host", "rack1-n1"))
		show(adminFail("update", "--host", "nosuch", "--mac", "none"))
		show(adminFail("update", "--host", "SAO-A-MX4-0001", "--mac", "52:54:00:00:00:01")) // an offer's simulated host
		access, err := srv.app.DB.FindHostAccess(context.Background(), "rack1-n1")
		if err != nil {
			t.Fatal(err)
		}
		if access.Password != password2 || access.Driver != "ipmi" || access.BMCAddress != "ipmi://operator@127.0.0.1:11?cipher=17,3" {
			t.Errorf("after update the driver would get %s %s (password replaced: %t)", access.Driver, access.BMCAddress, access.Password == password2)
		}

		// A purchase takes the only host of the offer: it cannot be
		// removed while it holds the instance.
		show(admin("maintenance", "--host", "rack1-n2", "--on", "--note", "spare"))
		c := &httpapi.Client{Endpoint: srv.app.URL(), Service: "bmc", Version: httpapi.BMCVersion2026,
			AccessKeyID: srv.app.Credentials.ID, AccessKeySecret: srv.app.Credentials.Secret}
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := c.Call(context.Background(), "CreateInstances", map[string]any{"zoneId": "SAO-A", "instanceTypeId": "M6C",
			"instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1}, "internetChargeType": "ByBandwidth"}, &created); err != nil {
			t.Fatal(err)
		}
		instanceID := created.InstanceIDSet[0]
		if got := show(adminFail("remove", "--host", "rack1-n1")); !strings.Contains(got, instanceID) {
			t.Errorf("remove of a host with an instance: got %q, want a refusal naming %s", got, instanceID)
		}
		show(adminFail("remove", "--host", "SAO-A-MX4-0001"))
		show(admin("maintenance", "--host", "rack1-n2", "--off"))
		show(admin("remove", "--host", "rack1-n2"))
		if row := tableRow(show(admin("list")), "rack1-n2"); row != nil {
			t.Errorf("removed host still listed: %q", row)
		}

		out = show(admin("events", "--host", "rack1-n1"))
		for _, want := range []string{"enrolled", "updated", "password replaced"} {
			if !strings.Contains(out, want) {
				t.Errorf("events of rack1-n1 lack %q:\n%s", want, out)
			}
		}
		if out := show(admin("events", "--host", "rack1-n2")); !strings.Contains(out, "removed") {
			t.Errorf("events of the removed host lack its removal:\n%s", out)
		}
		for _, pw := range []string{password, password2} {
			if strings.Contains(printed.String(), pw) || strings.Contains(srv.stderr.String(), pw) {
				t.Errorf("a BMC password was printed or logged")
			}
		}
	})
}

// Hosts listed in the catalog file: enrolled at start with their password
// from the environment, managed by the file (admin commands refuse to
// change them), retired when the file no longer lists them; a password
// written in the file stops the start without being shown.
func TestCatalogHosts(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		dbArgs := []string{"--data-dir", t.TempDir(), "--database", dsn}
		const password = "Catalog~Bmc~99"
		env := map[string]string{"RACK2_BMC_PASSWORD": password}
		writeCatalog := func(hosts string) string {
			path := filepath.Join(t.TempDir(), "catalog.yaml")
			if err := os.WriteFile(path, append(metalplane.DemoCatalog(), []byte("\nhosts:\n"+hosts)...), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
		listed := writeCatalog(`  - id: rack2-n1
    zone: SAO-A
    instanceType: M6C
    bmc: redfish+https://root@127.0.0.1:21/redfish/v1/Systems/1
    mac: "52:54:00:CC:00:01"
    passwordEnv: RACK2_BMC_PASSWORD
`)
		serveArgs := append(dbArgs, "--sim-step-delay", "0", "--power-sync-interval", "0")
		srv := startServe(t, env, append(serveArgs, "--catalog", listed)...)
		access, err := srv.app.DB.FindHostAccess(context.Background(), "rack2-n1")
		if err != nil {
			t.Fatal(err)
		}
		if access.Driver != "redfish" || access.Password != password || access.BMCAddress != "redfish+https://root@127.0.0.1:21/redfish/v1/Systems/1" {
			t.Errorf("catalog host enrolled as %s %s (password from the environment: %t)", access.Driver, access.BMCAddress, access.Password == password)
		}
		admin := func(args ...string) string {
			t.Helper()
			return mustRun(t, nil, append(append([]string{"admin", "hosts"}, args...), dbArgs...)...)
		}
		if row := tableRow(admin("list", "--bmc"), "rack2-n1"); len(row) < 9 || row[3] != sqlstore.HostAvailable || row[5] != "redfish" {
			t.Errorf("catalog host listed as %q", row)
		}
		for _, args := range [][]string{{"update", "--host", "rack2-n1", "--no-password"}, {"remove", "--host", "rack2-n1"}} {
			if r := mustFail(t, nil, append(append([]string{"admin", "hosts"}, args...), dbArgs...)...); !strings.Contains(r.err.Error(), "catalog file") {
				t.Errorf("admin hosts %s of a catalog host: got %v, want a refusal pointing at the catalog file", args[0], r.err)
			}
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}

		// Without the variable the start fails and says which host needs it.
		r := mustFail(t, nil, append([]string{"serve", "--listen", "127.0.0.1:0", "--catalog", listed}, serveArgs...)...)
		if !strings.Contains(r.err.Error(), "rack2-n1") || !strings.Contains(r.err.Error(), "RACK2_BMC_PASSWORD") {
			t.Errorf("start without the password's variable: %v", r.err)
		}
		// A password in the file: refused, not shown.
		inline := writeCatalog("  - id: rack2-n1\n    zone: SAO-A\n    instanceType: M6C\n    bmc: ipmi://admin:" + password + "@127.0.0.1:22\n")
		r = mustFail(t, env, append([]string{"serve", "--listen", "127.0.0.1:0", "--catalog", inline}, serveArgs...)...)
		if !strings.Contains(r.err.Error(), "holds a password") || strings.Contains(r.err.Error()+r.stderr, password) {
			t.Errorf("start with a password in the catalog: %v", r.err)
		}

		// No longer listed: retired, kept with its events.
		srv = startServe(t, env, append(serveArgs, "--catalog", writeCatalog(""))...)
		if row := tableRow(admin("list"), "rack2-n1"); len(row) < 4 || row[3] != sqlstore.HostRetired {
			t.Errorf("host no longer in the catalog: %q, want retired", row)
		}
		if out := admin("events", "--host", "rack2-n1"); !strings.Contains(out, "enrolled") || !strings.Contains(out, "retired") {
			t.Errorf("events of the retired catalog host:\n%s", out)
		}
	})
}
