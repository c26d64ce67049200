package httpapi

import "github.com/metalplane/metalplane"

// API versions per service (PROTOCOL.md §1).
const (
	BMCVersion2026 = "2026-02-01"
	BMCVersion2022 = "2022-11-20"
	CCSVersion     = "2025-09-01"
)

var serviceVersions = map[string][]string{
	"bmc": {BMCVersion2026, BMCVersion2022},
	"ccs": {CCSVersion},
}

// action is one row of the action table.
type action struct {
	service string
	name    string
	replay  replayKind
	handle  func(r *request) (any, error)
}

// replayKind says how an action remembers its answer per signature, so
// that an identical signed retry is answered without doing the work twice
// (PROTOCOL.md §7, docs/api.md).
type replayKind int

const (
	// readOnly actions have nothing to protect.
	readOnly replayKind = iota
	// replayAfter: the answer is stored once the action has succeeded.
	replayAfter
	// replayInTx: the action's own transaction stores the answer before
	// anything else, so two identical purchases racing each other pay
	// once; storing it again afterwards would only cost the writer a
	// second transaction.
	replayInTx
)

// mutating reports whether the action changes anything.
func (a *action) mutating() bool { return a.replay != readOnly }

// actions is the one list of every action served, both bmc versions
// sharing a handler (their differences are handled inside it).
var actions = []action{
	{"bmc", "DescribeZones", readOnly, handleDescribeZones},
	{"bmc", "DescribeInstanceTypes", readOnly, handleDescribeInstanceTypes},
	{"bmc", "DescribeAvailableResources", readOnly, handleDescribeAvailableResources},
	{"bmc", "DescribeImages", readOnly, handleDescribeImages},
	{"bmc", "InquiryPriceCreateInstance", readOnly, handleInquiryPriceCreateInstance},
	{"bmc", "CreateInstances", replayInTx, handleCreateInstances},
	{"bmc", "DescribeInstances", readOnly, handleDescribeInstances},
	{"bmc", "StartInstances", replayAfter, handleStartInstances},
	{"bmc", "StopInstances", replayAfter, handleStopInstances},
	{"bmc", "RebootInstances", replayAfter, handleRebootInstances},
	{"bmc", "ReinstallInstance", replayAfter, handleReinstallInstance},
	{"bmc", "TerminateInstance", replayAfter, handleTerminateInstance},
	{"bmc", "ReleaseInstances", replayAfter, handleReleaseInstances},
	{"bmc", "RenewInstance", replayAfter, handleRenewInstance},
	{"bmc", "ModifyInstancesAttribute", replayAfter, handleModifyInstancesAttribute},
	{"bmc", "ModifyInstancesResourceGroup", replayAfter, handleModifyInstancesResourceGroup},
	{"bmc", "CreateSubnet", replayAfter, handleCreateSubnet},
	{"bmc", "DescribeSubnets", readOnly, handleDescribeSubnets},
	{"bmc", "DeleteSubnet", replayAfter, handleDeleteSubnet},
	{"bmc", "AssociateSubnetInstances", replayAfter, handleAssociateSubnetInstances},
	{"bmc", "UnAssociateSubnetInstance", replayAfter, handleUnAssociateSubnetInstance},
	{"bmc", "DescribeInstanceInternetStatus", readOnly, handleDescribeInstanceInternetStatus},
	{"bmc", "ModifyInstanceBandwidth", replayInTx, handleModifyInstanceBandwidth},
	{"bmc", "InquiryPriceInstanceBandwidth", readOnly, handleInquiryPriceInstanceBandwidth},
	{"bmc", "CancelInstanceBandwidthDowngrade", replayAfter, handleCancelInstanceBandwidthDowngrade},
	{"bmc", "ModifyInstanceTrafficPackage", replayInTx, handleModifyInstanceTrafficPackage},
	{"bmc", "InquiryPriceInstanceTrafficPackage", readOnly, handleInquiryPriceInstanceTrafficPackage},
	{"bmc", "CancelInstanceTrafficPackageDowngrade", replayAfter, handleCancelInstanceTrafficPackageDowngrade},
	{"bmc", "DescribeInstancesMonitorHealth", readOnly, handleDescribeInstancesMonitorHealth},
	{"ccs", "ImportKeyPair", replayAfter, handleImportKeyPair},
	{"ccs", "DescribeKeyPairs", readOnly, handleDescribeKeyPairs},
	{"ccs", "ModifyKeyPairAttribute", replayAfter, handleModifyKeyPairAttribute},
	{"ccs", "DeleteKeyPairs", replayAfter, handleDeleteKeyPairs},
}

var actionIndex = func() map[[2]string]*action {
	m := map[[2]string]*action{}
	for i := range actions {
		m[[2]string{actions[i].service, actions[i].name}] = &actions[i]
	}
	return m
}()

func knownService(service string) bool {
	_, ok := serviceVersions[service]
	return ok
}

func findAction(service, name, version string) (*action, error) {
	if name == "" {
		return nil, metalplane.Errorf("INVALID_ACTION", "X-ZC-Action is missing.")
	}
	act, ok := actionIndex[[2]string{service, name}]
	if !ok {
		return nil, metalplane.Errorf("INVALID_ACTION", "The action %s does not exist for service %s.", name, service)
	}
	if version == "" {
		return nil, metalplane.Errorf("INVALID_VERSION", "X-ZC-Version is missing.")
	}
	for _, v := range serviceVersions[service] {
		if v == version {
			return act, nil
		}
	}
	return nil, metalplane.Errorf("INVALID_VERSION", "Version %s is not supported by service %s.", version, service)
}
