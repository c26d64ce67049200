package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
)

// clientContentType is the exact Content-Type the Go SDK sends and signs.
const clientContentType = "application/json"

// ErrMalformedResponse is wrapped by the errors of Client.Call when the
// server's answer is not the envelope of PROTOCOL.md §5: a body that is not
// JSON, a 200 without a "response" object, or an error without a code. The
// Go SDK reports these as JSON_PARSE_FAILED and loses the real code.
var ErrMalformedResponse = errors.New("malformed API response")

// Client calls a Zenlayer Cloud API 2.0 endpoint, signing requests exactly
// as the Go SDK does. Tests use it to drive the server the way real clients
// do, and the `metalplane call` command uses it by hand. Its fields are read
// on every call and must not change while calls are in flight.
type Client struct {
	// Endpoint is the scheme and host, with an optional port, such as
	// http://127.0.0.1:8080 or https://console.zenlayer.com. A trailing
	// slash is ignored.
	Endpoint string
	// Service is the service in the path: "bmc" or "ccs".
	Service string
	// Version is the X-ZC-Version header, such as "2026-02-01".
	Version string
	// AccessKeyID and AccessKeySecret sign requests with ZC2-HMAC-SHA256.
	AccessKeyID, AccessKeySecret string
	// Token, if set, is sent as "Authorization: Bearer <token>" instead of
	// a signature; no timestamp or signature method header is sent then.
	Token string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// NowFunc gives the signing time; nil means time.Now.
	NowFunc func() time.Time
}

// RawResponse is an HTTP response as received, body fully read.
type RawResponse struct {
	Status int
	Body   []byte
	Header http.Header
}

// APIError is an error envelope answered by the server (PROTOCOL.md §5.2),
// the counterpart of the SDK's ZenlayerCloudSdkError.
type APIError struct {
	// Status is the HTTP status, never 200.
	Status int
	// Code is the envelope's code.
	Code metalplane.Code
	// Message is the envelope's message.
	Message string
	// RequestID is the envelope's requestId.
	RequestID string
}

// Error returns the code, status, message and request id.
func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, requestId %s): %s", e.Code, e.Status, e.RequestID, e.Message)
}

// Is reports whether target is an *APIError or a *metalplane.Error with the
// same code, so errors.Is(err, metalplane.E(code)) works on client errors.
// Status, message and request id are ignored.
func (e *APIError) Is(target error) bool {
	switch t := target.(type) {
	case *APIError:
		return t != nil && t.Code == e.Code
	case *metalplane.Error:
		return t != nil && t.Code == e.Code
	}
	return false
}

// As fills a **metalplane.Error with the code and message, so that
// metalplane.ErrorCode and metalplane.ErrorMessage read the server's code
// from a client error.
func (e *APIError) As(target any) bool {
	if p, ok := target.(**metalplane.Error); ok {
		*p = &metalplane.Error{Code: e.Code, Message: e.Message}
		return true
	}
	return false
}

// SignedRequest builds the request Do would send for action with the exact
// body bytes: POST {Endpoint}/api/v2/{Service} with the headers of
// PROTOCOL.md §2, signed over content-type and the URL's host (with port).
//
// Tests use it to replay the identical request (same bytes, timestamp and
// signature) or to tamper with a copy. Because the signature covers only the
// body, Content-Type and Host, changing req.Host, the body (reset it with
// req.GetBody or http.NewRequest) or X-Zc-Timestamp must make the server
// reject it. Header names are canonical (X-Zc-Action) where the SDK writes
// them in lower case; HTTP makes them equivalent and r.Header.Get cannot see
// the difference.
func (c *Client) SignedRequest(ctx context.Context, action string, body []byte) (*http.Request, error) {
	if c.Service == "" {
		return nil, errors.New("httpapi client: no service")
	}
	if c.Token == "" && (c.AccessKeyID == "" || c.AccessKeySecret == "") {
		return nil, errors.New("httpapi client: no token and no access key id and secret")
	}
	u, err := url.Parse(strings.TrimRight(c.Endpoint, "/") + "/api/v2/" + c.Service)
	if err != nil {
		return nil, fmt.Errorf("httpapi client: endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpapi client: endpoint %q is not http(s)://host[:port]", c.Endpoint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("httpapi client: %w", err)
	}
	// The SDK signs the domain it was configured with and Go sends the same
	// string as Host; pinning req.Host keeps the two equal by construction.
	req.Host = u.Host

	h := req.Header
	h.Set("Content-Type", clientContentType)
	h.Set("X-ZC-Action", action)
	h.Set("X-ZC-Version", c.Version)
	h.Set("X-ZC-Service", c.Service)
	h.Set("X-ZC-SDK-Lang", "go")
	if c.Token != "" {
		h.Set("Authorization", "Bearer "+c.Token)
		return req, nil
	}
	now := time.Now
	if c.NowFunc != nil {
		now = c.NowFunc
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	h.Set("X-ZC-Timestamp", ts)
	h.Set("X-ZC-Signature-Method", SignatureMethod)
	h.Set("Authorization", SignRequest(c.AccessKeyID, c.AccessKeySecret, ts, clientContentType, req.Host, body))
	return req, nil
}

// Do sends action with body exactly as given (no `{}` is substituted for an
// empty body, so tests can send one) and returns the response whatever its
// status. Errors are only transport and request-building failures.
func (c *Client) Do(ctx context.Context, action string, body []byte) (*RawResponse, error) {
	req, err := c.SignedRequest(ctx, action, body)
	if err != nil {
		return nil, err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", action, err)
	}
	defer resp.Body.Close()
	b, err := readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("call %s: read response: %w", action, err)
	}
	return &RawResponse{Status: resp.StatusCode, Body: b, Header: resp.Header}, nil
}

// readBody reads a whole response body into a buffer sized by its
// Content-Length when the server sent one (ours always does), instead of
// growing one from 512 bytes: a page of instances is a few dozen KB.
func readBody(resp *http.Response) ([]byte, error) {
	const presizeLimit = 1 << 20 // a larger stated length is not trusted
	if n := resp.ContentLength; n > 0 && n <= presizeLimit {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		// One more read meets the end of the body: the transport keeps a
		// connection for the next request only when its body was read to
		// the end.
		if _, err := resp.Body.Read(make([]byte, 1)); err != nil && err != io.EOF {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(resp.Body)
}

// CheckAnswer returns what Call returns for raw when it is given no value
// to decode the response into, without reading the response object
// itself: nil for HTTP 200 with a success envelope, an *APIError for an
// error envelope, and ErrMalformedResponse otherwise. A 200's envelope is
// recognised by its opening, `{"requestId":"...","response":{`, as the
// server writes it and PROTOCOL.md §5.1 gives it, so that a load generator
// can count answers without decoding every page it asks for.
func CheckAnswer(action string, raw *RawResponse) error {
	if raw.Status != http.StatusOK {
		return clientDecodeError(action, raw)
	}
	b := bytes.TrimSpace(raw.Body)
	id, ok := bytes.CutPrefix(b, []byte(`{"requestId":"`))
	if ok {
		// A request id is a UUID: no escapes, so its closing quote is
		// the first one.
		end := bytes.IndexByte(id, '"')
		ok = end > 0 && bytes.HasPrefix(id[end:], []byte(`","response":{`)) && bytes.HasSuffix(b, []byte("}}"))
	}
	if !ok {
		return fmt.Errorf("call %s: %w: HTTP 200 body does not open a success envelope: %q", action, ErrMalformedResponse, clientSnippet(raw.Body))
	}
	return nil
}

// Call sends req, marshalled to JSON, as action and decodes the answer as
// the Go SDK does (PROTOCOL.md §6). A nil req (or a nil pointer) is sent as
// `{}`, never as an empty body or null. On 200 the "response" object is
// unmarshalled into resp, unless resp is nil; unknown fields are ignored
// like the SDK does, and a "code" in a 200 body is ignored. Any other status
// returns an *APIError. A body that does not follow the envelopes returns an
// error wrapping ErrMalformedResponse.
func (c *Client) Call(ctx context.Context, action string, req any, resp any) error {
	body := []byte("{}")
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("call %s: encode request: %w", action, err)
		}
		if string(b) != "null" {
			body = b
		}
	}
	raw, err := c.Do(ctx, action, body)
	if err != nil {
		return err
	}
	if raw.Status != http.StatusOK {
		return clientDecodeError(action, raw)
	}
	var env struct {
		RequestID string          `json:"requestId"`
		Response  json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(raw.Body, &env); err != nil {
		return fmt.Errorf("call %s: %w: HTTP 200 body is not JSON: %v", action, ErrMalformedResponse, err)
	}
	// Terraform dereferences the response without a nil check (§5.1), so a
	// missing or null object is a server bug worth failing on.
	if r := bytes.TrimSpace(env.Response); len(r) == 0 || r[0] != '{' {
		return fmt.Errorf("call %s: %w: HTTP 200 body has no response object", action, ErrMalformedResponse)
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(env.Response, resp); err != nil {
		return fmt.Errorf("call %s: %w: decode response: %v", action, ErrMalformedResponse, err)
	}
	return nil
}

// clientDecodeError turns a non-200 response into an *APIError, or into an
// ErrMalformedResponse error when the body is not a flat error envelope.
func clientDecodeError(action string, raw *RawResponse) error {
	var env struct {
		RequestID string `json:"requestId"`
		Code      string `json:"code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(raw.Body, &env); err != nil {
		return fmt.Errorf("call %s: %w: HTTP %d body is not a JSON error envelope: %q",
			action, ErrMalformedResponse, raw.Status, clientSnippet(raw.Body))
	}
	if env.Code == "" {
		return fmt.Errorf("call %s: %w: HTTP %d error envelope has no code: %q",
			action, ErrMalformedResponse, raw.Status, clientSnippet(raw.Body))
	}
	return &APIError{Status: raw.Status, Code: metalplane.Code(env.Code), Message: env.Message, RequestID: env.RequestID}
}

// clientSnippet returns the start of a body for error messages, so an HTML
// error page from a proxy does not flood the log.
func clientSnippet(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}
