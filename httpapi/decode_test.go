package httpapi

import (
	"strings"
	"testing"

	"github.com/metalplane/metalplane"
)

// TestDecodeRequest checks the strict decoder on its own: what it refuses,
// with which message, and that it still fills what it accepts.
func TestDecodeRequest(t *testing.T) {
	cases := []struct {
		name string
		body string
		// wantMsg is a part of the INVALID_PARAMETER message; "" means
		// the body is accepted.
		wantMsg string
		check   func(t *testing.T, in *metalplane.CreateInstancesInput)
	}{
		{name: "exact keys", body: `{"zoneId":"SEL-A","amount":2}`, check: func(t *testing.T, in *metalplane.CreateInstancesInput) {
			if in.ZoneID == nil || *in.ZoneID != "SEL-A" || in.Amount == nil || *in.Amount != 2 {
				t.Errorf("got zoneId %v amount %v, want SEL-A and 2", in.ZoneID, in.Amount)
			}
		}},
		{name: "miscased key is unknown", body: `{"ZONEID":"SEL-A","ZoneId":"SEL-B","tags":{"Tags":[{"key":"a","value":"b"}]}}`, check: func(t *testing.T, in *metalplane.CreateInstancesInput) {
			if in.ZoneID != nil {
				t.Errorf("got zoneId %q from a miscased key, want none", *in.ZoneID)
			}
			if in.Tags == nil || len(in.Tags.Tags) != 0 {
				t.Errorf("got tags %+v from tags.Tags, want an empty association", in.Tags)
			}
		}},
		{name: "unknown keys ignored", body: `{"sshKeyz":[1,2],"zoneId":"SEL-A","extra":{"a":null}}`},
		{name: "escaped backslash before u0000 is no NUL", body: `{"userData":"C:\\u0000"}`, check: func(t *testing.T, in *metalplane.CreateInstancesInput) {
			if *in.UserData != `C:\u0000` {
				t.Errorf("got userData %q, want the six characters \\u0000 after C:", *in.UserData)
			}
		}},
		{name: "duplicate key", body: `{"zoneId":"SEL-A","zoneId":"SEL-A"}`, wantMsg: "The parameter zoneId is given twice."},
		{name: "duplicate nested key", body: `{"tags":{"tags":[{"key":"a","key":"b"}]}}`, wantMsg: "The parameter tags.tags[0].key is given twice."},
		{name: "duplicate unknown key", body: `{"x":1,"x":1}`, wantMsg: "The parameter x is given twice."},
		{name: "NUL in a value", body: `{"userData":"ab\u0000c"}`, wantMsg: "The parameter userData must not contain the NUL character"},
		{name: "NUL in a list", body: `{"sshKeys":["ok","\u0000"]}`, wantMsg: "The parameter sshKeys[1] must not contain"},
		{name: "NUL in a nested value", body: `{"tags":{"tags":[{"key":"k","value":"\u0000"}]}}`, wantMsg: "The parameter tags.tags[0].value must not contain"},
		{name: "NUL in a key", body: `{"nic":{"wan\u0000Name":"x"}}`, wantMsg: "A key in nic contains the NUL character"},
		{name: "invalid UTF-8", body: "{\"userData\":\"ok\xff\"}", wantMsg: "not valid UTF-8 (at byte 15)"},
		{name: "overlong UTF-8", body: "{\"userData\":\"\xc0\xaf\"}", wantMsg: "not valid UTF-8"},
		{name: "UTF-16 surrogate encoded in UTF-8", body: "{\"userData\":\"\xed\xa0\x80\"}", wantMsg: "not valid UTF-8"},
		{name: "lone surrogate escape", body: `{"userData":"\udc00"}`, wantMsg: "not valid JSON"},
		{name: "not an object", body: `["zoneId"]`, wantMsg: "must be a JSON object"},
		{name: "trailing data", body: `{"zoneId":"SEL-A"} {}`, wantMsg: "not valid JSON"},
		{name: "truncated", body: `{"zoneId":"SEL-A"`, wantMsg: "not valid JSON"},
		{name: "string for integer", body: `{"amount":"2"}`, wantMsg: "The parameter amount must be of type Integer, not a JSON string."},
		{name: "fraction for integer", body: `{"amount":1.5}`, wantMsg: "The parameter amount must be of type Integer, not a JSON number 1.5."},
		{name: "huge integer", body: `{"amount":99999999999999999999}`, wantMsg: "The parameter amount is out of range for type Integer."},
		{name: "number for string in a list", body: `{"tags":{"tags":[{"key":5}]}}`, wantMsg: "The parameter tags.tags[0].key must be of type String, not a JSON number"},
		{name: "array for object", body: `{"tags":[]}`, wantMsg: "The parameter tags must be of type Object, not a JSON array."},
		{name: "object for array", body: `{"partitions":{}}`, wantMsg: "The parameter partitions must be of type Array, not a JSON object."},
		{name: "bool for float", body: `{"trafficPackageSize":true}`, wantMsg: "The parameter trafficPackageSize must be of type Float, not a JSON bool."},
		{name: "long unknown path is cut", body: `{"` + strings.Repeat("k", 500) + `":"\u0000"}`, wantMsg: "kkk…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in metalplane.CreateInstancesInput
			err := decodeRequest([]byte(tc.body), &in)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("got %v, want the body accepted", err)
				}
				if tc.check != nil {
					tc.check(t, &in)
				}
				return
			}
			if code := metalplane.ErrorCode(err); code != "INVALID_PARAMETER" {
				t.Fatalf("got %v, want INVALID_PARAMETER", err)
			}
			if msg := metalplane.ErrorMessage(err); !strings.Contains(msg, tc.wantMsg) || len(msg) > 300 {
				t.Errorf("got message %q, want one containing %q", msg, tc.wantMsg)
			}
		})
	}
}
