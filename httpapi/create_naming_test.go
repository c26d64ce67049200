package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// TestCreateInstancesNaming sends every naming-pattern example of the seed
// and of ACTIONS.md §3.1.2 through CreateInstances, as instanceName and as
// hostname. Accepted patterns must expand, in instanceIdSet order, to the
// listed names; refused ones must answer the field's code.
func TestCreateInstancesNaming(t *testing.T) {
	sixty := strings.Repeat("n", 60)
	fiftyEight := strings.Repeat("n", 58)
	tests := []struct {
		name    string
		pattern string // "" leaves instanceName and hostname out
		amount  int
		// want are the expanded names; wantHost the hostnames when they
		// differ (the defaults do).
		want, wantHost []string
		// nameCode and hostCode are the codes of a refused pattern sent
		// as instanceName and as hostname.
		nameCode, hostCode metalplane.Code
	}{
		// The seed's examples.
		{name: "seed one instance", pattern: "server_[3,3]", amount: 1, want: []string{"server003"}},
		{name: "seed two instances", pattern: "server_[3,3]", amount: 2, want: []string{"server003", "server004"}},
		{name: "seed two tokens", pattern: "server_[3,3]_[1,1]", amount: 2, want: []string{"server0031", "server0042"}},
		{name: "seed defaults", pattern: "", amount: 2, want: []string{"instance", "instance"}, wantHost: []string{"hostname", "hostname"}},

		// ACTIONS.md §3.1.2 examples.
		{name: "dash and width 2", pattern: "web-[1,2]", amount: 3, want: []string{"web-01", "web-02", "web-03"}},
		{name: "two tokens and a dot", pattern: "node[0,3].dc[5,1]", amount: 2, want: []string{"node000.dc5", "node001.dc6"}},
		{name: "number outgrows bits", pattern: "db[98,2]", amount: 3, want: []string{"db98", "db99", "db100"}},
		{name: "empty token", pattern: "host[]", amount: 2, want: []string{"host000000", "host000001"}},
		{name: "no token repeats", pattern: "db", amount: 2, want: []string{"db", "db"}},
		{name: "space", pattern: "web [1,2]", amount: 2,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "bits above 6", pattern: "a[1,7]", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "begin above 99999", pattern: "a[100000,2]", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "66 characters after expansion", pattern: sixty + "[0,6]", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_EXCEED"},

		// The rules of the same section.
		{name: "begin left empty", pattern: "n[,3]", amount: 2, want: []string{"n000", "n001"}},
		{name: "bits left empty", pattern: "n[7,]", amount: 1, want: []string{"n000007"}},
		{name: "64 characters after expansion", pattern: fiftyEight + "[0,6]", amount: 1, want: []string{fiftyEight + "000000"}},
		{name: "largest begin", pattern: "x[99999,5]", amount: 2, want: []string{"x99999", "x100000"}},
		{name: "underscore not before a token", pattern: "my_server", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "space inside a token", pattern: "a[1, 2]", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "bits 0", pattern: "a[1,0]", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "unclosed token", pattern: "a[1,2", amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_MALFORMED"},
		{name: "65 literal characters", pattern: strings.Repeat("a", 65), amount: 1,
			nameCode: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", hostCode: "INVALID_PARAMETER_HOSTNAME_EXCEED"},
	}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.want == nil {
					for _, f := range []struct {
						field string
						code  metalplane.Code
					}{{"instanceName", tt.nameCode}, {"hostname", tt.hostCode}} {
						err := c.Call(ctx, "CreateInstances", postpaidWith(map[string]any{f.field: tt.pattern, "amount": tt.amount}), nil)
						apitest.ExpectCode(t, err, f.code)
						if status := err.(*httpapi.APIError).Status; status != http.StatusBadRequest {
							t.Errorf("%s %q: got HTTP %d, want 400", f.field, tt.pattern, status)
						}
					}
					return
				}
				req := postpaidWith(map[string]any{"amount": tt.amount})
				if tt.pattern != "" {
					req["instanceName"], req["hostname"] = tt.pattern, tt.pattern
				}
				var created createResponse
				if err := c.Call(ctx, "CreateInstances", req, &created); err != nil {
					t.Fatalf("CreateInstances %q × %d: %v", tt.pattern, tt.amount, err)
				}
				if len(created.InstanceIDSet) != tt.amount {
					t.Fatalf("got %d instance IDs, want %d", len(created.InstanceIDSet), tt.amount)
				}
				var out describeResponse
				if err := c.Call(ctx, "DescribeInstances", map[string]any{"instanceIds": created.InstanceIDSet}, &out); err != nil {
					t.Fatal(err)
				}
				byID := map[string]map[string]any{}
				for _, d := range out.DataSet {
					byID[d["instanceId"].(string)] = d
				}
				wantHost := tt.wantHost
				if wantHost == nil {
					wantHost = tt.want
				}
				var gotNames, gotHosts []string
				for _, id := range created.InstanceIDSet {
					d, ok := byID[id]
					if !ok {
						t.Fatalf("DescribeInstances has no %s", id)
					}
					gotNames = append(gotNames, d["instanceName"].(string))
					gotHosts = append(gotHosts, d["hostname"].(string))
				}
				if !slices.Equal(gotNames, tt.want) {
					t.Errorf("got instanceNames %q, want %q", gotNames, tt.want)
				}
				if !slices.Equal(gotHosts, wantHost) {
					t.Errorf("got hostnames %q, want %q", gotHosts, wantHost)
				}
			})
		}
	})
}
