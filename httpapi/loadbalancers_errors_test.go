package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// with returns a copy of req with the changes; a nil value deletes a key.
func with(req map[string]any, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range req {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// lbRefusal is one request that must be refused with code.
type lbRefusal struct {
	name   string
	action string
	req    map[string]any
	code   metalplane.Code
}

// TestLoadBalancerRefusals sends, on both versions, one bad request per
// documented refusal of the load balancer actions and checks the code,
// its status, and that nothing was bought, held or charged.
func TestLoadBalancerRefusals(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		otherZoneSubnet := createSubnet(t, env.BMC(), "FRA-A", "10.0.1.0/24")
		subnet := createSubnet(t, env.BMC(), "SEL-A", "10.0.0.0/24")
		// A live load balancer, listener and backend to refuse changes of.
		instances := twoInstances(t, env)
		fraInstance := createIDs(t, env, env.BMC(), with(minimalCreate(), map[string]any{"zoneId": "FRA-A"}), 1)[0]
		lb := createLB(t, env, env.BMC(), lbPostpaid(""))
		var lsn struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, env.BMC(), "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "web", "portList": []int{80},
			"protocol": "TCP", "backendProtocol": "TCP"}, &lsn)
		var be struct {
			BackendID string `json:"backendId"`
		}
		mustTickCall(t, env, env.BMC(), "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "a", "instanceId": instances[0]}, &be)
		var defaultVIP string
		if l := describeLB(t, env, env.BMC(), lb.LoadBalancerID); len(l.VipList) == 1 {
			defaultVIP = l.VipList[0].VipID
		}

		base := lbPostpaid("")
		cases := []lbRefusal{
			{"zone missing", "CreateLoadBalancer", with(base, map[string]any{"zoneId": nil}), "MISSING_PARAMETER"},
			{"name missing", "CreateLoadBalancer", with(base, map[string]any{"loadBalancerName": nil}), "MISSING_PARAMETER"},
			{"charge type missing", "CreateLoadBalancer", with(base, map[string]any{"chargeType": nil}), "MISSING_PARAMETER"},
			{"bandwidth missing", "CreateLoadBalancer", with(base, map[string]any{"bandwidth": nil}), "MISSING_PARAMETER"},
			{"ipType missing", "CreateLoadBalancer", with(base, map[string]any{"ipType": nil}), "MISSING_PARAMETER"},
			{"bandwidth as a string", "CreateLoadBalancer", with(base, map[string]any{"bandwidth": "10"}), "INVALID_PARAMETER"},
			{"unknown zone", "CreateLoadBalancer", with(base, map[string]any{"zoneId": "XXX-A"}), "INVALID_ZONE_NOT_FOUND"},
			{"zone without load balancers", "CreateLoadBalancer", with(base, map[string]any{"zoneId": "LAX-A"}), "INVALID_ZONE_NOT_FOUND"},
			{"bad charge type", "CreateLoadBalancer", with(base, map[string]any{"chargeType": "MONTHLY"}), "INVALID_PARAMETER"},
			{"charge type not sold in the zone", "CreateLoadBalancer", with(base, map[string]any{"zoneId": "HKG-A", "chargeType": "PREPAID",
				"instanceChargePrepaid": map[string]any{"period": 1}}), "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT"},
			{"PREPAID without period", "CreateLoadBalancer", with(base, map[string]any{"chargeType": "PREPAID"}), "MISSING_PARAMETER"},
			{"PREPAID period 37", "CreateLoadBalancer", with(base, map[string]any{"chargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 37}}), "INVALID_PARAMETER"},
			{"unknown spec", "CreateLoadBalancer", with(base, map[string]any{"specName": "Huge"}), "INVALID_PARAMETER"},
			{"bandwidth 0", "CreateLoadBalancer", with(base, map[string]any{"bandwidth": 0}), "INVALID_PARAMETER"},
			{"bandwidth above the zone's", "CreateLoadBalancer", with(base, map[string]any{"zoneId": "HKG-A", "bandwidth": 501}), "INVALID_PARAMETER_BANDWIDTH_EXCEED"},
			{"bad ipType", "CreateLoadBalancer", with(base, map[string]any{"ipType": "IPv5"}), "INVALID_PARAMETER"},
			{"vipCount 10", "CreateLoadBalancer", with(base, map[string]any{"vipCount": 10}), "INVALID_PARAMETER"},
			{"vipCount -1", "CreateLoadBalancer", with(base, map[string]any{"vipCount": -1}), "INVALID_PARAMETER"},
			{"cidr block", "CreateLoadBalancer", with(base, map[string]any{"cidrBlockId": "cidr-1"}), "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"master IP without subnet", "CreateLoadBalancer", with(base, map[string]any{"masterIp": "10.0.0.9"}), "INVALID_PARAMETER"},
			{"master IP outside the subnet", "CreateLoadBalancer", with(base, map[string]any{"subnetId": subnet, "masterIp": "10.0.9.9"}), "INVALID_PARAMETER"},
			{"master IP = backup IP", "CreateLoadBalancer", with(base, map[string]any{"subnetId": subnet, "masterIp": "10.0.0.9", "backupIp": "10.0.0.9"}), "INVALID_PARAMETER"},
			{"unknown subnet", "CreateLoadBalancer", with(base, map[string]any{"subnetId": "123"}), "INVALID_SUBNET_NOT_FOUND"},
			{"subnet of another zone", "CreateLoadBalancer", with(base, map[string]any{"subnetId": otherZoneSubnet}), "INVALID_SUBNET_ZONE_MISMATCH"},
			{"bad name", "CreateLoadBalancer", with(base, map[string]any{"loadBalancerName": "web lb"}), "INVALID_PARAMETER"},
			{"long name", "CreateLoadBalancer", with(base, map[string]any{"loadBalancerName": strings.Repeat("a", 65)}), "INVALID_PARAMETER"},
			{"long token", "CreateLoadBalancer", with(base, map[string]any{"clientToken": strings.Repeat("a", 65)}), "INVALID_PARAMETER"},
			{"duplicate tag key", "CreateLoadBalancer", with(base, map[string]any{"tags": map[string]any{"tags": []map[string]string{{"key": "a", "value": "1"}, {"key": "a", "value": "2"}}}}), "INVALID_PARAMETER"},
			{"POC voucher", "CreateLoadBalancer", with(base, map[string]any{"marketingOptions": map[string]any{"usePocVoucher": true}}), "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND"},
			{"unknown resource group", "CreateLoadBalancer", with(base, map[string]any{"resourceGroupId": "rg-none"}), "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND"},
			{"zones without charge type", "DescribeLoadBalancerZones", map[string]any{}, "MISSING_PARAMETER"},
			{"specs without zone", "DescribeLoadBalancerSpecs", map[string]any{"chargeType": "POSTPAID"}, "MISSING_PARAMETER"},
			{"specs of a zone without", "DescribeLoadBalancerSpecs", map[string]any{"chargeType": "POSTPAID", "zoneId": "LAX-A"}, "INVALID_ZONE_NOT_FOUND"},
			{"describe page size 1001", "DescribeLoadBalancers", map[string]any{"pageSize": 1001}, "INVALID_PARAMETER"},
			{"describe 101 IDs", "DescribeLoadBalancers", map[string]any{"loadBalancerIds": make([]string, 101)}, "INVALID_PARAMETER"},
			{"rename unknown", "ModifyLoadBalancersName", map[string]any{"loadBalancerIds": []string{lb.LoadBalancerID, "lb-1"}, "loadBalancerName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"rename without IDs", "ModifyLoadBalancersName", map[string]any{"loadBalancerName": "x"}, "MISSING_PARAMETER"},
			{"rename bad name", "ModifyLoadBalancersName", map[string]any{"loadBalancerIds": []string{lb.LoadBalancerID}, "loadBalancerName": "a/b"}, "INVALID_PARAMETER"},
			{"VIPs of unknown", "CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": "lb-1", "count": 1}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"VIPs count 0", "CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": lb.LoadBalancerID, "count": 0}, "INVALID_PARAMETER"},
			{"VIPs count 10", "CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": lb.LoadBalancerID, "count": 10}, "INVALID_PARAMETER"},
			{"delete unknown VIP", "DeleteLoadBalancerVIP", map[string]any{"vipId": "vip-1"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"delete DEFAULT VIP", "DeleteLoadBalancerVIP", map[string]any{"vipId": defaultVIP}, "INVALID_PARAMETER"},
			{"listener of unknown", "CreateListener", map[string]any{"loadBalancerId": "lb-1", "listenerName": "a", "portList": []int{81}, "protocol": "TCP", "backendProtocol": "TCP"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"listener without ports", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "protocol": "TCP", "backendProtocol": "TCP"}, "MISSING_PARAMETER"},
			{"listener port 0", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{0}, "protocol": "TCP", "backendProtocol": "TCP"}, "INVALID_PARAMETER"},
			{"listener port twice", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{81, 81}, "protocol": "TCP", "backendProtocol": "TCP"}, "INVALID_PARAMETER"},
			{"listener port taken", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{80}, "protocol": "TCP", "backendProtocol": "TCP"}, "INVALID_PARAMETER"},
			{"listener protocol", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{81}, "protocol": "HTTP", "backendProtocol": "TCP"}, "INVALID_PARAMETER"},
			{"listener scheduler", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{81}, "protocol": "TCP", "backendProtocol": "TCP", "scheduler": "lc"}, "INVALID_PARAMETER"},
			{"listener health check type", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{81}, "protocol": "TCP", "backendProtocol": "TCP",
				"healthCheck": map[string]any{"checkType": "ICMP"}}, "INVALID_PARAMETER"},
			{"listener health check port", "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "a", "portList": []int{81}, "protocol": "TCP", "backendProtocol": "TCP",
				"healthCheck": map[string]any{"checkPort": 70000}}, "INVALID_PARAMETER"},
			{"modify unknown listener", "ModifyListenerAttribute", map[string]any{"listenerId": "lsn-1", "listenerName": "b"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"modify listener kind", "ModifyListenerAttribute", map[string]any{"listenerId": lsn.ListenerID, "kind": "TUNNEL"}, "INVALID_PARAMETER"},
			{"delete unknown listener", "DeleteListener", map[string]any{"listenerId": "lsn-1"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"backends without listener", "DescribeBackends", map[string]any{}, "MISSING_PARAMETER"},
			{"backends of VMs", "DescribeBackends", map[string]any{"listenerId": lsn.ListenerID, "instanceType": "VM"}, "INVALID_PARAMETER"},
			{"register on unknown listener", "RegisterBackend", map[string]any{"listenerId": "lsn-1", "backendName": "b", "instanceId": instances[1]}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"register unknown instance", "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "b", "instanceId": "123"}, "INVALID_INSTANCE_NOT_FOUND"},
			{"register instance of another zone", "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "b", "instanceId": fraInstance}, "OPERATION_DENIED_DIFFERENT_ZONE"},
			{"register twice", "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "b", "instanceId": instances[0]}, "INVALID_PARAMETER"},
			{"register weight 101", "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "b", "instanceId": instances[1], "weight": 101}, "INVALID_PARAMETER"},
			{"register without name", "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "instanceId": instances[1]}, "MISSING_PARAMETER"},
			{"deregister unknown", "DeregisterBackend", map[string]any{"backendId": "lbb-1"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"terminate unknown", "TerminateLoadBalancer", map[string]any{"loadBalancerId": "lb-1"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"terminate without ID", "TerminateLoadBalancer", map[string]any{}, "MISSING_PARAMETER"},
			{"restore running", "RestoreLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, "OPERATION_DENIED_INVALID_STATUS"},
			{"release running", "ReleaseLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, "OPERATION_DENIED_INVALID_STATUS"},
		}
		only2022 := []lbRefusal{
			{"bandwidth of unknown", "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": "lb-1", "bandwidth": 5}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"bandwidth 0", "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": lb.LoadBalancerID, "bandwidth": 0}, "INVALID_PARAMETER"},
			{"bandwidth 1025", "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": lb.LoadBalancerID, "bandwidth": 1025}, "INVALID_PARAMETER_BANDWIDTH_EXCEED"},
			{"weight of unknown", "ModifyBackendWeight", map[string]any{"backendId": "lbb-1", "weight": 5}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			{"weight -1", "ModifyBackendWeight", map[string]any{"backendId": be.BackendID, "weight": -1}, "INVALID_PARAMETER"},
			{"weight missing", "ModifyBackendWeight", map[string]any{"backendId": be.BackendID}, "MISSING_PARAMETER"},
		}
		balance, _ := teamMoney(t, env, env.Team.ID)
		held := len(heldBy(t, env, lb.LoadBalancerID))
		check := func(t *testing.T, c *httpapi.Client, tc lbRefusal) {
			apitest.ExpectCode(t, tickCall(t, env, c, tc.action, tc.req, nil), tc.code)
		}
		for _, v := range []struct {
			name   string
			client *httpapi.Client
		}{{"2026", env.BMC()}, {"2022", env.BMC2022()}} {
			for _, tc := range cases {
				t.Run(v.name+"/"+tc.name, func(t *testing.T) { check(t, v.client, tc) })
			}
			for _, tc := range only2022 {
				want := tc.code
				if v.name == "2026" {
					// 2026-02-01 has no such action.
					want = "INVALID_ACTION"
				}
				t.Run(v.name+"/"+tc.name, func(t *testing.T) { check(t, v.client, lbRefusal{tc.name, tc.action, tc.req, want}) })
			}
		}
		if n, _ := describeLBs(t, env, env.BMC(), map[string]any{}); n != 1 {
			t.Errorf("after the refusals: %d load balancers, want the 1 made before", n)
		}
		if after, _ := teamMoney(t, env, env.Team.ID); after != balance {
			t.Errorf("after the refusals: balance %s, want %s unchanged", after, balance)
		}
		if got := len(heldBy(t, env, lb.LoadBalancerID)); got != held {
			t.Errorf("after the refusals: %d addresses held, want %d", got, held)
		}
		if l := describeLB(t, env, env.BMC(), lb.LoadBalancerID); len(l.ListenerList) != 1 || len(l.BackendList) != 1 {
			t.Errorf("after the refusals: %d listeners and %d backends, want 1 and 1", len(l.ListenerList), len(l.BackendList))
		}

		// The team may not buy POSTPAID: the store's refusal.
		noPostpaid := false
		if err := env.DB.UpdateTeam(context.Background(), env.Team.ID, sqlstore.TeamUpdate{PostpaidAllowed: &noPostpaid}); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, env.BMC(), "CreateLoadBalancer", base, nil), "INVALID_CHARGE_TYPE_NOT_SUPPORT")
	})
}

// TestLoadBalancerTeamIsolation checks that another team sees none of a
// team's load balancers, listeners, backends and VIPs, changes none of
// them, and cannot make another team's instance its backend; and that a
// clientToken is the team's own.
func TestLoadBalancerTeamIsolation(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		instances := twoInstances(t, env)
		lb := createLB(t, env, env.BMC(), lbPostpaid("shared-token"))
		var lsn struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, env.BMC(), "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "web", "portList": []int{80},
			"protocol": "TCP", "backendProtocol": "TCP"}, &lsn)
		var be struct {
			BackendID string `json:"backendId"`
		}
		mustTickCall(t, env, env.BMC(), "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "a", "instanceId": instances[0]}, &be)
		vip := describeLB(t, env, env.BMC(), lb.LoadBalancerID).VipList[0].VipID

		_, keyB := env.NewTeam(t, "lb-team-b")
		for _, b := range []*httpapi.Client{env.ClientWithKey("bmc", httpapi.BMCVersion2026, keyB), env.ClientWithKey("bmc", httpapi.BMCVersion2022, keyB)} {
			if n, _ := describeLBs(t, env, b, map[string]any{}); n != 0 {
				t.Fatalf("team B sees %d load balancers, want 0", n)
			}
			var ls, bs struct {
				TotalCount int `json:"totalCount"`
			}
			mustTickCall(t, env, b, "DescribeListeners", map[string]any{"listenerIds": []string{lsn.ListenerID}}, &ls)
			mustTickCall(t, env, b, "DescribeBackends", map[string]any{"listenerId": lsn.ListenerID}, &bs)
			if ls.TotalCount != 0 || bs.TotalCount != 0 {
				t.Fatalf("team B sees %d listeners and %d backends, want 0", ls.TotalCount, bs.TotalCount)
			}
			for _, call := range []struct {
				action string
				req    map[string]any
				code   metalplane.Code
			}{
				{"ModifyLoadBalancersName", map[string]any{"loadBalancerIds": []string{lb.LoadBalancerID}, "loadBalancerName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": lb.LoadBalancerID, "count": 1}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"DeleteLoadBalancerVIP", map[string]any{"vipId": vip}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "x", "portList": []int{81}, "protocol": "TCP", "backendProtocol": "TCP"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"ModifyListenerAttribute", map[string]any{"listenerId": lsn.ListenerID, "listenerName": "x"}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"DeleteListener", map[string]any{"listenerId": lsn.ListenerID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "x", "instanceId": instances[1]}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"DeregisterBackend", map[string]any{"backendId": be.BackendID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"TerminateLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"RestoreLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
				{"ReleaseLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, "OPERATION_FAILED_RESOURCE_NOT_FOUND"},
			} {
				apitest.ExpectCode(t, tickCall(t, env, b, call.action, call.req, nil), call.code)
			}
		}
		// Team B's own load balancer and listener cannot take team A's
		// instance; its clientToken is its own.
		b := env.ClientWithKey("bmc", httpapi.BMCVersion2022, keyB)
		lbB := createLB(t, env, b, lbPostpaid("shared-token"))
		if lbB.LoadBalancerID == lb.LoadBalancerID {
			t.Fatalf("team B's create with team A's token answered team A's load balancer")
		}
		var lsnB struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, b, "CreateListener", map[string]any{"loadBalancerId": lbB.LoadBalancerID, "listenerName": "web", "portList": []int{80},
			"protocol": "TCP", "backendProtocol": "TCP"}, &lsnB)
		apitest.ExpectCode(t, tickCall(t, env, b, "RegisterBackend", map[string]any{"listenerId": lsnB.ListenerID, "backendName": "x", "instanceId": instances[1]}, nil),
			"INVALID_INSTANCE_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, b, "ModifyBackendWeight", map[string]any{"backendId": be.BackendID, "weight": 1}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		apitest.ExpectCode(t, tickCall(t, env, b, "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": lb.LoadBalancerID, "bandwidth": 1}, nil), "OPERATION_FAILED_RESOURCE_NOT_FOUND")
		if l := describeLB(t, env, env.BMC(), lb.LoadBalancerID); l.LoadBalancerName != "web-lb" || len(l.ListenerList) != 1 || len(l.BackendList) != 1 || len(l.VipList) != 1 {
			t.Fatalf("team A's load balancer changed: %+v", l)
		}
	})
}

// TestLoadBalancerClientTokenConcurrent sends CreateLoadBalancer with one
// clientToken from eight goroutines at once, each request signed apart
// (different names): one load balancer, one order, one set of VIPs, and
// every answer names it.
func TestLoadBalancerClientTokenConcurrent(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		var wg sync.WaitGroup
		answers := make([]lbCreateOut, 8)
		errs := make([]error, 8)
		for i := range answers {
			wg.Go(func() {
				req := with(lbPostpaid("race"), map[string]any{"loadBalancerName": fmt.Sprintf("lb-%d", i)})
				errs[i] = c.Call(context.Background(), "CreateLoadBalancer", req, &answers[i])
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("create %d: %v", i, err)
			}
			if answers[i] != answers[0] {
				t.Fatalf("answers differ: %+v and %+v", answers[0], answers[i])
			}
		}
		if n, _ := describeLBs(t, env, c, map[string]any{}); n != 1 {
			t.Fatalf("%d load balancers bought with one token, want 1", n)
		}
		var orders int
		if err := env.DB.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orders WHERE team_id = $1`, env.Team.ID).Scan(&orders); err != nil {
			t.Fatal(err)
		}
		if orders != 1 || len(heldBy(t, env, answers[0].LoadBalancerID)) != 1 {
			t.Fatalf("got %d orders and %d held addresses, want 1 and 1", orders, len(heldBy(t, env, answers[0].LoadBalancerID)))
		}
	})
}

// TestLoadBalancerRequestLimits sends every ID and list of the load
// balancer actions one step over its bound (docs/limits.md): each is
// INVALID_PARAMETER before anything is looked up.
func TestLoadBalancerRequestLimits(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		long := strings.Repeat("9", metalplane.MaxIDLength+1)
		many := make([]string, metalplane.MaxListItems+1)
		for i := range many {
			many[i] = fmt.Sprint(i)
		}
		listener := func(changes map[string]any) map[string]any {
			return with(map[string]any{"loadBalancerId": "lb-1", "listenerName": "a", "portList": []int{80}, "protocol": "TCP", "backendProtocol": "TCP"}, changes)
		}
		cases := []lbRefusal{
			{"specs zoneId", "DescribeLoadBalancerSpecs", map[string]any{"chargeType": "POSTPAID", "zoneId": long}, ""},
			{"create zoneId", "CreateLoadBalancer", with(lbPostpaid(""), map[string]any{"zoneId": long}), ""},
			{"create specName", "CreateLoadBalancer", with(lbPostpaid(""), map[string]any{"specName": long}), ""},
			{"create subnetId", "CreateLoadBalancer", with(lbPostpaid(""), map[string]any{"subnetId": long}), ""},
			{"create masterIp", "CreateLoadBalancer", with(lbPostpaid(""), map[string]any{"masterIp": long}), ""},
			{"create discountCode", "CreateLoadBalancer", with(lbPostpaid(""), map[string]any{"marketingOptions": map[string]any{"discountCode": strings.Repeat("d", metalplane.MaxDiscountCodeLength+1)}}), ""},
			{"create 21 tags", "CreateLoadBalancer", with(lbPostpaid(""), map[string]any{"tags": map[string]any{"tags": tagList(metalplane.MaxTagsPerInstance + 1)}}), ""},
			{"describe loadBalancerIds", "DescribeLoadBalancers", map[string]any{"loadBalancerIds": many}, ""},
			{"describe loadBalancerId length", "DescribeLoadBalancers", map[string]any{"loadBalancerIds": []string{long}}, ""},
			{"describe name", "DescribeLoadBalancers", map[string]any{"loadBalancerName": strings.Repeat("n", metalplane.MaxLoadBalancerNameLength+1)}, ""},
			{"describe tagKeys", "DescribeLoadBalancers", map[string]any{"tagKeys": many[:metalplane.MaxTagFilters+1]}, ""},
			{"rename IDs", "ModifyLoadBalancersName", map[string]any{"loadBalancerIds": many, "loadBalancerName": "a"}, ""},
			{"VIPs loadBalancerId", "CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": long, "count": 1}, ""},
			{"delete VIP vipId", "DeleteLoadBalancerVIP", map[string]any{"vipId": long}, ""},
			{"listener loadBalancerId", "CreateListener", listener(map[string]any{"loadBalancerId": long}), ""},
			{"listener clientToken", "CreateListener", listener(map[string]any{"clientToken": long}), ""},
			{"listener 101 ports", "CreateListener", listener(map[string]any{"portList": make([]int, metalplane.MaxListenerPorts+1)}), ""},
			{"listener health check path", "CreateListener", listener(map[string]any{"healthCheck": map[string]any{"httpCheckPath": strings.Repeat("p", metalplane.MaxHealthCheckPathLength+1)}}), ""},
			{"listener notify address", "CreateListener", listener(map[string]any{"notify": map[string]any{"apiAddress": strings.Repeat("a", metalplane.MaxNotifyAddressLength+1)}}), ""},
			{"describe listenerIds", "DescribeListeners", map[string]any{"listenerIds": many}, ""},
			{"describe listener loadBalancerIds", "DescribeListeners", map[string]any{"loadBalancerIds": many}, ""},
			{"modify listenerId", "ModifyListenerAttribute", map[string]any{"listenerId": long}, ""},
			{"delete listenerId", "DeleteListener", map[string]any{"listenerId": long}, ""},
			{"backends listenerId", "DescribeBackends", map[string]any{"listenerId": long}, ""},
			{"backends backendIds", "DescribeBackends", map[string]any{"listenerId": "lsn-1", "backendIds": many}, ""},
			{"register instanceId", "RegisterBackend", map[string]any{"listenerId": "lsn-1", "backendName": "a", "instanceId": long}, ""},
			{"register backendName", "RegisterBackend", map[string]any{"listenerId": "lsn-1", "backendName": strings.Repeat("b", 65), "instanceId": "1"}, ""},
			{"deregister backendId", "DeregisterBackend", map[string]any{"backendId": long}, ""},
			{"terminate loadBalancerId", "TerminateLoadBalancer", map[string]any{"loadBalancerId": long}, ""},
			{"restore loadBalancerId", "RestoreLoadBalancer", map[string]any{"loadBalancerId": long}, ""},
			{"release loadBalancerId", "ReleaseLoadBalancer", map[string]any{"loadBalancerId": long}, ""},
			{"bandwidth loadBalancerId", "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": long, "bandwidth": 1}, ""},
			{"weight backendId", "ModifyBackendWeight", map[string]any{"backendId": long, "weight": 1}, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, env.BMC2022(), tc.action, tc.req, nil), "INVALID_PARAMETER")
			})
		}
		if n, _ := describeLBs(t, env, env.BMC(), map[string]any{}); n != 0 {
			t.Fatalf("after the refusals: %d load balancers, want 0", n)
		}
	})
}

// tagList returns n distinct tags.
func tagList(n int) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"key": fmt.Sprintf("k%d", i), "value": "v"}
	}
	return out
}
