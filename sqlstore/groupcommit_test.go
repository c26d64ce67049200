package sqlstore

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
)

// The committer's IDs are time-ordered, so another process (or the same
// one after its clock was set back) may already have used the next one.
// Such a purchase must draw again and succeed, not fail the request. The
// generator is moved into the future by hand to make the collision
// certain.
func TestPurchaseDrawsNewIDsWhenTheyAreTaken(t *testing.T) {
	ctx := context.Background()
	db, cat := openDemoDB(t, filepath.Join(t.TempDir(), "metalplane.db"))
	team, err := db.CreateTeam(ctx, TeamCreate{Name: "ids", PostpaidAllowed: true, InitialCredit: metalplane.Money(1_000_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	if team, err = db.FindTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	buy := func(name string) *CreateResult {
		t.Helper()
		str := func(s string) *string { return &s }
		in := metalplane.CreateInstancesInput{ZoneID: str("SEL-A"), InstanceChargeType: str("POSTPAID"), InstanceTypeID: str("M6C"),
			InternetChargeType: str("ByBandwidth"), InstanceName: str(name)}
		plan, err := metalplane.ValidateCreate(ctx, &in, metalplane.CreateContext{Catalog: cat, Team: team, Version: "2026-02-01", Lookups: db.Lookups()})
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.CreateInstances(ctx, plan, nil)
		if err != nil {
			t.Fatalf("CreateInstances %s: %v", name, err)
		}
		return res
	}
	// The generator continues after an ID an hour ahead, so its next
	// draws are known: future+1, future+2, ...
	future := uint64(1e17) + uint64(time.Now().Add(time.Hour).Sub(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)).Milliseconds())*1e5
	g := db.committer()
	g.ids.Continue(strconv.FormatUint(future, 10), "")
	first := buy("first")
	if want := strconv.FormatUint(future+1, 10); first.InstanceIDSet[0] != want {
		t.Fatalf("first purchase got %s, want %s (the generator's next ID)", first.InstanceIDSet[0], want)
	}
	// A second generator at the same point, as another process or this
	// one restarted with its clock an hour behind: its first draw is
	// taken.
	g.ids = metalplane.TimeOrderedIDs{}
	g.ids.Continue(strconv.FormatUint(future, 10), "")
	second := buy("second")
	if want := strconv.FormatUint(future+2, 10); second.InstanceIDSet[0] != want {
		t.Fatalf("second purchase got %s, want %s (drawn again after %d was taken)", second.InstanceIDSet[0], want, future+1)
	}
	for _, id := range []string{first.InstanceIDSet[0], second.InstanceIDSet[0]} {
		in, err := db.FindInstanceByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if in.TeamID != team.ID {
			t.Fatalf("instance %s belongs to %s", id, in.TeamID)
		}
	}
	problems, err := db.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("audit: %v", problems)
	}
}
