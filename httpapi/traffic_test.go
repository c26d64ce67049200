package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bmc22 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	bmc26 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20260201"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

type trafficOut struct {
	DataList []struct {
		InternetRX int64  `json:"internetRX"`
		InternetTX int64  `json:"internetTX"`
		Time       string `json:"time"`
	} `json:"dataList"`
	In95                    int64   `json:"in95"`
	In95Time                string  `json:"in95Time"`
	InAvg                   int64   `json:"inAvg"`
	InMax                   int64   `json:"inMax"`
	InMin                   int64   `json:"inMin"`
	InTotal                 int64   `json:"inTotal"`
	Out95                   int64   `json:"out95"`
	Out95Time               string  `json:"out95Time"`
	OutAvg                  int64   `json:"outAvg"`
	OutMax                  int64   `json:"outMax"`
	OutMin                  int64   `json:"outMin"`
	OutTotal                int64   `json:"outTotal"`
	MaxBandwidth95ValueMbps float64 `json:"maxBandwidth95ValueMbps"`
	TotalUnit               string  `json:"totalUnit"`
	Unit                    string  `json:"unit"`
}

// TestInstanceTraffic: five-minute samples from the instance's creation to
// the last ended interval, the same on every call and version, and
// statistics that follow from them; the managed variant answers the same.
func TestInstanceTraffic(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		t0 := time.Date(2030, 6, 1, 10, 0, 0, 0, time.UTC)
		env.Clock.Set(t0)
		var created createResponse
		req := postpaidWith(map[string]any{"internetChargeType": "ByInstanceBandwidth95", "internetMaxBandwidthOut": 200, "instanceName": "traffic"})
		if err := env.BMC().Call(ctx, "CreateInstances", req, &created); err != nil {
			t.Fatal(err)
		}
		id := created.InstanceIDSet[0]
		env.Clock.Set(t0.Add(3*time.Hour + 2*time.Minute))
		window := map[string]any{"instanceId": id, "startTime": "2030-06-01T09:00:00Z", "endTime": "2030-06-01T14:00:00Z"}

		var first trafficOut
		mustTickCall(t, env, env.BMC(), "DescribeInstanceTraffic", window, &first)
		// 10:00 to 12:55: 36 intervals have ended by 13:02 (13:00 has not).
		if len(first.DataList) != 36 || first.DataList[0].Time != "2030-06-01T10:00:00Z" || first.DataList[35].Time != "2030-06-01T12:55:00Z" {
			t.Fatalf("got %d samples from %v, want 36 from 10:00 to 12:55", len(first.DataList), first.DataList)
		}
		var sumTX, bytesTX, maxTX int64
		for _, p := range first.DataList {
			if p.InternetTX <= 0 || p.InternetTX > 200e6 || p.InternetRX <= 0 || p.InternetRX > p.InternetTX {
				t.Fatalf("sample %+v: want 0 < RX ≤ TX ≤ 200 Mbps", p)
			}
			sumTX += p.InternetTX
			bytesTX += p.InternetTX * 300 / 8
			maxTX = max(maxTX, p.InternetTX)
		}
		if first.OutTotal != bytesTX || first.OutMax != maxTX || first.OutAvg != bytesTX*8/300/36 || first.Out95 > first.OutMax || first.Out95 < first.OutAvg/2 {
			t.Errorf("stats: got total %d max %d avg %d 95th %d, want %d, %d, about %d and a 95th up to the max", first.OutTotal, first.OutMax, first.OutAvg, first.Out95, bytesTX, maxTX, sumTX/36)
		}
		if first.Unit != "bps" || first.TotalUnit != "B" || first.Out95Time == "" || first.MaxBandwidth95ValueMbps != float64(max(first.In95, first.Out95))/1e6 {
			t.Errorf("units and 95th: got %+v", first)
		}
		// Stable: the same on 2022-11-20, and through the managed action;
		// a later call returns the same older samples.
		for _, tc := range []struct {
			c      *httpapi.Client
			action string
		}{{env.BMC2022(), "DescribeInstanceTraffic"}, {env.BMC(), "DescribeManagedInstanceTraffic"}, {env.BMC2022(), "DescribeManagedInstanceTraffic"}} {
			var again trafficOut
			mustTickCall(t, env, tc.c, tc.action, window, &again)
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("%s %s differs (-first +again):\n%s", tc.c.Version, tc.action, diff)
			}
		}
		env.Clock.Advance(time.Hour)
		var later trafficOut
		mustTickCall(t, env, env.BMC(), "DescribeInstanceTraffic", window, &later)
		if len(later.DataList) != 48 || !cmp.Equal(first.DataList, later.DataList[:36]) {
			t.Errorf("an hour later: got %d samples, want 48 starting with the same 36", len(later.DataList))
		}
		// Before the instance existed: no samples, zero statistics.
		var before trafficOut
		mustTickCall(t, env, env.BMC(), "DescribeInstanceTraffic", map[string]any{"instanceId": id, "startTime": "2030-06-01T00:00:00Z", "endTime": "2030-06-01T09:59:59Z"}, &before)
		if before.DataList == nil || len(before.DataList) != 0 || before.OutTotal != 0 {
			t.Errorf("before creation: got %+v, want an empty dataList", before)
		}

		other := func(kv ...string) map[string]any {
			m := map[string]any{"instanceId": id, "startTime": "2030-06-01T09:00:00Z", "endTime": "2030-06-01T14:00:00Z"}
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == "" {
					delete(m, kv[i])
				} else {
					m[kv[i]] = kv[i+1]
				}
			}
			return m
		}
		_, key := env.NewTeam(t, "other")
		for _, tc := range []struct {
			name string
			c    *httpapi.Client
			req  map[string]any
			want metalplane.Code
		}{
			{"no instanceId", env.BMC(), other("instanceId", ""), "MISSING_PARAMETER"},
			{"no startTime", env.BMC(), other("startTime", ""), "MISSING_PARAMETER"},
			{"no endTime", env.BMC2022(), other("endTime", ""), "MISSING_PARAMETER"},
			{"bad time", env.BMC(), other("startTime", "yesterday"), "INVALID_PARAMETER"},
			{"over a day", env.BMC(), other("startTime", "2030-05-31T09:00:00Z"), "INVALID_PARAMETER"},
			{"backwards", env.BMC(), other("endTime", "2030-06-01T08:00:00Z"), "INVALID_PARAMETER"},
			{"older than 30 days", env.BMC(), other("startTime", "2030-04-01T09:00:00Z", "endTime", "2030-04-01T10:00:00Z"), "INVALID_PARAMETER"},
			{"unknown instance", env.BMC(), other("instanceId", "123"), "INVALID_INSTANCE_NOT_FOUND"},
			{"another team's", env.ClientWithKey("bmc", httpapi.BMCVersion2026, key), other(), "INVALID_INSTANCE_NOT_FOUND"},
			{"another team's, managed", env.ClientWithKey("bmc", httpapi.BMCVersion2022, key), other(), "INVALID_INSTANCE_NOT_FOUND"},
		} {
			action := "DescribeInstanceTraffic"
			if strings.Contains(tc.name, "managed") {
				action = "DescribeManagedInstanceTraffic"
			}
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, tc.c, action, tc.req, nil), tc.want)
			})
		}
	}, apitest.Options{NoWorkers: true})
}

// TestDescribeManagedInstances: the team's instances in the managed shape,
// with its filters, and nothing of another team.
func TestDescribeManagedInstances(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		var sel, hkg createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"instanceName": "seoul"}), &sel); err != nil {
			t.Fatal(err)
		}
		// A second later, so the list's order (createTime) is known.
		env.Clock.Set(time.Now().Add(time.Second))
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"zoneId": "HKG-A", "instanceTypeId": "MDE", "instanceName": "hongkong"}), &hkg); err != nil {
			t.Fatal(err)
		}
		seoul := describeOne(t, env, sel.InstanceIDSet[0])
		ip := seoul["primaryPublicIpAddress"].(string)
		type managed struct {
			InstanceID   string   `json:"instanceId"`
			InstanceName string   `json:"instanceName"`
			FacName      string   `json:"facName"`
			IPs          []string `json:"ips"`
			LanIPs       []string `json:"lanIps"`
			CreateTime   string   `json:"createTime"`
		}
		list := func(c *httpapi.Client, req map[string]any) (int, []managed) {
			t.Helper()
			var out struct {
				TotalCount int       `json:"totalCount"`
				DataSet    []managed `json:"dataSet"`
			}
			mustTickCall(t, env, c, "DescribeManagedInstances", req, &out)
			return out.TotalCount, out.DataSet
		}
		for _, c := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
			n, all := list(c, nil)
			if n != 2 || all[0].InstanceID != sel.InstanceIDSet[0] || all[0].InstanceName != "seoul" || all[0].FacName != "Seoul A" ||
				!cmp.Equal(all[0].IPs, []string{ip, seoul["primaryPublicIPv6Address"].(string)}) || all[0].LanIPs == nil || all[0].CreateTime != seoul["createTime"] || all[1].FacName != "Hong Kong A" {
				t.Fatalf("%s: got %d %+v, want seoul in Seoul A with %s, then hongkong", c.Version, n, all, ip)
			}
		}
		for _, tc := range []struct {
			req  map[string]any
			want []string
		}{
			{map[string]any{"instanceIds": []string{hkg.InstanceIDSet[0], "123"}}, hkg.InstanceIDSet},
			{map[string]any{"instanceName": "seoul"}, sel.InstanceIDSet},
			{map[string]any{"ip": ip}, sel.InstanceIDSet},
			{map[string]any{"lanIp": "10.9.9.9"}, nil},
			{map[string]any{"facName": "Hong Kong A"}, hkg.InstanceIDSet},
			{map[string]any{"cityCode": "SEL"}, sel.InstanceIDSet},
			{map[string]any{"cityCode": "SEL", "facName": "Hong Kong A"}, nil},
			{map[string]any{"cityCode": "NOPE"}, nil},
			{map[string]any{"pageSize": 1, "pageNum": 2}, hkg.InstanceIDSet},
		} {
			_, got := list(env.BMC(), tc.req)
			var ids []string
			for _, m := range got {
				ids = append(ids, m.InstanceID)
			}
			if !cmp.Equal(ids, tc.want) {
				t.Errorf("DescribeManagedInstances %v: got %v, want %v", tc.req, ids, tc.want)
			}
		}
		_, key := env.NewTeam(t, "other")
		if n, _ := list(env.ClientWithKey("bmc", httpapi.BMCVersion2026, key), nil); n != 0 {
			t.Fatalf("another team sees %d managed instances, want 0", n)
		}
	}, apitest.Options{NoWorkers: true})
}

// TestSDKTrafficAndManagedInstances calls the three actions through both
// SDK versions and reads what a user reads.
func TestSDKTrafficAndManagedInstances(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		var created createResponse
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"instanceName": "sdk"}), &created); err != nil {
			t.Fatal(err)
		}
		id := created.InstanceIDSet[0]
		// An hour of history: the SDK signs with the real clock, the
		// server counts intervals with it too.
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE instances SET create_time = create_time - 3600 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		start, end := now.Add(-2*time.Hour).Format("2006-01-02T15:04:05Z"), now.Format("2006-01-02T15:04:05Z")

		c26 := sdkClient26(t, env)
		traffic := bmc26.NewDescribeInstanceTrafficRequest()
		traffic.InstanceId, traffic.StartTime, traffic.EndTime = common.String(id), common.String(start), common.String(end)
		got26, err := c26.DescribeInstanceTraffic(traffic)
		if err != nil {
			t.Fatal(err)
		}
		r := got26.Response
		if len(r.DataList) < 10 || *r.DataList[0].InternetTX <= 0 || *r.Out95 <= 0 || *r.OutTotal <= 0 || *r.Unit != "bps" || *r.MaxBandwidth95ValueMbps <= 0 {
			t.Fatalf("2026 DescribeInstanceTraffic: got %d samples, out95 %v", len(r.DataList), r.Out95)
		}
		managedTraffic := bmc26.NewDescribeManagedInstanceTrafficRequest()
		managedTraffic.InstanceId, managedTraffic.StartTime, managedTraffic.EndTime = common.String(id), common.String(start), common.String(end)
		if m, err := c26.DescribeManagedInstanceTraffic(managedTraffic); err != nil || len(m.Response.DataList) != len(r.DataList) {
			t.Fatalf("2026 DescribeManagedInstanceTraffic: %v", err)
		}
		managed26, err := c26.DescribeManagedInstances(bmc26.NewDescribeManagedInstancesRequest())
		if err != nil || *managed26.Response.TotalCount != 1 || *managed26.Response.DataSet[0].InstanceId != id || *managed26.Response.DataSet[0].FacName != "Seoul A" ||
			len(managed26.Response.DataSet[0].Ips) == 0 {
			t.Fatalf("2026 DescribeManagedInstances: %+v %v", managed26, err)
		}

		c22, _ := sdkClient(t, env, nil)
		traffic22 := bmc22.NewDescribeInstanceTrafficRequest()
		traffic22.InstanceId, traffic22.StartTime, traffic22.EndTime = id, start, end
		got22, err := c22.DescribeInstanceTraffic(traffic22)
		if err != nil || len(got22.Response.DataList) != len(r.DataList) || got22.Response.Out95 != *r.Out95 || got22.Response.DataList[0].Time == "" {
			t.Fatalf("2022 DescribeInstanceTraffic: %+v %v", got22, err)
		}
		managedTraffic22 := bmc22.NewDescribeManagedInstanceTrafficRequest()
		managedTraffic22.InstanceId, managedTraffic22.StartTime, managedTraffic22.EndTime = &id, &start, &end
		if m, err := c22.DescribeManagedInstanceTraffic(managedTraffic22); err != nil || len(m.Response.DataList) != len(r.DataList) {
			t.Fatalf("2022 DescribeManagedInstanceTraffic: %v", err)
		}
		managed22, err := c22.DescribeManagedInstances(bmc22.NewDescribeManagedInstancesRequest())
		if err != nil || *managed22.Response.TotalCount != 1 || *managed22.Response.DataSet[0].InstanceName != "sdk" {
			t.Fatalf("2022 DescribeManagedInstances: %+v %v", managed22, err)
		}
	}, apitest.Options{NoWorkers: true})
}
