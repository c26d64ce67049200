package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane/internal/apitest"
)

// describedInstance is what the filter test knows about each instance.
type describedInstance struct {
	ID, Zone, Type, InternetChargeType, ResourceGroup, Image, Subnet, Status, Name, Hostname string
	PublicIPs, PrivateIPs                                                                    []string
	Tags                                                                                     map[string]string
}

// TestDescribeInstancesFilters buys a varied fleet, drives some of it into
// other states, and checks every filter of ACTIONS.md §3.2 against what
// was bought: the matching instances and an exact totalCount.
func TestDescribeInstancesFilters(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		bmc := env.BMC()
		var images struct {
			Images []struct {
				ImageID string `json:"imageId"`
			} `json:"images"`
		}
		if err := bmc.Call(ctx, "DescribeImages", map[string]any{"catalog": "ubuntu", "instanceTypeId": "M6C"}, &images); err != nil || len(images.Images) == 0 {
			t.Fatalf("DescribeImages: %v %v", err, images)
		}
		image := images.Images[0].ImageID
		var subnet struct {
			SubnetID string `json:"subnetId"`
		}
		if err := bmc.Call(ctx, "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.5.0/24", "subnetName": "filters"}, &subnet); err != nil {
			t.Fatal(err)
		}
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "second")
		if err != nil {
			t.Fatal(err)
		}
		defaultGroup, err := env.DB.Lookups().ResourceGroupID(ctx, env.Team.ID, "")
		if err != nil {
			t.Fatal(err)
		}

		var fleet []*describedInstance
		buy := func(req map[string]any, model describedInstance, tags map[string]string) []string {
			t.Helper()
			var tagList []map[string]any
			for k, v := range tags {
				tagList = append(tagList, map[string]any{"key": k, "value": v})
			}
			if len(tagList) > 0 {
				req["tags"] = map[string]any{"tags": tagList}
			}
			var out createResponse
			if err := bmc.Call(ctx, "CreateInstances", req, &out); err != nil {
				t.Fatal(err)
			}
			for i, id := range out.InstanceIDSet {
				m := model
				m.ID, m.Status, m.Tags = id, "RUNNING", tags
				m.Name = strings.Replace(model.Name, "#", fmt.Sprint(i+1), 1)
				m.Hostname = strings.Replace(model.Hostname, "#", fmt.Sprint(i+1), 1)
				fleet = append(fleet, &m)
			}
			return out.InstanceIDSet
		}
		web := buy(map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "POSTPAID", "internetChargeType": "ByBandwidth",
			"amount": 3, "instanceName": "web-[1,1]", "hostname": "web-host-[1,1]", "imageId": image, "password": "Filter-pass-1", "subnetId": subnet.SubnetID},
			describedInstance{Zone: "SEL-A", Type: "M6C", InternetChargeType: "ByBandwidth", ResourceGroup: defaultGroup, Image: image, Subnet: subnet.SubnetID, Name: "web-#", Hostname: "web-host-#"},
			map[string]string{"env": "prod", "team": "a"})
		db := buy(map[string]any{"zoneId": "HKG-A", "instanceTypeId": "S8I", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
			"internetChargeType": "ByBandwidth", "amount": 2, "instanceName": "db-[1,1]", "hostname": "db-[1,1]", "resourceGroupId": group.ID},
			describedInstance{Zone: "HKG-A", Type: "S8I", InternetChargeType: "ByBandwidth", ResourceGroup: group.ID, Name: "db-#", Hostname: "db-#"},
			map[string]string{"env": "dev"})
		burst := buy(map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "POSTPAID", "internetChargeType": "ByInstanceBandwidth95",
			"amount": 2, "instanceName": "webby-[1,1]", "hostname": "burst"},
			describedInstance{Zone: "SEL-A", Type: "M6C", InternetChargeType: "ByInstanceBandwidth95", ResourceGroup: defaultGroup, Name: "webby-#", Hostname: "burst"},
			nil)
		all := slices.Concat(web, db, burst)
		waitStatus(t, env, all, "RUNNING")

		// Other states: one stopped, one in the recycle bin.
		if err := bmc.Call(ctx, "StopInstances", map[string]any{"instanceIds": []string{web[0]}}, nil); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, env, web[:1], "STOPPED")
		if err := bmc.Call(ctx, "TerminateInstance", map[string]any{"instanceId": burst[1]}, nil); err != nil {
			t.Fatal(err)
		}
		for _, m := range fleet {
			switch m.ID {
			case web[0]:
				m.Status = "STOPPED"
			case burst[1]:
				m.Status = "RECYCLE"
			}
		}
		// Addresses are assigned by the server: read them once.
		var everything struct {
			TotalCount int `json:"totalCount"`
			DataSet    []struct {
				InstanceID         string   `json:"instanceId"`
				InstanceStatus     string   `json:"instanceStatus"`
				PublicIPAddresses  []string `json:"publicIpAddresses"`
				PrivateIPAddresses []string `json:"privateIpAddresses"`
			} `json:"dataSet"`
		}
		if err := bmc.Call(ctx, "DescribeInstances", map[string]any{"pageSize": 1000}, &everything); err != nil {
			t.Fatal(err)
		}
		if everything.TotalCount != len(fleet) || len(everything.DataSet) != len(fleet) {
			t.Fatalf("unfiltered: totalCount %d, %d items, want %d", everything.TotalCount, len(everything.DataSet), len(fleet))
		}
		for _, d := range everything.DataSet {
			i := slices.IndexFunc(fleet, func(m *describedInstance) bool { return m.ID == d.InstanceID })
			if i < 0 {
				t.Fatalf("unexpected instance %s", d.InstanceID)
			}
			if d.InstanceStatus != fleet[i].Status {
				t.Fatalf("instance %s is %s, want %s", d.InstanceID, d.InstanceStatus, fleet[i].Status)
			}
			fleet[i].PublicIPs, fleet[i].PrivateIPs = d.PublicIPAddresses, d.PrivateIPAddresses
		}
		if len(fleet[0].PrivateIPs) != 1 || len(fleet[0].PublicIPs) == 0 {
			t.Fatalf("web instance addresses: %+v", fleet[0])
		}

		hasTags := func(m *describedInstance, kv map[string]string) bool {
			for k, v := range kv {
				if got, ok := m.Tags[k]; !ok || (v != "" && got != v) {
					return false
				}
			}
			return true
		}
		cases := []struct {
			name  string
			req   map[string]any
			match func(m *describedInstance) bool
		}{
			{"instanceIds", map[string]any{"instanceIds": []string{web[1], db[0], "bmc-unknown"}}, func(m *describedInstance) bool { return m.ID == web[1] || m.ID == db[0] }},
			{"zoneId", map[string]any{"zoneId": "HKG-A"}, func(m *describedInstance) bool { return m.Zone == "HKG-A" }},
			{"resourceGroupId", map[string]any{"resourceGroupId": group.ID}, func(m *describedInstance) bool { return m.ResourceGroup == group.ID }},
			{"instanceTypeId", map[string]any{"instanceTypeId": "M6C"}, func(m *describedInstance) bool { return m.Type == "M6C" }},
			{"internetChargeType", map[string]any{"internetChargeType": "ByInstanceBandwidth95"}, func(m *describedInstance) bool { return m.InternetChargeType == "ByInstanceBandwidth95" }},
			{"imageId", map[string]any{"imageId": image}, func(m *describedInstance) bool { return m.Image == image }},
			{"subnetId", map[string]any{"subnetId": subnet.SubnetID}, func(m *describedInstance) bool { return m.Subnet == subnet.SubnetID }},
			{"instanceStatus RUNNING", map[string]any{"instanceStatus": "RUNNING"}, func(m *describedInstance) bool { return m.Status == "RUNNING" }},
			{"instanceStatus RECYCLE", map[string]any{"instanceStatus": "RECYCLE"}, func(m *describedInstance) bool { return m.Status == "RECYCLE" }},
			{"zone and status", map[string]any{"zoneId": "SEL-A", "instanceStatus": "RUNNING"}, func(m *describedInstance) bool { return m.Zone == "SEL-A" && m.Status == "RUNNING" }},
			{"type, charge type and group", map[string]any{"instanceTypeId": "M6C", "internetChargeType": "ByBandwidth", "resourceGroupId": defaultGroup},
				func(m *describedInstance) bool {
					return m.Type == "M6C" && m.InternetChargeType == "ByBandwidth" && m.ResourceGroup == defaultGroup
				}},
			{"instanceName exact", map[string]any{"instanceName": "web-2"}, func(m *describedInstance) bool { return m.Name == "web-2" }},
			{"instanceName prefix", map[string]any{"instanceName": "web*"}, func(m *describedInstance) bool { return strings.HasPrefix(m.Name, "web") }},
			{"instanceName prefix web-", map[string]any{"instanceName": "web-*"}, func(m *describedInstance) bool { return strings.HasPrefix(m.Name, "web-") }},
			{"hostname exact", map[string]any{"hostname": "burst"}, func(m *describedInstance) bool { return m.Hostname == "burst" }},
			{"hostname prefix", map[string]any{"hostname": "web-host*"}, func(m *describedInstance) bool { return strings.HasPrefix(m.Hostname, "web-host") }},
			{"publicIpAddresses", map[string]any{"publicIpAddresses": []string{fleet[1].PublicIPs[0], "198.51.100.7"}}, func(m *describedInstance) bool { return m.ID == fleet[1].ID }},
			{"privateIpAddresses", map[string]any{"privateIpAddresses": fleet[2].PrivateIPs}, func(m *describedInstance) bool { return m.ID == fleet[2].ID }},
			{"tagKeys", map[string]any{"tagKeys": []string{"env", "team"}}, func(m *describedInstance) bool { return hasTags(m, map[string]string{"env": "", "team": ""}) }},
			{"tags", map[string]any{"tags": []map[string]any{{"key": "env", "value": "dev"}}}, func(m *describedInstance) bool { return hasTags(m, map[string]string{"env": "dev"}) }},
			{"nothing matches", map[string]any{"zoneId": "FRA-A"}, func(m *describedInstance) bool { return false }},
		}
		for _, c := range cases {
			var want []string
			for _, m := range fleet {
				if c.match(m) {
					want = append(want, m.ID)
				}
			}
			req := c.req
			req["pageSize"] = 1000
			var out struct {
				TotalCount int `json:"totalCount"`
				DataSet    []struct {
					InstanceID string `json:"instanceId"`
				} `json:"dataSet"`
			}
			if err := bmc.Call(ctx, "DescribeInstances", req, &out); err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			var got []string
			for _, d := range out.DataSet {
				got = append(got, d.InstanceID)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) || out.TotalCount != len(want) {
				t.Errorf("%s: got %v (totalCount %d), want %v", c.name, got, out.TotalCount, want)
			}
		}

		// Paging: pages of 2 walk the whole set in order, with the same
		// totalCount on every page.
		var paged []string
		for page := 1; page <= 4; page++ {
			var out struct {
				TotalCount int `json:"totalCount"`
				DataSet    []struct {
					InstanceID string `json:"instanceId"`
				} `json:"dataSet"`
			}
			if err := bmc.Call(ctx, "DescribeInstances", map[string]any{"pageNum": page, "pageSize": 2}, &out); err != nil {
				t.Fatal(err)
			}
			if out.TotalCount != len(fleet) {
				t.Fatalf("page %d: totalCount %d, want %d", page, out.TotalCount, len(fleet))
			}
			for _, d := range out.DataSet {
				paged = append(paged, d.InstanceID)
			}
		}
		var order []string
		for _, d := range everything.DataSet {
			order = append(order, d.InstanceID)
		}
		if !slices.Equal(paged, order) {
			t.Fatalf("paged walk %v, want %v", paged, order)
		}

		// Refusals.
		err = bmc.Call(ctx, "DescribeInstances", map[string]any{"zoneId": "XXX-A"}, nil)
		apitest.ExpectCode(t, err, "INVALID_ZONE_NOT_FOUND")
		err = bmc.Call(ctx, "DescribeInstances", map[string]any{"instanceTypeId": "NOPE"}, nil)
		apitest.ExpectCode(t, err, "INVALID_INSTANCE_TYPE_NOT_FOUND")
		err = bmc.Call(ctx, "DescribeInstances", map[string]any{"imageId": "no-such-image"}, nil)
		apitest.ExpectCode(t, err, "INVALID_IMAGE_NOT_FOUND")
		err = bmc.Call(ctx, "DescribeInstances", map[string]any{"pageSize": 1001}, nil)
		apitest.ExpectCode(t, err, "INVALID_PARAMETER")
		ids := make([]string, 101)
		for i := range ids {
			ids[i] = fmt.Sprintf("bmc-%d", i)
		}
		err = bmc.Call(ctx, "DescribeInstances", map[string]any{"instanceIds": ids}, nil)
		apitest.ExpectCode(t, err, "INVALID_PARAMETER")

		// Another team sees none of it.
		_, key := env.NewTeam(t, "other")
		var other describeResponse
		if err := env.ClientWithKey("bmc", "2026-02-01", key).Call(ctx, "DescribeInstances", map[string]any{"zoneId": "SEL-A"}, &other); err != nil {
			t.Fatal(err)
		}
		if other.TotalCount != 0 || len(other.DataSet) != 0 {
			t.Fatalf("another team sees %d instances", other.TotalCount)
		}
	})
}
