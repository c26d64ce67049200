package metalplane

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestTimeOrderedIDsKeepTheShapesAndOrder(t *testing.T) {
	var g TimeOrderedIDs
	instanceShape := regexp.MustCompile(`^[1-9][0-9]{17}$`)
	orderShape := regexp.MustCompile(`^[1-9][0-9]{15}$`)
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	var lastID, lastOrder uint64
	// Many in one millisecond, then the clock set back a minute: still
	// strictly increasing, so never a repeat.
	for i := range 3000 {
		at := now
		if i >= 2000 {
			at = now.Add(-time.Minute)
		}
		id, order := g.InstanceID(at), g.OrderNumber(at)
		if !instanceShape.MatchString(id) || !orderShape.MatchString(order) {
			t.Fatalf("draw %d: instance ID %q, order number %q: wrong shape", i, id, order)
		}
		idN, _ := strconv.ParseUint(id, 10, 64)
		orderN, _ := strconv.ParseUint(order, 10, 64)
		if idN <= lastID || orderN <= lastOrder {
			t.Fatalf("draw %d: %s after %d, %s after %d: not increasing", i, id, lastID, order, lastOrder)
		}
		lastID, lastOrder = idN, orderN
	}
	// A later millisecond sorts after everything drawn before it.
	later := g.InstanceID(now.Add(time.Second))
	if laterN, _ := strconv.ParseUint(later, 10, 64); laterN <= lastID {
		t.Fatalf("ID a second later %s does not sort after %d", later, lastID)
	}
	// The leading digits are the time: two generators a second apart do
	// not interleave.
	var a, b TimeOrderedIDs
	if x, y := a.InstanceID(now), b.InstanceID(now.Add(time.Second)); x >= y {
		t.Fatalf("ID at %v (%s) sorts after the ID a second later (%s)", now, x, y)
	}
}
