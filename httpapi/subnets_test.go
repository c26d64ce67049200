package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// subnetOut and subnetsOut decode DescribeSubnets.
type subnetOut struct {
	SubnetID          string `json:"subnetId"`
	SubnetName        string `json:"subnetName"`
	ZoneID            string `json:"zoneId"`
	AvailableIPCount  int    `json:"availableIpCount"`
	CidrBlock         string `json:"cidrBlock"`
	SubnetStatus      string `json:"subnetStatus"`
	CreateTime        string `json:"createTime"`
	VpcSubnetStatus   string `json:"vpcSubnetStatus"`
	VpcID             string `json:"vpcId"`
	VpcName           string `json:"vpcName"`
	ResourceGroupID   string `json:"resourceGroupId"`
	ResourceGroupName string `json:"resourceGroupName"`
	SubnetInstanceSet []struct {
		InstanceID       string `json:"instanceId"`
		PrivateIPAddress string `json:"privateIpAddress"`
		PrivateIPStatus  string `json:"privateIpStatus"`
	} `json:"subnetInstanceSet"`
}

type subnetsOut struct {
	TotalCount int         `json:"totalCount"`
	DataSet    []subnetOut `json:"dataSet"`
}

func newSubnet(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) string {
	t.Helper()
	var out struct {
		SubnetID string `json:"subnetId"`
	}
	mustTickCall(t, env, c, "CreateSubnet", req, &out)
	return out.SubnetID
}

func describeSubnets(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) subnetsOut {
	t.Helper()
	var out subnetsOut
	mustTickCall(t, env, c, "DescribeSubnets", req, &out)
	if out.DataSet == nil {
		t.Fatalf("DescribeSubnets %v: got dataSet null, want an array", req)
	}
	for _, s := range out.DataSet {
		if s.SubnetInstanceSet == nil {
			t.Fatalf("subnet %s: got subnetInstanceSet null, want an array", s.SubnetID)
		}
	}
	return out
}

// addSubnetInstance writes a bare instance row holding ip in the subnet,
// the way CreateInstances leaves one, so that membership can be tested
// without provisioning a server.
func addSubnetInstance(t *testing.T, env *apitest.Env, subnetID, ip string) string {
	t.Helper()
	id := metalplane.NewInstanceID()
	now := env.DB.Now().Unix()
	_, err := env.DB.SQL.ExecContext(context.Background(), `INSERT INTO instances (id, team_id, order_number, zone_id, instance_type_id, host_id,
		name, hostname, image_id, ipxe_url, charge_type, period, auto_renew, internet_charge_type, bandwidth_out_mbps, traffic_package_tb,
		cluster_id, resource_group_id, key_id, status, failure_reason, public_ipv4, public_ipv6, private_ip, subnet_id, raid_config,
		partitions, wan_name, lan_name, tags, enable_gateway_mode, password, ssh_keys, user_data, period_price, hourly_price,
		provision_step, create_time, expired_time, recycled_at, released)
		VALUES ($1, $2, '', 'SEL-A', 'M6C', '', 'member', 'member', '', '', 'POSTPAID', 0, $3, 'ByBandwidth', 0, 0,
		'', '', '', 'RUNNING', '', '', '', $4, $5, '', '', '', '', '', $3, '', '', '', 0, 0, 0, $6, 0, 0, $3)`,
		id, env.Team.ID, false, ip, subnetID, now)
	if err != nil {
		t.Fatalf("insert instance: %v", err)
	}
	return id
}

var subnetIDPattern = regexp.MustCompile(`^[1-9][0-9]{17}$`)

func TestSubnetLifecycle(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		env.Clock.Set(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC))
		c := env.BMC()
		def, err := env.DB.DefaultResourceGroup(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "network")
		if err != nil {
			t.Fatal(err)
		}
		id := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/24", "subnetName": "app-net.1"})
		if !subnetIDPattern.MatchString(id) {
			t.Fatalf("got subnetId %q, want 18 digits", id)
		}
		smallest := newSubnet(t, env, env.BMC2022(), map[string]any{"zoneId": "HKG-A", "cidrBlock": "192.168.255.248/29",
			"subnetName": "Terraform-Subnet", "resourceGroupId": group.ID})
		largest := newSubnet(t, env, c, map[string]any{"zoneId": "FRA-A", "cidrBlock": "172.16.0.0/16", "subnetName": "big",
			"resourceGroupId": "", "vpcId": ""})

		want := []subnetOut{
			{SubnetID: id, SubnetName: "app-net.1", ZoneID: "SEL-A", AvailableIPCount: 253, CidrBlock: "10.0.1.0/24", SubnetStatus: "AVAILABLE",
				CreateTime: "2030-05-06T07:08:10Z", ResourceGroupID: def.ID, ResourceGroupName: def.Name},
			{SubnetID: smallest, SubnetName: "Terraform-Subnet", ZoneID: "HKG-A", AvailableIPCount: 5, CidrBlock: "192.168.255.248/29", SubnetStatus: "AVAILABLE",
				CreateTime: "2030-05-06T07:08:11Z", ResourceGroupID: group.ID, ResourceGroupName: "network"},
			{SubnetID: largest, SubnetName: "big", ZoneID: "FRA-A", AvailableIPCount: 65533, CidrBlock: "172.16.0.0/16", SubnetStatus: "AVAILABLE",
				CreateTime: "2030-05-06T07:08:12Z", ResourceGroupID: def.ID, ResourceGroupName: def.Name},
		}
		// Terraform reads subnets with 2022-11-20, the SDK with 2026-02-01:
		// both get the same fields.
		for _, v := range []*httpapi.Client{c, env.BMC2022()} {
			out := describeSubnets(t, env, v, nil)
			if out.TotalCount != len(want) || len(out.DataSet) != len(want) {
				t.Fatalf("%s: got totalCount %d with %d items, want %d", v.Version, out.TotalCount, len(out.DataSet), len(want))
			}
			for i, w := range want {
				got := out.DataSet[i]
				if len(got.SubnetInstanceSet) != 0 {
					t.Errorf("%s: subnet %d: got members %+v, want none", v.Version, i, got.SubnetInstanceSet)
				}
				got.SubnetInstanceSet = nil
				if diff := cmp.Diff(w, got); diff != "" {
					t.Errorf("%s: subnet %d (-want +got):\n%s", v.Version, i, diff)
				}
			}
		}

		// Every SubnetInfo field is on the wire, even the empty VPC ones.
		raw, err := c.Do(ctx, "DescribeSubnets", []byte(fmt.Sprintf(`{"subnetIds":[%q]}`, id)))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Response struct {
				DataSet []map[string]json.RawMessage `json:"dataSet"`
			} `json:"response"`
		}
		if err := json.Unmarshal(raw.Body, &body); err != nil || len(body.Response.DataSet) != 1 {
			t.Fatalf("raw DescribeSubnets: got %s (%v), want one subnet", raw.Body, err)
		}
		for _, field := range []string{"subnetId", "subnetName", "zoneId", "availableIpCount", "cidrBlock", "subnetStatus", "createTime",
			"vpcSubnetStatus", "vpcId", "vpcName", "resourceGroupId", "resourceGroupName", "subnetInstanceSet"} {
			if _, ok := body.Response.DataSet[0][field]; !ok {
				t.Errorf("SubnetInfo lacks %s", field)
			}
		}
		if got := string(body.Response.DataSet[0]["subnetInstanceSet"]); got != "[]" {
			t.Errorf("got subnetInstanceSet %s, want []", got)
		}

		// An instance holding an address is a BOUND member and blocks the
		// delete until it is released.
		member := addSubnetInstance(t, env, id, "10.0.1.2")
		out := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{id}})
		got := out.DataSet[0]
		if len(got.SubnetInstanceSet) != 1 || got.SubnetInstanceSet[0].InstanceID != member ||
			got.SubnetInstanceSet[0].PrivateIPAddress != "10.0.1.2" || got.SubnetInstanceSet[0].PrivateIPStatus != "BOUND" || got.AvailableIPCount != 252 {
			t.Fatalf("with a member: got %+v, want instance %s at 10.0.1.2 BOUND and 252 free", got, member)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": id}, nil), "OPERATION_DENIED_SUBNET_EXIST_INSTANCE")
		if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE instances SET released = $1 WHERE id = $2`, true, member); err != nil {
			t.Fatal(err)
		}
		if out := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{id}}); len(out.DataSet[0].SubnetInstanceSet) != 0 || out.DataSet[0].AvailableIPCount != 253 {
			t.Fatalf("after release: got %+v, want no members and 253 free", out.DataSet[0])
		}

		// Deleted at once: absent from the next DescribeSubnets.
		mustTickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": id}, nil)
		if out := describeSubnets(t, env, c, map[string]any{"subnetIds": []string{id}}); out.TotalCount != 0 || len(out.DataSet) != 0 {
			t.Fatalf("after delete: got %+v, want nothing", out)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": id}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		if out := describeSubnets(t, env, c, nil); out.TotalCount != 2 {
			t.Fatalf("got %d subnets left, want 2", out.TotalCount)
		}
	})
}

func TestCreateSubnetErrors(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		req := func(kv ...any) map[string]any {
			m := map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.2.0/24", "subnetName": "net"}
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(m, kv[i].(string))
				} else {
					m[kv[i].(string)] = kv[i+1]
				}
			}
			return m
		}
		cases := []struct {
			name string
			req  map[string]any
			want metalplane.Code
		}{
			{"no zoneId", req("zoneId", nil), "MISSING_PARAMETER"},
			{"empty zoneId", req("zoneId", ""), "MISSING_PARAMETER"},
			{"no cidrBlock", req("cidrBlock", nil), "MISSING_PARAMETER"},
			{"empty cidrBlock", req("cidrBlock", ""), "MISSING_PARAMETER"},
			{"no subnetName", req("subnetName", nil), "MISSING_PARAMETER"},
			{"empty subnetName", req("subnetName", ""), "MISSING_PARAMETER"},
			{"cidrBlock not a string", req("cidrBlock", 10), "INVALID_PARAMETER"},
			{"unknown zone", req("zoneId", "NOPE-A"), "INVALID_ZONE_NOT_FOUND"},
			{"unknown zone wins over bad CIDR", req("zoneId", "NOPE-A", "cidrBlock", "banana"), "INVALID_ZONE_NOT_FOUND"},
			{"zone without subnets", req("zoneId", "SAO-A"), "OPERATION_DENIED_ZONE_NOT_SUPPORT_SUBNET"},
			{"vpcId", req("vpcId", "vpc-123"), "INVALID_VPC_NOT_FOUND"},
			{"vpcId wins over bad CIDR", req("vpcId", "vpc-123", "cidrBlock", "banana"), "INVALID_VPC_NOT_FOUND"},
			{"CIDR is a word", req("cidrBlock", "banana"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{"CIDR without mask", req("cidrBlock", "10.0.0.0"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{"CIDR mask 33", req("cidrBlock", "10.0.0.0/33"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{"CIDR leading zero", req("cidrBlock", "010.0.0.0/24"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{"CIDR with spaces", req("cidrBlock", " 10.0.0.0/24"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{"public range", req("cidrBlock", "11.0.0.0/24"), "INVALID_PARAMETER_SUBNET_LAN_IP"},
			{"10.1 is outside 10.0/16", req("cidrBlock", "10.1.0.0/24"), "INVALID_PARAMETER_SUBNET_LAN_IP"},
			{"172.17 is outside 172.16/16", req("cidrBlock", "172.17.0.0/24"), "INVALID_PARAMETER_SUBNET_LAN_IP"},
			{"192.169", req("cidrBlock", "192.169.0.0/24"), "INVALID_PARAMETER_SUBNET_LAN_IP"},
			{"IPv6", req("cidrBlock", "fd00::/64"), "INVALID_PARAMETER_SUBNET_LAN_IP"},
			{"outside range wins over mask", req("cidrBlock", "11.0.0.0/30"), "INVALID_PARAMETER_SUBNET_LAN_IP"},
			{"mask /8", req("cidrBlock", "10.0.0.0/8"), "INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK"},
			{"mask /15", req("cidrBlock", "192.168.0.0/15"), "INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK"},
			{"mask /30", req("cidrBlock", "10.0.0.0/30"), "INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK"},
			{"mask /32", req("cidrBlock", "10.0.0.5/32"), "INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK"},
			{"host bits set", req("cidrBlock", "10.0.0.1/24"), "INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK"},
			{"bad CIDR wins over bad name", req("cidrBlock", "banana", "subnetName", "bad name"), "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{"space in name", req("subnetName", "bad name"), "INVALID_PARAMETER"},
			{"underscore in name", req("subnetName", "bad_name"), "INVALID_PARAMETER"},
			{"name of 65", req("subnetName", strings.Repeat("n", 65)), "INVALID_PARAMETER"},
			{"bad name wins over unknown group", req("subnetName", "bad name", "resourceGroupId", "rg-nope"), "INVALID_PARAMETER"},
			{"unknown resource group", req("resourceGroupId", "rg-nope"), "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", tc.req, nil), tc.want)
			})
		}
		if out := describeSubnets(t, env, c, nil); out.TotalCount != 0 {
			t.Fatalf("after refused creates: got %d subnets, want 0", out.TotalCount)
		}
		// The longest name passes.
		newSubnet(t, env, c, req("subnetName", strings.Repeat("n", 64)))

		t.Run("quota per zone", func(t *testing.T) {
			quota := 3 // one subnet exists in SEL-A already
			if err := env.DB.UpdateTeam(context.Background(), env.Team.ID, sqlstore.TeamUpdate{SubnetQuota: &quota}); err != nil {
				t.Fatal(err)
			}
			// [decision] Overlapping blocks are allowed, even in one zone.
			newSubnet(t, env, c, req())
			last := newSubnet(t, env, c, req())
			apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", req(), nil), "OPERATION_DENIED_SUBNET_EXCEED_LIMIT")
			// The group is checked before the quota.
			apitest.ExpectCode(t, tickCall(t, env, c, "CreateSubnet", req("resourceGroupId", "rg-nope"), nil), "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND")
			// Another zone has its own quota; a delete frees a place.
			newSubnet(t, env, c, req("zoneId", "HKG-A"))
			mustTickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": last}, nil)
			newSubnet(t, env, c, req())
		})
	})
}

func TestDeleteSubnetErrors(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC2022()
		id := newSubnet(t, env, c, map[string]any{"zoneId": "LAX-A", "cidrBlock": "192.168.10.0/24", "subnetName": "net"})
		setStatus := func(status string) {
			t.Helper()
			if _, err := env.DB.SQL.ExecContext(ctx, `UPDATE subnets SET status = $1 WHERE id = $2`, status, id); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name   string
			status string
			req    map[string]any
			want   metalplane.Code
		}{
			{"no subnetId", "", map[string]any{}, "MISSING_PARAMETER"},
			{"empty subnetId", "", map[string]any{"subnetId": ""}, "MISSING_PARAMETER"},
			{"subnetId not a string", "", map[string]any{"subnetId": 5}, "INVALID_PARAMETER"},
			{"unknown", "", map[string]any{"subnetId": "123456789012345678"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"creating", "CREATING", map[string]any{"subnetId": id}, "OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT"},
			{"deleting", "DELETING", map[string]any{"subnetId": id}, "OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.status != "" {
					setStatus(tc.status)
				}
				apitest.ExpectCode(t, tickCall(t, env, c, "DeleteSubnet", tc.req, nil), tc.want)
			})
		}
		// A failed subnet can be deleted.
		setStatus("CREATE_FAILED")
		mustTickCall(t, env, c, "DeleteSubnet", map[string]any{"subnetId": id}, nil)
		if out := describeSubnets(t, env, c, nil); out.TotalCount != 0 {
			t.Fatalf("after delete: got %d subnets, want 0", out.TotalCount)
		}
	})
}

func TestDescribeSubnetsFiltersAndPages(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c := env.BMC()
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "other-group")
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, s := range []struct{ name, zone, cidr, group string }{
			{"app", "SEL-A", "10.0.1.0/24", ""},
			{"app-1", "SEL-A", "10.0.2.0/24", group.ID},
			{"db", "HKG-A", "10.0.1.0/24", ""},
			{"App", "FRA-A", "172.16.5.0/24", group.ID},
		} {
			req := map[string]any{"zoneId": s.zone, "cidrBlock": s.cidr, "subnetName": s.name}
			if s.group != "" {
				req["resourceGroupId"] = s.group
			}
			ids[s.name] = newSubnet(t, env, c, req)
		}
		namesOf := func(out subnetsOut) string {
			var got []string
			for _, s := range out.DataSet {
				got = append(got, s.SubnetName)
			}
			return strings.Join(got, ",")
		}
		filters := []struct {
			name string
			req  map[string]any
			want string
		}{
			{"none", nil, "app,app-1,db,App"},
			{"subnetName is exact", map[string]any{"subnetName": "app"}, "app"},
			{"cidrBlock", map[string]any{"cidrBlock": "10.0.1.0/24"}, "app,db"},
			{"zoneId", map[string]any{"zoneId": "SEL-A"}, "app,app-1"},
			{"unknown zoneId", map[string]any{"zoneId": "NOPE-A"}, ""},
			{"resourceGroupId", map[string]any{"resourceGroupId": group.ID}, "app-1,App"},
			{"subnetStatus AVAILABLE", map[string]any{"subnetStatus": "AVAILABLE"}, "app,app-1,db,App"},
			{"subnetStatus CREATING", map[string]any{"subnetStatus": "CREATING"}, ""},
			{"vpcId matches nothing", map[string]any{"vpcId": "vpc-1"}, ""},
			{"empty strings filter nothing", map[string]any{"subnetName": "", "zoneId": "", "vpcId": "", "cidrBlock": "", "subnetStatus": "", "resourceGroupId": ""}, "app,app-1,db,App"},
			{"subnetIds", map[string]any{"subnetIds": []string{ids["db"], ids["app"], "999999999999999999"}}, "app,db"},
			{"subnetIds and zoneId", map[string]any{"subnetIds": []string{ids["db"], ids["app"]}, "zoneId": "HKG-A"}, "db"},
		}
		for _, f := range filters {
			t.Run(f.name, func(t *testing.T) {
				out := describeSubnets(t, env, c, f.req)
				if got := namesOf(out); got != f.want || out.TotalCount != len(out.DataSet) {
					t.Fatalf("got %q (totalCount %d), want %q", got, out.TotalCount, f.want)
				}
			})
		}

		bad := []struct {
			name string
			req  map[string]any
		}{
			{"subnetStatus unknown", map[string]any{"subnetStatus": "BROKEN"}},
			{"subnetStatus lower case", map[string]any{"subnetStatus": "available"}},
			{"101 subnetIds", map[string]any{"subnetIds": make([]string, 101)}},
			{"pageSize 0", map[string]any{"pageSize": 0}},
			{"pageSize 1001", map[string]any{"pageSize": 1001}},
			{"pageNum 0", map[string]any{"pageNum": 0}},
			{"pageNum negative", map[string]any{"pageNum": -1}},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "DescribeSubnets", b.req, nil), "INVALID_PARAMETER")
			})
		}

		t.Run("pages", func(t *testing.T) {
			quota := 100
			if err := env.DB.UpdateTeam(ctx, env.Team.ID, sqlstore.TeamUpdate{SubnetQuota: &quota}); err != nil {
				t.Fatal(err)
			}
			created := []string{ids["app"], ids["app-1"], ids["db"], ids["App"]}
			for i := range 23 {
				created = append(created, newSubnet(t, env, c, map[string]any{"zoneId": "LAX-A",
					"cidrBlock": fmt.Sprintf("192.168.%d.0/24", i), "subnetName": fmt.Sprintf("page-%02d", i)}))
			}
			total := len(created)
			if out := describeSubnets(t, env, c, nil); out.TotalCount != total || len(out.DataSet) != 20 {
				t.Fatalf("default page: got totalCount %d with %d items, want %d and 20", out.TotalCount, len(out.DataSet), total)
			}
			var order []string
			for page, wantLen := range []int{10, 10, 7, 0} {
				out := describeSubnets(t, env, c, map[string]any{"pageNum": page + 1, "pageSize": 10})
				if out.TotalCount != total || len(out.DataSet) != wantLen {
					t.Fatalf("page %d: got totalCount %d with %d items, want %d and %d", page+1, out.TotalCount, len(out.DataSet), total, wantLen)
				}
				for _, s := range out.DataSet {
					order = append(order, s.SubnetID)
				}
			}
			// Oldest first, every subnet exactly once across the pages.
			if !slices.Equal(order, created) {
				t.Errorf("got pages %v, want creation order %v", order, created)
			}
			out := describeSubnets(t, env, c, map[string]any{"pageNum": 2, "pageSize": 3, "zoneId": "LAX-A"})
			if out.TotalCount != 23 || namesOf(out) != "page-03,page-04,page-05" {
				t.Errorf("filtered page: got %q (totalCount %d), want page-03..05 of 23", namesOf(out), out.TotalCount)
			}
		})
	})
}

func TestSubnetTeamIsolation(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		mine := env.BMC()
		id := newSubnet(t, env, mine, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.0.0/24", "subnetName": "mine"})
		def, err := env.DB.DefaultResourceGroup(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		otherTeam, otherKey := env.NewTeam(t, "other-team")
		other := env.ClientWithKey("bmc", httpapi.BMCVersion2026, otherKey)

		if out := describeSubnets(t, env, other, nil); out.TotalCount != 0 || len(out.DataSet) != 0 {
			t.Fatalf("other team's list: got %+v, want empty", out)
		}
		if out := describeSubnets(t, env, other, map[string]any{"subnetIds": []string{id}}); out.TotalCount != 0 {
			t.Fatalf("other team by subnetIds: got %+v, want empty", out)
		}
		apitest.ExpectCode(t, tickCall(t, env, other, "DeleteSubnet", map[string]any{"subnetId": id}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		// Another team's resource group is not found either.
		err = tickCall(t, env, other, "CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.0.0/24", "subnetName": "theirs",
			"resourceGroupId": def.ID}, nil)
		apitest.ExpectCode(t, err, "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND")

		// The same block and name in the other team are its own subnet, in
		// its own default group.
		otherID := newSubnet(t, env, other, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.0.0/24", "subnetName": "mine"})
		otherDef, err := env.DB.DefaultResourceGroup(ctx, otherTeam.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, side := range []struct {
			name   string
			c      *httpapi.Client
			wantID string
			wantRG string
		}{{"first team", mine, id, def.ID}, {"second team", other, otherID, otherDef.ID}} {
			out := describeSubnets(t, env, side.c, nil)
			if out.TotalCount != 1 || out.DataSet[0].SubnetID != side.wantID || out.DataSet[0].ResourceGroupID != side.wantRG {
				t.Errorf("%s: got %+v, want only %s in group %s", side.name, out, side.wantID, side.wantRG)
			}
		}
		mustTickCall(t, env, other, "DeleteSubnet", map[string]any{"subnetId": otherID}, nil)
		if out := describeSubnets(t, env, mine, nil); out.TotalCount != 1 {
			t.Fatalf("first team after the other's delete: got %d subnets, want 1", out.TotalCount)
		}
	})
}

// TestSubnetAddresses checks the pure address rules the subnet actions and
// CreateInstances share.
func TestSubnetAddresses(t *testing.T) {
	cases := []struct {
		cidr        string
		count       int
		first, last string
		gateway     string
		usable      []string
		notUsable   []string
	}{
		{cidr: "10.0.1.0/24", count: 253, first: "10.0.1.2", last: "10.0.1.254", gateway: "10.0.1.1",
			usable: []string{"10.0.1.2", "10.0.1.100", "10.0.1.254"}, notUsable: []string{"10.0.1.0", "10.0.1.1", "10.0.1.255", "10.0.2.2", "::1"}},
		{cidr: "192.168.255.248/29", count: 5, first: "192.168.255.250", last: "192.168.255.254", gateway: "192.168.255.249",
			usable: []string{"192.168.255.250"}, notUsable: []string{"192.168.255.248", "192.168.255.249", "192.168.255.255"}},
		{cidr: "172.16.0.0/16", count: 65533, first: "172.16.0.2", last: "172.16.255.254", gateway: "172.16.0.1",
			usable: []string{"172.16.1.0", "172.16.0.255"}, notUsable: []string{"172.16.0.0", "172.16.255.255"}},
	}
	for _, tc := range cases {
		t.Run(tc.cidr, func(t *testing.T) {
			p, verr := metalplane.ValidateSubnetCIDR(tc.cidr)
			if verr != nil {
				t.Fatalf("ValidateSubnetCIDR: %v", verr)
			}
			if got := metalplane.SubnetUsableIPCount(p); got != tc.count {
				t.Errorf("got count %d, want %d", got, tc.count)
			}
			if got := metalplane.SubnetGateway(p).String(); got != tc.gateway {
				t.Errorf("got gateway %s, want %s", got, tc.gateway)
			}
			if got, ok := metalplane.SubnetUsableIP(p, 0); !ok || got.String() != tc.first {
				t.Errorf("got first %s (%v), want %s", got, ok, tc.first)
			}
			if got, ok := metalplane.SubnetUsableIP(p, tc.count-1); !ok || got.String() != tc.last {
				t.Errorf("got last %s (%v), want %s", got, ok, tc.last)
			}
			for _, i := range []int{-1, tc.count} {
				if got, ok := metalplane.SubnetUsableIP(p, i); ok {
					t.Errorf("index %d: got %s, want none", i, got)
				}
			}
			for _, a := range tc.usable {
				if !metalplane.SubnetIPUsable(p, netip.MustParseAddr(a)) {
					t.Errorf("%s: got not usable, want usable", a)
				}
			}
			for _, a := range tc.notUsable {
				if metalplane.SubnetIPUsable(p, netip.MustParseAddr(a)) {
					t.Errorf("%s: got usable, want not usable", a)
				}
			}
		})
	}
}
