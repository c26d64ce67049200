package httpapi_test

import (
	"context"
	"math"
	"testing"

	"github.com/metalplane/metalplane/internal/apitest"
)

// TestDescribeInstancesHugePageNum: a pageNum so large that pageNum ×
// pageSize does not fit in 64 bits is a page beyond the last like any
// other: the real total and no items. The offset used to wrap negative:
// PostgreSQL answered 500 and SQLite the first page.
func TestDescribeInstancesHugePageNum(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		createRunning(t, env, minimalCreate())
		for _, n := range []int{math.MaxInt64/20 + 2, math.MaxInt64} {
			var out describeResponse
			if err := env.BMC().Call(context.Background(), "DescribeInstances", map[string]any{"pageNum": n}, &out); err != nil {
				t.Fatalf("pageNum %d: %v", n, err)
			}
			if out.TotalCount != 1 || len(out.DataSet) != 0 {
				t.Errorf("pageNum %d: got totalCount %d with %d items, want 1 and 0", n, out.TotalCount, len(out.DataSet))
			}
		}
	})
}
