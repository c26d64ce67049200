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
	// mutating actions remember their answer per signature so that an
	// identical signed retry is answered without doing the work twice.
	mutating bool
	handle   func(r *request) (any, error)
}

// actions is the one list of every action served, both bmc versions
// sharing a handler (their differences are handled inside it).
var actions = []action{
	{"bmc", "DescribeZones", false, handleDescribeZones},
	{"bmc", "DescribeInstanceTypes", false, handleDescribeInstanceTypes},
	{"bmc", "DescribeAvailableResources", false, handleDescribeAvailableResources},
	{"bmc", "DescribeImages", false, handleDescribeImages},
	{"bmc", "InquiryPriceCreateInstance", false, handleInquiryPriceCreateInstance},
	{"bmc", "CreateInstances", true, handleCreateInstances},
	{"bmc", "DescribeInstances", false, handleDescribeInstances},
	{"bmc", "StartInstances", true, handleStartInstances},
	{"bmc", "StopInstances", true, handleStopInstances},
	{"bmc", "RebootInstances", true, handleRebootInstances},
	{"bmc", "ReinstallInstance", true, handleReinstallInstance},
	{"bmc", "TerminateInstance", true, handleTerminateInstance},
	{"bmc", "ReleaseInstances", true, handleReleaseInstances},
	{"bmc", "RenewInstance", true, handleRenewInstance},
	{"bmc", "ModifyInstancesAttribute", true, handleModifyInstancesAttribute},
	{"bmc", "ModifyInstancesResourceGroup", true, handleModifyInstancesResourceGroup},
	{"bmc", "CreateSubnet", true, handleCreateSubnet},
	{"bmc", "DescribeSubnets", false, handleDescribeSubnets},
	{"bmc", "DeleteSubnet", true, handleDeleteSubnet},
	{"bmc", "AssociateSubnetInstances", true, handleAssociateSubnetInstances},
	{"bmc", "UnAssociateSubnetInstance", true, handleUnAssociateSubnetInstance},
	{"bmc", "DescribeInstanceInternetStatus", false, handleDescribeInstanceInternetStatus},
	{"bmc", "ModifyInstanceBandwidth", true, handleModifyInstanceBandwidth},
	{"bmc", "InquiryPriceInstanceBandwidth", false, handleInquiryPriceInstanceBandwidth},
	{"bmc", "CancelInstanceBandwidthDowngrade", true, handleCancelInstanceBandwidthDowngrade},
	{"bmc", "ModifyInstanceTrafficPackage", true, handleModifyInstanceTrafficPackage},
	{"bmc", "InquiryPriceInstanceTrafficPackage", false, handleInquiryPriceInstanceTrafficPackage},
	{"bmc", "CancelInstanceTrafficPackageDowngrade", true, handleCancelInstanceTrafficPackageDowngrade},
	{"bmc", "DescribeInstancesMonitorHealth", false, handleDescribeInstancesMonitorHealth},
	{"ccs", "ImportKeyPair", true, handleImportKeyPair},
	{"ccs", "DescribeKeyPairs", false, handleDescribeKeyPairs},
	{"ccs", "ModifyKeyPairAttribute", true, handleModifyKeyPairAttribute},
	{"ccs", "DeleteKeyPairs", true, handleDeleteKeyPairs},
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
