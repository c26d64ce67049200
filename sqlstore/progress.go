package sqlstore

import (
	"context"

	"github.com/metalplane/metalplane"
)

// Progress is how far the hardware work of an instance has come.
type Progress struct {
	InstanceID string
	Status     metalplane.InstanceStatus
	// StepsDone counts the steps of the running workflow (provision or
	// reinstall) recorded as done; 0 in a stable status.
	StepsDone     int
	FailureReason string
}

// InstancesProgress returns the progress of the team's instances among
// ids, in the order of ids; ids not found (another team's, released,
// unknown) are left out, as DescribeInstances leaves them out.
func (db *DB) InstancesProgress(ctx context.Context, teamID string, ids []string) ([]Progress, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{teamID, false}
	for _, id := range ids {
		args = append(args, id)
	}
	// Not through the read pool's statement cache: the text varies with
	// the number of ids.
	rows, err := db.reader().QueryContext(ctx, progressSQL(len(ids)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := map[string]Progress{}
	for rows.Next() {
		var p Progress
		var status string
		if err := rows.Scan(&p.InstanceID, &status, &p.StepsDone, &p.FailureReason); err != nil {
			return nil, err
		}
		p.Status = metalplane.InstanceStatus(status)
		found[p.InstanceID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Progress, 0, len(found))
	for _, id := range ids {
		if p, ok := found[id]; ok {
			out = append(out, p)
			delete(found, id) // an id given twice is answered once
		}
	}
	return out, nil
}

// progressSQL is InstancesProgress's query of n instances: the team, false
// (not released), then the n IDs.
func progressSQL(n int) string {
	return `SELECT id, status, provision_step, failure_reason FROM instances
		WHERE team_id = $1 AND released = $2 AND id IN (` + placeholders(3, n) + `)`
}
