package httpapi

import (
	"github.com/metalplane/metalplane"
)

// The instance lifecycle actions (ACTIONS.md §3.3–§3.11). Each answers
// only requestId; the state checks live in metalplane.Refusal and are
// applied by the store under the instances' row locks.

// noOutput is the answer of actions whose output is only requestId.
type noOutput struct{}

// instanceIDList checks the instanceIds of a batch action: 1..100 IDs.
// Repeated IDs count once [decision].
func instanceIDList(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "The parameter instanceIds is required.")
	}
	if err := metalplane.CheckIDList("instanceIds", ids, metalplane.MaxBatchInstances); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, metalplane.Errorf("INVALID_PARAMETER", "instanceIds must not hold an empty ID.")
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

func requiredString(name string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", metalplane.Errorf("MISSING_PARAMETER", "The parameter %s is required.", name)
	}
	return *v, nil
}

// requiredID is requiredString for an ID, which is also at most
// metalplane.MaxIDLength characters.
func requiredID(name string, v *string) (string, error) {
	id, err := requiredString(name, v)
	if err != nil {
		return "", err
	}
	if err := metalplane.CheckID(name, v); err != nil {
		return "", err
	}
	return id, nil
}

// handlePower serves StartInstances, StopInstances and RebootInstances.
func handlePower(op metalplane.Operation) func(r *request) (any, error) {
	return func(r *request) (any, error) {
		var in struct {
			InstanceIDs []string `json:"instanceIds"`
		}
		if err := r.decode(&in); err != nil {
			return nil, err
		}
		ids, err := instanceIDList(in.InstanceIDs)
		if err != nil {
			return nil, err
		}
		if err := r.server.DB.PowerInstances(r.ctx, r.caller.TeamID, ids, op, r.server.EnqueueLifecycle); err != nil {
			return nil, err
		}
		return noOutput{}, nil
	}
}

var (
	handleStartInstances  = handlePower(metalplane.OpStart)
	handleStopInstances   = handlePower(metalplane.OpStop)
	handleRebootInstances = handlePower(metalplane.OpReboot)
)

func handleReinstallInstance(r *request) (any, error) {
	var in metalplane.ReinstallInput
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.CheckReinstallRequest(&in); err != nil {
		return nil, err
	}
	db := r.server.DB
	inst, err := db.FindInstance(r.ctx, r.caller.TeamID, *in.InstanceID)
	if err != nil {
		return nil, err
	}
	team, err := db.FindTeam(r.ctx, r.caller.TeamID)
	if err != nil {
		return nil, err
	}
	plan, err := metalplane.ValidateReinstall(r.ctx, &in, inst, metalplane.CreateContext{
		Catalog: r.server.Catalog, Team: team, Version: r.version, Lookups: db.Lookups(),
	})
	if err != nil {
		return nil, err
	}
	if err := db.ReinstallInstance(r.ctx, r.caller.TeamID, plan, r.server.EnqueueLifecycle); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

func handleTerminateInstance(r *request) (any, error) {
	var in struct {
		InstanceID *string `json:"instanceId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	if _, err := r.server.DB.TerminateInstance(r.ctx, r.caller.TeamID, id, r.server.EnqueueLifecycle); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

func handleReleaseInstances(r *request) (any, error) {
	var in struct {
		InstanceIDs []string `json:"instanceIds"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ids, err := instanceIDList(in.InstanceIDs)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.ReleaseInstances(r.ctx, r.caller.TeamID, ids); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

func handleRenewInstance(r *request) (any, error) {
	var in struct {
		InstanceID *string `json:"instanceId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	price := func(inst *metalplane.Instance) (metalplane.Money, error) {
		return metalplane.RenewalPrice(r.server.Catalog, inst)
	}
	if err := r.server.DB.RenewInstance(r.ctx, r.caller.TeamID, id, price); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

// handleModifyInstancesAttribute checks instanceIds, then the name, then
// that every instance exists [decision: the checks needing no database
// first, as for CreateInstances].
func handleModifyInstancesAttribute(r *request) (any, error) {
	var in struct {
		InstanceIDs  []string `json:"instanceIds"`
		InstanceName *string  `json:"instanceName"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ids, err := instanceIDList(in.InstanceIDs)
	if err != nil {
		return nil, err
	}
	name, err := requiredString("instanceName", in.InstanceName)
	if err != nil {
		return nil, err
	}
	if err := metalplane.ValidatePlainName(name); err != nil {
		return nil, err
	}
	if err := r.server.DB.RenameInstances(r.ctx, r.caller.TeamID, ids, name); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}

// handleModifyInstancesResourceGroup checks, in order [decision]:
// parameters, the caller's administrator right, the group, the instances.
func handleModifyInstancesResourceGroup(r *request) (any, error) {
	var in struct {
		InstanceIDs     []string `json:"instanceIds"`
		ResourceGroupID *string  `json:"resourceGroupId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ids, err := instanceIDList(in.InstanceIDs)
	if err != nil {
		return nil, err
	}
	group, err := requiredID("resourceGroupId", in.ResourceGroupID)
	if err != nil {
		return nil, err
	}
	if !r.caller.IsAdmin {
		return nil, metalplane.Errorf("UNAUTHORIZED_OPERATION", "Only a team administrator may move instances between resource groups.")
	}
	if err := r.server.DB.MoveInstancesToResourceGroup(r.ctx, r.caller.TeamID, ids, group); err != nil {
		return nil, err
	}
	return noOutput{}, nil
}
