package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/provision/sim"
)

// orderCharges returns the sum of the team's ledger rows of the order,
// after checking balance = ledger.
func orderCharges(t *testing.T, env *apitest.Env, order string) metalplane.Money {
	t.Helper()
	clockBalance(t, env)
	var sum metalplane.Money
	for _, e := range mustLedger(t, env) {
		if e.OrderNumber == order {
			sum += e.Amount
		}
	}
	return sum
}

// TestLoadBalancerPrepaid follows a PREPAID load balancer: the period is
// paid at purchase, an extra VIP is charged for the rest of the period, a
// lower bandwidth refunds nothing, a restore inside the period is free,
// the sweep recycles it at its expiry, a restore after the expiry pays a
// new period at the current price, and 24 h in the recycle bin release
// it. Balance = ledger at every step.
func TestLoadBalancerPrepaid(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		env.Clock.Set(clockT0)
		c := env.BMC2022()
		req := with(lbPostpaid(""), map[string]any{"chargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 2, "periodUnit": "Month"}, "bandwidth": 20})
		lb := createLB(t, env, c, req)
		bought := env.Clock.Now()
		// (60 + 20 × 1.50) × 2 months.
		if got, want := orderCharges(t, env, lb.OrderNumber), -metalplane.Money(180*metalplane.MoneyScale); got != want {
			t.Fatalf("the purchase charged %s, want %s", got, want)
		}
		d := describeLB(t, env, c, lb.LoadBalancerID)
		expiry := bought.AddDate(0, 2, 0)
		if d.ChargeType != "PREPAID" || d.Period != 2 || d.ExpiredTime != expiry.UTC().Format(time.RFC3339) {
			t.Fatalf("PREPAID load balancer: got chargeType %s, period %d, expiredTime %s; want PREPAID, 2, %s", d.ChargeType, d.Period, d.ExpiredTime, expiry.UTC().Format(time.RFC3339))
		}

		// One more VIP half-way: 5.00 × 2 months, prorated.
		env.Clock.Set(bought.AddDate(0, 1, 0))
		var vips struct {
			OrderNumber string   `json:"orderNumber"`
			VipIDSet    []string `json:"vipIdSet"`
		}
		mustTickCall(t, env, c, "CreateLoadBalancerVIPs", map[string]any{"loadBalancerId": lb.LoadBalancerID, "count": 1}, &vips)
		want := metalplane.ProrateUpgrade(10*metalplane.MoneyScale, 2, expiry, env.Clock.Now())
		if got := orderCharges(t, env, vips.OrderNumber); got != -want || want <= 0 || want >= 10*metalplane.MoneyScale {
			t.Fatalf("the extra VIP charged %s, want -%s (part of 10.00)", got, want)
		}
		before := clockBalance(t, env)
		mustTickCall(t, env, c, "ModifyLoadBalancerBandwidth", map[string]any{"loadBalancerId": lb.LoadBalancerID, "bandwidth": 10}, nil)
		mustTickCall(t, env, c, "TerminateLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, nil)
		var restored struct {
			OrderNumber string `json:"orderNumber"`
		}
		mustTickCall(t, env, c, "RestoreLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, &restored)
		if after := clockBalance(t, env); after != before || restored.OrderNumber == "" {
			t.Fatalf("a lower bandwidth and a restore inside the period: balance %s → %s, order %q; want no charge and an order", before, after, restored.OrderNumber)
		}

		// The period ends: the sweep recycles it at its expiry.
		env.Clock.Set(expiry.Add(time.Minute))
		if res := clockSweep(t, env); res.LoadBalancersRecycled != 1 {
			t.Fatalf("sweep after the expiry: %+v, want 1 load balancer recycled", res)
		}
		if d := describeLB(t, env, c, lb.LoadBalancerID); d.Status != "RECYCLE" {
			t.Fatalf("after the expiry: status %s, want RECYCLE", d.Status)
		}
		// A restore now pays a new period at the current price:
		// (60 + 10 × 1.50 + 5.00) × 2.
		mustTickCall(t, env, c, "RestoreLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, &restored)
		restoredAt := env.Clock.Now()
		if got := orderCharges(t, env, restored.OrderNumber); got != -160*metalplane.MoneyScale {
			t.Fatalf("the restore after expiry charged %s, want -160.0000", got)
		}
		if d := describeLB(t, env, c, lb.LoadBalancerID); d.Status != "RUNNING" || d.ExpiredTime != restoredAt.AddDate(0, 2, 0).UTC().Format(time.RFC3339) {
			t.Fatalf("after the paid restore: %s until %s", d.Status, d.ExpiredTime)
		}

		// 24 h in the recycle bin release it and free its addresses.
		mustTickCall(t, env, c, "TerminateLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, nil)
		env.Clock.Advance(24*time.Hour + time.Second)
		if res := clockSweep(t, env); res.LoadBalancersReleased != 1 {
			t.Fatalf("sweep after 24 h in the recycle bin: %+v, want 1 released", res)
		}
		if n, _ := describeLBs(t, env, c, map[string]any{}); n != 0 || len(heldBy(t, env, lb.LoadBalancerID)) != 0 {
			t.Fatalf("after the release: %d listed, %d addresses held; want none", n, len(heldBy(t, env, lb.LoadBalancerID)))
		}

		// A balance short of the period buys nothing.
		setBalance(t, env, env.Team.ID, 100*metalplane.MoneyScale)
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateLoadBalancer", req, nil), "OPERATION_DENIED_BALANCE_INSUFFICIENT")
		setBalance(t, env, env.Team.ID, 0)
		apitest.ExpectCode(t, tickCall(t, env, c, "CreateLoadBalancer", lbPostpaid(""), nil), "OPERATION_DENIED_BALANCE_INSUFFICIENT")
		auditClean(t, env)
	})
}

// TestLoadBalancerBackendOfReleasedInstance releases an instance that is a
// backend: the backend goes with it, and the audit stays clean.
func TestLoadBalancerBackendOfReleasedInstance(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		instances := twoInstances(t, env)
		lb := createLB(t, env, c, lbPostpaid(""))
		var lsn struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "web", "portList": []int{80},
			"protocol": "TCP", "backendProtocol": "TCP"}, &lsn)
		for _, inst := range instances {
			mustTickCall(t, env, c, "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "n", "instanceId": inst}, nil)
		}
		mustTickCall(t, env, c, "TerminateInstance", one(instances[0]), nil)
		// In the recycle bin an instance stays a backend, but cannot
		// become one.
		if d := describeLB(t, env, c, lb.LoadBalancerID); len(d.BackendList) != 2 {
			t.Fatalf("an instance in the recycle bin: %d backends, want 2", len(d.BackendList))
		}
		mustTickCall(t, env, c, "ReleaseInstances", ids(instances[0]), nil)
		if d := describeLB(t, env, c, lb.LoadBalancerID); len(d.BackendList) != 1 || d.BackendList[0].InstanceID != instances[1] {
			t.Fatalf("after releasing %s: backends %+v, want only %s", instances[0], d.BackendList, instances[1])
		}
		auditClean(t, env)
	})
}

// syncLBs applies the pending load balancer configurations with the sim
// driver and returns what it recorded for id.
func syncLBs(t *testing.T, env *apitest.Env, id string) (metalplane.LoadBalancerConfig, bool, *sim.LoadBalancers) {
	t.Helper()
	if _, err := env.App.Provisioner.SyncLoadBalancers(context.Background()); err != nil {
		t.Fatalf("SyncLoadBalancers: %v", err)
	}
	rec, ok := env.App.Provisioner.LoadBalancerDriver().(*sim.LoadBalancers)
	if !ok {
		t.Fatalf("the load balancer driver is %T, want the sim recorder", env.App.Provisioner.LoadBalancerDriver())
	}
	cfg, applied := rec.Applied(id)
	return cfg, applied, rec
}

// TestLoadBalancerDriver checks what the load balancer driver is given:
// after each change, one sync hands it the whole configuration (VIPs,
// listeners, backends at their instances' addresses, weights), a stopped
// one in the recycle bin, and a removal after the release.
func TestLoadBalancerDriver(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC2022()
		instances := twoInstances(t, env)
		lb := createLB(t, env, c, with(lbPostpaid(""), map[string]any{"vipCount": 1}))
		cfg, ok, _ := syncLBs(t, env, lb.LoadBalancerID)
		d := describeLB(t, env, c, lb.LoadBalancerID)
		if !ok || !cfg.Running || len(cfg.VIPs) != 2 || cfg.VIPs[0] != d.VipList[0].IPAddress || cfg.BandwidthMbps != 10 || len(cfg.Listeners) != 0 {
			t.Fatalf("after the purchase the driver has %+v (%v), want 2 VIPs %v, 10 Mbps, running", cfg, ok, d.VipList)
		}
		var lsn struct {
			ListenerID string `json:"listenerId"`
		}
		mustTickCall(t, env, c, "CreateListener", map[string]any{"loadBalancerId": lb.LoadBalancerID, "listenerName": "web", "portList": []int{80, 443},
			"protocol": "TCP", "backendProtocol": "TCP", "scheduler": "rr"}, &lsn)
		var be struct {
			BackendID string `json:"backendId"`
		}
		mustTickCall(t, env, c, "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "a", "instanceId": instances[0], "weight": 20}, &be)
		mustTickCall(t, env, c, "RegisterBackend", map[string]any{"listenerId": lsn.ListenerID, "backendName": "b", "instanceId": instances[1], "portList": []int{8080}}, nil)
		mustTickCall(t, env, c, "ModifyBackendWeight", map[string]any{"backendId": be.BackendID, "weight": 70}, nil)
		before := cfg.Version
		cfg, _, _ = syncLBs(t, env, lb.LoadBalancerID)
		inst := describeInstance(t, env.BMC(), instances[0])
		if cfg.Version <= before || len(cfg.Listeners) != 1 || cfg.Listeners[0].Scheduler != "rr" || len(cfg.Listeners[0].Backends) != 2 {
			t.Fatalf("after a listener and two backends the driver has %+v", cfg)
		}
		if b := cfg.Listeners[0].Backends[0]; b.InstanceID != instances[0] || b.Weight != 70 || b.Address != inst["publicIpAddresses"].([]any)[0] ||
			len(b.Ports) != 2 || cfg.Listeners[0].Backends[1].Ports[0] != 8080 {
			t.Fatalf("backends given to the driver: %+v", cfg.Listeners[0].Backends)
		}
		// Nothing changed: the next sync applies nothing.
		if n, err := env.App.Provisioner.SyncLoadBalancers(context.Background()); err != nil || n != 0 {
			t.Fatalf("a sync with nothing changed applied %d (%v), want 0", n, err)
		}
		mustTickCall(t, env, c, "TerminateLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, nil)
		if cfg, _, _ = syncLBs(t, env, lb.LoadBalancerID); cfg.Running {
			t.Fatalf("in the recycle bin the driver still runs it: %+v", cfg)
		}
		mustTickCall(t, env, c, "ReleaseLoadBalancer", map[string]any{"loadBalancerId": lb.LoadBalancerID}, nil)
		if _, ok, rec := syncLBs(t, env, lb.LoadBalancerID); ok || !rec.Removed(lb.LoadBalancerID) {
			t.Fatalf("after the release the driver still has it")
		}
	})
}
