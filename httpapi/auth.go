package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// signedClaim is what a signed request's headers claim, checked as far as
// they can be without the body.
type signedClaim struct {
	auth      Authorization
	key       *metalplane.AccessKey
	timestamp string
}

// authorize checks the Authorization header (PROTOCOL.md §3–§4) as far as
// it can without the body, so that an unauthenticated client is refused
// before it can make the server hold its body: a bearer token completely
// (req.caller is set and the claim is nil); for a signature, that the
// header is well formed, the key exists and is enabled and the timestamp
// is within the window. The signature itself covers the body:
// verifySignature checks it once the body is read. A forged request with a
// stale timestamp is therefore answered AUTH_FAILURE_SIGNATURE_EXPIRED, as
// is a genuine one; the code tells a client about its clock, and a forger
// learns nothing from it.
func (s *Server) authorize(hr *http.Request, req *request) (*signedClaim, error) {
	h := hr.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(h, "Bearer "); ok {
		token = strings.TrimSpace(token)
		caller, err := s.DB.FindBearerToken(req.ctx, token)
		if errors.Is(err, sqlstore.ErrNotFound) {
			return nil, metalplane.Errorf("AUTH_FAILURE", "The bearer token is not valid.")
		}
		if err != nil {
			return nil, err
		}
		req.caller = *caller
		sum := sha256.Sum256([]byte(token))
		req.limitKey = "token:" + hex.EncodeToString(sum[:])
		return nil, nil
	}
	if h == "" {
		return nil, metalplane.Errorf("AUTH_FAILURE", "The Authorization header is missing.")
	}
	auth, err := ParseAuthorization(h)
	if err != nil {
		return nil, metalplane.Errorf("AUTH_FAILURE", "The Authorization header is malformed.")
	}
	if m := hr.Header.Get("X-ZC-Signature-Method"); m != SignatureMethod {
		return nil, metalplane.Errorf("AUTH_FAILURE", "X-ZC-Signature-Method must be %s.", SignatureMethod)
	}
	tsText := hr.Header.Get("X-ZC-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return nil, metalplane.Errorf("AUTH_FAILURE", "X-ZC-Timestamp must be Unix seconds.")
	}
	key, err := s.DB.FindAccessKey(req.ctx, auth.Credential)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !key.Enabled) {
		return nil, metalplane.Errorf("AUTH_FAILURE", "The access key does not exist or is disabled.")
	}
	if err != nil {
		return nil, err
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > SignatureWindow || d < -SignatureWindow {
		return nil, metalplane.Errorf("AUTH_FAILURE_SIGNATURE_EXPIRED", "The request timestamp is more than %d seconds from the server time.", int(SignatureWindow.Seconds()))
	}
	return &signedClaim{auth: auth, key: key, timestamp: tsText}, nil
}

// verifySignature checks the signature of a claim that authorize accepted
// over the body that was read, and sets req.caller.
func verifySignature(hr *http.Request, req *request, claim *signedClaim) error {
	header := func(name string) string {
		if strings.EqualFold(name, "host") {
			return hr.Host
		}
		return hr.Header.Get(name)
	}
	if !VerifySignature(claim.auth, claim.key.Secret, claim.timestamp, header, req.body) {
		return metalplane.Errorf("AUTH_FAILURE_SIGNATURE_MISMATCH", "The request signature does not match.")
	}
	key := claim.key
	req.caller = metalplane.Caller{TeamID: key.TeamID, AccessKeyID: key.ID, IsAdmin: key.IsAdmin}
	req.signature = strings.ToLower(claim.auth.Signature)
	req.limitKey = "key:" + key.ID
	return nil
}
