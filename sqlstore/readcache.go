package sqlstore

import (
	"sync"
	"time"

	"github.com/metalplane/metalplane"
)

// Rows read on every API request, kept in memory for a short while.
//
// A signed DescribeInstances read the caller's access key and the team's
// resource group names from the database each time (and a purchase the
// team's default group): two of its five statements, each a read transaction of its own on SQLite (shared-memory
// locks taken and released under a mutex that every reader contends for)
// and a round trip on PostgreSQL. Both change rarely, so they are kept for
// ReadCacheTTL:
//
//   - A change made through this DB (RevokeAccessKey, SetAccessKeySecret,
//     RotateSecretKey, DeleteResourceGroup) drops the entry at once.
//   - A change made by another process (a second replica, `metalplane
//     admin keys revoke`) is seen within ReadCacheTTL: the entry is read
//     again from the database once it is older than that.
//
// What is not found is never kept, so a key or group created elsewhere
// works at once, and made-up key IDs cannot fill the memory.

// ReadCacheTTL bounds how long a revoked or rotated access key can still
// be used on a replica other than the one that changed it
// (docs/secrets.md).
const ReadCacheTTL = time.Second

// readCacheMaxEntries bounds each cache; when full it is emptied and
// refilled from the database.
const readCacheMaxEntries = 10_000

// readCache maps a key to a value read from the database at a time
// measured on the monotonic clock (the store's NowFunc is moved by tests
// and would keep entries forever).
type readCache[V any] struct {
	mu      sync.Mutex
	entries map[string]readCacheEntry[V]
	// drops counts the calls to drop: a read that began before a drop
	// may have seen the row as it was, and is not kept (see put).
	drops uint64
}

type readCacheEntry[V any] struct {
	value V
	read  time.Time
}

// get returns the value kept for key if it was read less than
// ReadCacheTTL ago.
func (c *readCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || time.Since(e.read) >= ReadCacheTTL {
		var zero V
		return zero, false
	}
	return e.value, true
}

// begin returns what put needs to know about a read of the database
// starting now.
func (c *readCache[V]) begin() readCacheTicket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return readCacheTicket{read: time.Now(), drops: c.drops}
}

// readCacheTicket is when a read of the database began.
type readCacheTicket struct {
	read  time.Time
	drops uint64
}

// put keeps value for key, read from the database after t was taken. The
// entry's age counts from before the read, so it never outlives what the
// read saw; a value read while drop was called is not kept.
func (c *readCache[V]) put(key string, value V, t readCacheTicket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drops != t.drops {
		return
	}
	if c.entries == nil || len(c.entries) >= readCacheMaxEntries {
		c.entries = map[string]readCacheEntry[V]{}
	}
	c.entries[key] = readCacheEntry[V]{value: value, read: t.read}
}

// drop forgets key: the next get reads the database.
func (c *readCache[V]) drop(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.drops++
	c.mu.Unlock()
}

// dropAll forgets every entry.
func (c *readCache[V]) dropAll() {
	c.mu.Lock()
	c.entries = nil
	c.drops++
	c.mu.Unlock()
}

// readCaches are a DB's caches; the zero value is ready.
type readCaches struct {
	// accessKeys hold the rows as stored: Secret is sealed.
	accessKeys     readCache[metalplane.AccessKey]
	resourceGroups readCache[map[string]string]
	// defaultGroups maps a team to its default resource group's ID,
	// which every purchase without a group needs: made with the team
	// and never deleted (DeleteResourceGroup refuses it), so an entry
	// is never wrong, only read again after ReadCacheTTL.
	defaultGroups readCache[string]
}
