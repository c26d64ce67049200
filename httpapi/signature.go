package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// SignatureMethod is the only signature algorithm of the Zenlayer Cloud API
// 2.0. It is both the first token of the Authorization header and the value
// of the X-ZC-Signature-Method header (PROTOCOL.md §4).
const SignatureMethod = "ZC2-HMAC-SHA256"

// sigSDKSignedHeaders is what every known client signs (PROTOCOL.md §4.2): no
// x-zc-* header is covered, so action and version are not protected.
var sigSDKSignedHeaders = []string{"content-type", "host"}

// ErrMalformedAuthorization is wrapped by every error of ParseAuthorization,
// so the server can answer an authentication failure with errors.Is without
// looking at the text.
var ErrMalformedAuthorization = errors.New("malformed " + SignatureMethod + " authorization")

// CanonicalRequest returns the canonical request of PROTOCOL.md §4.1 and
// §4.3: method POST, URI "/", an empty query, one "name:value\n" line per
// signed header in the listed order, an empty line, the signed header names
// joined by ';', and the lower-case hex SHA-256 of body.
//
// Header names are lower-cased; values are looked up in headerValues under
// the lower-case name (falling back to the name as listed) and trimmed of
// surrounding white space. The URI is "/" and not the real path because that
// is what the SDK signs.
func CanonicalRequest(signedHeaders []string, headerValues map[string]string, body []byte) string {
	var b strings.Builder
	b.WriteString("POST\n/\n\n")
	names := make([]string, len(signedHeaders))
	for i, name := range signedHeaders {
		lower := strings.ToLower(strings.TrimSpace(name))
		names[i] = lower
		v, ok := headerValues[lower]
		if !ok {
			v = headerValues[name]
		}
		b.WriteString(lower)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(v))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(names, ";"))
	b.WriteByte('\n')
	b.WriteString(sigSHA256Hex(body))
	return b.String()
}

// Sign returns the lower-case hex signature of a canonical request: the
// HMAC-SHA256, keyed with the raw bytes of secret, of the string to sign
// "ZC2-HMAC-SHA256\n" + timestamp + "\n" + hex(SHA-256(canonicalRequest)).
// Unlike AWS SigV4 there is no derived or date-scoped key (PROTOCOL.md §3).
func Sign(secret, timestamp string, canonicalRequest string) string {
	stringToSign := SignatureMethod + "\n" + timestamp + "\n" + sigSHA256Hex([]byte(canonicalRequest))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

// SignRequest signs a request the way the Go SDK does, covering only
// content-type and host, and returns the Authorization header value
// "ZC2-HMAC-SHA256 Credential=<keyID>, SignedHeaders=content-type;host,
// Signature=<hex>". body must be the exact bytes that will be sent, and
// host the Host header the server will see (with its port, if any).
func SignRequest(keyID, secret, timestamp, contentType, host string, body []byte) (authorization string) {
	canonical := CanonicalRequest(sigSDKSignedHeaders, map[string]string{
		"content-type": contentType,
		"host":         host,
	}, body)
	return SignatureMethod + " Credential=" + keyID +
		", SignedHeaders=" + strings.Join(sigSDKSignedHeaders, ";") +
		", Signature=" + Sign(secret, timestamp, canonical)
}

// Authorization is a parsed ZC2-HMAC-SHA256 Authorization header.
type Authorization struct {
	// Credential is the access key id.
	Credential string
	// SignedHeaders are the lower-case header names the client signed, in
	// the order it signed them; never empty.
	SignedHeaders []string
	// Signature is the 64-character hex signature, lower-cased so that the
	// same signature always has the same spelling (replay detection keys on
	// it, PROTOCOL.md §7).
	Signature string
}

// ParseAuthorization parses an Authorization header of the form
// "ZC2-HMAC-SHA256 Credential=<id>, SignedHeaders=<a;b>, Signature=<hex>".
// The three parts may come in any order and extra white space is tolerated
// around the algorithm, commas, '=' and ';'. It rejects any other algorithm
// (including Bearer, which the caller must recognise first), missing,
// repeated or unknown parts, a credential that is not 1 to
// maxCredentialLength printable ASCII characters, an empty signed header
// list, a header name that is not an HTTP token, and a signature that is
// not 64 hex characters. Every error wraps ErrMalformedAuthorization.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	h = strings.TrimSpace(h)
	sp := strings.IndexFunc(h, unicode.IsSpace)
	if sp < 0 {
		return a, fmt.Errorf("%w: no credential after the algorithm", ErrMalformedAuthorization)
	}
	if alg := h[:sp]; alg != SignatureMethod {
		return a, fmt.Errorf("%w: algorithm %q is not %s", ErrMalformedAuthorization, alg, SignatureMethod)
	}

	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(h[sp:], ",") {
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return a, fmt.Errorf("%w: part %q has no '='", ErrMalformedAuthorization, strings.TrimSpace(part))
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		var seen *bool
		switch key {
		case "Credential":
			seen = &haveCred
			if !sigIsCredential(value) {
				return a, fmt.Errorf("%w: Credential must be 1 to %d printable ASCII characters", ErrMalformedAuthorization, maxCredentialLength)
			}
			a.Credential = value
		case "SignedHeaders":
			seen = &haveSigned
			names, err := sigParseSignedHeaders(value)
			if err != nil {
				return a, err
			}
			a.SignedHeaders = names
		case "Signature":
			seen = &haveSig
			if !sigIsHex64(value) {
				return a, fmt.Errorf("%w: Signature is not 64 hex characters", ErrMalformedAuthorization)
			}
			a.Signature = strings.ToLower(value)
		default:
			return a, fmt.Errorf("%w: unknown part %q", ErrMalformedAuthorization, key)
		}
		if *seen {
			return a, fmt.Errorf("%w: %s given twice", ErrMalformedAuthorization, key)
		}
		*seen = true
	}
	switch {
	case !haveCred:
		return a, fmt.Errorf("%w: missing Credential", ErrMalformedAuthorization)
	case !haveSigned:
		return a, fmt.Errorf("%w: missing SignedHeaders", ErrMalformedAuthorization)
	case !haveSig:
		return a, fmt.Errorf("%w: missing Signature", ErrMalformedAuthorization)
	}
	return a, nil
}

// sigParseSignedHeaders splits a ';'-separated header list into lower-case
// names, rejecting an empty list or an empty name.
func sigParseSignedHeaders(value string) ([]string, error) {
	if value == "" {
		return nil, fmt.Errorf("%w: empty SignedHeaders", ErrMalformedAuthorization)
	}
	var names []string
	for name := range strings.SplitSeq(value, ";") {
		name = strings.ToLower(strings.TrimSpace(name))
		if !sigIsToken(name) {
			return nil, fmt.Errorf("%w: SignedHeaders holds an empty name or one that is not an HTTP token", ErrMalformedAuthorization)
		}
		names = append(names, name)
	}
	return names, nil
}

// maxCredentialLength bounds the access key id of an Authorization
// header. [decision] 128: generated ids have 20 characters.
const maxCredentialLength = 128

// sigIsCredential reports whether s can be an access key id: 1 to
// maxCredentialLength printable ASCII characters. The id is looked up in
// the database, and PostgreSQL answers an error (a 500) for text that is
// not UTF-8, which an HTTP header may carry.
func sigIsCredential(s string) bool {
	if s == "" || len(s) > maxCredentialLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// sigIsToken reports whether s is a non-empty HTTP token (RFC 9110
// §5.6.2), the form of a header name.
func sigIsToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// sigIsHex64 reports whether s is exactly 64 hex digits of either case.
func sigIsHex64(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// VerifySignature reports whether a.Signature is the signature of the
// request whose headers are read with header and whose raw body is body,
// under secret and the X-ZC-Timestamp value timestamp (PROTOCOL.md §4.3).
//
// The canonical headers are rebuilt from a.SignedHeaders, so clients that
// sign more than content-type and host are accepted. header receives
// lower-case names; the caller must map "host" to the Host the client
// connected to (r.Host) since Go removes it from r.Header. The comparison is
// constant-time and ignores the case of the hex digits. Because the docs say
// values are lower-cased before signing while every known client signs them
// as sent, a failed check is retried once with lower-cased values.
//
// It checks neither the timestamp window nor the key's status; the caller
// does, after the signature, so that expired and forged requests get
// different codes.
func VerifySignature(a Authorization, secret, timestamp string, header func(name string) string, body []byte) bool {
	if len(a.SignedHeaders) == 0 || !sigIsHex64(a.Signature) {
		return false
	}
	got := []byte(strings.ToLower(a.Signature))
	values := make(map[string]string, len(a.SignedHeaders))
	lowered := make(map[string]string, len(a.SignedHeaders))
	differs := false
	for _, name := range a.SignedHeaders {
		name = strings.ToLower(strings.TrimSpace(name))
		v := header(name)
		values[name] = v
		lowered[name] = strings.ToLower(v)
		differs = differs || lowered[name] != v
	}
	want := Sign(secret, timestamp, CanonicalRequest(a.SignedHeaders, values, body))
	if hmac.Equal(got, []byte(want)) {
		return true
	}
	if !differs {
		// Lower-casing would rebuild the same canonical request.
		return false
	}
	want = Sign(secret, timestamp, CanonicalRequest(a.SignedHeaders, lowered, body))
	return hmac.Equal(got, []byte(want))
}

// sigSHA256Hex returns the lower-case hex SHA-256 of b.
func sigSHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
