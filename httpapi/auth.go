package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// authenticate checks the Authorization header (PROTOCOL.md §3–§4) and sets
// req.caller. The signature is checked before the timestamp window so that
// an expired genuine request and a forged one get different codes.
func (s *Server) authenticate(hr *http.Request, req *request) error {
	h := hr.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(h, "Bearer "); ok {
		caller, err := s.DB.FindBearerToken(req.ctx, strings.TrimSpace(token))
		if errors.Is(err, sqlstore.ErrNotFound) {
			return metalplane.Errorf("AUTH_FAILURE", "The bearer token is not valid.")
		}
		if err != nil {
			return err
		}
		req.caller = *caller
		return nil
	}
	if h == "" {
		return metalplane.Errorf("AUTH_FAILURE", "The Authorization header is missing.")
	}
	auth, err := ParseAuthorization(h)
	if err != nil {
		return metalplane.Errorf("AUTH_FAILURE", "The Authorization header is malformed.")
	}
	if m := hr.Header.Get("X-ZC-Signature-Method"); m != SignatureMethod {
		return metalplane.Errorf("AUTH_FAILURE", "X-ZC-Signature-Method must be %s.", SignatureMethod)
	}
	tsText := hr.Header.Get("X-ZC-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return metalplane.Errorf("AUTH_FAILURE", "X-ZC-Timestamp must be Unix seconds.")
	}
	key, err := s.DB.FindAccessKey(req.ctx, auth.Credential)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !key.Enabled) {
		return metalplane.Errorf("AUTH_FAILURE", "The access key does not exist or is disabled.")
	}
	if err != nil {
		return err
	}
	header := func(name string) string {
		if strings.EqualFold(name, "host") {
			return hr.Host
		}
		return hr.Header.Get(name)
	}
	if !VerifySignature(auth, key.Secret, tsText, header, req.body) {
		return metalplane.Errorf("AUTH_FAILURE_SIGNATURE_MISMATCH", "The request signature does not match.")
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > SignatureWindow || d < -SignatureWindow {
		return metalplane.Errorf("AUTH_FAILURE_SIGNATURE_EXPIRED", "The request timestamp is more than %d seconds from the server time.", int(SignatureWindow.Seconds()))
	}
	req.caller = metalplane.Caller{TeamID: key.TeamID, AccessKeyID: key.ID, IsAdmin: key.IsAdmin}
	req.signature = strings.ToLower(auth.Signature)
	return nil
}
