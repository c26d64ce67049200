package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/apitest"
)

// TestRequestLimits sends, for every action, each string and list one
// step over its limit (docs/limits.md) and checks the refusal code. On
// today's main most of these were accepted, or refused only after a
// database lookup that echoed the whole value back.
func TestRequestLimits(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		longID := strings.Repeat("9", metalplane.MaxIDLength+1)
		ids := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("%d", 1000+i)
			}
			return out
		}
		tagFilters := func(n int) []any {
			out := make([]any, n)
			for i := range out {
				out[i] = map[string]any{"key": fmt.Sprintf("k%d", i), "value": "v"}
			}
			return out
		}
		key := newAuthorizedKey(t, "limits")
		cases := []struct {
			name    string
			client  string // "bmc" (2026-02-01, the default), "bmc2022" or "ccs"
			action  string
			request map[string]any
			want    metalplane.Code
		}{
			{name: "DescribeZones acceptLanguage", action: "DescribeZones", request: map[string]any{"acceptLanguage": longID}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstanceTypes instanceTypeIds count", action: "DescribeInstanceTypes", request: map[string]any{"instanceTypeIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstanceTypes supportRaids count", action: "DescribeInstanceTypes", request: map[string]any{"supportRaids": make([]int, 101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstanceTypes imageId", action: "DescribeInstanceTypes", request: map[string]any{"imageId": longID}, want: "INVALID_PARAMETER"},
			{name: "DescribeAvailableResources zoneId", action: "DescribeAvailableResources", request: map[string]any{"instanceChargeType": "PREPAID", "zoneId": strings.Repeat("Z", 100_000)}, want: "INVALID_PARAMETER"},
			{name: "DescribeImages imageIds count", action: "DescribeImages", request: map[string]any{"imageIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeImages imageName", action: "DescribeImages", request: map[string]any{"imageName": strings.Repeat("n", metalplane.MaxImageNameLength+1)}, want: "INVALID_PARAMETER"},
			{name: "DescribeImages instanceTypeId", action: "DescribeImages", request: map[string]any{"instanceTypeId": longID}, want: "INVALID_PARAMETER"},
			{name: "InquiryPriceCreateInstance zoneId", action: "InquiryPriceCreateInstance", request: postpaidWith(map[string]any{"zoneId": longID}), want: "INVALID_PARAMETER"},

			{name: "CreateInstances zoneId", action: "CreateInstances", request: postpaidWith(map[string]any{"zoneId": longID}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances keyId", action: "CreateInstances", request: postpaidWith(map[string]any{"keyId": longID}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances subnetId", action: "CreateInstances", request: postpaidWith(map[string]any{"subnetId": longID}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances resourceGroupId", action: "CreateInstances", request: postpaidWith(map[string]any{"resourceGroupId": longID}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances discountCode", action: "CreateInstances", request: postpaidWith(map[string]any{"marketingOptions": map[string]any{"discountCode": strings.Repeat("D", metalplane.MaxDiscountCodeLength+1)}}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances ipxeUrl", action: "CreateInstances", request: postpaidWith(map[string]any{"ipxeUrl": "https://boot.example.com/" + strings.Repeat("a", metalplane.MaxIpxeURLLength)}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances partitions count", action: "CreateInstances", request: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": manyPartitions(metalplane.MaxPartitions + 1)}), want: "INVALID_PARAMETER"},
			{name: "CreateInstances fsPath", action: "CreateInstances", request: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{part("/", "ext4", 50), part("/"+strings.Repeat("d", metalplane.MaxFsPathLength), "ext4", 10)}}), want: "INVALID_PARTITION_MALFORMED"},
			{name: "CreateInstances hostname pattern", action: "CreateInstances", request: postpaidWith(map[string]any{"hostname": strings.Repeat("h", 10_000) + "[1,1]"}), want: "INVALID_PARAMETER_HOSTNAME_EXCEED"},
			{name: "CreateInstances sshKeys entry", client: "bmc2022", action: "CreateInstances", request: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "sshKeys": []string{key + " " + strings.Repeat("c", metalplane.MaxPublicKeyLineBytes)}}), want: "INVALID_PARAMETER_SSH_KEY_MALFORMED"},

			{name: "DescribeInstances instanceIds count", action: "DescribeInstances", request: map[string]any{"instanceIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances instanceId length", action: "DescribeInstances", request: map[string]any{"instanceIds": []string{longID}}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances subnetId", action: "DescribeInstances", request: map[string]any{"subnetId": longID}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances instanceName", action: "DescribeInstances", request: map[string]any{"instanceName": strings.Repeat("n", metalplane.MaxNameLength+2)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances publicIpAddresses count", action: "DescribeInstances", request: map[string]any{"publicIpAddresses": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances tagKeys count", action: "DescribeInstances", request: map[string]any{"tagKeys": ids(metalplane.MaxTagFilters + 1)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances tagKeys length", action: "DescribeInstances", request: map[string]any{"tagKeys": []string{strings.Repeat("k", metalplane.MaxTagLength+1)}}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances tags count", action: "DescribeInstances", request: map[string]any{"tags": tagFilters(metalplane.MaxTagFilters + 1)}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstances tag value length", action: "DescribeInstances", request: map[string]any{"tags": []any{map[string]any{"key": "k", "value": strings.Repeat("é", metalplane.MaxTagLength+1)}}}, want: "INVALID_PARAMETER"},

			{name: "StartInstances instanceIds count", action: "StartInstances", request: map[string]any{"instanceIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "StopInstances instanceId length", action: "StopInstances", request: map[string]any{"instanceIds": []string{longID}}, want: "INVALID_PARAMETER"},
			{name: "ReinstallInstance instanceId", action: "ReinstallInstance", request: map[string]any{"instanceId": longID}, want: "INVALID_PARAMETER"},
			{name: "ReinstallInstance keyId", action: "ReinstallInstance", request: map[string]any{"instanceId": "1", "keyId": longID}, want: "INVALID_PARAMETER"},
			{name: "TerminateInstance instanceId", action: "TerminateInstance", request: map[string]any{"instanceId": longID}, want: "INVALID_PARAMETER"},
			{name: "RenewInstance instanceId", action: "RenewInstance", request: map[string]any{"instanceId": longID}, want: "INVALID_PARAMETER"},
			{name: "ReleaseInstances instanceIds count", action: "ReleaseInstances", request: map[string]any{"instanceIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "ModifyInstancesAttribute instanceIds", action: "ModifyInstancesAttribute", request: map[string]any{"instanceIds": []string{longID}, "instanceName": "web"}, want: "INVALID_PARAMETER"},
			{name: "ModifyInstancesResourceGroup resourceGroupId", action: "ModifyInstancesResourceGroup", request: map[string]any{"instanceIds": []string{"1"}, "resourceGroupId": longID}, want: "INVALID_PARAMETER"},

			{name: "CreateSubnet zoneId", action: "CreateSubnet", request: map[string]any{"zoneId": longID, "cidrBlock": "10.0.0.0/24", "subnetName": "net"}, want: "INVALID_PARAMETER"},
			{name: "CreateSubnet vpcId", action: "CreateSubnet", request: map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.0.0/24", "subnetName": "net", "vpcId": longID}, want: "INVALID_PARAMETER"},
			{name: "CreateSubnet cidrBlock", action: "CreateSubnet", request: map[string]any{"zoneId": "SEL-A", "cidrBlock": strings.Repeat("1", 100_000), "subnetName": "net"}, want: "INVALID_PARAMETER_SUBNET_CIDR_BLOCK"},
			{name: "DescribeSubnets subnetIds count", action: "DescribeSubnets", request: map[string]any{"subnetIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeSubnets subnetName", action: "DescribeSubnets", request: map[string]any{"subnetName": strings.Repeat("s", metalplane.MaxSubnetNameLength+1)}, want: "INVALID_PARAMETER"},
			{name: "DeleteSubnet subnetId", action: "DeleteSubnet", request: map[string]any{"subnetId": longID}, want: "INVALID_PARAMETER"},
			{name: "AssociateSubnetInstances privateIpAddress", action: "AssociateSubnetInstances", request: map[string]any{"subnetId": "1", "subnetInstanceList": []any{map[string]any{"instanceId": "1", "privateIpAddress": longID}}}, want: "INVALID_PARAMETER"},
			{name: "UnAssociateSubnetInstance instanceId", action: "UnAssociateSubnetInstance", request: map[string]any{"subnetId": "1", "instanceId": longID}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstanceInternetStatus instanceId", action: "DescribeInstanceInternetStatus", request: map[string]any{"instanceId": longID}, want: "INVALID_PARAMETER"},
			{name: "ModifyInstanceBandwidth instanceId", action: "ModifyInstanceBandwidth", request: map[string]any{"instanceId": longID, "bandwidthOutMbps": 10}, want: "INVALID_PARAMETER"},
			{name: "DescribeInstancesMonitorHealth instanceIds count", action: "DescribeInstancesMonitorHealth", request: map[string]any{"instanceIds": ids(11)}, want: "INVALID_PARAMETER"},

			{name: "ImportKeyPair publicKey text", client: "ccs", action: "ImportKeyPair", request: map[string]any{"keyName": "big", "publicKey": key + strings.Repeat("\n", metalplane.MaxPublicKeyBytes)}, want: "INVALID_PUBLIC_KEY_MALFORMED"},
			{name: "ImportKeyPair publicKey line", client: "ccs", action: "ImportKeyPair", request: map[string]any{"keyName": "big", "publicKey": key + " " + strings.Repeat("c", metalplane.MaxPublicKeyLineBytes)}, want: "INVALID_PUBLIC_KEY_MALFORMED"},
			{name: "DescribeKeyPairs keyIds count", client: "ccs", action: "DescribeKeyPairs", request: map[string]any{"keyIds": ids(101)}, want: "INVALID_PARAMETER"},
			{name: "DescribeKeyPairs keyName", client: "ccs", action: "DescribeKeyPairs", request: map[string]any{"keyName": strings.Repeat("k", metalplane.MaxKeyNameLength+1)}, want: "INVALID_PARAMETER"},
			{name: "ModifyKeyPairAttribute keyId", client: "ccs", action: "ModifyKeyPairAttribute", request: map[string]any{"keyId": longID, "keyDescription": "d"}, want: "INVALID_PARAMETER"},
			{name: "DeleteKeyPairs keyIds count", client: "ccs", action: "DeleteKeyPairs", request: map[string]any{"keyIds": ids(101)}, want: "INVALID_PARAMETER"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := env.BMC()
				switch tc.client {
				case "bmc2022":
					c = env.BMC2022()
				case "ccs":
					c = env.CCS()
				}
				err := callAction(ctx, c, tc.action, tc.request)
				apitest.ExpectCode(t, err, tc.want)
				if msg := err.Error(); len(msg) > 1000 {
					t.Errorf("got a %d-byte message, want a short one that does not repeat the value", len(msg))
				}
			})
		}
		expectNothingBought(t, env, balanceBefore)
	})
}

// TestRequestLimitsReached sends every limit exactly reached: the requests
// are valid and answered.
func TestRequestLimitsReached(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		idAtLimit := strings.Repeat("9", metalplane.MaxIDLength)
		ids := make([]string, metalplane.MaxListItems)
		for i := range ids {
			ids[i] = idAtLimit[:metalplane.MaxIDLength-3] + fmt.Sprintf("%03d", i)
		}
		tagKeys := make([]string, metalplane.MaxTagFilters)
		tags := make([]any, metalplane.MaxTagFilters)
		for i := range tagKeys {
			tagKeys[i] = fmt.Sprintf("%03d", i) + strings.Repeat("é", metalplane.MaxTagLength-3)
			tags[i] = map[string]any{"key": tagKeys[i], "value": strings.Repeat("v", metalplane.MaxTagLength)}
		}
		var out describeResponse
		err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{
			"instanceIds": ids, "tagKeys": tagKeys, "tags": tags, "subnetId": idAtLimit,
			"instanceName": strings.Repeat("n", metalplane.MaxNameLength) + "*",
		}, &out)
		if err != nil {
			t.Fatalf("DescribeInstances at every limit: %v", err)
		}
		if err := env.CCS().Call(ctx, "DescribeKeyPairs", map[string]any{"keyIds": ids, "keyName": strings.Repeat("k", metalplane.MaxKeyNameLength)}, nil); err != nil {
			t.Fatalf("DescribeKeyPairs at every limit: %v", err)
		}
		if err := env.BMC().Call(ctx, "DescribeSubnets", map[string]any{"subnetIds": ids, "subnetName": strings.Repeat("s", metalplane.MaxSubnetNameLength)}, nil); err != nil {
			t.Fatalf("DescribeSubnets at every limit: %v", err)
		}
		if err := env.BMC().Call(ctx, "DescribeImages", map[string]any{"imageIds": ids, "imageName": strings.Repeat("i", metalplane.MaxImageNameLength)}, nil); err != nil {
			t.Fatalf("DescribeImages at every limit: %v", err)
		}

		// The longest linux layout and iPXE URL are bought and echoed.
		parts := manyPartitions(metalplane.MaxPartitions)
		parts[1] = part("/"+strings.Repeat("d", metalplane.MaxFsPathLength-1), "ext4", 1)
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": parts}), &created); err != nil {
			t.Fatalf("CreateInstances with %d partitions: %v", metalplane.MaxPartitions, err)
		}
		ipxe := "https://boot.example.com/" + strings.Repeat("a", metalplane.MaxIpxeURLLength-len("https://boot.example.com/"))
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"ipxeUrl": ipxe, "clusterId": idAtLimit}), nil); err != nil {
			t.Fatalf("CreateInstances with a %d-byte ipxeUrl: %v", len(ipxe), err)
		}
		if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"instanceIds": created.InstanceIDSet}, &out); err != nil {
			t.Fatal(err)
		}
		if got := len(out.DataSet[0]["partitions"].([]any)); got != metalplane.MaxPartitions {
			t.Errorf("got %d partitions back, want %d", got, metalplane.MaxPartitions)
		}
	})
}

// manyPartitions returns a linux layout of n partitions: / first, then
// /data1, /data2... of 1 GB each.
func manyPartitions(n int) []any {
	parts := []any{part("/", "ext4", 50)}
	for i := 1; i < n; i++ {
		parts = append(parts, part(fmt.Sprintf("/data%d", i), "ext4", 1))
	}
	return parts
}
