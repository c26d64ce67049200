package httpapi_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// lbOut and its parts decode DescribeLoadBalancers as a client reads it.
type lbOut struct {
	LoadBalancerID    string `json:"loadBalancerId"`
	ZoneID            string `json:"zoneId"`
	LoadBalancerName  string `json:"loadBalancerName"`
	SpecName          string `json:"specName"`
	ChargeType        string `json:"chargeType"`
	Period            int    `json:"period"`
	CreateTime        string `json:"createTime"`
	ExpiredTime       string `json:"expiredTime"`
	Status            string `json:"status"`
	ResourceGroupID   string `json:"resourceGroupId"`
	ResourceGroupName string `json:"resourceGroupName"`
	MasterIP          string `json:"masterIp"`
	BackupIP          string `json:"backupIp"`
	IPType            string `json:"ipType"`
	Bandwidth         int    `json:"bandwidth"`
	IsWorking         bool   `json:"isWorking"`
	VipList           []struct {
		VipID     string `json:"vipId"`
		IPAddress string `json:"ipAddress"`
		Type      string `json:"type"`
		Status    string `json:"status"`
	} `json:"vipList"`
	ListenerList []listenerOut `json:"listenerList"`
	BackendList  []backendOut  `json:"backendList"`
	Tags         struct {
		Tags []metalplane.Tag `json:"tags"`
	} `json:"tags"`
}

type listenerOut struct {
	LoadBalancerID  string                 `json:"loadBalancerId"`
	ListenerID      string                 `json:"listenerId"`
	ListenerName    string                 `json:"listenerName"`
	Status          string                 `json:"status"`
	Port            string                 `json:"port"`
	Protocol        string                 `json:"protocol"`
	BackendProtocol string                 `json:"backendProtocol"`
	Scheduler       string                 `json:"scheduler"`
	Kind            string                 `json:"kind"`
	HealthCheck     metalplane.HealthCheck `json:"healthCheck"`
	Notify          metalplane.Notify      `json:"notify"`
	CreateTime      string                 `json:"createTime"`
}

type backendOut struct {
	ListenerID   string `json:"listenerId"`
	BackendID    string `json:"backendId"`
	BackendName  string `json:"backendName"`
	Status       string `json:"status"`
	Port         string `json:"port"`
	Weight       int    `json:"weight"`
	InstanceID   string `json:"instanceId"`
	InstanceType string `json:"instanceType"`
	InstanceName string `json:"instanceName"`
	CreateTime   string `json:"createTime"`
}

type lbCreateOut struct {
	OrderNumber    string `json:"orderNumber"`
	LoadBalancerID string `json:"loadBalancerId"`
}

// lbPostpaid is a POSTPAID request for a Standard load balancer in SEL-A.
func lbPostpaid(token string) map[string]any {
	req := map[string]any{"zoneId": "SEL-A", "loadBalancerName": "web-lb", "specName": "Standard", "chargeType": "POSTPAID", "bandwidth": 10, "ipType": "IPv4"}
	if token != "" {
		req["clientToken"] = token
	}
	return req
}

func createLB(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) lbCreateOut {
	t.Helper()
	var out lbCreateOut
	mustTickCall(t, env, c, "CreateLoadBalancer", req, &out)
	if out.LoadBalancerID == "" || out.OrderNumber == "" {
		t.Fatalf("CreateLoadBalancer: got %+v, want an ID and an order number", out)
	}
	return out
}

func describeLBs(t *testing.T, env *apitest.Env, c *httpapi.Client, req map[string]any) (int, []lbOut) {
	t.Helper()
	var out struct {
		TotalCount int     `json:"totalCount"`
		DataSet    []lbOut `json:"dataSet"`
	}
	mustTickCall(t, env, c, "DescribeLoadBalancers", req, &out)
	if out.DataSet == nil {
		t.Fatalf("DescribeLoadBalancers: got dataSet null, want an array")
	}
	return out.TotalCount, out.DataSet
}

// describeLB returns the one load balancer, or fails.
func describeLB(t *testing.T, env *apitest.Env, c *httpapi.Client, id string) lbOut {
	t.Helper()
	n, lbs := describeLBs(t, env, c, map[string]any{"loadBalancerIds": []string{id}})
	if n != 1 || len(lbs) != 1 {
		t.Fatalf("DescribeLoadBalancers %s: got %d load balancers, want 1", id, n)
	}
	return lbs[0]
}

// heldBy returns the public addresses the pool holds for holder.
func heldBy(t *testing.T, env *apitest.Env, holder string) []string {
	t.Helper()
	rows, err := env.DB.SQL.QueryContext(context.Background(), `SELECT address FROM public_ips WHERE held_by = $1 ORDER BY address`, holder)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// lbLedger returns the team's ledger rows of the load balancer's order
// (its hours) and the team's balance, after checking balance = ledger.
func lbHours(t *testing.T, env *apitest.Env, order string) []metalplane.LedgerEntry {
	t.Helper()
	clockBalance(t, env)
	all := mustLedger(t, env)
	var out []metalplane.LedgerEntry
	for _, e := range all {
		if e.OrderNumber == order && e.Kind == metalplane.LedgerLoadBalancerHour {
			out = append(out, e)
		}
	}
	return out
}

// twoInstances buys two POSTPAID instances in SEL-A and waits until they
// run.
func twoInstances(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	ids := createIDs(t, env, env.BMC(), minimalCreate(), 2)
	waitStatus(t, env, ids, "RUNNING")
	return ids
}

// TestLoadBalancerLife walks one POSTPAID load balancer through its whole
// life on 2022-11-20 (the version with every action): create (twice with
// one clientToken), VIPs, a listener, two backends, a weight change, a
// deregistration, hours, terminate, restore, release; the answers show
// each step, the pool holds exactly its VIPs, balance = ledger and the
// audit is clean throughout.
func TestLoadBalancerLife(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		env.Clock.Set(clockT0)
		c := env.BMC2022()
		instances := twoInstances(t, env)

		var zones struct {
			ZoneIDSet []string `json:"zoneIdSet"`
		}
		mustTickCall(t, env, c, "DescribeLoadBalancerZones", map[string]any{"chargeType": "POSTPAID"}, &zones)
		if want := []string{"SEL-A", "HKG-A", "FRA-A"}; !slices.Equal(zones.ZoneIDSet, want) {
			t.Fatalf("POSTPAID zones: got %v, want %v", zones.ZoneIDSet, want)
		}
		mustTickCall(t, env, c, "DescribeLoadBalancerZones", map[string]any{"chargeType": "PREPAID"}, &zones)
		if want := []string{"SEL-A", "FRA-A"}; !slices.Equal(zones.ZoneIDSet, want) {
			t.Fatalf("PREPAID zones: got %v, want %v", zones.ZoneIDSet, want)
		}
		var specs struct {
			SpecSet []struct {
				SpecName      string `json:"specName"`
				MaxConnection int    `json:"maxConnection"`
				Cps           int    `json:"cps"`
				Qps           int    `json:"qps"`
			} `json:"specSet"`
		}
		mustTickCall(t, env, c, "DescribeLoadBalancerSpecs", map[string]any{"chargeType": "POSTPAID", "zoneId": "SEL-A"}, &specs)
		if len(specs.SpecSet) != 2 || specs.SpecSet[0].SpecName != "Standard" || specs.SpecSet[0].MaxConnection != 50000 || specs.SpecSet[1].Qps != 50000 {
			t.Fatalf("SEL-A specs: got %+v, want Standard (50000 connections) and Premium (50000 qps)", specs.SpecSet)
		}

		// Create, twice with one clientToken: one load balancer.
		req := lbPostpaid("life-1")
		req["vipCount"] = 1
		req["tags"] = map[string]any{"tags": []map[string]string{{"key": "env", "value": "prod"}}}
		first := createLB(t, env, c, req)
		created := env.Clock.Now().UTC().Format("2006-01-02T15:04:05Z")
		req["loadBalancerName"] = "other-name"
		if again := createLB(t, env, c, req); again != first {
			t.Fatalf("the same clientToken: got %+v, want the first answer %+v", again, first)
		}
		id := first.LoadBalancerID
		if n, _ := describeLBs(t, env, c, map[string]any{}); n != 1 {
			t.Fatalf("after two creates with one token: %d load balancers, want 1", n)
		}
		lb := describeLB(t, env, c, id)
		if lb.LoadBalancerName != "web-lb" || lb.ZoneID != "SEL-A" || lb.SpecName != "Standard" || lb.ChargeType != "POSTPAID" || lb.Period != 0 ||
			lb.Status != "RUNNING" || !lb.IsWorking || lb.IPType != "IPv4" || lb.Bandwidth != 10 || lb.ExpiredTime != "" ||
			lb.CreateTime != created || lb.ResourceGroupID == "" || lb.ResourceGroupName == "" {
			t.Fatalf("DescribeLoadBalancers: got %+v", lb)
		}
		if len(lb.Tags.Tags) != 1 || *lb.Tags.Tags[0].Key != "env" || *lb.Tags.Tags[0].Value != "prod" {
			t.Fatalf("tags: got %+v, want env=prod", lb.Tags.Tags)
		}
		pool := netip.MustParsePrefix("198.18.0.0/21")
		if len(lb.VipList) != 2 || lb.VipList[0].Type != "DEFAULT" || lb.VipList[1].Type != "EXTRA" || lb.VipList[0].Status != "ASSIGNED" {
			t.Fatalf("vipList: got %+v, want a DEFAULT and an EXTRA VIP", lb.VipList)
		}
		for _, v := range lb.VipList {
			if !pool.Contains(netip.MustParseAddr(v.IPAddress)) {
				t.Fatalf("VIP %s is outside SEL-A's pool", v.IPAddress)
			}
		}
		if held := heldBy(t, env, id); len(held) != 2 {
			t.Fatalf("the pool holds %v for %s, want its 2 VIPs", held, id)
		}

		// Two more VIPs, one deleted; the DEFAULT one cannot be.
		var vips struct {
			OrderNumber string   `json:"orderNumber"`
			VipIDSet    []string `json:"vipIdSet"`
		}
		mustTickCall(t, env, c, "CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": id, "count": 2}, &vips)
		if len(vips.VipIDSet) != 2 || vips.OrderNumber == "" {
			t.Fatalf("CreateLoadBalancerVIPs: got %+v", vips)
		}
		mustTickCall(t, env, c, "DeleteLoadBalancerVIP", map[string]any{"vipId": vips.VipIDSet[0]}, nil)
		apitest.ExpectCode(t, tickCall(t, env, c, "DeleteLoadBalancerVIP", map[string]any{"vipId": lb.VipList[0].VipID}, nil), "INVALID_PARAMETER")
		if lb = describeLB(t, env, c, id); len(lb.VipList) != 3 || len(heldBy(t, env, id)) != 3 {
			t.Fatalf("after +2 -1 VIPs: got %d VIPs, %d held addresses, want 3", len(lb.VipList), len(heldBy(t, env, id)))
		}

		// A listener on 80 and 443, two backends.
		var lsn struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": id, "listenerName": "web", "portList": []int{443, 80}, "clientToken": "lsn-1",
			"protocol": "TCP", "backendProtocol": "TCP", "healthCheck": map[string]any{"checkEnabled": true, "checkType": "TCP", "checkPort": 80}}, &lsn)
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": id, "listenerName": "dup", "portList": []int{80},
			"protocol": "TCP", "backendProtocol": "TCP"}, nil), "INVALID_PARAMETER")
		var backends [2]string
		for i, inst := range instances {
			var b struct {
				BackendID string `json:"backendId"`
			}
			req := map[string]any{"listenerId": lsn.ListenerID, "backendName": "node-" + string(rune('a'+i)), "instanceId": inst, "clientToken": "be-" + inst}
			if i == 0 {
				req["weight"] = 10
			}
			mustTickCall(t, env, c, "RegisterBackend", req, &b)
			backends[i] = b.BackendID
		}
		var bs struct {
			TotalCount int          `json:"totalCount"`
			DataSet    []backendOut `json:"dataSet"`
		}
		mustTickCall(t, env, c, "DescribeBackends", map[string]any{"listenerId": lsn.ListenerID}, &bs)
		if bs.TotalCount != 2 || bs.DataSet[0].Weight != 10 || bs.DataSet[1].Weight != 100 || bs.DataSet[0].Port != "80,443" ||
			bs.DataSet[0].InstanceID != instances[0] || bs.DataSet[0].InstanceName == "" || bs.DataSet[0].InstanceType != "BM" || bs.DataSet[0].Status != "RUNNING" {
			t.Fatalf("DescribeBackends: got %+v", bs)
		}
		mustTickCall(t, env, c, "ModifyBackendWeight", map[string]any{"backendId": backends[0], "weight": 50}, nil)
		mustTickCall(t, env, c, "ModifyListenerAttribute", map[string]any{"listenerId": lsn.ListenerID, "listenerName": "web2", "scheduler": "rr"}, nil)
		mustTickCall(t, env, c, "ModifyLoadBalancersName", map[string]any{"loadBalancerIds": []string{id}, "loadBalancerName": "web-lb.2"}, nil)
		mustTickCall(t, env, c, "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": id, "bandwidth": 20}, nil)
		lb = describeLB(t, env, c, id)
		if lb.LoadBalancerName != "web-lb.2" || lb.Bandwidth != 20 || len(lb.ListenerList) != 1 || len(lb.BackendList) != 2 || lb.BackendList[0].Weight != 50 {
			t.Fatalf("after the changes: got %+v", lb)
		}
		if l := lb.ListenerList[0]; l.ListenerName != "web2" || l.Scheduler != "rr" || l.Kind != "FNAT" || l.Port != "80,443" || l.Status != "RUNNING" ||
			l.HealthCheck.CheckPort == nil || *l.HealthCheck.CheckPort != 80 {
			t.Fatalf("listener: got %+v", l)
		}
		auditClean(t, env)

		// Two hours at the price of 20 Mbps and 2 extra VIPs: 0.10 +
		// 20 × 0.0025 + 2 × 0.0083.
		hourly := metalplane.Money(1000 + 20*25 + 2*83)
		env.Clock.Advance(2 * time.Hour)
		clockSweep(t, env)
		if rows := lbHours(t, env, first.OrderNumber); len(rows) != 2 || rows[0].Amount != -hourly || rows[1].Amount != -hourly {
			t.Fatalf("after 2 h: got hourly rows %+v, want 2 of %s", rows, -hourly)
		}
		mustTickCall(t, env, c, "DeregisterBackend", map[string]any{"backendId": backends[1]}, nil)
		if lb = describeLB(t, env, c, id); len(lb.BackendList) != 1 || lb.BackendList[0].BackendID != backends[0] {
			t.Fatalf("after deregistering: got backends %+v", lb.BackendList)
		}

		// Terminate half-way through hour 3: it is charged in full, and
		// nothing more while in the recycle bin.
		env.Clock.Advance(30 * time.Minute)
		mustTickCall(t, env, c, "TerminateLoadBalancer", map[string]any{"loadBalancerId": id}, nil)
		if lb = describeLB(t, env, c, id); lb.Status != "RECYCLE" || lb.IsWorking {
			t.Fatalf("after TerminateLoadBalancer: got status %s, working %v", lb.Status, lb.IsWorking)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": id, "listenerName": "x", "portList": []int{8080},
			"protocol": "TCP", "backendProtocol": "TCP"}, nil), "OPERATION_DENIED_INVALID_STATUS")
		apitest.ExpectCode(t, tickCall(t, env, c, "TerminateLoadBalancer", map[string]any{"loadBalancerId": id}, nil), "OPERATION_DENIED_INVALID_STATUS")
		env.Clock.Advance(5 * time.Hour)
		clockSweep(t, env)
		if rows := lbHours(t, env, first.OrderNumber); len(rows) != 3 {
			t.Fatalf("after terminating at 2.5 h and 5 h in the recycle bin: %d hourly rows, want 3", len(rows))
		}

		// Restore: billing resumes from the restore.
		var restored struct {
			OrderNumber string `json:"orderNumber"`
		}
		mustTickCall(t, env, c, "RestoreLoadBalancer", map[string]any{"loadBalancerId": id}, &restored)
		if restored.OrderNumber == "" || describeLB(t, env, c, id).Status != "RUNNING" {
			t.Fatalf("RestoreLoadBalancer: got order %q, want one and RUNNING", restored.OrderNumber)
		}
		env.Clock.Advance(time.Hour)
		clockSweep(t, env)
		if rows := lbHours(t, env, first.OrderNumber); len(rows) != 4 {
			t.Fatalf("an hour after the restore: %d hourly rows, want 4", len(rows))
		}
		auditClean(t, env)

		// Release: only from the recycle bin; then gone, addresses free.
		apitest.ExpectCode(t, tickCall(t, env, c, "ReleaseLoadBalancer", map[string]any{"loadBalancerId": id}, nil), "OPERATION_DENIED_INVALID_STATUS")
		mustTickCall(t, env, c, "TerminateLoadBalancer", map[string]any{"loadBalancerId": id}, nil)
		mustTickCall(t, env, c, "ReleaseLoadBalancer", map[string]any{"loadBalancerId": id}, nil)
		if n, _ := describeLBs(t, env, c, map[string]any{}); n != 0 {
			t.Fatalf("after ReleaseLoadBalancer: %d load balancers listed, want 0", n)
		}
		if held := heldBy(t, env, id); len(held) != 0 {
			t.Fatalf("after ReleaseLoadBalancer the pool still holds %v for it", held)
		}
		var ls struct {
			TotalCount int `json:"totalCount"`
		}
		mustTickCall(t, env, c, "DescribeListeners", map[string]any{"loadBalancerIds": []string{id}}, &ls)
		if ls.TotalCount != 0 {
			t.Fatalf("after ReleaseLoadBalancer: %d listeners, want 0", ls.TotalCount)
		}
		// The token still names the released load balancer: never a
		// second one.
		if again := createLB(t, env, c, lbPostpaid("life-1")); again != first {
			t.Fatalf("the token after release: got %+v, want %+v", again, first)
		}
		if n, _ := describeLBs(t, env, c, map[string]any{}); n != 0 {
			t.Fatalf("the token after release bought a load balancer")
		}
		if rows := lbHours(t, env, first.OrderNumber); len(rows) != 5 {
			t.Fatalf("after the second termination: %d hourly rows, want 5", len(rows))
		}
		auditClean(t, env)
	})
}

// TestDescribeLoadBalancersFilters checks every filter of
// DescribeLoadBalancers and DescribeListeners, and their paging, on both
// versions: zone, name (contained), resource group, tag keys, tag pairs,
// IDs; an empty filter filters nothing.
func TestDescribeLoadBalancersFilters(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		group, err := env.DB.CreateResourceGroup(context.Background(), env.Team.ID, "edge")
		if err != nil {
			t.Fatal(err)
		}
		c := env.BMC()
		tags := func(k, v string) map[string]any {
			return map[string]any{"tags": []map[string]string{{"key": k, "value": v}}}
		}
		a := createLB(t, env, c, with(lbPostpaid(""), map[string]any{"loadBalancerName": "front-a", "tags": tags("env", "prod")}))
		b := createLB(t, env, c, with(lbPostpaid(""), map[string]any{"loadBalancerName": "front-b", "zoneId": "FRA-A", "resourceGroupId": group.ID, "tags": tags("env", "dev")}))
		d := createLB(t, env, c, with(lbPostpaid(""), map[string]any{"loadBalancerName": "db", "tags": tags("tier", "data")}))
		for _, client := range []*httpapi.Client{env.BMC(), env.BMC2022()} {
			for _, tc := range []struct {
				name   string
				filter map[string]any
				want   []string
			}{
				{"none", map[string]any{}, []string{a.LoadBalancerID, b.LoadBalancerID, d.LoadBalancerID}},
				{"empty strings", map[string]any{"zoneId": "", "loadBalancerName": "", "resourceGroupId": ""}, []string{a.LoadBalancerID, b.LoadBalancerID, d.LoadBalancerID}},
				{"zone", map[string]any{"zoneId": "FRA-A"}, []string{b.LoadBalancerID}},
				{"name contains", map[string]any{"loadBalancerName": "front"}, []string{a.LoadBalancerID, b.LoadBalancerID}},
				{"group", map[string]any{"resourceGroupId": group.ID}, []string{b.LoadBalancerID}},
				{"tag key", map[string]any{"tagKeys": []string{"env"}}, []string{a.LoadBalancerID, b.LoadBalancerID}},
				{"tag pair", map[string]any{"tags": []map[string]string{{"key": "env", "value": "dev"}}}, []string{b.LoadBalancerID}},
				{"IDs and unknown", map[string]any{"loadBalancerIds": []string{d.LoadBalancerID, "lb-1"}}, []string{d.LoadBalancerID}},
				{"page 2 of 2", map[string]any{"pageSize": 2, "pageNum": 2}, []string{d.LoadBalancerID}},
			} {
				n, lbs := describeLBs(t, env, client, tc.filter)
				var got []string
				for _, lb := range lbs {
					got = append(got, lb.LoadBalancerID)
				}
				wantTotal := len(tc.want)
				if tc.name == "page 2 of 2" {
					wantTotal = 3
				}
				if n != wantTotal || !slices.Equal(got, tc.want) {
					t.Errorf("%s %s: got %d %v, want %d %v", client.Version, tc.name, n, got, wantTotal, tc.want)
				}
			}
		}
		if lb := describeLB(t, env, c, b.LoadBalancerID); lb.ResourceGroupID != group.ID || lb.ResourceGroupName != "edge" {
			t.Errorf("group of %s: got %s %q, want %s edge", b.LoadBalancerID, lb.ResourceGroupID, lb.ResourceGroupName, group.ID)
		}

		for i, name := range []string{"web-80", "web-443", "dns"} {
			mustTickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": a.LoadBalancerID, "listenerName": name, "portList": []int{1000 + i},
				"protocol": "TCP", "backendProtocol": "TCP"}, nil)
		}
		var ls struct {
			TotalCount int           `json:"totalCount"`
			DataSet    []listenerOut `json:"dataSet"`
		}
		mustTickCall(t, env, c, "DescribeListeners", map[string]any{"listenerName": "web", "pageSize": 1, "pageNum": 2}, &ls)
		if ls.TotalCount != 2 || len(ls.DataSet) != 1 || ls.DataSet[0].ListenerName != "web-443" {
			t.Errorf("DescribeListeners web, page 2 of 1: got %d %+v, want 2 and web-443", ls.TotalCount, ls.DataSet)
		}
		mustTickCall(t, env, c, "DescribeListeners", map[string]any{"loadBalancerIds": []string{b.LoadBalancerID}}, &ls)
		if ls.TotalCount != 0 || ls.DataSet == nil {
			t.Errorf("DescribeListeners of a load balancer without: got %d %v, want 0 and []", ls.TotalCount, ls.DataSet)
		}
	})
}
