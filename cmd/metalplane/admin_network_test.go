package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/testdb"
)

// The operator switches of issue 14 on a live server: what `admin gateway
// set`, `admin vouchers set` and `admin groups ...` change is what the API
// allows next.
func TestAdminGatewayVouchersGroups(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		dbArgs := []string{"--data-dir", t.TempDir(), "--database", dsn}
		srv := startServe(t, nil, append(dbArgs, "--sim-step-delay", "0", "--power-sync-interval", "0")...)
		admin := func(args ...string) string {
			t.Helper()
			return mustRun(t, nil, append(append([]string{"admin"}, args...), dbArgs...)...)
		}
		adminFail := func(args ...string) string {
			t.Helper()
			r := mustFail(t, nil, append(append([]string{"admin"}, args...), dbArgs...)...)
			return r.err.Error()
		}
		key := srv.app.Credentials
		c := &httpapi.Client{Endpoint: srv.app.URL(), Service: "bmc", Version: httpapi.BMCVersion2026, AccessKeyID: key.ID, AccessKeySecret: key.Secret}
		wantCode := func(err error, code metalplane.Code) {
			t.Helper()
			apiErr, ok := err.(*httpapi.APIError)
			if !ok || apiErr.Code != code {
				t.Fatalf("got %v, want %s", err, code)
			}
		}
		create := func(extra map[string]any) error {
			req := map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}
			for k, v := range extra {
				req[k] = v
			}
			return c.Call(ctx, "CreateInstances", req, nil)
		}

		// Gateway mode: off by default, on, then off again.
		gateway := map[string]any{"enableGatewayMode": true}
		wantCode(create(gateway), "UNAUTHORIZED_OPERATION")
		if got := field(t, admin("gateway", "set", "--team", "demo", "--allowed=true"), "gateway mode allowed for demo ("+key.TeamID+")"); got != "true" {
			t.Fatalf("gateway set: got %q, want true", got)
		}
		if err := create(gateway); err != nil {
			t.Fatalf("gateway mode once allowed: %v", err)
		}
		admin("gateway", "set", "--team", key.TeamID, "--allowed=false")
		wantCode(create(gateway), "UNAUTHORIZED_OPERATION")
		adminFail("gateway", "set", "--team", "demo")

		// Vouchers: one voucher pays one purchase.
		voucher := map[string]any{"marketingOptions": map[string]any{"usePocVoucher": true}}
		wantCode(create(voucher), "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND")
		admin("vouchers", "set", "--team", "demo", "--count", "1")
		if err := create(voucher); err != nil {
			t.Fatalf("with a voucher: %v", err)
		}
		wantCode(create(voucher), "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND")
		adminFail("vouchers", "set", "--team", "demo")
		adminFail("vouchers", "set", "--team", "no-such-team", "--count", "1")

		// Resource groups: created, used by the API, kept while used.
		group := field(t, admin("groups", "create", "--team", "demo", "--name", "network"), "resource group id")
		adminFail("groups", "create", "--team", "demo", "--name", "network")
		rows := firstColumn(admin("groups", "list", "--team", "demo"))
		if len(rows) != 2 || rows[1] != group {
			t.Fatalf("groups list: got %q, want the default group, then %s", rows, group)
		}
		defaultGroup := rows[0]
		var subnet struct {
			SubnetID string `json:"subnetId"`
		}
		if err := c.Call(ctx, "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "s", "resourceGroupId": group}, &subnet); err != nil {
			t.Fatal(err)
		}
		if msg := adminFail("groups", "delete", "--team", "demo", "--group", group); !strings.Contains(msg, "1 subnets") {
			t.Errorf("delete of a used group: got %q, want it to name the subnet", msg)
		}
		if msg := adminFail("groups", "delete", "--team", "demo", "--group", defaultGroup); !strings.Contains(msg, "default") {
			t.Errorf("delete of the default group: got %q, want a refusal naming it", msg)
		}
		adminFail("groups", "delete", "--team", "demo", "--group", "rg-nope")
		if err := c.Call(ctx, "DeleteSubnet", map[string]any{"subnetId": subnet.SubnetID}, nil); err != nil {
			t.Fatal(err)
		}
		admin("groups", "delete", "--team", "demo", "--group", group)
		if rows := firstColumn(admin("groups", "list", "--team", "demo")); slices.Contains(rows, group) {
			t.Fatalf("groups list after delete: got %q", rows)
		}
		err := c.Call(ctx, "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "s", "resourceGroupId": group}, nil)
		wantCode(err, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND")
	})
}
