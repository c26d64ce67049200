package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane/internal/apitest"
)

type createResponse struct {
	InstanceIDSet []string `json:"instanceIdSet"`
	OrderNumber   string   `json:"orderNumber"`
}

type describeResponse struct {
	TotalCount int              `json:"totalCount"`
	DataSet    []map[string]any `json:"dataSet"`
}

// minimalCreate is the seed's simplest request: POSTPAID M6C in SEL-A,
// flat-rate bandwidth, no image, generated password.
func minimalCreate() map[string]any {
	return map[string]any{"zoneId": "SEL-A", "instanceChargeType": "POSTPAID", "instanceTypeId": "M6C", "internetChargeType": "ByBandwidth"}
}

// waitStatus polls DescribeInstances until every instance has the status.
func waitStatus(t *testing.T, env *apitest.Env, ids []string, want string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out describeResponse
		if err := env.BMC().Call(context.Background(), "DescribeInstances", map[string]any{"instanceIds": ids, "pageSize": 100}, &out); err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, d := range out.DataSet {
			if d["instanceStatus"] == want {
				done++
			}
		}
		if done == len(ids) {
			return out.DataSet
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s, %d of %d instances are %s: %v", done, len(ids), want, out.DataSet)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCreateInstancesReachesRunning(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		req := minimalCreate()
		req["amount"] = 3
		req["instanceName"] = "web-[1,2]"
		var created createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", req, &created); err != nil {
			t.Fatal(err)
		}
		if len(created.InstanceIDSet) != 3 || created.OrderNumber == "" {
			t.Fatalf("got %+v, want 3 IDs and an order number", created)
		}
		data := waitStatus(t, env, created.InstanceIDSet, "RUNNING")
		names := map[string]bool{}
		for _, d := range data {
			names[d["instanceName"].(string)] = true
			if d["primaryPublicIpAddress"] == nil || d["primaryPublicIPv6Address"] == nil {
				t.Errorf("instance %v has no public addresses", d["instanceId"])
			}
			if _, ok := d["password"]; ok {
				t.Errorf("DescribeInstances returned a password")
			}
		}
		for _, n := range []string{"web-01", "web-02", "web-03"} {
			if !names[n] {
				t.Errorf("no instance named %s in %v", n, names)
			}
		}
	})
}
