package sqlstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/testdb"
)

// A purchase without a resource group goes to its own team's default
// group, also when the teams' purchases alternate and the groups come
// from memory (readCaches.defaultGroups); an unknown team is refused, not
// kept.
func TestDefaultResourceGroupOfEachTeam(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": testdb.SQLiteDSN, "postgres": testdb.PostgresDSN} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := migratedTestDB(t, dsn(t))
			var teams []*metalplane.Team
			for i := range 3 {
				team, err := db.CreateTeam(ctx, TeamCreate{Name: fmt.Sprintf("groups%d", i), PostpaidAllowed: true})
				if err != nil {
					t.Fatal(err)
				}
				teams = append(teams, team)
			}
			lookups := db.Lookups()
			for round := range 3 {
				for _, team := range teams {
					want, err := db.DefaultResourceGroup(ctx, team.ID)
					if err != nil {
						t.Fatal(err)
					}
					got, err := lookups.ResourceGroupID(ctx, team.ID, "")
					if err != nil {
						t.Fatal(err)
					}
					if got != want.ID {
						t.Errorf("round %d, team %s: default group %s, want %s", round, team.Name, got, want.ID)
					}
				}
			}
			for range 2 {
				if id, err := lookups.ResourceGroupID(ctx, "team-unknown", ""); err == nil {
					t.Errorf("a team that does not exist has default group %q", id)
				}
			}
		})
	}
}
