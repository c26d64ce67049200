package httpapi_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	bmc "github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/bmc20221120"
	"github.com/zenlayer/zenlayercloud-sdk-go/zenlayercloud/common"

	"github.com/metalplane/metalplane/internal/apitest"
)

// The Terraform provider's life of a zenlayercloud_bmc_eip and a
// zenlayercloud_bmc_eip_association, call by call through the 2022-11-20
// SDK as the provider makes them, asserting what each step reads and the
// states its waiters accept.

// tfEipPending and tfEipTarget are the provider's EIP waiter (BuildEipState):
// pending states keep it polling, a target ends it, anything else fails.
var (
	tfEipPending = []string{"ASSOCIATING", "CREATING", "UNASSOCIATING"}
	tfEipTarget  = []string{"CREATE_FAILED", "ASSOCIATED", "AVAILABLE"}
	// tfEipOperating are the states in which a Read keeps retrying.
	tfEipOperating = []string{"CREATING", "ASSOCIATING", "UNASSOCIATING", "RELEASING"}
)

// tfDescribeEip is the provider's DescribeEipAddressById: nil when the
// list is empty.
func tfDescribeEip(t *testing.T, c *bmc.Client, id string) *bmc.EipAddress {
	t.Helper()
	req := bmc.NewDescribeEipAddressesRequest()
	req.EipIds = []string{id}
	out, err := c.DescribeEipAddresses(req)
	if err != nil {
		t.Fatalf("DescribeEipAddresses: %v", err)
	}
	if len(out.Response.DataSet) < 1 {
		return nil
	}
	return out.Response.DataSet[0]
}

func tfWaitEip(t *testing.T, c *bmc.Client, id string) *bmc.EipAddress {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		e := tfDescribeEip(t, c, id)
		switch {
		case e == nil:
			t.Fatalf("EIP %s not found while waiting", id)
		case slices.Contains(tfEipTarget, e.EipStatus):
			return e
		case !slices.Contains(tfEipPending, e.EipStatus):
			t.Fatalf("EIP %s: unexpected state %s", id, e.EipStatus)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("EIP %s: waiter timed out", id)
	return nil
}

// tfReadEip is resourceZenlayerCloudEipRead: it retries while the EIP is
// operating and returns the attributes it stores (nil: removed).
func tfReadEip(t *testing.T, c *bmc.Client, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var e *bmc.EipAddress
	for {
		e = tfDescribeEip(t, c, id)
		if e == nil || !slices.Contains(tfEipOperating, e.EipStatus) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e == nil || e.EipStatus == "CREATE_FAILED" || e.EipStatus == "RECYCLE" {
		return nil
	}
	tags := map[string]string{}
	if e.Tags != nil {
		for _, tag := range e.Tags.Tags {
			tags[*tag.Key] = *tag.Value
		}
	}
	state := map[string]any{"availability_zone": e.ZoneId, "resource_group_id": e.ResourceGroupId, "resource_group_name": e.ResourceGroupName,
		"eip_charge_type": e.EipChargeType, "public_ip": e.IpAddress, "eip_status": e.EipStatus, "create_time": e.CreateTime,
		"expired_time": e.ExpiredTime, "tags": tags}
	if e.EipChargeType == "PREPAID" {
		state["eip_charge_prepaid_period"] = *e.Period
	}
	return state
}

func TestTerraformEip(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c, _ := sdkClient(t, env, nil)
		instanceID := createRunning(t, env, minimalCreate())["instanceId"].(string)

		// resource "zenlayercloud_bmc_eip" "foo" { availability_zone = "SEL-A"; tags = { group = "test" } }
		alloc := bmc.NewAllocateEipAddressesRequest()
		alloc.ZoneId, alloc.EipChargeType = "SEL-A", "POSTPAID"
		k, v := "group", "test"
		alloc.Tags = &bmc.TagAssociation{Tags: []*bmc.Tag{{Key: &k, Value: &v}}}
		out, err := c.AllocateEipAddresses(alloc)
		if err != nil {
			t.Fatalf("AllocateEipAddresses: %v", err)
		}
		if len(out.Response.EipIdSet) < 1 {
			t.Fatal("eip id is nil")
		}
		eipID := *out.Response.EipIdSet[0]
		if e := tfWaitEip(t, c, eipID); e.EipStatus != "AVAILABLE" {
			t.Fatalf("created EIP is %s, want AVAILABLE", e.EipStatus)
		}
		state := tfReadEip(t, c, eipID)
		if state == nil || state["availability_zone"] != "SEL-A" || state["eip_charge_type"] != "POSTPAID" || state["public_ip"] == "" ||
			state["resource_group_id"] == "" || state["resource_group_name"] == "" || state["create_time"] == "" ||
			state["tags"].(map[string]string)["group"] != "test" || len(state["tags"].(map[string]string)) != 1 {
			t.Fatalf("read after create (the plan must be empty): %+v", state)
		}
		// A second read: the same state, so a plan is empty.
		if again := tfReadEip(t, c, eipID); again["public_ip"] != state["public_ip"] || again["eip_status"] != state["eip_status"] {
			t.Fatalf("second read differs: %+v vs %+v", again, state)
		}

		// resource "zenlayercloud_bmc_eip_association" "foo" { eip_id, instance_id }
		e := tfDescribeEip(t, c, eipID)
		if e.InstanceId == instanceID || e.EipStatus != "AVAILABLE" {
			t.Fatalf("before association: %+v", e)
		}
		assoc := bmc.NewAssociateEipAddressRequest()
		assoc.EipId, assoc.InstanceId = eipID, instanceID
		if _, err := c.AssociateEipAddress(assoc); err != nil {
			t.Fatalf("AssociateEipAddress: %v", err)
		}
		if e := tfWaitEip(t, c, eipID); e.EipStatus == "AVAILABLE" {
			t.Fatalf("associate instance (%s) to eip (%s) failed", instanceID, eipID)
		}
		if e := tfDescribeEip(t, c, eipID); e == nil || e.InstanceId != instanceID || e.EipStatus != "ASSOCIATED" {
			t.Fatalf("association read: %+v", e)
		}
		// The EIP's own read still plans nothing (only eip_status moved,
		// a computed attribute).
		if s := tfReadEip(t, c, eipID); s["public_ip"] != state["public_ip"] || s["eip_status"] != "ASSOCIATED" {
			t.Fatalf("EIP read while associated: %+v", s)
		}

		// Update: resource_group_id changed.
		g, err := env.DB.CreateResourceGroup(context.Background(), env.Team.ID, "tf-eips")
		if err != nil {
			t.Fatal(err)
		}
		mod := bmc.NewModifyEipAddressesResourceGroupRequest()
		mod.EipIds, mod.ResourceGroupId = []string{eipID}, g.ID
		if _, err := c.ModifyEipAddressesResourceGroup(mod); err != nil {
			t.Fatalf("ModifyEipAddressesResourceGroup: %v", err)
		}
		if s := tfReadEip(t, c, eipID); s["resource_group_id"] != g.ID || s["resource_group_name"] != g.Name {
			t.Fatalf("read after update: %+v", s)
		}

		// Destroy: the association first (UnassociateEipAddress, wait for AVAILABLE).
		un := bmc.NewUnassociateEipAddressRequest()
		un.EipId = eipID
		if _, err := c.UnassociateEipAddress(un); err != nil {
			t.Fatalf("UnassociateEipAddress: %v", err)
		}
		if e := tfWaitEip(t, c, eipID); e.EipStatus != "AVAILABLE" {
			t.Fatalf("disassociate eip (%s) failed, current status is %s", eipID, e.EipStatus)
		}

		// Then the EIP with force_delete = true: Terminate, find RECYCLE
		// (RECYCLING retried), Release (not found counts as done).
		term := bmc.NewTerminateEipAddressRequest()
		term.EipId = eipID
		if _, err := c.TerminateEipAddress(term); err != nil {
			t.Fatalf("TerminateEipAddress: %v", err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			e := tfDescribeEip(t, c, eipID)
			if e == nil || e.EipStatus == "RECYCLE" {
				break
			}
			if e.EipStatus != "RECYCLING" || time.Now().After(deadline) {
				t.Fatalf("eip status is not recycle, current status %s", e.EipStatus)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// A repeated terminate (the provider's retry) is told the EIP is
		// recycled already, which it counts as success. (A second later:
		// the same bytes within one second are the same request, PROTOCOL.md §7.)
		time.Sleep(time.Second)
		_, err = c.TerminateEipAddress(term)
		var sdkErr *common.ZenlayerCloudSdkError
		if !errors.As(err, &sdkErr) || sdkErr.Code != "OPERATION_DENIED_EIP_RECYCLED" {
			t.Fatalf("second TerminateEipAddress: %v, want OPERATION_DENIED_EIP_RECYCLED", err)
		}
		rel := bmc.NewReleaseEipAddressesRequest()
		rel.EipIds = []string{eipID}
		if _, err := c.ReleaseEipAddresses(rel); err != nil {
			t.Fatalf("ReleaseEipAddresses: %v", err)
		}
		time.Sleep(time.Second)
		_, err = c.ReleaseEipAddresses(rel)
		if !errors.As(err, &sdkErr) || sdkErr.Code != "INVALID_EIP_NOT_FOUND" {
			t.Fatalf("second ReleaseEipAddresses: %v, want INVALID_EIP_NOT_FOUND (counted as done)", err)
		}
		if s := tfReadEip(t, c, eipID); s != nil {
			t.Fatalf("read after destroy: %+v, want removed", s)
		}
	})
}
