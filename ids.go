package metalplane

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IDs are random so that nothing about one team's activity can be read from
// another team's IDs; shapes follow PROTOCOL.md §11. The exception is
// TimeOrderedIDs below: SQLite's instance IDs and order numbers begin with
// the time they were made, which createTime shows anyway.

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// numericID returns n random digits not starting with 0.
func numericID(n int) string {
	return randomString("123456789", 1) + randomString("0123456789", n-1)
}

// NewInstanceID returns an instance ID: 18 digits.
func NewInstanceID() string { return numericID(18) }

// NewOrderNumber returns an order number: 16 digits.
func NewOrderNumber() string { return numericID(16) }

// TimeOrderedIDs hands out instance IDs and order numbers of the usual
// shapes whose leading digits count milliseconds since 2020, so that IDs
// made one after another sort one after another. On SQLite that keeps a
// purchase's index entries (instances, orders, events, jobs by instance)
// on the last page of each index instead of a random page apiece, and
// every page a purchase touches is written to the WAL at commit: a
// measured 15 % of the committer's time (docs/performance.md). The low
// digits are random, so an ID tells only when it was made. IDs from one
// generator are strictly increasing; two generators (two processes) can
// collide with a small probability, which is why only SQLite's one
// committer uses one and retries a purchase whose IDs are taken. The zero
// value is ready to use.
type TimeOrderedIDs struct {
	mu                      sync.Mutex
	lastInstance, lastOrder uint64
}

// Continue makes the next IDs sort after the given ones when they are
// later than anything drawn so far, so that a process resumes after the
// newest IDs in its database whatever its clock says. IDs that are not
// numbers are ignored.
func (g *TimeOrderedIDs) Continue(instanceID, orderNumber string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, err := strconv.ParseUint(instanceID, 10, 64); err == nil && v > g.lastInstance {
		g.lastInstance = v
	}
	if v, err := strconv.ParseUint(orderNumber, 10, 64); err == nil && v > g.lastOrder {
		g.lastOrder = v
	}
}

// orderedEpoch is where the millisecond count starts.
var orderedEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// InstanceID returns an instance ID: 18 digits, 10^17 + ms·10^5 + a
// random number under 10^4 (18 digits for 285 years after 2020).
func (g *TimeOrderedIDs) InstanceID(now time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastInstance = nextOrdered(g.lastInstance, 1e17, 1e5, now)
	return strconv.FormatUint(g.lastInstance, 10)
}

// OrderNumber returns an order number: 16 digits, 10^15 + ms·10^3 + a
// random number under 100.
func (g *TimeOrderedIDs) OrderNumber(now time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastOrder = nextOrdered(g.lastOrder, 1e15, 1e3, now)
	return strconv.FormatUint(g.lastOrder, 10)
}

// nextOrdered returns base + ms·perMs + random(perMs/10), or last+1 when
// that is not above last (several IDs in one millisecond, or a clock set
// back).
func nextOrdered(last, base, perMs uint64, now time.Time) uint64 {
	ms := uint64(max(now.Sub(orderedEpoch).Milliseconds(), 0))
	jitter, err := rand.Int(rand.Reader, new(big.Int).SetUint64(perMs/10))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	v := base + ms*perMs + jitter.Uint64()
	if v <= last {
		v = last + 1
	}
	return v
}

// NewSubnetID returns a subnet ID: 18 digits.
func NewSubnetID() string { return numericID(18) }

// NewKeyPairID returns a key pair ID: key- and 8 alphanumerics.
func NewKeyPairID() string { return "key-" + randomString(alphanumerics, 8) }

// NewTeamID returns a team ID.
func NewTeamID() string { return "team-" + strings.ToLower(randomString(alphanumerics, 10)) }

// NewResourceGroupID returns a resource group ID.
func NewResourceGroupID() string { return "rg-" + strings.ToLower(randomString(alphanumerics, 12)) }

// NewAccessKeyID returns an access key ID.
func NewAccessKeyID() string { return "MP" + strings.ToUpper(randomString(alphanumerics, 18)) }

// NewBearerTokenID returns the id a bearer token is listed and revoked by.
func NewBearerTokenID() string { return "tok-" + strings.ToLower(randomString(alphanumerics, 12)) }

// NewSecret returns a random secret (access key password or bearer token).
func NewSecret() string { return randomString(alphanumerics, 32) }

// NewRequestID returns a request ID: T and an upper-case UUID (version 4).
func NewRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return fmt.Sprintf("T%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}
