package httpapi

import (
	"slices"

	"github.com/metalplane/metalplane"
)

// DescribeInstancesProgress is a metalplane extension, not a Zenlayer
// action (docs/api.md, "Extensions"): how far each instance's hardware work
// has come, step N of M, for `metalplane call --wait` and the console. The
// Zenlayer API shows only the status.

// InstanceProgress is one instance of DescribeInstancesProgress's
// dataSet; the CLI and the console decode it too.
type InstanceProgress struct {
	InstanceID     string `json:"instanceId"`
	InstanceStatus string `json:"instanceStatus"`
	// Settled is true once the status is not one the instance only
	// passes through (metalplane.TransientStatuses).
	Settled bool `json:"settled"`
	// Failed is true in CREATE_FAILED and INSTALL_FAILED.
	Failed bool `json:"failed"`
	// StepsDone of TotalSteps of the running workflow; CurrentStep names
	// the one in progress. All zero and "" in a stable status.
	StepsDone     int    `json:"stepsDone"`
	TotalSteps    int    `json:"totalSteps"`
	CurrentStep   string `json:"currentStep"`
	FailureReason string `json:"failureReason,omitempty"`
}

func handleDescribeInstancesProgress(r *request) (any, error) {
	var in struct {
		InstanceIDs []string `json:"instanceIds"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.CheckIDList("instanceIds", in.InstanceIDs, metalplane.MaxListItems); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "instanceIds is required.")
	}
	found, err := r.server.DB.InstancesProgress(r.ctx, r.caller.TeamID, in.InstanceIDs)
	if err != nil {
		return nil, err
	}
	items := make([]InstanceProgress, len(found))
	for i, p := range found {
		item := InstanceProgress{InstanceID: p.InstanceID, InstanceStatus: string(p.Status), FailureReason: p.FailureReason,
			Settled: !slices.Contains(metalplane.TransientStatuses, p.Status),
			Failed:  p.Status == metalplane.StatusCreateFailed || p.Status == metalplane.StatusInstallFailed}
		if steps := r.server.Workflows[p.Status]; !item.Settled && len(steps) > 0 {
			item.TotalSteps = len(steps)
			item.StepsDone = min(p.StepsDone, len(steps))
			if item.StepsDone < len(steps) {
				item.CurrentStep = steps[item.StepsDone]
			}
		}
		items[i] = item
	}
	return map[string]any{"dataSet": items, "totalCount": len(items)}, nil
}
