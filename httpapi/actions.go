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
	effect  effect
	handle  func(r *request) (any, error)
}

// effect says whether an action changes anything. A signed request of an
// action that writes claims its signature in the action's own transaction,
// with the answer an identical retry gets if this answer is lost (replay.go
// in this package and in sqlstore).
type effect int

const (
	reads effect = iota
	writes
)

// mutating reports whether the action changes anything.
func (a *action) mutating() bool { return a.effect == writes }

// actions is the one list of every action served, both bmc versions
// sharing a handler (their differences are handled inside it).
var actions = []action{
	{"bmc", "DescribeZones", reads, handleDescribeZones},
	{"bmc", "DescribeInstanceTypes", reads, handleDescribeInstanceTypes},
	{"bmc", "DescribeAvailableResources", reads, handleDescribeAvailableResources},
	{"bmc", "DescribeImages", reads, handleDescribeImages},
	{"bmc", "InquiryPriceCreateInstance", reads, handleInquiryPriceCreateInstance},
	{"bmc", "CreateInstances", writes, handleCreateInstances},
	{"bmc", "DescribeInstances", reads, handleDescribeInstances},
	{"bmc", "StartInstances", writes, handleStartInstances},
	{"bmc", "StopInstances", writes, handleStopInstances},
	{"bmc", "RebootInstances", writes, handleRebootInstances},
	{"bmc", "ReinstallInstance", writes, handleReinstallInstance},
	{"bmc", "TerminateInstance", writes, handleTerminateInstance},
	{"bmc", "ReleaseInstances", writes, handleReleaseInstances},
	{"bmc", "RenewInstance", writes, handleRenewInstance},
	{"bmc", "ModifyInstancesAttribute", writes, handleModifyInstancesAttribute},
	{"bmc", "ModifyInstancesResourceGroup", writes, handleModifyInstancesResourceGroup},
	{"bmc", "CreateSubnet", writes, handleCreateSubnet},
	{"bmc", "DescribeSubnets", reads, handleDescribeSubnets},
	{"bmc", "DeleteSubnet", writes, handleDeleteSubnet},
	{"bmc", "AssociateSubnetInstances", writes, handleAssociateSubnetInstances},
	{"bmc", "UnAssociateSubnetInstance", writes, handleUnAssociateSubnetInstance},
	{"bmc", "DescribeInstanceInternetStatus", reads, handleDescribeInstanceInternetStatus},
	{"bmc", "ModifyInstanceBandwidth", writes, handleModifyInstanceBandwidth},
	{"bmc", "InquiryPriceInstanceBandwidth", reads, handleInquiryPriceInstanceBandwidth},
	{"bmc", "CancelInstanceBandwidthDowngrade", writes, handleCancelInstanceBandwidthDowngrade},
	{"bmc", "ModifyInstanceTrafficPackage", writes, handleModifyInstanceTrafficPackage},
	{"bmc", "InquiryPriceInstanceTrafficPackage", reads, handleInquiryPriceInstanceTrafficPackage},
	{"bmc", "CancelInstanceTrafficPackageDowngrade", writes, handleCancelInstanceTrafficPackageDowngrade},
	{"bmc", "DescribeInstancesMonitorHealth", reads, handleDescribeInstancesMonitorHealth},
	{"bmc", "DescribeEipAvailableResources", reads, addressAction(metalplane.KindEIP, handleDescribeAddressAvailable)},
	{"bmc", "InquiryPriceCreateEipAddress", reads, addressAction(metalplane.KindEIP, handleInquiryPriceAddress)},
	{"bmc", "AllocateEipAddresses", writes, addressAction(metalplane.KindEIP, handleAllocateAddresses)},
	{"bmc", "DescribeEipAddresses", reads, addressAction(metalplane.KindEIP, handleDescribeAddresses)},
	{"bmc", "DescribeInstanceAvailableEipResources", reads, addressAction(metalplane.KindEIP, handleDescribeInstanceAvailableAddresses)},
	{"bmc", "AssociateEipAddress", writes, addressAction(metalplane.KindEIP, handleAssociateAddress)},
	{"bmc", "UnAssociateEipAddress", writes, addressAction(metalplane.KindEIP, handleUnassociateAddress)},
	{"bmc", "ModifyEipAddressesResourceGroup", writes, addressAction(metalplane.KindEIP, handleModifyAddressesResourceGroup)},
	{"bmc", "RenewEipAddress", writes, addressAction(metalplane.KindEIP, handleRenewAddress)},
	{"bmc", "TerminateEipAddress", writes, addressAction(metalplane.KindEIP, handleTerminateAddress)},
	{"bmc", "ReleaseEipAddresses", writes, addressAction(metalplane.KindEIP, handleReleaseAddresses)},
	{"bmc", "DescribeDdosIpAvailableResources", reads, addressAction(metalplane.KindDdosIP, handleDescribeAddressAvailable)},
	{"bmc", "InquiryPriceCreateDdosIpAddress", reads, addressAction(metalplane.KindDdosIP, handleInquiryPriceAddress)},
	{"bmc", "AllocateDdosIpAddresses", writes, addressAction(metalplane.KindDdosIP, handleAllocateAddresses)},
	{"bmc", "DescribeDdosIpAddresses", reads, addressAction(metalplane.KindDdosIP, handleDescribeAddresses)},
	{"bmc", "DescribeInstanceAvailableDdosIpResources", reads, addressAction(metalplane.KindDdosIP, handleDescribeInstanceAvailableAddresses)},
	{"bmc", "AssociateDdosIpAddress", writes, addressAction(metalplane.KindDdosIP, handleAssociateAddress)},
	{"bmc", "UnAssociateDdosIpAddress", writes, addressAction(metalplane.KindDdosIP, handleUnassociateAddress)},
	{"bmc", "ModifyDdosIpAddressesResourceGroup", writes, addressAction(metalplane.KindDdosIP, handleModifyAddressesResourceGroup)},
	{"bmc", "RenewDdosIpAddress", writes, addressAction(metalplane.KindDdosIP, handleRenewAddress)},
	{"bmc", "TerminateDdosIpAddress", writes, addressAction(metalplane.KindDdosIP, handleTerminateAddress)},
	{"bmc", "ReleaseDdosIpAddresses", writes, addressAction(metalplane.KindDdosIP, handleReleaseAddresses)},
	{"bmc", "CreateVpc", writes, handleCreateVpc},
	{"bmc", "DescribeVpcs", reads, handleDescribeVpcs},
	{"bmc", "ModifyVpcsAttribute", writes, handleModifyVpcsAttribute},
	{"bmc", "ModifyVpcsResourceGroup", writes, handleModifyVpcsResourceGroup},
	{"bmc", "DeleteVpc", writes, handleDeleteVpc},
	{"bmc", "DescribeVpcAvailableRegions", reads, handleDescribeVpcAvailableRegions},
	{"bmc", "AssociateVpcSubnet", writes, handleAssociateVpcSubnet},
	{"bmc", "ModifySubnetsAttribute", writes, handleModifySubnetsAttribute},
	{"bmc", "ModifySubnetsResourceGroup", writes, handleModifySubnetsResourceGroup},
	{"bmc", "DescribeSubnetAvailableResources", reads, handleDescribeSubnetAvailableResources},
	{"bmc", "DescribeInstanceTraffic", reads, handleInstanceTraffic},
	{"bmc", "DescribeManagedInstanceTraffic", reads, handleInstanceTraffic},
	{"bmc", "DescribeManagedInstances", reads, handleDescribeManagedInstances},
	{"bmc", "DescribeAvailableIpv4Resources", reads, handleDescribeAvailableIpv4Resources},
	{"bmc", "DescribeAvailableIpv6Resources", reads, handleDescribeAvailableIpv6Resources},
	{"bmc", "InquiryPriceCreateIpv4Block", reads, handleInquiryPriceCreateIpv4Block},
	{"bmc", "CreateIpv4Block", writes, handleCreateIpv4Block},
	{"bmc", "CreateIpv6Block", writes, handleCreateIpv6Block},
	{"bmc", "CreateByoip", writes, handleCreateByoip},
	{"bmc", "DescribeCidrBlocks", reads, handleDescribeCidrBlocks},
	{"bmc", "DescribeCidrBlockIps", reads, handleDescribeCidrBlockIps},
	{"bmc", "DescribeInstanceAvailableCidrBlock", reads, handleDescribeInstanceAvailableCidrBlock},
	{"bmc", "BindCidrBlockIps", writes, handleBindCidrBlockIps},
	{"bmc", "UnbindCidrBlockIps", writes, handleUnbindCidrBlockIps},
	{"bmc", "ModifyCidrBlocksAttribute", writes, handleModifyCidrBlocksAttribute},
	{"bmc", "RenewCidrBlock", writes, handleRenewCidrBlock},
	{"bmc", "TerminateCidrBlock", writes, handleTerminateCidrBlock},
	{"bmc", "ReleaseCidrBlocks", writes, handleReleaseCidrBlocks},
	{"bmc", "DescribeLoadBalancerZones", reads, handleDescribeLoadBalancerZones},
	{"bmc", "DescribeLoadBalancerSpecs", reads, handleDescribeLoadBalancerSpecs},
	{"bmc", "CreateLoadBalancer", writes, handleCreateLoadBalancer},
	{"bmc", "DescribeLoadBalancers", reads, handleDescribeLoadBalancers},
	{"bmc", "ModifyLoadBalancersName", writes, handleModifyLoadBalancersName},
	{"bmc", "ModifyLoadBalancerBandwidth", writes, only2022(handleModifyLoadBalancerBandwidth)},
	{"bmc", "CreateLoadBalancerVIPs", writes, handleCreateLoadBalancerVIPs},
	{"bmc", "DeleteLoadBalancerVIP", writes, handleDeleteLoadBalancerVIP},
	{"bmc", "CreateListener", writes, handleCreateListener},
	{"bmc", "DescribeListeners", reads, handleDescribeListeners},
	{"bmc", "ModifyListenerAttribute", writes, handleModifyListenerAttribute},
	{"bmc", "DeleteListener", writes, handleDeleteListener},
	{"bmc", "RegisterBackend", writes, handleRegisterBackend},
	{"bmc", "DescribeBackends", reads, handleDescribeBackends},
	{"bmc", "ModifyBackendWeight", writes, only2022(handleModifyBackendWeight)},
	{"bmc", "DeregisterBackend", writes, handleDeregisterBackend},
	{"bmc", "TerminateLoadBalancer", writes, handleTerminateLoadBalancer},
	{"bmc", "RestoreLoadBalancer", writes, handleRestoreLoadBalancer},
	{"bmc", "ReleaseLoadBalancer", writes, handleReleaseLoadBalancer},
	{"ccs", "ImportKeyPair", writes, handleImportKeyPair},
	{"ccs", "DescribeKeyPairs", reads, handleDescribeKeyPairs},
	{"ccs", "ModifyKeyPairAttribute", writes, handleModifyKeyPairAttribute},
	{"ccs", "DeleteKeyPairs", writes, handleDeleteKeyPairs},
	// metalplane's extensions (docs/api.md).
	{"bmc", "DescribeInstancesProgress", reads, handleDescribeInstancesProgress},
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
