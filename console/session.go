package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/metalplane/metalplane"
)

// Sessions live in the server's memory: a sign-in exchanges an access key
// for a random session id, sent back only in an HttpOnly, SameSite=Strict
// cookie, and the secret is never kept, neither here nor in the browser. A
// restart signs everyone out; with several replicas the balancer must send
// a browser back to the replica it signed in on (docs/console.md).

// Session is a signed-in browser.
type session struct {
	id       string
	caller   metalplane.Caller
	operator bool
	// csrf is the token every form of the session carries.
	csrf    string
	created time.Time
	seen    time.Time

	// forms are the purchase forms already submitted (claimForm).
	formsMu sync.Mutex
	forms   map[string]bool
}

// maxClaimedForms bounds the forms a session remembers; past it the
// oldest memory is dropped, which only a session buying this often in
// one sitting could notice.
const maxClaimedForms = 1000

// claimForm records the submission of the form with this id and reports
// whether it is the first: a double click, or a reload that posts again,
// must not buy twice.
func (s *session) claimForm(id string) bool {
	if id == "" {
		return false
	}
	s.formsMu.Lock()
	defer s.formsMu.Unlock()
	if s.forms[id] {
		return false
	}
	if s.forms == nil || len(s.forms) >= maxClaimedForms {
		s.forms = map[string]bool{}
	}
	s.forms[id] = true
	return true
}

// sessions is the set of live sessions.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	// idle and lifetime end a session: idle after the last request,
	// lifetime after the sign-in, whichever comes first.
	idle, lifetime time.Duration
	// max bounds the sessions kept; a sign-in beyond it drops the one
	// idle longest, so signing in again and again costs no memory.
	max int
}

func newSessions(idle, lifetime time.Duration, max int) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, lifetime: lifetime, max: max}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for caller.
func (s *sessions) create(caller metalplane.Caller, operator bool, now time.Time) *session {
	sess := &session{id: randomToken(), caller: caller, operator: operator, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if len(s.byID) >= s.max {
		var oldest *session
		for _, o := range s.byID {
			if oldest == nil || o.seen.Before(oldest.seen) {
				oldest = o
			}
		}
		delete(s.byID, oldest.id)
	}
	s.byID[sess.id] = sess
	return sess
}

// find returns the live session of id, marking it seen, or nil.
func (s *sessions) find(id string, now time.Time) *session {
	if id == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return nil
	}
	if s.expired(sess, now) {
		delete(s.byID, id)
		return nil
	}
	sess.seen = now
	return sess
}

// end forgets a session.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// endKey forgets every session of an access key (disabled meanwhile).
func (s *sessions) endKey(accessKeyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.byID {
		if sess.caller.AccessKeyID == accessKeyID {
			delete(s.byID, id)
		}
	}
}

func (s *sessions) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.seen) > s.idle || now.Sub(sess.created) > s.lifetime
}

// expire drops the expired sessions; the caller holds mu.
func (s *sessions) expire(now time.Time) {
	for id, sess := range s.byID {
		if s.expired(sess, now) {
			delete(s.byID, id)
		}
	}
}

// sameToken compares tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
