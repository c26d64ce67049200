package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/metalplane/metalplane/httpapi"
)

// The no-op server (--noop-listen) is the ceiling of the HTTP layer that
// the issue compares purchase rates with: it checks every request's
// signature with httpapi's own code, as `metalplane serve` does, and
// answers an empty success envelope without touching a database. Run
// mploadgen against it in the same minute as against the real server:
// only the ratio of the two means anything on a shared machine.

// noopServer answers correctly signed requests of one access key.
type noopServer struct {
	keyID, secret string
	requests      atomic.Int64
}

func (s *noopServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	requestID := "noop-" + strconv.FormatInt(n, 10)
	if r.Method != http.MethodPost {
		noopError(w, requestID, http.StatusMethodNotAllowed, "INVALID_HTTP_METHOD", "Only POST is served.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpapi.DefaultMaxBodyBytes))
	if err != nil {
		noopError(w, requestID, http.StatusRequestEntityTooLarge, "REQUEST_BODY_TOO_LARGE", "The body could not be read.")
		return
	}
	if why := s.refusal(r, body); why != "" {
		noopError(w, requestID, http.StatusUnauthorized, "AUTH_FAILURE_SIGNATURE_MISMATCH", why)
		return
	}
	idJSON, _ := json.Marshal(requestID)
	answer := `{"requestId":` + string(idJSON) + `,"response":{"requestId":` + string(idJSON) + `}}`
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	io.WriteString(w, answer)
}

// refusal makes the checks of httpapi's authorize and verifySignature
// that need no database (the header's form, the signature method, the
// timestamp window, the key, the signature over the body) and returns why
// the request is refused, or "" when it is not.
func (s *noopServer) refusal(r *http.Request, body []byte) string {
	auth, err := httpapi.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return "The Authorization header is malformed."
	}
	if r.Header.Get("X-ZC-Signature-Method") != httpapi.SignatureMethod {
		return "X-ZC-Signature-Method must be " + httpapi.SignatureMethod + "."
	}
	timestamp := r.Header.Get("X-ZC-Timestamp")
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "X-ZC-Timestamp must be Unix seconds."
	}
	if d := time.Since(time.Unix(ts, 0)); d > httpapi.SignatureWindow || d < -httpapi.SignatureWindow {
		return "The request timestamp is out of the window."
	}
	if auth.Credential != s.keyID {
		return "The access key does not exist."
	}
	header := func(name string) string {
		if strings.EqualFold(name, "host") {
			return r.Host
		}
		return r.Header.Get(name)
	}
	if !httpapi.VerifySignature(auth, s.secret, timestamp, header, body) {
		return "The request signature does not match."
	}
	return ""
}

func noopError(w http.ResponseWriter, requestID string, status int, code, message string) {
	body, _ := json.Marshal(map[string]string{"requestId": requestID, "code": code, "message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func registerNoopFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.NoopListen, "noop-listen", "", "instead of sending, serve the no-op ceiling on this address (host:port): every request signed with the key is answered an empty success")
}

// serveNoop runs the no-op server on listen until ctx ends. ready, if not
// nil, is told the address once it listens.
func serveNoop(ctx context.Context, listen, keyID, secret string, stderr io.Writer, ready func(addr string)) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--noop-listen: %w", err)
	}
	srv := &http.Server{Handler: &noopServer{keyID: keyID, secret: secret}, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "mploadgen: no-op server for key %s on http://%s\n", keyID, ln.Addr())
	if ready != nil {
		ready(ln.Addr().String())
	}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
