package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Identical signed requests (sqlstore/replay.go has the whole story): an
// identical request is a retry, answered with the stored answer, only when
// the earlier one's answer did not reach its client; otherwise it is a
// request of its own. One that arrives while the earlier one is still being
// answered waits for the outcome, at most replayWait.

// replayWait bounds how long a request waits for an identical one's
// outcome. It outlasts sqlstore.ReplayLease, after which an unconfirmed
// answer counts as lost, so only an action that itself runs longer than
// this can leave the wait undecided.
const replayWait = sqlstore.ReplayLease + time.Second

// replayPoll is how often a waiting request looks at the signature again.
const replayPoll = 5 * time.Millisecond

var errSignatureBound = metalplane.Errorf("AUTH_FAILURE",
	"This signature was already used from another address. A signed request may be sent again from elsewhere only to retry a lost answer of the same action; sign a new request.")

// runSigned runs a signed mutating request under its claim on its
// signature, or answers the stored answer of the identical request it
// retries.
func (s *Server) runSigned(req *request, act *action) ([]byte, *sqlstore.Replay, error) {
	key := sqlstore.ReplayKey{AccessKeyID: req.caller.AccessKeyID, Signature: req.signature}
	ctx := req.ctx
	deadline := time.Now().Add(replayWait)
	for {
		rec, err := s.DB.FindReplay(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		if rec != nil {
			sameAction := rec.Action == req.action
			switch state := rec.StateAt(time.Now()); {
			case state == sqlstore.ReplayUndelivered && sameAction:
				// A retry of a lost answer, from wherever it comes.
				claim, payload, err := s.DB.TakeUndeliveredReplay(ctx, key, req.action, req.source)
				if err != nil {
					return nil, nil, err
				}
				if claim != nil {
					return payload, claim, nil
				}
				continue // another retry took it: look again
			case state == sqlstore.ReplayDelivering:
				if err := waitForReplay(ctx, deadline); err != nil {
					return nil, nil, err
				}
				continue
			case !sameSource(rec.Source, req.source):
				// Used before from elsewhere, and not a lost answer's
				// retry: captured bytes resent.
				return nil, nil, errSignatureBound
			}
		}
		req.claim = sqlstore.NewReplay(key, req.action, req.source, []byte("{}"))
		req.ctx = sqlstore.WithReplay(ctx, req.claim)
		payload, err := run(act, req)
		req.ctx = ctx
		if errors.Is(err, sqlstore.ErrReplayed) {
			// An identical request claimed the signature first.
			if err := waitForReplay(ctx, deadline); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if !req.claim.Written() {
			// The action wrote nothing: nothing to guard.
			return payload, nil, nil
		}
		if !bytes.Equal(payload, req.claim.Response) {
			// A handler that forgot storeAnswer: its retries would get
			// another answer than this one.
			s.logger().Error("the answer stored for retries differs from the answer", "requestId", req.id, "action", req.action)
		}
		return payload, req.claim, nil
	}
}

// waitForReplay sleeps before the signature is looked at again. It fails
// when the client went away or the wait is over: an identical request is
// then still running its action, so this one is refused before doing
// anything, with the code the SDK retries by itself.
func waitForReplay(ctx context.Context, deadline time.Time) error {
	if time.Now().After(deadline) {
		return metalplane.Errorf("REQUEST_LIMIT_EXCEEDED", "An identical request is still being processed; send it again later.")
	}
	t := time.NewTimer(replayPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bindRead checks a signed read-only request against the binding of its
// signature, and binds it when it is the first use. Reads never refuse
// reads: two read actions with the same body in one second (DescribeZones
// and DescribeInstanceTypes, both "{}") are common and harmless.
func (s *Server) bindRead(req *request) error {
	key := sqlstore.ReplayKey{AccessKeyID: req.caller.AccessKeyID, Signature: req.signature}
	rec, err := s.DB.FindReplay(req.ctx, key)
	if err != nil {
		return err
	}
	switch {
	case rec == nil:
		s.DB.NoteRead(key, req.action, req.source)
	case rec.Action != req.action && rec.State != sqlstore.ReplayRead && !sameSource(rec.Source, req.source):
		// A mutating request's bytes resent as a read from elsewhere.
		return errSignatureBound
	}
	return nil
}

// sameSource reports whether two requests came from one address. Captured
// bytes resent come from the eavesdropper's address; the same bytes again
// from the client's own address are that client's: a second identical
// purchase, or another action with the same body (Terraform's destroy
// sends DescribeInstances and ReleaseInstances with one body, back to
// back, on whichever pooled connection is free). Behind a proxy every
// client has the proxy's address, and the rule refuses nothing.
func sameSource(a, b string) bool { return a == b }

// sourceOf returns the client's IP address without its port.
func sourceOf(hr *http.Request) string {
	host, _, err := net.SplitHostPort(hr.RemoteAddr)
	if err != nil {
		return hr.RemoteAddr
	}
	return host
}
