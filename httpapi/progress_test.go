package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

type progressOut struct {
	DataSet []httpapi.InstanceProgress `json:"dataSet"`
}

// TestDescribeInstancesProgress: a PENDING instance (no workers) is at
// step 1 of 6, power_off; another team sees none of it; bad lists get
// their codes.
func TestDescribeInstancesProgress(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := c.Call(ctx, "CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "amount": 2,
			"instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth"}, &created); err != nil {
			t.Fatal(err)
		}
		ids := append([]string{"nosuch"}, created.InstanceIDSet...)
		var out progressOut
		if err := c.Call(ctx, "DescribeInstancesProgress", map[string]any{"instanceIds": ids}, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.DataSet) != 2 || out.DataSet[0].InstanceID != created.InstanceIDSet[0] {
			t.Fatalf("got %+v, want the two instances in the order asked", out.DataSet)
		}
		for _, p := range out.DataSet {
			if p.InstanceStatus != "PENDING" || p.Settled || p.Failed || p.StepsDone != 0 || p.TotalSteps != 6 || p.CurrentStep != "power_off" {
				t.Errorf("got %+v, want PENDING, step 0 done of 6, power_off next", p)
			}
		}

		_, key := env.NewTeam(t, "other")
		other := env.ClientWithKey("bmc", c.Version, key)
		out = progressOut{}
		if err := other.Call(ctx, "DescribeInstancesProgress", map[string]any{"instanceIds": ids}, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.DataSet) != 0 {
			t.Errorf("another team sees %+v", out.DataSet)
		}

		apitest.ExpectCode(t, c.Call(ctx, "DescribeInstancesProgress", map[string]any{}, nil), "MISSING_PARAMETER")
		apitest.ExpectCode(t, c.Call(ctx, "DescribeInstancesProgress", map[string]any{"instanceIds": slices.Repeat([]string{"x"}, 101)}, nil), "INVALID_PARAMETER")
		apitest.ExpectCode(t, c.Call(ctx, "DescribeInstancesProgress", map[string]any{"instanceIds": []string{strings.Repeat("x", 200)}}, nil), "INVALID_PARAMETER")
	}, apitest.Options{NoWorkers: true})
}
