package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/metalplane/metalplane/httpapi"
)

// The test vectors of PROTOCOL.md §4.4.
const (
	vecKeyID     = "TESTKEYID0001"
	vecSecret    = "TestSecretPassword123"
	vecTimestamp = "1700000000"
	vecType      = "application/json"
	vecBody      = `{"zoneId":"SEL-A","instanceChargeType":"POSTPAID","instanceTypeId":"M6C","internetChargeType":"ByBandwidth"}`
	vecBodyHash  = "209acc939ad6501eab4201ec53cbec2aa1dab22d86672d43fa824d39480691c0"
)

// sigVecHex returns the lower-case hex SHA-256 of s, to check the
// intermediate hashes of the vectors independently of the package.
func sigVecHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSignatureVectors(t *testing.T) {
	if len(vecBody) != 108 {
		t.Fatalf("got §4.4 body length %d, want 108", len(vecBody))
	}
	tests := []struct {
		name          string
		host          string
		body          string
		bodyHash      string
		canonicalHash string // empty when §4.4 does not give it
		signature     string
	}{
		{
			name:          "default domain",
			host:          "console.zenlayer.com",
			body:          vecBody,
			bodyHash:      vecBodyHash,
			canonicalHash: "276e9f577457100d565fffc9edd1340f89a38416d44f625f373704bf2b427fa6",
			signature:     "619e87a7f925deb0391d76dbd51852db7b8be25f323e691ba7fb3f69ccd28478",
		},
		{
			name:          "local domain with port",
			host:          "127.0.0.1:8080",
			body:          vecBody,
			bodyHash:      vecBodyHash,
			canonicalHash: "13528b03f5e987092673925fe649c62f65c64c6c730a5799742ae81d71de39ee",
			signature:     "6eaa8080d68d0c5aad77d9e34ffa50b7ec1b1e3da8ab01be148e844d8eee73cf",
		},
		{
			name:      "empty request",
			host:      "127.0.0.1:8080",
			body:      `{}`,
			bodyHash:  "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
			signature: "e64268224acd4cc5671d6e8c65d2fe93e1b50cba6715872fe61b5f7a91d3be29",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canonical := httpapi.CanonicalRequest([]string{"content-type", "host"},
				map[string]string{"content-type": vecType, "host": tt.host}, []byte(tt.body))
			if got := canonical[strings.LastIndexByte(canonical, '\n')+1:]; got != tt.bodyHash {
				t.Errorf("got body hash %s, want %s", got, tt.bodyHash)
			}
			if tt.canonicalHash != "" {
				if got := sigVecHex(canonical); got != tt.canonicalHash {
					t.Errorf("got canonical request hash %s, want %s", got, tt.canonicalHash)
				}
			}
			if got := httpapi.Sign(vecSecret, vecTimestamp, canonical); got != tt.signature {
				t.Errorf("got Sign %s, want %s", got, tt.signature)
			}
			want := "ZC2-HMAC-SHA256 Credential=TESTKEYID0001, SignedHeaders=content-type;host, Signature=" + tt.signature
			if got := httpapi.SignRequest(vecKeyID, vecSecret, vecTimestamp, vecType, tt.host, []byte(tt.body)); got != want {
				t.Errorf("got SignRequest %q, want %q", got, want)
			}
		})
	}
}

func TestCanonicalRequest(t *testing.T) {
	tests := []struct {
		name   string
		signed []string
		values map[string]string
		body   string
		want   string
	}{
		{
			name:   "PROTOCOL.md §4.4 text",
			signed: []string{"content-type", "host"},
			values: map[string]string{"content-type": vecType, "host": "console.zenlayer.com"},
			body:   vecBody,
			want: "POST\n/\n\n" +
				"content-type:application/json\n" +
				"host:console.zenlayer.com\n" +
				"\n" +
				"content-type;host\n" +
				vecBodyHash,
		},
		{
			name:   "names lower-cased, values trimmed, listed order kept",
			signed: []string{"Host", "X-ZC-Action", "Content-Type"},
			values: map[string]string{"host": " h:1 ", "x-zc-action": "\tCreateInstances", "content-type": "application/json; charset=utf-8 "},
			body:   `{}`,
			want: "POST\n/\n\n" +
				"host:h:1\n" +
				"x-zc-action:CreateInstances\n" +
				"content-type:application/json; charset=utf-8\n" +
				"\n" +
				"host;x-zc-action;content-type\n" +
				"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		},
		{
			name:   "value keyed by the listed name",
			signed: []string{"Content-Type"},
			values: map[string]string{"Content-Type": vecType},
			body:   "",
			want: "POST\n/\n\n" +
				"content-type:application/json\n" +
				"\n" +
				"content-type\n" +
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpapi.CanonicalRequest(tt.signed, tt.values, []byte(tt.body)); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	const sig = "619e87a7f925deb0391d76dbd51852db7b8be25f323e691ba7fb3f69ccd28478"
	good := httpapi.Authorization{Credential: vecKeyID, SignedHeaders: []string{"content-type", "host"}, Signature: sig}
	tests := []struct {
		name    string
		header  string
		want    httpapi.Authorization
		wantErr bool
	}{
		{name: "as the SDK writes it", header: "ZC2-HMAC-SHA256 Credential=TESTKEYID0001, SignedHeaders=content-type;host, Signature=" + sig, want: good},
		{name: "no spaces after commas", header: "ZC2-HMAC-SHA256 Credential=TESTKEYID0001,SignedHeaders=content-type;host,Signature=" + sig, want: good},
		{name: "extra spaces everywhere", header: "  ZC2-HMAC-SHA256    Credential = TESTKEYID0001 ,  SignedHeaders= content-type ; host  ,Signature =" + sig + "  ", want: good},
		{name: "tab after the algorithm", header: "ZC2-HMAC-SHA256\tCredential=TESTKEYID0001, SignedHeaders=content-type;host, Signature=" + sig, want: good},
		{name: "any order", header: "ZC2-HMAC-SHA256 Signature=" + sig + ", SignedHeaders=content-type;host, Credential=TESTKEYID0001", want: good},
		{name: "upper-case hex and header names", header: "ZC2-HMAC-SHA256 Credential=TESTKEYID0001, SignedHeaders=Content-Type;Host, Signature=" + strings.ToUpper(sig), want: good},
		{
			name:   "additional signed headers",
			header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host;x-zc-action, Signature=" + sig,
			want:   httpapi.Authorization{Credential: "K", SignedHeaders: []string{"content-type", "host", "x-zc-action"}, Signature: sig},
		},
		{name: "empty", header: "", wantErr: true},
		{name: "algorithm only", header: "ZC2-HMAC-SHA256", wantErr: true},
		{name: "algorithm and spaces only", header: "ZC2-HMAC-SHA256   ", wantErr: true},
		{name: "bearer", header: "Bearer abc", wantErr: true},
		{name: "other algorithm", header: "ZC1-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig, wantErr: true},
		{name: "lower-case algorithm", header: "zc2-hmac-sha256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig, wantErr: true},
		{name: "AWS style", header: "AWS4-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig, wantErr: true},
		{name: "missing credential", header: "ZC2-HMAC-SHA256 SignedHeaders=content-type;host, Signature=" + sig, wantErr: true},
		{name: "empty credential", header: "ZC2-HMAC-SHA256 Credential=, SignedHeaders=content-type;host, Signature=" + sig, wantErr: true},
		{name: "missing signed headers", header: "ZC2-HMAC-SHA256 Credential=K, Signature=" + sig, wantErr: true},
		{name: "empty signed headers", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=, Signature=" + sig, wantErr: true},
		{name: "empty signed header name", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;;host, Signature=" + sig, wantErr: true},
		{name: "missing signature", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host", wantErr: true},
		{name: "short signature", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig[:63], wantErr: true},
		{name: "long signature", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig + "0", wantErr: true},
		{name: "non-hex signature", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig[:63] + "g", wantErr: true},
		{name: "duplicate part", header: "ZC2-HMAC-SHA256 Credential=K, Credential=L, SignedHeaders=content-type;host, Signature=" + sig, wantErr: true},
		{name: "unknown part", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig + ", Region=x", wantErr: true},
		{name: "part without equals", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, " + sig, wantErr: true},
		{name: "trailing comma", header: "ZC2-HMAC-SHA256 Credential=K, SignedHeaders=content-type;host, Signature=" + sig + ",", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpapi.ParseAuthorization(tt.header)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, nil error, want an error", got)
				}
				if !errors.Is(err, httpapi.ErrMalformedAuthorization) {
					t.Errorf("got error %v, want one wrapping ErrMalformedAuthorization", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got.Credential != tt.want.Credential || got.Signature != tt.want.Signature || !slices.Equal(got.SignedHeaders, tt.want.SignedHeaders) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerifySignature(t *testing.T) {
	const host = "127.0.0.1:8080"
	auth, err := httpapi.ParseAuthorization(httpapi.SignRequest(vecKeyID, vecSecret, vecTimestamp, vecType, host, []byte(vecBody)))
	if err != nil {
		t.Fatalf("parse own authorization: %v", err)
	}
	// headers builds the header lookup the server passes, host standing in
	// for r.Host.
	headers := func(contentType, host string) func(string) string {
		return func(name string) string {
			switch name {
			case "content-type":
				return contentType
			case "host":
				return host
			}
			return ""
		}
	}
	upper := auth
	upper.Signature = strings.ToUpper(auth.Signature)
	// lowerSigned was computed, as the docs describe, over lower-cased values
	// while the request carries mixed-case ones.
	lowerSigned, err := httpapi.ParseAuthorization(httpapi.SignRequest(vecKeyID, vecSecret, vecTimestamp, vecType, "console.zenlayer.com", []byte(vecBody)))
	if err != nil {
		t.Fatalf("parse own authorization: %v", err)
	}
	mixedSigned, err := httpapi.ParseAuthorization(httpapi.SignRequest(vecKeyID, vecSecret, vecTimestamp, "Application/JSON", "Console.Zenlayer.com", []byte(vecBody)))
	if err != nil {
		t.Fatalf("parse own authorization: %v", err)
	}
	extra := httpapi.Authorization{
		Credential:    vecKeyID,
		SignedHeaders: []string{"content-type", "host", "x-zc-action"},
		Signature: httpapi.Sign(vecSecret, vecTimestamp, httpapi.CanonicalRequest(
			[]string{"content-type", "host", "x-zc-action"},
			map[string]string{"content-type": vecType, "host": host, "x-zc-action": "CreateInstances"},
			[]byte(vecBody))),
	}
	extraHeaders := func(action string) func(string) string {
		return func(name string) string {
			if name == "x-zc-action" {
				return action
			}
			return headers(vecType, host)(name)
		}
	}

	tests := []struct {
		name      string
		auth      httpapi.Authorization
		secret    string
		timestamp string
		header    func(string) string
		body      string
		want      bool
	}{
		{name: "valid", auth: auth, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, host), body: vecBody, want: true},
		{name: "upper-case hex signature", auth: upper, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, host), body: vecBody, want: true},
		{name: "tampered body", auth: auth, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, host), body: strings.Replace(vecBody, "SEL-A", "SEL-B", 1)},
		{name: "body re-serialised with spaces", auth: auth, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, host), body: strings.ReplaceAll(vecBody, ",", ", ")},
		{name: "tampered host", auth: auth, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, "127.0.0.1:8081"), body: vecBody},
		{name: "tampered content type", auth: auth, secret: vecSecret, timestamp: vecTimestamp, header: headers("application/json; charset=utf-8", host), body: vecBody},
		{name: "tampered timestamp", auth: auth, secret: vecSecret, timestamp: "1700000001", header: headers(vecType, host), body: vecBody},
		{name: "wrong secret", auth: auth, secret: vecSecret + "x", timestamp: vecTimestamp, header: headers(vecType, host), body: vecBody},
		{name: "empty secret", auth: auth, secret: "", timestamp: vecTimestamp, header: headers(vecType, host), body: vecBody},
		{name: "signed lower-case, sent mixed case: retry succeeds", auth: lowerSigned, secret: vecSecret, timestamp: vecTimestamp, header: headers("Application/JSON", "Console.Zenlayer.com"), body: vecBody, want: true},
		{name: "signed mixed case as sent: first try succeeds", auth: mixedSigned, secret: vecSecret, timestamp: vecTimestamp, header: headers("Application/JSON", "Console.Zenlayer.com"), body: vecBody, want: true},
		{name: "lower-case retry still needs the right host", auth: lowerSigned, secret: vecSecret, timestamp: vecTimestamp, header: headers("Application/JSON", "Console.Zenlayer.org"), body: vecBody},
		{name: "signed mixed case, sent lower case", auth: mixedSigned, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, "console.zenlayer.com"), body: vecBody},
		{name: "additional signed header", auth: extra, secret: vecSecret, timestamp: vecTimestamp, header: extraHeaders("CreateInstances"), body: vecBody, want: true},
		{name: "additional signed header tampered", auth: extra, secret: vecSecret, timestamp: vecTimestamp, header: extraHeaders("DescribeInstances"), body: vecBody},
		{name: "no signed headers", auth: httpapi.Authorization{Credential: vecKeyID, Signature: auth.Signature}, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, host), body: vecBody},
		{name: "malformed signature", auth: httpapi.Authorization{Credential: vecKeyID, SignedHeaders: auth.SignedHeaders, Signature: auth.Signature[:10]}, secret: vecSecret, timestamp: vecTimestamp, header: headers(vecType, host), body: vecBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := httpapi.VerifySignature(tt.auth, tt.secret, tt.timestamp, tt.header, []byte(tt.body))
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
