package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
)

// Regression tests of issue 11, findings 3 (unbounded input), 4 (NUL
// answered 500 on PostgreSQL, truncated on SQLite) and 7 (JSON looser than
// PROTOCOL.md §9). Every request goes through the HTTP API on both
// databases, and every refusal must leave nothing behind.

// callAction sends body as action and returns nil on 200 or the *APIError.
// A []byte body goes out verbatim (so tests can send bytes json.Marshal
// would repair); anything else is marshalled.
func callAction(ctx context.Context, c *httpapi.Client, action string, body any) error {
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	resp, err := c.Do(ctx, action, raw)
	if err != nil {
		return err
	}
	if resp.Status == http.StatusOK {
		return nil
	}
	var env struct{ Code, Message string }
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return fmt.Errorf("HTTP %d body %q: %v", resp.Status, resp.Body, err)
	}
	return &httpapi.APIError{Status: resp.Status, Code: metalplane.Code(env.Code), Message: env.Message}
}

// jsonObject writes a JSON object whose members are given in order, as
// raw JSON values, so a test can repeat a key or spell it oddly.
func jsonObject(members ...string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(members); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", members[i], members[i+1])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// minimalCreateMembers is minimalCreate as jsonObject members.
var minimalCreateMembers = []string{
	"zoneId", `"SEL-A"`, "instanceChargeType", `"POSTPAID"`, "instanceTypeId", `"M6C"`, "internetChargeType", `"ByBandwidth"`,
}

func withMembers(extra ...string) []byte {
	return jsonObject(append(append([]string{}, minimalCreateMembers...), extra...)...)
}

// expectNothingBought checks what a customer would: no instance, the same
// balance.
func expectNothingBought(t *testing.T, env *apitest.Env, balanceBefore metalplane.Money) {
	t.Helper()
	if n := countInstances(t, env.BMC()); n != 0 {
		t.Errorf("got totalCount %d after refused purchases, want 0", n)
	}
	if balance, _ := teamMoney(t, env, env.Team.ID); balance != balanceBefore {
		t.Errorf("got balance %s, want %s as before", balance, balanceBefore)
	}
}

// TestCreateTagFloodRefused is finding 3: one 1 MiB CreateInstances with
// 38,000 tags and amount 50 used to write 1.9 M tag rows and hold the
// writer for 41.7 s. It must be refused before anything is written; 20
// tags (the limit) still buy a server that reports all of them.
func TestCreateTagFloodRefused(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		var tags bytes.Buffer
		for i := range 38000 {
			if i > 0 {
				tags.WriteByte(',')
			}
			fmt.Fprintf(&tags, `{"key":%q,"value":"v"}`, strconv.FormatInt(int64(i), 36))
		}
		body := withMembers("amount", "50", "tags", `{"tags":[`+tags.String()+`]}`)
		if len(body) > httpapi.DefaultMaxBodyBytes {
			t.Fatalf("test body is %d bytes, more than the %d the server reads", len(body), httpapi.DefaultMaxBodyBytes)
		}
		apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", body), "INVALID_PARAMETER")

		over := make([]string, 2*(metalplane.MaxTagsPerInstance+1))
		for i := range metalplane.MaxTagsPerInstance + 1 {
			over[2*i], over[2*i+1] = fmt.Sprintf("key%d", i), "v"
		}
		apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", postpaidWith(map[string]any{"tags": tagsOf(over...)})), "INVALID_PARAMETER")
		expectNothingBought(t, env, balanceBefore)

		atLimit := over[:2*metalplane.MaxTagsPerInstance]
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		if err := env.BMC().Call(ctx, "CreateInstances", postpaidWith(map[string]any{"tags": tagsOf(atLimit...)}), &created); err != nil {
			t.Fatalf("CreateInstances with %d tags: %v", metalplane.MaxTagsPerInstance, err)
		}
		var out describeResponse
		if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"instanceIds": created.InstanceIDSet}, &out); err != nil {
			t.Fatal(err)
		}
		got := out.DataSet[0]["tags"].(map[string]any)["tags"].([]any)
		if len(got) != metalplane.MaxTagsPerInstance {
			t.Errorf("got %d tags on the instance, want %d", len(got), metalplane.MaxTagsPerInstance)
		}
	})
}

// TestCreateClusterIDBounded is finding 3: a clusterId of 1,000,000
// characters was accepted and stored.
func TestCreateClusterIDBounded(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		cluster := func(id string) map[string]any {
			return postpaidWith(map[string]any{"instanceTypeId": "M9E", "internetChargeType": "ByBandwidthCluster", "clusterId": id})
		}
		apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", cluster(strings.Repeat("c", 1_000_000))), "INVALID_PARAMETER")
		apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", cluster(strings.Repeat("c", metalplane.MaxIDLength+1))), "INVALID_PARAMETER")
		// At the limit the length passes and the ID is looked up: no
		// bandwidth cluster of SEL-A has it (TestClusterIDChecked).
		err := callAction(ctx, env.BMC(), "CreateInstances", cluster(strings.Repeat("c", metalplane.MaxIDLength)))
		apitest.ExpectCode(t, err, "INVALID_PARAMETER")
		if msg := err.(*httpapi.APIError).Message; !strings.Contains(msg, "does not exist") {
			t.Fatalf("clusterId of %d characters: got %q, want the unknown-cluster refusal", metalplane.MaxIDLength, msg)
		}
		expectNothingBought(t, env, balanceBefore)
	})
}

// TestNULRefused is finding 4: "\u0000" in any string used to answer 500
// (SQLSTATE 22021) on PostgreSQL while SQLite stored or truncated it. Both
// must answer 400 INVALID_PARAMETER and keep nothing.
func TestNULRefused(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		key := newAuthorizedKey(t, "nul-test")
		cases := []struct {
			name    string
			ccs     bool
			action  string
			request map[string]any
		}{
			{name: "CreateInstances userData", action: "CreateInstances", request: postpaidWith(map[string]any{"userData": "#!/bin/sh\x00rm -rf /"})},
			{name: "CreateInstances tag key", action: "CreateInstances", request: postpaidWith(map[string]any{"tags": tagsOf("env\x00", "prod")})},
			{name: "CreateInstances tag value", action: "CreateInstances", request: postpaidWith(map[string]any{"tags": tagsOf("env", "\x00")})},
			{name: "CreateInstances resourceGroupId", action: "CreateInstances", request: postpaidWith(map[string]any{"resourceGroupId": "rg-\x00"})},
			{name: "DescribeInstances instanceIds", action: "DescribeInstances", request: map[string]any{"instanceIds": []string{"1\x002"}}},
			{name: "DescribeInstances resourceGroupId filter", action: "DescribeInstances", request: map[string]any{"resourceGroupId": "\x00"}},
			{name: "DescribeInstances instanceName filter", action: "DescribeInstances", request: map[string]any{"instanceName": "web\x00*"}},
			{name: "DescribeInstances tags filter", action: "DescribeInstances", request: map[string]any{"tags": []any{map[string]any{"key": "\x00", "value": "v"}}}},
			{name: "DescribeInstances tagKeys filter", action: "DescribeInstances", request: map[string]any{"tagKeys": []string{"\x00"}}},
			{name: "StartInstances instanceIds", action: "StartInstances", request: map[string]any{"instanceIds": []string{"\x00"}}},
			{name: "TerminateInstance instanceId", action: "TerminateInstance", request: map[string]any{"instanceId": "1\x00"}},
			{name: "DescribeSubnets subnetName filter", action: "DescribeSubnets", request: map[string]any{"subnetName": "net\x00"}},
			{name: "CreateSubnet resourceGroupId", action: "CreateSubnet", request: map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.0.0/24", "subnetName": "net", "resourceGroupId": "\x00"}},
			{name: "ImportKeyPair keyDescription", ccs: true, action: "ImportKeyPair", request: map[string]any{"keyName": "nul", "publicKey": key, "keyDescription": "a\x00b"}},
			{name: "DescribeKeyPairs keyName filter", ccs: true, action: "DescribeKeyPairs", request: map[string]any{"keyName": "\x00"}},
			{name: "unknown member", action: "DescribeZones", request: map[string]any{"comment": "\x00"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := env.BMC()
				if tc.ccs {
					c = env.CCS()
				}
				apitest.ExpectCode(t, callAction(ctx, c, tc.action, tc.request), "INVALID_PARAMETER")
			})
		}
		expectNothingBought(t, env, balanceBefore)
		var keys struct {
			TotalCount int `json:"totalCount"`
		}
		if err := env.CCS().Call(ctx, "DescribeKeyPairs", nil, &keys); err != nil || keys.TotalCount != 0 {
			t.Errorf("got %d key pairs (err %v) after a refused import, want 0", keys.TotalCount, err)
		}
	})
}

// TestInvalidUTF8Refused is finding 7: invalid UTF-8 used to be replaced
// silently with U+FFFD and stored. Anywhere in the body, even in a member
// the action ignores, it is refused.
func TestInvalidUTF8Refused(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		for name, body := range map[string][]byte{
			"in userData":         withMembers("userData", "\"echo \xff\xfe\""),
			"in a tag value":      withMembers("tags", "{\"tags\":[{\"key\":\"k\",\"value\":\"caf\xe9\"}]}"),
			"in an unknown key":   withMembers("note\xc3", `"x"`),
			"lone surrogate":      withMembers("userData", `"\ud800"`),
			"in an unknown value": withMembers("note", "\"\xed\xa0\x80\""),
		} {
			t.Run(name, func(t *testing.T) {
				apitest.ExpectCode(t, callAction(ctx, env.BMC(), "CreateInstances", body), "INVALID_PARAMETER")
			})
		}
		expectNothingBought(t, env, balanceBefore)
	})
}

// TestJSONKeysExactCase is finding 7: encoding/json matched "ZONEID" to
// zoneId and bought a server. Keys match exactly (PROTOCOL.md §9); a
// miscased key is an unknown key, ignored.
func TestJSONKeysExactCase(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		body := jsonObject("ZONEID", `"SEL-A"`, "instanceChargeType", `"POSTPAID"`, "instanceTypeId", `"M6C"`, "internetChargeType", `"ByBandwidth"`)
		err := callAction(ctx, env.BMC(), "CreateInstances", body)
		apitest.ExpectCode(t, err, "MISSING_PARAMETER")
		if !strings.Contains(err.(*httpapi.APIError).Message, "zoneId") {
			t.Errorf("got message %q, want it to name zoneId", err.(*httpapi.APIError).Message)
		}
		expectNothingBought(t, env, balanceBefore)

		// "Amount" is not amount: one server, not three.
		var created struct {
			InstanceIDSet []string `json:"instanceIdSet"`
		}
		resp, err := env.BMC().Do(ctx, "CreateInstances", withMembers("Amount", "3", "TAGS", `{"tags":[{"key":"a","value":"b"}]}`))
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("CreateInstances: %v %s", err, resp.Body)
		}
		var env2 struct {
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(resp.Body, &env2); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(env2.Response, &created); err != nil {
			t.Fatal(err)
		}
		if len(created.InstanceIDSet) != 1 {
			t.Fatalf("got %d instances for \"Amount\": 3, want 1 (the key is not amount)", len(created.InstanceIDSet))
		}
		var out describeResponse
		if err := env.BMC().Call(ctx, "DescribeInstances", map[string]any{"instanceIds": created.InstanceIDSet}, &out); err != nil {
			t.Fatal(err)
		}
		if tags := out.DataSet[0]["tags"].(map[string]any)["tags"].([]any); len(tags) != 0 {
			t.Errorf("got tags %v from a \"TAGS\" key, want none", tags)
		}
	})
}

// TestJSONDuplicateKeysRefused is finding 7: a repeated key used to be
// accepted, the last one winning, so a proxy or log reading the first saw
// another request than the one served.
func TestJSONDuplicateKeysRefused(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		balanceBefore, _ := teamMoney(t, env, env.Team.ID)
		for name, body := range map[string][]byte{
			"same value":        withMembers("zoneId", `"SEL-A"`),
			"other value":       withMembers("instanceTypeId", `"M9E"`),
			"nested":            withMembers("tags", `{"tags":[{"key":"a","key":"b","value":"v"}]}`),
			"unknown key twice": withMembers("note", `1`, "note", `2`),
		} {
			t.Run(name, func(t *testing.T) {
				err := callAction(ctx, env.BMC(), "CreateInstances", body)
				apitest.ExpectCode(t, err, "INVALID_PARAMETER")
			})
		}
		expectNothingBought(t, env, balanceBefore)
	})
}

// TestDescribeInstancesHugePageNum: (pageNum-1)×pageSize used to overflow
// into a negative OFFSET, which PostgreSQL refuses (a 500) and SQLite
// reads as 0 (the first page again). A page beyond the last is empty, with
// the real totalCount (PROTOCOL.md §10), however far beyond.
func TestDescribeInstancesHugePageNum(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ctx := context.Background()
		if err := env.BMC().Call(ctx, "CreateInstances", minimalCreate(), nil); err != nil {
			t.Fatal(err)
		}
		for _, page := range []map[string]any{
			{"pageNum": math.MaxInt64, "pageSize": 1000},
			{"pageNum": 1<<62 + 2, "pageSize": 2},
		} {
			var out describeResponse
			if err := env.BMC().Call(ctx, "DescribeInstances", page, &out); err != nil {
				t.Fatalf("%v: %v", page, err)
			}
			if out.TotalCount != 1 || len(out.DataSet) != 0 {
				t.Errorf("%v: got totalCount %d with %d items, want 1 and 0", page, out.TotalCount, len(out.DataSet))
			}
		}
	})
}

// TestCredentialNotUTF8: the access key id of the Authorization header is
// looked up in the database, and PostgreSQL answered 500 for one that is
// not UTF-8 (HTTP headers may carry any byte above 0x7f). It is a
// malformed header, 401 on both databases.
func TestCredentialNotUTF8(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		status, out := rawCall(t, env, "bmc", "DescribeZones", httpapi.BMCVersion2026, []byte("{}"), func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), env.Key.ID, "\xff\xfe", 1))
		})
		if code, _ := out["code"].(string); code != "AUTH_FAILURE" || status != http.StatusUnauthorized {
			t.Fatalf("got %v (HTTP %d), want AUTH_FAILURE (HTTP 401)", out["code"], status)
		}
	})
}
