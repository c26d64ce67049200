package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
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

// apiTimePattern is the createTime/expiredTime format (ACTIONS.md §5.13).
var apiTimePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// asJSON returns v as encoding/json decodes it into an any, so a request
// value can be compared with what DescribeInstances answered.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// inquiryTotal asks InquiryPriceCreateInstance for req and returns the
// price of one instance: the discounted prices of the instance, every
// bandwidth item and the primary IP.
func inquiryTotal(t *testing.T, c *httpapi.Client, req map[string]any) metalplane.Money {
	t.Helper()
	type item struct {
		DiscountPrice *float64 `json:"discountPrice"`
	}
	var out struct {
		InstancePrice  item   `json:"instancePrice"`
		BandwidthPrice []item `json:"bandwidthPrice"`
		PrimaryIPPrice item   `json:"primaryIpPrice"`
	}
	if err := c.Call(context.Background(), "InquiryPriceCreateInstance", req, &out); err != nil {
		t.Fatalf("InquiryPriceCreateInstance: %v", err)
	}
	var total metalplane.Money
	for _, it := range append([]item{out.InstancePrice, out.PrimaryIPPrice}, out.BandwidthPrice...) {
		if it.DiscountPrice == nil {
			t.Fatalf("got a PREPAID price item without discountPrice: %+v", out)
		}
		total += metalplane.Money(math.Round(*it.DiscountPrice * metalplane.MoneyScale))
	}
	return total
}

// describeRaw calls DescribeInstances for ids and returns the raw body and
// the decoded instances by ID.
func describeRaw(t *testing.T, c *httpapi.Client, ids []string) ([]byte, map[string]map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"instanceIds": ids})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.Do(context.Background(), "DescribeInstances", body)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Response describeResponse `json:"response"`
	}
	if err := json.Unmarshal(raw.Body, &env); err != nil || raw.Status != 200 {
		t.Fatalf("DescribeInstances: HTTP %d %s (%v)", raw.Status, raw.Body, err)
	}
	byID := map[string]map[string]any{}
	for _, d := range env.Response.DataSet {
		byID[d["instanceId"].(string)] = d
	}
	for _, id := range ids {
		if byID[id] == nil {
			t.Fatalf("DescribeInstances has no %s", id)
		}
	}
	return raw.Body, byID
}

// TestCreateInstancesEchoesFields creates instances with every field set,
// on 2022-11-20 (password, custom RAID, partitions, NIC, tags, subnet,
// traffic package, userData) and on 2026-02-01 (keyId, quick RAID,
// resource group, gateway mode, no IPv6), and checks that DescribeInstances
// echoes each field as ACTIONS.md §3.1.10 and §3.2 say, never returns the
// password or userData, sets expiredTime once RUNNING, and that the
// balance dropped by exactly the quoted price.
func TestCreateInstancesEchoesFields(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		c22, c26 := env.BMC2022(), env.BMC()

		var offers struct {
			AvailableResources []struct {
				InternetChargeTypes []string `json:"internetChargeTypes"`
			} `json:"availableResources"`
		}
		if err := c26.Call(ctx, "DescribeAvailableResources", map[string]any{"instanceChargeType": "PREPAID", "zoneId": "SEL-A", "instanceTypeId": "M6C"}, &offers); err != nil {
			t.Fatal(err)
		}
		if len(offers.AvailableResources) != 1 || !slices.Contains(offers.AvailableResources[0].InternetChargeTypes, "ByTrafficPackage") {
			t.Fatalf("got offers %+v, want SEL-A M6C with ByTrafficPackage", offers)
		}

		subnetID := createSubnet(t, c26, "SEL-A", "192.168.10.0/24")
		keyID := importKeyPair(t, env.CCS(), "deploy")
		updateTeam(t, env, env.Team.ID, sqlstore.TeamUpdate{GatewayModeAllowed: ptr(true)})
		group, err := env.DB.CreateResourceGroup(ctx, env.Team.ID, "database-tier")
		if err != nil {
			t.Fatal(err)
		}
		defaultGroup, err := env.DB.DefaultResourceGroup(ctx, env.Team.ID)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("duplicate sshKeys on 2022", func(t *testing.T) {
			key := newAuthorizedKey(t, "one@test")
			sameKeyOtherComment := strings.Join(strings.Fields(key)[:2], " ") + " two@test"
			for _, keys := range [][]string{{key, key}, {key, sameKeyOtherComment}} {
				err := c22.Call(ctx, "CreateInstances", postpaidWith(map[string]any{"imageId": demoImageCentOS79, "sshKeys": keys}), nil)
				apitest.ExpectCode(t, err, "INVALID_PARAMETER_SSH_KEY_DUPLICATE")
			}
		})

		balanceBefore, _ := teamMoney(t, env, env.Team.ID)

		// 2022-11-20: everything but a key pair.
		const password = "Echo~Pass123"
		marker := "userdata-marker-" + metalplane.NewSecret()[:12]
		userData := "#!/bin/sh\necho " + marker + "\n"
		userData += strings.Repeat("#", metalplane.MaxUserDataBytes-len(userData)) // exactly 32 KB
		wideValue := strings.Repeat("é", 128)                                      // 128 characters, 256 bytes
		raid22 := map[string]any{"customRaids": []any{customRaid(1, 1, 2)}}
		parts22 := []any{part("/", "ext4", 100), part("/data", "ext3", 500)}
		nic22 := map[string]any{"wanName": "pub0", "lanName": "priv0"}
		tags22 := tagsOf("env", "prod", "owner", wideValue)
		req22 := map[string]any{
			"zoneId": "SEL-A", "instanceTypeId": "M6C", "amount": 2,
			"instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 2},
			"internetChargeType": "ByTrafficPackage", "internetMaxBandwidthOut": 50, "trafficPackageSize": 12.5,
			"imageId": demoImageCentOS79, "password": password,
			"instanceName": "web-[1,2]", "hostname": "node[0,3].dc[5,1]",
			"raidConfig": raid22, "partitions": parts22, "nic": nic22, "tags": tags22,
			"subnetId": subnetID, "userData": userData,
		}
		price22 := inquiryTotal(t, c26, map[string]any{
			"zoneId": "SEL-A", "instanceTypeId": "M6C", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 2},
			"internetChargeType": "ByTrafficPackage", "internetMaxBandwidthOut": 50, "trafficPackageSize": 12.5,
		})

		// 2026-02-01: a key pair, quick RAID, another group, gateway mode.
		raid26 := map[string]any{"raidType": 10}
		tags26 := tagsOf("tier", "db")
		req26 := map[string]any{
			"zoneId": "SEL-A", "instanceTypeId": "M9E",
			"instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
			"internetChargeType": "ByInstanceBandwidth95", "internetMaxBandwidthOut": 200,
			"imageId": demoImageUbuntu2204, "keyId": keyID,
			"instanceName": "db", "hostname": "db-primary.example",
			"raidConfig": raid26, "resourceGroupId": group.ID, "tags": tags26,
			"enableGatewayMode": true, "enablePrimaryIPv6": false,
		}
		price26 := inquiryTotal(t, c26, map[string]any{
			"zoneId": "SEL-A", "instanceTypeId": "M9E", "instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1},
			"internetChargeType": "ByInstanceBandwidth95", "internetMaxBandwidthOut": 200,
		})

		start := time.Now().UTC().Truncate(time.Second)
		var created22, created26 createResponse
		if err := c22.Call(ctx, "CreateInstances", req22, &created22); err != nil {
			t.Fatalf("CreateInstances on 2022-11-20: %v", err)
		}
		if err := c26.Call(ctx, "CreateInstances", req26, &created26); err != nil {
			t.Fatalf("CreateInstances on 2026-02-01: %v", err)
		}
		end := time.Now().UTC()
		if len(created22.InstanceIDSet) != 2 || created22.OrderNumber == "" || len(created26.InstanceIDSet) != 1 || created26.OrderNumber == "" {
			t.Fatalf("got %+v and %+v, want 2 and 1 IDs with order numbers", created22, created26)
		}

		balance, ledger := teamMoney(t, env, env.Team.ID)
		if want := balanceBefore - 2*price22 - price26; balance != want {
			t.Errorf("got balance %s, want %s - 2 × %s - %s = %s", balance, balanceBefore, price22, price26, want)
		}
		if ledger != balance {
			t.Errorf("got ledger sum %s, want the balance %s", ledger, balance)
		}

		ids := append(slices.Clone(created22.InstanceIDSet), created26.InstanceIDSet...)
		check := func(t *testing.T, c *httpapi.Client, running bool) {
			t.Helper()
			raw, byID := describeRaw(t, c, ids)
			if bytes.Contains(raw, []byte(password)) || bytes.Contains(raw, []byte(marker)) {
				t.Errorf("DescribeInstances returned the password or the userData")
			}
			seenIPs := map[string]bool{}
			for i, id := range created22.InstanceIDSet {
				d := byID[id]
				expectInstance(t, d, want{
					zone: "SEL-A", typ: "M6C", charge: "PREPAID", internet: "ByTrafficPackage", bandwidth: 50, period: 2,
					name: []string{"web-01", "web-02"}[i], hostname: []string{"node000.dc5", "node001.dc6"}[i],
					imageID: demoImageCentOS79, imageName: "CentOS7.9-x86_64",
					raid: asJSON(t, raid22), partitions: asJSON(t, parts22), nic: asJSON(t, nic22), tags: asJSON(t, tags22),
					groupID: defaultGroup.ID, groupName: defaultGroup.Name, traffic: ptr(12.5), ipv6: true,
				}, start, end, running)
				if got := d["subnetIds"]; !cmp.Equal(got, []any{subnetID}) {
					t.Errorf("%s: got subnetIds %v, want [%s]", id, got, subnetID)
				}
				ips, _ := d["privateIpAddresses"].([]any)
				if len(ips) != 1 {
					t.Errorf("%s: got privateIpAddresses %v, want one address", id, d["privateIpAddresses"])
					continue
				}
				addr, err := netip.ParseAddr(ips[0].(string))
				if err != nil || !netip.MustParsePrefix("192.168.10.0/24").Contains(addr) || seenIPs[addr.String()] {
					t.Errorf("%s: got private IP %v, want a new address of 192.168.10.0/24", id, ips[0])
				}
				seenIPs[addr.String()] = true
			}
			d := byID[created26.InstanceIDSet[0]]
			expectInstance(t, d, want{
				zone: "SEL-A", typ: "M9E", charge: "PREPAID", internet: "ByInstanceBandwidth95", bandwidth: 200, period: 1,
				name: "db", hostname: "db-primary.example", imageID: demoImageUbuntu2204, imageName: "Ubuntu22.04-x86_64",
				raid: asJSON(t, raid26), partitions: []any{}, nic: map[string]any{"wanName": "wan0", "lanName": "lan0"}, tags: asJSON(t, tags26),
				groupID: group.ID, groupName: "database-tier", keyID: keyID, gateway: true,
			}, start, end, running)
			if got := d["subnetIds"]; !cmp.Equal(got, []any{}) {
				t.Errorf("got subnetIds %v, want []", got)
			}
		}

		t.Run("pending on 2026-02-01", func(t *testing.T) { check(t, c26, false) })
		t.Run("pending on 2022-11-20", func(t *testing.T) { check(t, c22, false) })
		waitStatus(t, env, ids, "RUNNING")
		t.Run("running on 2026-02-01", func(t *testing.T) { check(t, c26, true) })
		t.Run("running on 2022-11-20", func(t *testing.T) { check(t, c22, true) })

		if after, ledger := teamMoney(t, env, env.Team.ID); after != balance || ledger != after {
			t.Errorf("once RUNNING: got balance %s and ledger sum %s, want %s for both", after, ledger, balance)
		}
	})
}

// want is what one InstanceInfo must hold.
type want struct {
	zone, typ, charge, internet string
	bandwidth, period           int
	name, hostname              string
	imageID, imageName          string
	raid, partitions, nic, tags any // as JSON decodes them
	groupID, groupName, keyID   string
	traffic                     *float64 // nil: absent or null
	ipv6, gateway               bool
}

// expectInstance compares d with w. Once running, a PREPAID instance must
// expire period months after its createTime.
func expectInstance(t *testing.T, d map[string]any, w want, start, end time.Time, running bool) {
	t.Helper()
	id := d["instanceId"]
	for _, f := range []struct {
		field string
		want  any
	}{
		{"zoneId", w.zone}, {"instanceTypeId", w.typ}, {"instanceChargeType", w.charge}, {"internetChargeType", w.internet},
		{"bandwidthOutMbps", float64(w.bandwidth)}, {"period", float64(w.period)}, {"autoRenew", true},
		{"instanceName", w.name}, {"hostname", w.hostname}, {"imageId", w.imageID}, {"imageName", w.imageName},
		{"raidConfig", w.raid}, {"partitions", w.partitions}, {"nic", w.nic}, {"tags", w.tags},
		{"resourceGroupId", w.groupID}, {"resourceGroupName", w.groupName}, {"enableGatewayMode", w.gateway},
	} {
		if diff := cmp.Diff(f.want, d[f.field]); diff != "" {
			t.Errorf("%s: %s differs (-want +got):\n%s", id, f.field, diff)
		}
	}
	if w.keyID == "" {
		if d["keyId"] != nil {
			t.Errorf("%s: got keyId %v, want null", id, d["keyId"])
		}
	} else if d["keyId"] != w.keyID {
		t.Errorf("%s: got keyId %v, want %s", id, d["keyId"], w.keyID)
	}
	if w.traffic == nil {
		if d["trafficPackageSize"] != nil {
			t.Errorf("%s: got trafficPackageSize %v, want null", id, d["trafficPackageSize"])
		}
	} else if d["trafficPackageSize"] != *w.traffic {
		t.Errorf("%s: got trafficPackageSize %v, want %v", id, d["trafficPackageSize"], *w.traffic)
	}
	if hasIPv6 := d["primaryPublicIPv6Address"] != nil; hasIPv6 != w.ipv6 {
		t.Errorf("%s: got primaryPublicIPv6Address %v, want one: %v", id, d["primaryPublicIPv6Address"], w.ipv6)
	}
	for _, field := range []string{"password", "userData", "sshKeys"} {
		if _, ok := d[field]; ok {
			t.Errorf("%s: DescribeInstances returned %s", id, field)
		}
	}

	createTime, _ := d["createTime"].(string)
	created, err := time.Parse(time.RFC3339, createTime)
	if !apiTimePattern.MatchString(createTime) || err != nil {
		t.Errorf("%s: got createTime %q, want YYYY-MM-DDTHH:MM:SSZ", id, createTime)
		return
	}
	if created.Before(start) || created.After(end) {
		t.Errorf("%s: got createTime %s, want between %s and %s", id, createTime, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	if !running {
		return
	}
	if d["instanceStatus"] != "RUNNING" {
		t.Errorf("%s: got status %v, want RUNNING", id, d["instanceStatus"])
	}
	wantExpiry := created.AddDate(0, w.period, 0).Format("2006-01-02T15:04:05Z")
	if d["expiredTime"] != wantExpiry {
		t.Errorf("%s: got expiredTime %v, want createTime %s + %d months = %s", id, d["expiredTime"], createTime, w.period, wantExpiry)
	}
}
