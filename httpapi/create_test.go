package httpapi_test

import (
	"context"
	"fmt"
	"sync"
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

// A purchase is visible to DescribeInstances the moment CreateInstances
// answers (ACTIONS.md §3.2), also while other purchases commit around it:
// Terraform reads the instance right after creating it. Several buyers
// buy and read back at once, so answers and reads interleave with the
// commits of other purchases.
func TestCreatedInstancesAreVisibleAtOnce(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		const buyers, rounds = 8, 5
		errs := make(chan error, buyers*rounds)
		var wg sync.WaitGroup
		for b := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					name := fmt.Sprintf("seen-%d-%d", b, r)
					req := minimalCreate()
					req["instanceName"] = name
					var created createResponse
					if err := env.BMC().Call(ctx, "CreateInstances", req, &created); err != nil {
						errs <- err
						return
					}
					if len(created.InstanceIDSet) != 1 {
						errs <- fmt.Errorf("%s: got instanceIdSet %v, want one ID", name, created.InstanceIDSet)
						return
					}
					var byID, byName describeResponse
					if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"instanceIds": created.InstanceIDSet}, &byID); err != nil {
						errs <- err
						return
					}
					if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"instanceName": name}, &byName); err != nil {
						errs <- err
						return
					}
					if byID.TotalCount != 1 || len(byID.DataSet) != 1 || byID.DataSet[0]["instanceId"] != created.InstanceIDSet[0] {
						errs <- fmt.Errorf("%s (%s) right after its purchase, by ID: totalCount %d, %d returned", name, created.InstanceIDSet[0], byID.TotalCount, len(byID.DataSet))
					}
					if byName.TotalCount != 1 || len(byName.DataSet) != 1 || byName.DataSet[0]["instanceId"] != created.InstanceIDSet[0] {
						errs <- fmt.Errorf("%s right after its purchase, by name: totalCount %d, %d returned", name, byName.TotalCount, len(byName.DataSet))
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var all describeResponse
		if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"instanceName": "seen-*"}, &all); err != nil {
			t.Fatal(err)
		}
		if all.TotalCount != buyers*rounds {
			t.Errorf("DescribeInstances instanceName=seen-* counts %d, want %d", all.TotalCount, buyers*rounds)
		}
	})
}
