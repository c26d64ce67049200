package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	bmc "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	bmc26 "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20260201"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane/internal/apitest"
)

// The public Go SDK calling every elastic IP action (bmc20260201 and
// bmc20221120) and every DDoS-protected IP action (bmc20221120), decoding
// each answer without error, with the fields a user reads filled.

func sdk26Client(t *testing.T, env *apitest.Env) *bmc26.Client {
	t.Helper()
	config := common.NewConfig()
	config.Domain = strings.TrimPrefix(env.App.URL(), "http://")
	config.Scheme = "HTTP"
	client, err := bmc26.NewClient(config, env.Key.ID, env.Key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// sdkWait polls with get until the status is want.
func sdkWait(t *testing.T, what string, want string, get func() (string, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got status %s, want %s", what, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSDKEipActions2026(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := sdk26Client(t, env)
		instanceID := createRunning(t, env, minimalCreate())["instanceId"].(string)

		avail, err := c.DescribeEipAvailableResources(&bmc26.DescribeEipAvailableResourcesRequest{BaseRequest: bmc26.NewDescribeEipAvailableResourcesRequest().BaseRequest,
			EipChargeType: ptr("POSTPAID"), ZoneId: ptr("SEL-A")})
		if err != nil || len(avail.Response.EipResources) != 1 || *avail.Response.EipResources[0].Status != "SELL" || *avail.Response.EipResources[0].Netmask != 32 {
			t.Fatalf("DescribeEipAvailableResources: %+v, %v", avail, err)
		}
		inq := bmc26.NewInquiryPriceCreateEipAddressRequest()
		inq.ZoneId, inq.EipChargeType, inq.EipChargePrepaid, inq.Amount = ptr("SEL-A"), ptr("PREPAID"), &bmc26.ChargePrepaid{Period: ptr(1)}, ptr(2)
		price, err := c.InquiryPriceCreateEipAddress(inq)
		if err != nil || price.Response.EipPrice == nil || *price.Response.EipPrice.OriginalPrice != 6 || *price.Response.EipPrice.Category != "STANDARD" {
			t.Fatalf("InquiryPriceCreateEipAddress: %+v, %v", price, err)
		}
		alloc := bmc26.NewAllocateEipAddressesRequest()
		alloc.ZoneId, alloc.EipChargeType, alloc.EipChargePrepaid, alloc.Amount = ptr("SEL-A"), ptr("PREPAID"), &bmc26.ChargePrepaid{Period: ptr(1)}, ptr(2)
		alloc.Tags = &bmc26.TagAssociation{Tags: []*bmc26.Tag{{Key: ptr("team"), Value: ptr("web")}}}
		allocated, err := c.AllocateEipAddresses(alloc)
		if err != nil || len(allocated.Response.EipIdSet) != 2 || allocated.Response.OrderNumber == nil || *allocated.Response.OrderNumber == "" {
			t.Fatalf("AllocateEipAddresses: %+v, %v", allocated, err)
		}
		ids := allocated.Response.EipIdSet
		describe := func(id string) *bmc26.EipAddress {
			req := bmc26.NewDescribeEipAddressesRequest()
			req.EipIds = []string{id}
			out, err := c.DescribeEipAddresses(req)
			if err != nil || *out.Response.TotalCount != 1 {
				t.Fatalf("DescribeEipAddresses: %+v, %v", out, err)
			}
			return out.Response.DataSet[0]
		}
		e := describe(ids[0])
		if *e.EipId != ids[0] || *e.ZoneId != "SEL-A" || *e.IpAddress == "" || *e.Netmask != 32 || e.InstanceId != nil || *e.EipChargeType != "PREPAID" ||
			*e.Period != 1 || *e.CreateTime == "" || *e.ExpiredTime == "" || *e.ResourceGroupId == "" || *e.ResourceGroupName == "" ||
			*e.EipStatus != "AVAILABLE" || len(e.Tags.Tags) != 1 || *e.Tags.Tags[0].Value != "web" {
			t.Fatalf("EipAddress: %+v", e)
		}
		ia := bmc26.NewDescribeInstanceAvailableEipResourcesRequest()
		ia.InstanceId = &instanceID
		avIn, err := c.DescribeInstanceAvailableEipResources(ia)
		if err != nil || len(avIn.Response.InstanceEipResources) != 2 || *avIn.Response.InstanceEipResources[0].Netmask != 32 {
			t.Fatalf("DescribeInstanceAvailableEipResources: %+v, %v", avIn, err)
		}
		assoc := bmc26.NewAssociateEipAddressRequest()
		assoc.EipId, assoc.InstanceId = &ids[0], &instanceID
		if _, err := c.AssociateEipAddress(assoc); err != nil {
			t.Fatalf("AssociateEipAddress: %v", err)
		}
		sdkWait(t, "associate", "ASSOCIATED", func() (string, error) { return *describe(ids[0]).EipStatus, nil })
		if e := describe(ids[0]); *e.InstanceId != instanceID || *e.InstanceName == "" {
			t.Fatalf("associated EipAddress: instance %v %v", e.InstanceId, e.InstanceName)
		}
		un := bmc26.NewUnAssociateEipAddressRequest()
		un.EipId = &ids[0]
		if _, err := c.UnAssociateEipAddress(un); err != nil {
			t.Fatalf("UnAssociateEipAddress: %v", err)
		}
		sdkWait(t, "unassociate", "AVAILABLE", func() (string, error) { return *describe(ids[0]).EipStatus, nil })
		renew := bmc26.NewRenewEipAddressRequest()
		renew.EipId = &ids[0]
		if _, err := c.RenewEipAddress(renew); err != nil {
			t.Fatalf("RenewEipAddress: %v", err)
		}
		g, err := env.DB.CreateResourceGroup(context.Background(), env.Team.ID, "sdk-eips")
		if err != nil {
			t.Fatal(err)
		}
		mod := bmc26.NewModifyEipAddressesResourceGroupRequest()
		mod.EipIds, mod.ResourceGroupId = ids, &g.ID
		if _, err := c.ModifyEipAddressesResourceGroup(mod); err != nil {
			t.Fatalf("ModifyEipAddressesResourceGroup: %v", err)
		}
		if e := describe(ids[1]); *e.ResourceGroupName != g.Name {
			t.Fatalf("moved: group %s", *e.ResourceGroupName)
		}
		// PREPAID: Terminate refuses it; a POSTPAID one is terminated and released.
		term := bmc26.NewTerminateEipAddressRequest()
		term.EipId = &ids[0]
		if _, err := c.TerminateEipAddress(term); err == nil || !strings.Contains(err.Error(), "OPERATION_DENIED_EIP_SUBSCRIPTION") {
			t.Fatalf("TerminateEipAddress of a subscription: %v, want OPERATION_DENIED_EIP_SUBSCRIPTION", err)
		}
		post := bmc26.NewAllocateEipAddressesRequest()
		post.ZoneId, post.EipChargeType = ptr("SEL-A"), ptr("POSTPAID")
		postID, err := c.AllocateEipAddresses(post)
		if err != nil {
			t.Fatal(err)
		}
		term.EipId = &postID.Response.EipIdSet[0]
		if _, err := c.TerminateEipAddress(term); err != nil {
			t.Fatalf("TerminateEipAddress: %v", err)
		}
		rel := bmc26.NewReleaseEipAddressesRequest()
		rel.EipIds = postID.Response.EipIdSet
		if _, err := c.ReleaseEipAddresses(rel); err != nil {
			t.Fatalf("ReleaseEipAddresses: %v", err)
		}
	})
}

func TestSDKEipAndDdosActions2022(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c, _ := sdkClient(t, env, nil)
		instanceID := createRunning(t, env, minimalCreate())["instanceId"].(string)

		// Elastic IPs.
		avail, err := c.DescribeEipAvailableResources(&bmc.DescribeEipAvailableResourcesRequest{BaseRequest: bmc.NewDescribeEipAvailableResourcesRequest().BaseRequest, EipChargeType: "POSTPAID"})
		if err != nil || !slices.ContainsFunc(avail.Response.EipResources, func(r *bmc.EipAvailableResource) bool {
			return r.ZoneId == "SEL-A" && r.Netmask == 32 && r.Status == "SELL"
		}) {
			t.Fatalf("DescribeEipAvailableResources: %+v, %v", avail, err)
		}
		inq := bmc.NewInquiryPriceCreateEipAddressRequest()
		inq.ZoneId, inq.EipChargeType = "SEL-A", "POSTPAID"
		if p, err := c.InquiryPriceCreateEipAddress(inq); err != nil || *p.Response.EipPrice.UnitPrice != 0.005 || *p.Response.EipPrice.ChargeUnit != "HOUR" {
			t.Fatalf("InquiryPriceCreateEipAddress: %+v, %v", p, err)
		}
		alloc := bmc.NewAllocateEipAddressesRequest()
		alloc.ZoneId, alloc.EipChargeType = "SEL-A", "POSTPAID"
		allocated, err := c.AllocateEipAddresses(alloc)
		if err != nil || len(allocated.Response.EipIdSet) != 1 || allocated.Response.OrderNumber != nil {
			t.Fatalf("AllocateEipAddresses: %+v, %v", allocated, err)
		}
		eipID := *allocated.Response.EipIdSet[0]
		describe := func() *bmc.EipAddress {
			req := bmc.NewDescribeEipAddressesRequest()
			req.EipIds = []string{eipID}
			out, err := c.DescribeEipAddresses(req)
			if err != nil || out.Response.TotalCount != 1 {
				t.Fatalf("DescribeEipAddresses: %+v, %v", out, err)
			}
			return out.Response.DataSet[0]
		}
		if e := describe(); e.IpAddress == "" || e.Netmask != 32 || e.EipChargeType != "POSTPAID" || e.Period != nil || e.ResourceGroupName == "" || e.EipStatus != "AVAILABLE" || e.CreateTime == "" {
			t.Fatalf("EipAddress: %+v", e)
		}
		ia := bmc.NewDescribeInstanceAvailableEipResourcesRequest()
		ia.InstanceId = instanceID
		if out, err := c.DescribeInstanceAvailableEipResources(ia); err != nil || len(out.Response.InstanceEipResources) != 1 || out.Response.InstanceEipResources[0].EipId != eipID {
			t.Fatalf("DescribeInstanceAvailableEipResources: %+v, %v", out, err)
		}
		assoc := bmc.NewAssociateEipAddressRequest()
		assoc.EipId, assoc.InstanceId = eipID, instanceID
		if _, err := c.AssociateEipAddress(assoc); err != nil {
			t.Fatalf("AssociateEipAddress: %v", err)
		}
		sdkWait(t, "associate", "ASSOCIATED", func() (string, error) { return describe().EipStatus, nil })
		if e := describe(); e.InstanceId != instanceID || e.InstanceName == "" {
			t.Fatalf("associated: %+v", e)
		}
		un := bmc.NewUnassociateEipAddressRequest()
		un.EipId = eipID
		if _, err := c.UnassociateEipAddress(un); err != nil {
			t.Fatalf("UnAssociateEipAddress: %v", err)
		}
		sdkWait(t, "unassociate", "AVAILABLE", func() (string, error) { return describe().EipStatus, nil })
		renew := bmc.NewRenewEipAddressRequest()
		renew.EipId = eipID
		if _, err := c.RenewEipAddress(renew); err == nil || !strings.Contains(err.Error(), "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT") {
			t.Fatalf("RenewEipAddress of a POSTPAID EIP: %v", err)
		}
		g, err := env.DB.CreateResourceGroup(context.Background(), env.Team.ID, "sdk22-eips")
		if err != nil {
			t.Fatal(err)
		}
		mod := bmc.NewModifyEipAddressesResourceGroupRequest()
		mod.EipIds, mod.ResourceGroupId = []string{eipID}, g.ID
		if _, err := c.ModifyEipAddressesResourceGroup(mod); err != nil || describe().ResourceGroupId != g.ID {
			t.Fatalf("ModifyEipAddressesResourceGroup: %v", err)
		}
		term := bmc.NewTerminateEipAddressRequest()
		term.EipId = eipID
		if _, err := c.TerminateEipAddress(term); err != nil || describe().EipStatus != "RECYCLE" {
			t.Fatalf("TerminateEipAddress: %v", err)
		}
		rel := bmc.NewReleaseEipAddressesRequest()
		rel.EipIds = []string{eipID}
		if _, err := c.ReleaseEipAddresses(rel); err != nil {
			t.Fatalf("ReleaseEipAddresses: %v", err)
		}

		// DDoS-protected IPs.
		dAvail, err := c.DescribeDdosAvailableResources(&bmc.DescribeDdosIpAvailableResourcesRequest{BaseRequest: bmc.NewDescribeDdosAvailableResourcesRequest().BaseRequest, DdosIpChargeType: "PREPAID", ZoneId: "SEL-A"})
		if err != nil || len(dAvail.Response.DdosIpResources) != 1 || dAvail.Response.DdosIpResources[0].Status != "SELL" {
			t.Fatalf("DescribeDdosIpAvailableResources: %+v, %v", dAvail, err)
		}
		dInq := bmc.NewInquiryPriceCreateDdosIpAddressRequest()
		dInq.ZoneId, dInq.DdosIpChargeType, dInq.DdosIpChargePrepaid = "SEL-A", "PREPAID", &bmc.ChargePrepaid{Period: 1}
		if p, err := c.InquiryPriceCreateDdosIpAddress(dInq); err != nil || *p.Response.DdosIpPrice.OriginalPrice != 50 {
			t.Fatalf("InquiryPriceCreateDdosIpAddress: %+v, %v", p, err)
		}
		dAlloc := bmc.NewAllocateDdosIpAddressesRequest()
		dAlloc.ZoneId, dAlloc.DdosIpChargeType = "SEL-A", "POSTPAID"
		dOut, err := c.AllocateDdosIpAddresses(dAlloc)
		if err != nil || len(dOut.Response.DdosIdSet) != 1 {
			t.Fatalf("AllocateDdosIpAddresses: %+v, %v", dOut, err)
		}
		ddosID := *dOut.Response.DdosIdSet[0]
		dDescribe := func() *bmc.DdosIpAddress {
			req := bmc.NewDescribeDdosIpAddressesRequest()
			req.DdosIpIds = []string{ddosID}
			out, err := c.DescribeDdosIpAddresses(req)
			if err != nil || out.Response.TotalCount != 1 {
				t.Fatalf("DescribeDdosIpAddresses: %+v, %v", out, err)
			}
			return out.Response.DataSet[0]
		}
		if d := dDescribe(); d.DdosIpId != ddosID || d.IpAddress == "" || d.DdosIpChargeType != "POSTPAID" || d.DdosIpStatus != "AVAILABLE" || d.ResourceGroupName == "" || d.CreateTime == "" {
			t.Fatalf("DdosIpAddress: %+v", d)
		}
		dIA := bmc.NewDescribeInstanceAvailableDdosResourcesRequest()
		dIA.InstanceId = instanceID
		if out, err := c.DescribeInstanceAvailableDdosResources(dIA); err != nil || len(out.Response.InstanceDdosIpResources) != 1 || out.Response.InstanceDdosIpResources[0].DdosIpId != ddosID {
			t.Fatalf("DescribeInstanceAvailableDdosIpResources: %+v, %v", out, err)
		}
		dAssoc := bmc.NewAssociateDdosIpAddressRequest()
		dAssoc.DdosIpId, dAssoc.InstanceId = ddosID, instanceID
		if _, err := c.AssociateDdosIpAddress(dAssoc); err != nil {
			t.Fatalf("AssociateDdosIpAddress: %v", err)
		}
		sdkWait(t, "associate DDoS IP", "ASSOCIATED", func() (string, error) { return dDescribe().DdosIpStatus, nil })
		dUn := bmc.NewUnassociateDdosIpAddressRequest()
		dUn.DdosIpId = ddosID
		if _, err := c.UnassociateDdosIpAddress(dUn); err != nil {
			t.Fatalf("UnAssociateDdosIpAddress: %v", err)
		}
		sdkWait(t, "unassociate DDoS IP", "AVAILABLE", func() (string, error) { return dDescribe().DdosIpStatus, nil })
		dRenew := bmc.NewRenewDdosIpAddressRequest()
		dRenew.DdosIpId = ddosID
		if _, err := c.RenewDdosIpAddress(dRenew); err == nil || !strings.Contains(err.Error(), "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT") {
			t.Fatalf("RenewDdosIpAddress of a POSTPAID DDoS IP: %v", err)
		}
		dMod := bmc.NewModifyDdosIpAddressesResourceGroupRequest()
		dMod.DdosIpIds, dMod.ResourceGroupId = []string{ddosID}, g.ID
		if _, err := c.ModifyDdosIpAddressesResourceGroup(dMod); err != nil || dDescribe().ResourceGroupId != g.ID {
			t.Fatalf("ModifyDdosIpAddressesResourceGroup: %v", err)
		}
		dTerm := bmc.NewTerminateDdosIpAddressRequest()
		dTerm.DdosIpId = ddosID
		if _, err := c.TerminateDdosIpAddress(dTerm); err != nil || dDescribe().DdosIpStatus != "RECYCLE" {
			t.Fatalf("TerminateDdosIpAddress: %v", err)
		}
		dRel := bmc.NewReleaseDdosIpAddressesRequest()
		dRel.DdosIpIds = []string{ddosID}
		if _, err := c.ReleaseDdosIpAddresses(dRel); err != nil {
			t.Fatalf("ReleaseDdosIpAddresses: %v", err)
		}
	})
}
