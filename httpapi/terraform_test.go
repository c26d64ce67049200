package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// The Terraform provider's life of one zenlayercloud_bmc_instance
// (TERRAFORM.md §3), call by call with bmc 2022-11-20, asserting at each
// step what the provider reads and the states its waiters accept.

// tfInstance is the part of InstanceInfo the provider stores (§3.3).
type tfInstance struct {
	InstanceID             string   `json:"instanceId"`
	ZoneID                 string   `json:"zoneId"`
	InstanceTypeID         string   `json:"instanceTypeId"`
	InstanceChargeType     string   `json:"instanceChargeType"`
	InternetChargeType     string   `json:"internetChargeType"`
	InstanceName           string   `json:"instanceName"`
	Hostname               string   `json:"hostname"`
	ImageID                *string  `json:"imageId"`
	ImageName              *string  `json:"imageName"`
	ResourceGroupID        string   `json:"resourceGroupId"`
	ResourceGroupName      string   `json:"resourceGroupName"`
	BandwidthOutMbps       int      `json:"bandwidthOutMbps"`
	KeyID                  *string  `json:"keyId"`
	SubnetIDs              []string `json:"subnetIds"`
	PrimaryPublicIPAddress string   `json:"primaryPublicIpAddress"`
	PublicIPAddresses      []string `json:"publicIpAddresses"`
	PrivateIPAddresses     []string `json:"privateIpAddresses"`
	InstanceStatus         string   `json:"instanceStatus"`
	CreateTime             string   `json:"createTime"`
	Partitions             []struct {
		FsType string `json:"fsType"`
		FsPath string `json:"fsPath"`
		Size   int    `json:"size"`
	} `json:"partitions"`
	RaidConfig *struct {
		RaidType *int `json:"raidType"`
	} `json:"raidConfig"`
	Nic *struct {
		WanName string `json:"wanName"`
		LanName string `json:"lanName"`
	} `json:"nic"`
}

// tfRead is the provider's Read: DescribeInstances by id. nil = gone.
func tfRead(t *testing.T, c *httpapi.Client, id string) *tfInstance {
	t.Helper()
	var out struct {
		TotalCount int          `json:"totalCount"`
		DataSet    []tfInstance `json:"dataSet"`
	}
	err := c.Call(context.Background(), "DescribeInstances", map[string]any{"instanceIds": []string{id}}, &out)
	var apiErr *httpapi.APIError
	if errors.As(err, &apiErr) && (apiErr.Code == "INVALID_INSTANCE_NOT_FOUND" || apiErr.Code == "OPERATION_FAILED_RESOURCE_NOT_FOUND") {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DataSet) == 0 {
		return nil
	}
	return &out.DataSet[0]
}

// tfWait polls like the provider's StateChangeConf: pending states keep
// waiting, the target ends it, anything else fails the run.
func tfWait(t *testing.T, c *httpapi.Client, id string, pending []string, target string) *tfInstance {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		in := tfRead(t, c, id)
		if in == nil {
			t.Fatalf("instance %s vanished while waiting for %s", id, target)
		}
		if in.InstanceStatus == target {
			return in
		}
		if !slices.Contains(pending, in.InstanceStatus) {
			t.Fatalf("unexpected state %s while waiting for %s (pending %v)", in.InstanceStatus, target, pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("instance %s not %s within a minute", id, target)
	return nil
}

// tfSubnetState is the provider's subnet-binding refresh: the instance's
// privateIpStatus in the subnet, "NotBind" when absent.
func tfSubnetState(t *testing.T, c *httpapi.Client, subnetID, instanceID string) string {
	t.Helper()
	var out struct {
		DataSet []struct {
			SubnetInstanceSet []struct {
				InstanceID      string `json:"instanceId"`
				PrivateIPStatus string `json:"privateIpStatus"`
			} `json:"subnetInstanceSet"`
		} `json:"dataSet"`
	}
	if err := c.Call(context.Background(), "DescribeSubnets", map[string]any{"subnetIds": []string{subnetID}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.DataSet) != 1 {
		t.Fatalf("subnet %s: %d results", subnetID, len(out.DataSet))
	}
	for _, m := range out.DataSet[0].SubnetInstanceSet {
		if m.InstanceID == instanceID {
			return m.PrivateIPStatus
		}
	}
	return "NotBind"
}

func tfWaitSubnet(t *testing.T, c *httpapi.Client, subnetID, instanceID, target string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		s := tfSubnetState(t, c, subnetID, instanceID)
		if s == target {
			return
		}
		if s != "BINDING" && s != "UNBINDING" {
			t.Fatalf("subnet %s: instance %s is %s while waiting for %s", subnetID, instanceID, s, target)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("subnet %s: instance %s not %s within a minute", subnetID, instanceID, target)
}

func TestTerraformInstanceLifecycle(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		bmc := env.BMC2022()
		call := func(action string, req map[string]any, out any) {
			t.Helper()
			if err := bmc.Call(ctx, action, req, out); err != nil {
				t.Fatalf("%s: %v", action, err)
			}
		}

		// The data sources and related resources a configuration reads
		// first (§4, §5).
		var zones struct {
			ZoneSet []struct{ ZoneID, ZoneName string } `json:"zoneSet"`
		}
		call("DescribeZones", map[string]any{}, &zones)
		if !slices.ContainsFunc(zones.ZoneSet, func(z struct{ ZoneID, ZoneName string }) bool { return z.ZoneID == "SEL-A" }) {
			t.Fatalf("zones: %+v", zones)
		}
		var images struct {
			Images []struct {
				ImageID   string `json:"imageId"`
				ImageName string `json:"imageName"`
			} `json:"images"`
		}
		call("DescribeImages", map[string]any{"catalog": "ubuntu", "instanceTypeId": "M6C"}, &images)
		if len(images.Images) == 0 {
			t.Fatal("no ubuntu image for M6C")
		}
		image := images.Images[0]
		subnets := make([]string, 2)
		for i := range subnets {
			var s struct {
				SubnetID string `json:"subnetId"`
			}
			call("CreateSubnet", map[string]any{"zoneId": "SEL-A", "cidrBlock": fmt.Sprintf("10.0.%d.0/24", i+1), "subnetName": "Terraform-Subnet"}, &s)
			subnets[i] = s.SubnetID
		}
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "tf-moved")
		if err != nil {
			t.Fatal(err)
		}

		// Create (§3.2): POSTPAID by default, one instance, then the
		// waiter that only tolerates PENDING/CREATING/INSTALLING.
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		call("CreateInstances", map[string]any{
			"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "POSTPAID",
			"imageId": image.ImageID, "hostname": "tf-host", "instanceName": "Terraform-Instance",
			"password": "Tf-pass-1234", "internetChargeType": "ByBandwidth", "internetMaxBandwidthOut": 10,
			"subnetId": subnets[0], "raidConfig": map[string]any{"raidType": 1},
			"partitions": []map[string]any{{"fsType": "ext4", "fsPath": "/", "size": 100}},
			"nic":        map[string]any{"wanName": "wan0", "lanName": "lan0"},
		}, &created)
		if len(created.InstanceIDSet) != 1 {
			t.Fatalf("instanceIdSet %v", created.InstanceIDSet)
		}
		id := created.InstanceIDSet[0]
		in := tfWait(t, bmc, id, []string{"PENDING", "CREATING", "INSTALLING"}, "RUNNING")

		// Read (§3.3): everything echoed exactly as sent.
		check := func(what string, got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: got %v, want %v", what, got, want)
			}
		}
		check("zoneId", in.ZoneID, "SEL-A")
		check("instanceTypeId", in.InstanceTypeID, "M6C")
		check("instanceChargeType", in.InstanceChargeType, "POSTPAID")
		check("internetChargeType", in.InternetChargeType, "ByBandwidth")
		check("instanceName", in.InstanceName, "Terraform-Instance")
		check("hostname", in.Hostname, "tf-host")
		if in.ImageID == nil || *in.ImageID != image.ImageID || in.ImageName == nil || *in.ImageName != image.ImageName {
			t.Errorf("image: got %v/%v, want %s/%s", in.ImageID, in.ImageName, image.ImageID, image.ImageName)
		}
		check("bandwidthOutMbps", in.BandwidthOutMbps, 10)
		if in.KeyID != nil && *in.KeyID != "" {
			t.Errorf("keyId: got %q, want none", *in.KeyID)
		}
		check("subnetIds", in.SubnetIDs, []string{subnets[0]})
		if in.PrimaryPublicIPAddress == "" || !slices.Contains(in.PublicIPAddresses, in.PrimaryPublicIPAddress) || len(in.PrivateIPAddresses) != 1 {
			t.Errorf("addresses: primary %q, public %v, private %v", in.PrimaryPublicIPAddress, in.PublicIPAddresses, in.PrivateIPAddresses)
		}
		if len(in.Partitions) != 1 || in.Partitions[0].FsPath != "/" || in.Partitions[0].Size != 100 || in.Partitions[0].FsType != "ext4" {
			t.Errorf("partitions: got %+v, want exactly the one requested", in.Partitions)
		}
		if in.RaidConfig == nil || in.RaidConfig.RaidType == nil || *in.RaidConfig.RaidType != 1 {
			t.Errorf("raidConfig: got %+v, want raidType 1", in.RaidConfig)
		}
		if in.Nic == nil || in.Nic.WanName != "wan0" || in.Nic.LanName != "lan0" {
			t.Errorf("nic: got %+v", in.Nic)
		}
		if t.Failed() {
			t.FailNow()
		}

		// Update (§3.4), in the provider's order.
		call("ModifyInstancesAttribute", map[string]any{"instanceIds": []string{id}, "instanceName": "tf-renamed"}, nil)
		check("instanceName after rename", tfRead(t, bmc, id).InstanceName, "tf-renamed")

		call("UnAssociateSubnetInstance", map[string]any{"subnetId": subnets[0], "instanceId": id}, nil)
		tfWaitSubnet(t, bmc, subnets[1], id, "NotBind")
		call("AssociateSubnetInstances", map[string]any{"subnetId": subnets[1], "subnetInstanceList": []map[string]any{{"instanceId": id}}}, nil)
		tfWaitSubnet(t, bmc, subnets[1], id, "BOUND")
		check("subnetIds after the move", tfRead(t, bmc, id).SubnetIDs, []string{subnets[1]})

		call("ModifyInstancesResourceGroup", map[string]any{"instanceIds": []string{id}, "resourceGroupId": group.ID}, nil)
		after := tfRead(t, bmc, id)
		check("resourceGroupId", after.ResourceGroupID, group.ID)
		check("resourceGroupName", after.ResourceGroupName, "tf-moved")

		call("ModifyInstanceBandwidth", map[string]any{"instanceId": id, "bandwidthOutMbps": 20}, nil)
		deadline := time.Now().Add(time.Minute)
		for {
			var st struct {
				ModifiedBandwidthStatus string `json:"modifiedBandwidthStatus"`
				InternetMaxBandwidthOut *int   `json:"internetMaxBandwidthOut"`
			}
			call("DescribeInstanceInternetStatus", map[string]any{"instanceId": id}, &st)
			if st.InternetMaxBandwidthOut == nil {
				t.Fatal("internetMaxBandwidthOut missing")
			}
			if st.ModifiedBandwidthStatus == "Enable" {
				if *st.InternetMaxBandwidthOut != 20 {
					t.Fatalf("bandwidth change settled at %d, want 20", *st.InternetMaxBandwidthOut)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("bandwidth change not settled: %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		check("bandwidthOutMbps after the change", tfRead(t, bmc, id).BandwidthOutMbps, 20)

		// A changed hostname reinstalls with every OS attribute; the
		// answer comes once the instance is INSTALLING, and the Read
		// waits that out.
		call("ReinstallInstance", map[string]any{"instanceId": id, "hostname": "tf-host-2", "password": "Tf-pass-5678",
			"imageId": image.ImageID, "raidConfig": map[string]any{"raidType": 1},
			"partitions": []map[string]any{{"fsType": "ext4", "fsPath": "/", "size": 100}},
			"nic":        map[string]any{"wanName": "wan0", "lanName": "lan0"}}, nil)
		check("status right after ReinstallInstance", tfRead(t, bmc, id).InstanceStatus, "INSTALLING")
		in = tfWait(t, bmc, id, []string{"INSTALLING"}, "RUNNING")
		check("hostname after reinstall", in.Hostname, "tf-host-2")
		check("instanceName kept by reinstall", in.InstanceName, "tf-renamed")

		// Delete (§3.5) with force_delete: RECYCLE before the answer,
		// then release; the instance is gone.
		call("TerminateInstance", map[string]any{"instanceId": id}, nil)
		check("status right after TerminateInstance", tfRead(t, bmc, id).InstanceStatus, "RECYCLE")
		// A later destroy (a new signature: the same bytes within one
		// second would be answered as an identical retry) is refused.
		env.Clock.Advance(time.Second)
		err = bmc.Call(ctx, "TerminateInstance", map[string]any{"instanceId": id}, nil)
		apitest.ExpectCode(t, err, "OPERATION_DENIED_INSTANCE_RECYCLED")
		call("ReleaseInstances", map[string]any{"instanceIds": []string{id}}, nil)
		if gone := tfRead(t, bmc, id); gone != nil {
			t.Fatalf("released instance still listed: %+v", gone)
		}
		// The subnet is empty again and can be destroyed.
		call("DeleteSubnet", map[string]any{"subnetId": subnets[1]}, nil)

		// A PREPAID instance's destroy only cancels the subscription.
		call("CreateInstances", map[string]any{"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "PREPAID",
			"instanceChargePrepaid": map[string]any{"period": 1}, "internetChargeType": "ByBandwidth", "hostname": "tf-prepaid"}, &created)
		prepaid := created.InstanceIDSet[0]
		tfWait(t, bmc, prepaid, []string{"PENDING", "CREATING", "INSTALLING"}, "RUNNING")
		call("TerminateInstance", map[string]any{"instanceId": prepaid}, nil)
		var out describeResponse
		call("DescribeInstances", map[string]any{"instanceIds": []string{prepaid}}, &out)
		if len(out.DataSet) != 1 || out.DataSet[0]["instanceChargeType"] != "PREPAID" || out.DataSet[0]["autoRenew"] != false || out.DataSet[0]["instanceStatus"] != "RUNNING" {
			t.Fatalf("PREPAID instance after TerminateInstance: %v", out.DataSet)
		}
	}, apitest.Options{
		// Each sim step takes 100 ms, so that the reinstall (five steps)
		// is still INSTALLING when the Read right after its answer looks:
		// at no delay it could be RUNNING again by then.
		SimStepDelay: 100 * time.Millisecond,
	})
}
