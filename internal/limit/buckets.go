package limit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket's size: PerSecond tokens are added each second,
// up to Burst. A PerSecond of zero or less means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultMaxKeys bounds the buckets kept at once. A bucket costs about
// 200 bytes with its map entry, so the default holds memory to about 13 MB
// per Buckets however many addresses a client sends from.
const DefaultMaxKeys = 1 << 16

// sweepEvery is how often buckets that have filled up again are dropped
// when there is room; when the map is full it is swept at most once per
// sweepWhenFull, so that a full map does not cost a scan per request.
const (
	sweepEvery    = time.Minute
	sweepWhenFull = time.Second
)

// Buckets is a token bucket per key (golang.org/x/time/rate). It keeps at
// most maxKeys buckets. A bucket that has filled up again is dropped, since
// a new one would be the same; when the map is full of buckets in use, new
// keys share one overflow bucket of the same rate until room frees up, so
// a flood of new keys throttles itself and not the keys already known.
// A nil *Buckets allows everything.
type Buckets struct {
	limit   rate.Limit
	burst   int
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	overflow  *rate.Limiter
	lastSweep time.Time
}

// NewBuckets returns the buckets of r for at most maxKeys keys (0 means
// DefaultMaxKeys), or nil when r is no limit.
func NewBuckets(r Rate, maxKeys int) *Buckets {
	if r.PerSecond <= 0 {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	burst := max(r.Burst, 1)
	return &Buckets{
		limit: rate.Limit(r.PerSecond), burst: burst, maxKeys: maxKeys,
		buckets:  map[string]*rate.Limiter{},
		overflow: rate.NewLimiter(rate.Limit(r.PerSecond), burst),
	}
}

// Allow spends a token of key's bucket and reports whether there was one.
func (b *Buckets) Allow(key string) bool { return b.allowAt(key, time.Now()) }

func (b *Buckets) allowAt(key string, now time.Time) bool {
	if b == nil {
		return true
	}
	return b.bucket(key, now, true).AllowN(now, 1)
}

// Spend takes a token from key's bucket even when it has none left, so
// that the bucket owes it and stays empty longer: for events counted
// after the fact, such as failures, of which several may have been
// admitted at once.
func (b *Buckets) Spend(key string) {
	if b == nil {
		return
	}
	now := time.Now()
	b.bucket(key, now, true).ReserveN(now, 1)
}

// Empty reports whether key's bucket lacks a whole token, without
// spending one.
func (b *Buckets) Empty(key string) bool { return b.emptyAt(key, time.Now()) }

func (b *Buckets) emptyAt(key string, now time.Time) bool {
	if b == nil {
		return false
	}
	l := b.bucket(key, now, false)
	return l != nil && l.TokensAt(now) < 1
}

// Len returns how many buckets are kept.
func (b *Buckets) Len() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buckets)
}

// bucket returns key's bucket, creating it when create is set; without
// create, a key that has none gets nil (its bucket would be full).
func (b *Buckets) bucket(key string, now time.Time, create bool) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.buckets[key]; ok {
		return l
	}
	if !create {
		return nil
	}
	full := len(b.buckets) >= b.maxKeys
	if now.Sub(b.lastSweep) >= sweepEvery || (full && now.Sub(b.lastSweep) >= sweepWhenFull) {
		b.sweep(now)
		full = len(b.buckets) >= b.maxKeys
	}
	if full {
		return b.overflow
	}
	l := rate.NewLimiter(b.limit, b.burst)
	b.buckets[key] = l
	return l
}

// sweep drops the buckets that are full again.
func (b *Buckets) sweep(now time.Time) {
	b.lastSweep = now
	for key, l := range b.buckets {
		if l.TokensAt(now) >= float64(b.burst) {
			delete(b.buckets, key)
		}
	}
}
