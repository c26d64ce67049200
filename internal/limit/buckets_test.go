package limit

import (
	"fmt"
	"testing"
	"time"
)

func TestBucketsRefuseBeyondBurstAndRefill(t *testing.T) {
	b := NewBuckets(Rate{PerSecond: 2, Burst: 3}, 0)
	now := time.Now()
	for i := range 3 {
		if !b.allowAt("a", now) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if b.allowAt("a", now) {
		t.Fatal("got the 4th request at once allowed, want refused (burst 3)")
	}
	if !b.allowAt("b", now) {
		t.Fatal("another key refused: buckets must be per key")
	}
	if !b.emptyAt("a", now) || b.emptyAt("b", now) {
		t.Fatalf("got empty a=%t b=%t, want a empty, b not", b.emptyAt("a", now), b.emptyAt("b", now))
	}
	if !b.allowAt("a", now.Add(500*time.Millisecond)) {
		t.Fatal("after 0.5 s at 2/s a token must be back")
	}
}

func TestBucketsEmptyDoesNotSpend(t *testing.T) {
	b := NewBuckets(Rate{PerSecond: 1, Burst: 1}, 0)
	now := time.Now()
	for range 5 {
		if b.emptyAt("a", now) {
			t.Fatal("an unused key reported empty")
		}
	}
	if b.Len() != 0 {
		t.Fatalf("Empty created %d buckets, want none", b.Len())
	}
	if !b.allowAt("a", now) {
		t.Fatal("the one token was spent by Empty")
	}
}

// TestBucketsBoundedAndEvicted fills the buckets with more keys than they
// keep: memory stays bounded, the newcomers share one bucket, and keys
// whose buckets filled up again are dropped to make room.
func TestBucketsBoundedAndEvicted(t *testing.T) {
	b := NewBuckets(Rate{PerSecond: 1, Burst: 2}, 4)
	now := time.Now()
	for i := range 4 {
		b.allowAt(fmt.Sprint("known", i), now)
	}
	// Newcomers beyond the bound share the overflow bucket (burst 2).
	allowed := 0
	for i := range 100 {
		if b.allowAt(fmt.Sprint("new", i), now) {
			allowed++
		}
	}
	if b.Len() != 4 || allowed != 2 {
		t.Fatalf("got %d buckets and %d newcomers allowed, want 4 and 2 (one shared bucket)", b.Len(), allowed)
	}
	// The known keys keep their own buckets meanwhile.
	if !b.allowAt("known0", now) {
		t.Fatal("a known key was refused because of newcomers")
	}
	// Two seconds later every bucket is full again: the next newcomer
	// sweeps them away and gets a bucket of its own.
	later := now.Add(2 * time.Second)
	if !b.allowAt("late", later) || b.Len() != 1 {
		t.Fatalf("got %d buckets after the sweep, want only the newcomer's", b.Len())
	}
}

func TestNilBucketsAllowEverything(t *testing.T) {
	b := NewBuckets(Rate{}, 0)
	if b != nil {
		t.Fatalf("got %v for a zero rate, want nil", b)
	}
	if !b.Allow("a") || b.Empty("a") || b.Len() != 0 {
		t.Fatal("nil buckets limited something")
	}
}

func TestSource(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"192.0.2.7:5000", "192.0.2.7"},
		{"192.0.2.7", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:22", "fe80::/64"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		if got := Source(tt.addr); got != tt.want {
			t.Errorf("Source(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestSpendOwes: failures admitted together are all counted, so the
// bucket stays empty for as long as they owe.
func TestSpendOwes(t *testing.T) {
	b := NewBuckets(Rate{PerSecond: 1, Burst: 2}, 0)
	for range 6 {
		b.Spend("a")
	}
	now := time.Now()
	if !b.emptyAt("a", now.Add(4*time.Second)) {
		t.Fatal("got a token after 4 s for 6 spent of a burst of 2 at 1/s, want none until 5 s")
	}
	if b.emptyAt("a", now.Add(5100*time.Millisecond)) {
		t.Fatal("got no token after 5.1 s, want one")
	}
}
