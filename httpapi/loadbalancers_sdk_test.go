package httpapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	bmc22 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	bmc26 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20260201"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane/internal/apitest"
)

// The public Go SDK calls every load balancer action of its version and
// decodes the answers: the fields a user reads are filled.

func sdkConfig(env *apitest.Env) *common.Config {
	config := common.NewConfig()
	config.Domain = strings.TrimPrefix(env.App.URL(), "http://")
	config.Scheme = "HTTP"
	return config
}

// sdkFail fails with the SDK's error, or when cond is false.
func sdkCheck(t *testing.T, action string, err error, cond bool, got any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	if !cond {
		t.Fatalf("%s: got %+v", action, got)
	}
}

// TestSDKLoadBalancers2022 drives all 19 actions through bmc20221120.
func TestSDKLoadBalancers2022(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		instances := twoInstances(t, env)
		c, err := bmc22.NewClient(sdkConfig(env), env.Key.ID, env.Key.Secret)
		if err != nil {
			t.Fatal(err)
		}
		zr := bmc22.NewDescribeLoadBalancerZonesRequest()
		zr.ChargeType = ptr("POSTPAID")
		zones, err := c.DescribeLoadBalancerZones(zr)
		sdkCheck(t, "DescribeLoadBalancerZones", err, len(zones.Response.ZoneIdSet) == 3, zones.Response)
		sr := bmc22.NewDescribeLoadBalancerSpecsRequest()
		sr.ChargeType, sr.ZoneId = ptr("POSTPAID"), ptr("SEL-A")
		specs, err := c.DescribeLoadBalancerSpecs(sr)
		sdkCheck(t, "DescribeLoadBalancerSpecs", err, len(specs.Response.SpecSet) == 2 && *specs.Response.SpecSet[0].SpecName == "Standard" &&
			*specs.Response.SpecSet[0].Cps == 5000, specs.Response)

		cr := bmc22.NewCreateLoadBalancerRequest()
		cr.ClientToken, cr.ZoneId, cr.LoadBalancerName, cr.SpecName = ptr("sdk-22"), ptr("SEL-A"), ptr("sdk-lb"), ptr("Standard")
		cr.ChargeType, cr.Bandwidth, cr.IpType, cr.VipCount = ptr("POSTPAID"), ptr(5), ptr("IPv4"), ptr(0)
		cr.Tags = &bmc22.TagAssociation{Tags: []*bmc22.Tag{{Key: ptr("team"), Value: ptr("web")}}}
		created, err := c.CreateLoadBalancer(cr)
		sdkCheck(t, "CreateLoadBalancer", err, created.Response.LoadBalancerId != nil && created.Response.OrderNumber != nil, created.Response)
		id := *created.Response.LoadBalancerId
		again, err := c.CreateLoadBalancer(cr)
		sdkCheck(t, "CreateLoadBalancer again", err, *again.Response.LoadBalancerId == id, again.Response)

		nr := bmc22.NewModifyLoadBalancersNameRequest()
		nr.LoadBalancerIds, nr.LoadBalancerName = []string{id}, ptr("sdk-lb.2")
		_, err = c.ModifyLoadBalancersName(nr)
		sdkCheck(t, "ModifyLoadBalancersName", err, true, nil)
		br := bmc22.NewModifyLoadBalancerBandwidthRequest()
		br.LoadBalancerId, br.Bandwidth = ptr(id), ptr(8)
		_, err = c.ModifyLoadBalancerBandwidth(br)
		sdkCheck(t, "ModifyLoadBalancerBandwidth", err, true, nil)
		vr := bmc22.NewCreateLoadBalancerVIPsRequest()
		vr.LoadBalancerId, vr.Count = ptr(id), ptr(2)
		vips, err := c.CreateLoadBalancerVIPs(vr)
		sdkCheck(t, "CreateLoadBalancerVIPs", err, len(vips.Response.VipIdSet) == 2 && vips.Response.OrderNumber != nil, vips.Response)
		dv := bmc22.NewDeleteLoadBalancerVIPRequest()
		dv.VipId = ptr(vips.Response.VipIdSet[1])
		_, err = c.DeleteLoadBalancerVIP(dv)
		sdkCheck(t, "DeleteLoadBalancerVIP", err, true, nil)

		lr := bmc22.NewCreateListenerRequest()
		lr.LoadBalancerId, lr.ListenerName, lr.PortList, lr.ClientToken = ptr(id), ptr("web"), []int{80}, ptr("sdk-lsn")
		lr.Protocol, lr.BackendProtocol, lr.Kind = ptr("TCP"), ptr("TCP"), ptr("DR")
		lr.HealthCheck = &bmc22.HealthCheck{CheckEnabled: ptr(true), CheckType: ptr("HTTP"), HttpCheckPath: ptr("/health"), HttpCode: ptr(200)}
		lr.Notify = &bmc22.Notify{Enable: ptr(false)}
		lsn, err := c.CreateListener(lr)
		sdkCheck(t, "CreateListener", err, lsn.Response.ListenerId != nil, lsn.Response)
		lsnID := *lsn.Response.ListenerId
		mr := bmc22.NewModifyListenerAttributeRequest()
		mr.ListenerId, mr.Scheduler = ptr(lsnID), ptr("rr")
		_, err = c.ModifyListenerAttribute(mr)
		sdkCheck(t, "ModifyListenerAttribute", err, true, nil)
		dl := bmc22.NewDescribeListenersRequest()
		dl.LoadBalancerIds = []string{id}
		ls, err := c.DescribeListeners(dl)
		sdkCheck(t, "DescribeListeners", err, *ls.Response.TotalCount == 1 && *ls.Response.DataSet[0].Scheduler == "rr" && *ls.Response.DataSet[0].Port == "80" &&
			*ls.Response.DataSet[0].Kind == "DR" && *ls.Response.DataSet[0].HealthCheck.HttpCheckPath == "/health" && ls.Response.DataSet[0].CreateTime != nil, ls.Response)

		rr := bmc22.NewRegisterBackendRequest()
		rr.ListenerId, rr.BackendName, rr.InstanceId, rr.ClientToken, rr.Weight, rr.PortList = ptr(lsnID), ptr("node-a"), ptr(instances[0]), ptr("sdk-be"), ptr(30), []int{8080}
		be, err := c.RegisterBackend(rr)
		sdkCheck(t, "RegisterBackend", err, be.Response.BackendId != nil, be.Response)
		wr := bmc22.NewModifyBackendWeightRequest()
		wr.BackendId, wr.Weight = be.Response.BackendId, ptr(60)
		_, err = c.ModifyBackendWeight(wr)
		sdkCheck(t, "ModifyBackendWeight", err, true, nil)
		db := bmc22.NewDescribeBackendsRequest()
		db.ListenerId = ptr(lsnID)
		bs, err := c.DescribeBackends(db)
		sdkCheck(t, "DescribeBackends", err, *bs.Response.TotalCount == 1 && *bs.Response.DataSet[0].Weight == 60 && *bs.Response.DataSet[0].Port == "8080" &&
			*bs.Response.DataSet[0].InstanceId == instances[0] && *bs.Response.DataSet[0].InstanceName != "", bs.Response)

		dr := bmc22.NewDescribeLoadBalancersRequest()
		dr.LoadBalancerIds = []string{id}
		lbs, err := c.DescribeLoadBalancers(dr)
		sdkCheck(t, "DescribeLoadBalancers", err, *lbs.Response.TotalCount == 1, lbs.Response)
		lb := lbs.Response.DataSet[0]
		sdkCheck(t, "DescribeLoadBalancers fields", nil, *lb.LoadBalancerName == "sdk-lb.2" && *lb.Bandwidth == 8 && len(lb.VipList) == 2 && *lb.VipList[0].Type == "DEFAULT" &&
			*lb.IsWorking && *lb.Status == "RUNNING" && len(lb.ListenerList) == 1 && len(lb.BackendList) == 1 && *lb.ResourceGroupName != "" &&
			len(lb.Tags.Tags) == 1 && *lb.Tags.Tags[0].Value == "web" && *lb.ChargeType == "POSTPAID", lb)

		drb := bmc22.NewDeregisterBackendRequest()
		drb.BackendId = be.Response.BackendId
		_, err = c.DeregisterBackend(drb)
		sdkCheck(t, "DeregisterBackend", err, true, nil)
		del := bmc22.NewDeleteListenerRequest()
		del.ListenerId = ptr(lsnID)
		_, err = c.DeleteListener(del)
		sdkCheck(t, "DeleteListener", err, true, nil)
		tr := bmc22.NewTerminateLoadBalancerRequest()
		tr.LoadBalancerId = ptr(id)
		_, err = c.TerminateLoadBalancer(tr)
		sdkCheck(t, "TerminateLoadBalancer", err, true, nil)
		rs := bmc22.NewRestoreLoadBalancerRequest()
		rs.LoadBalancerId = ptr(id)
		restored, err := c.RestoreLoadBalancer(rs)
		sdkCheck(t, "RestoreLoadBalancer", err, restored.Response.OrderNumber != nil && *restored.Response.OrderNumber != "", restored.Response)
		if _, err = c.TerminateLoadBalancer(tr); err != nil {
			t.Fatal(err)
		}
		rl := bmc22.NewReleaseLoadBalancerRequest()
		rl.LoadBalancerId = ptr(id)
		_, err = c.ReleaseLoadBalancer(rl)
		sdkCheck(t, "ReleaseLoadBalancer", err, true, nil)
		lbs, err = c.DescribeLoadBalancers(dr)
		sdkCheck(t, "DescribeLoadBalancers after release", err, *lbs.Response.TotalCount == 0, lbs.Response)
	})
}

// TestSDKLoadBalancers2026 drives the 17 actions of bmc20260201.
func TestSDKLoadBalancers2026(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		instances := twoInstances(t, env)
		c, err := bmc26.NewClient(sdkConfig(env), env.Key.ID, env.Key.Secret)
		if err != nil {
			t.Fatal(err)
		}
		zr := bmc26.NewDescribeLoadBalancerZonesRequest()
		zr.ChargeType = ptr("PREPAID")
		zones, err := c.DescribeLoadBalancerZones(zr)
		sdkCheck(t, "DescribeLoadBalancerZones", err, len(zones.Response.ZoneIdSet) == 2, zones.Response)
		sr := bmc26.NewDescribeLoadBalancerSpecsRequest()
		sr.ChargeType, sr.ZoneId = ptr("PREPAID"), ptr("FRA-A")
		specs, err := c.DescribeLoadBalancerSpecs(sr)
		sdkCheck(t, "DescribeLoadBalancerSpecs", err, len(specs.Response.SpecSet) == 1 && *specs.Response.SpecSet[0].MaxConnection == 50000, specs.Response)

		cr := bmc26.NewCreateLoadBalancerRequest()
		cr.ClientToken, cr.ZoneId, cr.LoadBalancerName = ptr("sdk-26"), ptr("SEL-A"), ptr("sdk-lb")
		cr.ChargeType, cr.InstanceChargePrepaid, cr.Bandwidth, cr.IpType = ptr("PREPAID"), &bmc26.ChargePrepaid{Period: ptr(1)}, ptr(50), ptr("IPv6")
		cr.MarketingOptions = &bmc26.MarketingInfo{DiscountCode: ptr("none")}
		created, err := c.CreateLoadBalancer(cr)
		sdkCheck(t, "CreateLoadBalancer", err, created.Response.LoadBalancerId != nil && created.Response.OrderNumber != nil, created.Response)
		id := *created.Response.LoadBalancerId

		nr := bmc26.NewModifyLoadBalancersNameRequest()
		nr.LoadBalancerIds, nr.LoadBalancerName = []string{id}, ptr("sdk-lb.2")
		_, err = c.ModifyLoadBalancersName(nr)
		sdkCheck(t, "ModifyLoadBalancersName", err, true, nil)
		vr := bmc26.NewCreateLoadBalancerVIPsRequest()
		vr.LoadBalancerId, vr.Count = ptr(id), ptr(1)
		vips, err := c.CreateLoadBalancerVIPs(vr)
		sdkCheck(t, "CreateLoadBalancerVIPs", err, len(vips.Response.VipIdSet) == 1, vips.Response)
		dv := bmc26.NewDeleteLoadBalancerVIPRequest()
		dv.VipId = ptr(vips.Response.VipIdSet[0])
		_, err = c.DeleteLoadBalancerVIP(dv)
		sdkCheck(t, "DeleteLoadBalancerVIP", err, true, nil)

		lr := bmc26.NewCreateListenerRequest()
		lr.LoadBalancerId, lr.ListenerName, lr.PortList, lr.ClientToken = ptr(id), ptr("dns"), []int{53}, ptr("sdk-lsn-26")
		lr.Protocol, lr.BackendProtocol = ptr("UDP"), ptr("UDP")
		lsn, err := c.CreateListener(lr)
		sdkCheck(t, "CreateListener", err, lsn.Response.ListenerId != nil, lsn.Response)
		lsnID := *lsn.Response.ListenerId
		mr := bmc26.NewModifyListenerAttributeRequest()
		mr.ListenerId, mr.ListenerName, mr.Kind = ptr(lsnID), ptr("dns2"), ptr("NAT")
		_, err = c.ModifyListenerAttribute(mr)
		sdkCheck(t, "ModifyListenerAttribute", err, true, nil)
		dl := bmc26.NewDescribeListenersRequest()
		dl.ListenerIds = []string{lsnID}
		ls, err := c.DescribeListeners(dl)
		sdkCheck(t, "DescribeListeners", err, *ls.Response.TotalCount == 1 && *ls.Response.DataSet[0].ListenerName == "dns2" && *ls.Response.DataSet[0].Kind == "NAT" &&
			*ls.Response.DataSet[0].Protocol == "UDP" && *ls.Response.DataSet[0].Scheduler == "wrr", ls.Response)

		rr := bmc26.NewRegisterBackendRequest()
		rr.ListenerId, rr.BackendName, rr.InstanceId, rr.ClientToken = ptr(lsnID), ptr("node-b"), ptr(instances[1]), ptr("sdk-be-26")
		be, err := c.RegisterBackend(rr)
		sdkCheck(t, "RegisterBackend", err, be.Response.BackendId != nil, be.Response)
		db := bmc26.NewDescribeBackendsRequest()
		db.ListenerId, db.BackendIds = ptr(lsnID), []string{*be.Response.BackendId}
		bs, err := c.DescribeBackends(db)
		sdkCheck(t, "DescribeBackends", err, *bs.Response.TotalCount == 1 && *bs.Response.DataSet[0].Weight == 100 && *bs.Response.DataSet[0].Port == "53" &&
			*bs.Response.DataSet[0].BackendName == "node-b", bs.Response)

		dr := bmc26.NewDescribeLoadBalancersRequest()
		dr.LoadBalancerName = ptr("lb.2")
		lbs, err := c.DescribeLoadBalancers(dr)
		sdkCheck(t, "DescribeLoadBalancers", err, *lbs.Response.TotalCount == 1, lbs.Response)
		lb := lbs.Response.DataSet[0]
		sdkCheck(t, "DescribeLoadBalancers fields", nil, *lb.LoadBalancerId == id && *lb.SpecName == "Standard" && *lb.ChargeType == "PREPAID" && *lb.Period == 1 &&
			*lb.ExpiredTime != "" && *lb.IpType == "IPv6" && strings.HasPrefix(*lb.VipList[0].IpAddress, "2001:db8:0:1:") && len(lb.BackendList) == 1, lb)

		drb := bmc26.NewDeregisterBackendRequest()
		drb.BackendId = be.Response.BackendId
		_, err = c.DeregisterBackend(drb)
		sdkCheck(t, "DeregisterBackend", err, true, nil)
		del := bmc26.NewDeleteListenerRequest()
		del.ListenerId = ptr(lsnID)
		_, err = c.DeleteListener(del)
		sdkCheck(t, "DeleteListener", err, true, nil)
		tr := bmc26.NewTerminateLoadBalancerRequest()
		tr.LoadBalancerId = ptr(id)
		_, err = c.TerminateLoadBalancer(tr)
		sdkCheck(t, "TerminateLoadBalancer", err, true, nil)
		rs := bmc26.NewRestoreLoadBalancerRequest()
		rs.LoadBalancerId = ptr(id)
		restored, err := c.RestoreLoadBalancer(rs)
		sdkCheck(t, "RestoreLoadBalancer", err, restored.Response.OrderNumber != nil, restored.Response)
		if _, err = c.TerminateLoadBalancer(tr); err != nil {
			t.Fatal(err)
		}
		rl := bmc26.NewReleaseLoadBalancerRequest()
		rl.LoadBalancerId = ptr(id)
		_, err = c.ReleaseLoadBalancer(rl)
		sdkCheck(t, "ReleaseLoadBalancer", err, true, nil)
	})
}

// TestSDKLoadBalancerRetryBuysOnce loses the answer of a CreateLoadBalancer
// without clientToken (the server holds it past the SDK's 1 s timeout):
// the SDK's retry of the same bytes gets the load balancer that was
// bought, and only one exists.
func TestSDKLoadBalancerRetryBuysOnce(t *testing.T) {
	var once sync.Once
	slowFirst := func(ctx context.Context, action string) {
		if action == "CreateLoadBalancer" {
			once.Do(func() { time.Sleep(2500 * time.Millisecond) })
		}
	}
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		once = sync.Once{}
		config := sdkConfig(env)
		config.Timeout, config.AutoRetry, config.MaxRetryTime = 1, true, 3
		c, err := bmc22.NewClient(config, env.Key.ID, env.Key.Secret)
		if err != nil {
			t.Fatal(err)
		}
		cr := bmc22.NewCreateLoadBalancerRequest()
		cr.ZoneId, cr.LoadBalancerName, cr.SpecName, cr.ChargeType, cr.Bandwidth, cr.IpType = ptr("SEL-A"), ptr("retry"), ptr("Standard"), ptr("POSTPAID"), ptr(5), ptr("IPv4")
		resp, err := c.CreateLoadBalancer(cr)
		if err != nil {
			t.Fatalf("CreateLoadBalancer through the SDK's retries: %v", err)
		}
		n, lbs := describeLBs(t, env, env.BMC(), map[string]any{})
		if n != 1 || lbs[0].LoadBalancerID != *resp.Response.LoadBalancerId {
			t.Fatalf("%d load balancers exist (%+v), the answer names %s; want exactly that one", n, lbs, *resp.Response.LoadBalancerId)
		}
	}, apitest.Options{BeforeAnswerFunc: slowFirst})
}
