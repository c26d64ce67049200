package httpapi

import (
	stdjson "encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/metalplane/metalplane"
)

// Fuzz targets of the wire layer (scripts/fuzz.sh runs each for a while;
// plain go test runs their seeds and testdata/fuzz corpus).

// FuzzDecodeRequest feeds bodies to the strict decoder. A refusal must be
// INVALID_PARAMETER with a short message; an accepted body must be a JSON
// object that encoding/json also calls valid, in valid UTF-8, without a
// repeated key, without NUL in any decoded string, and must decode again
// to the same value after encoding/json (the Go client) re-encodes it.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"zoneId":"SEL-A","instanceChargeType":"POSTPAID","instanceTypeId":"M6C","internetChargeType":"ByBandwidth"}`,
		`{"ZONEID":"SEL-A","zoneId":"SEL-B"}`,
		`{"zoneId":"a","zoneId":"b"}`,
		`{"tags":{"tags":[{"key":"k","value":"v"},{"key":"k","key":"v"}]}}`,
		`{"userData":"a\u0000b"}`,
		`{"userData":"C:\\u0000"}`,
		"{\"userData\":\"\xff\"}",
		`{"userData":"\ud800"}`,
		`{"amount":"2","partitions":{},"raidConfig":{"customRaids":[{"raidType":1,"diskSequence":[1,2]}]}}`,
		`{"amount":1e400,"trafficPackageSize":-0.0}`,
		`{"sshKeys":["ssh-ed25519 AAAA"],"nic":{"wanName":"wan0"},"marketingOptions":{"usePocVoucher":true}}`,
		`{"a":{"b":{"c":[[[{"d":null}]]]}}}`,
		` {"x":1} `,
		`[1]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in metalplane.CreateInstancesInput
		err := decodeRequest(body, &in)
		if err != nil {
			var apiErr *metalplane.Error
			if !errors.As(err, &apiErr) || apiErr.Code != "INVALID_PARAMETER" {
				t.Fatalf("got %v, want INVALID_PARAMETER", err)
			}
			if len(apiErr.Message) > 300 {
				t.Fatalf("got a %d-byte message", len(apiErr.Message))
			}
			return
		}
		if !utf8.Valid(body) || !stdjson.Valid(body) {
			t.Fatalf("accepted %q, which is not valid JSON in UTF-8", body)
		}
		if dup := repeatedKey(body); dup != "" {
			t.Fatalf("accepted %q, which repeats the key %q", body, dup)
		}
		eachString(reflect.ValueOf(in), func(s string) {
			if strings.ContainsRune(s, 0) {
				t.Fatalf("accepted %q, which decodes to a string holding NUL", body)
			}
		})
		again, err := stdjson.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var in2 metalplane.CreateInstancesInput
		if err := decodeRequest(again, &in2); err != nil {
			t.Fatalf("encoding/json's %s of an accepted value is refused: %v", again, err)
		}
		if !reflect.DeepEqual(in, in2) {
			t.Fatalf("decoded %+v, then %+v after a round trip through encoding/json", in, in2)
		}
	})
}

// repeatedKey returns a key given twice in one object of body, found with
// encoding/json's tokenizer (independent of the decoder under test), or ""
// when there is none or body is not JSON.
func repeatedKey(body []byte) string {
	dec := stdjson.NewDecoder(strings.NewReader(string(body)))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := func() *frame {
			if len(stack) == 0 {
				return nil
			}
			return stack[len(stack)-1]
		}
		f := top()
		switch v := tok.(type) {
		case stdjson.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if f != nil && f.object && f.key {
				if f.keys[v] {
					return v
				}
				f.keys[v] = true
				f.key = false
				continue
			}
		}
		// A value ended: the next token of an enclosing object is a key.
		if f = top(); f != nil && f.object {
			f.key = true
		}
	}
}

// eachString calls fn with every string reachable from v.
func eachString(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			eachString(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			eachString(v.Field(i), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			eachString(v.Index(i), fn)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			eachString(k, fn)
			eachString(v.MapIndex(k), fn)
		}
	}
}

// FuzzParseAuthorization feeds Authorization headers to the parser. It
// must not panic; what it accepts must be well formed (a printable ASCII
// credential, token header names in lower case, 64 lower-case hex digits)
// and must parse to the same value once written in the SDK's own form.
func FuzzParseAuthorization(f *testing.F) {
	sig := strings.Repeat("ab", 32)
	for _, seed := range []string{
		SignRequest("TESTKEYID0001", "TestSecretPassword123", "1700000000", "application/json", "127.0.0.1:8080", []byte("{}")),
		"ZC2-HMAC-SHA256 Credential=KEY, SignedHeaders=content-type;host, Signature=" + sig,
		"ZC2-HMAC-SHA256  Signature = " + strings.ToUpper(sig) + " ,Credential=KEY,SignedHeaders= Host ; Content-Type ",
		"ZC2-HMAC-SHA256 Credential=\xff\xfe, SignedHeaders=host, Signature=" + sig,
		"ZC2-HMAC-SHA256 Credential=a b, SignedHeaders=host;;x, Signature=" + sig,
		"ZC2-HMAC-SHA256 Credential=KEY, Credential=KEY, SignedHeaders=host, Signature=" + sig,
		"ZC2-HMAC-SHA256\tCredential=KEY=1,SignedHeaders=x-zc-action,Signature=" + sig,
		"Bearer token",
		"ZC2-HMAC-SHA256",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrMalformedAuthorization) {
				t.Fatalf("got %v, want an error wrapping ErrMalformedAuthorization", err)
			}
			return
		}
		if !sigIsCredential(a.Credential) || strings.Contains(a.Credential, ",") {
			t.Fatalf("accepted the credential %q", a.Credential)
		}
		if len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %q without signed headers", h)
		}
		for _, name := range a.SignedHeaders {
			if !sigIsToken(name) || name != strings.ToLower(name) {
				t.Fatalf("accepted the signed header name %q", name)
			}
		}
		if !sigIsHex64(a.Signature) || a.Signature != strings.ToLower(a.Signature) {
			t.Fatalf("accepted the signature %q", a.Signature)
		}
		canonical := SignatureMethod + " Credential=" + a.Credential + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
		b, err := ParseAuthorization(canonical)
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q parsed to %+v, but its canonical form %q to %+v (%v)", h, a, canonical, b, err)
		}
	})
}
