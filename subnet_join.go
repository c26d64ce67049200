package metalplane

// Rules of AssociateSubnetInstances and UnAssociateSubnetInstance (subnet
// membership after creation). An instance is in at most one subnet and
// holds one address in it.

// MaxSubnetJoins bounds subnetInstanceList (docs: up to 100 instances per
// request).
const MaxSubnetJoins = 100

// CheckSubnetJoin reports whether the instance may join the subnet, in this
// order [decision]: the recycle bin (OPERATION_DENIED_INSTANCE_RECYCLED),
// PENDING/CREATING (OPERATION_DENIED_INSTANCE_CREATING), any other state
// but RUNNING (OPERATION_DENIED_INSTANCE_NOT_RUNNING; docs: only RUNNING
// instances), another zone (OPERATION_DENIED_DIFFERENT_ZONE), a type with
// supportSubnet=false (OPERATION_DENIED_INSTANCE_NOT_SUPPORT_SUBNET),
// already a member of this subnet
// (OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE), a member of another
// subnet (OPERATION_DENIED_SUBNET_EXIST_INSTANCE; docs: "if the instance
// is already in other subnet, the request will fail").
func CheckSubnetJoin(cat *Catalog, sub *Subnet, in *Instance) *Error {
	if err := CheckInternetState(in, "OPERATION_DENIED_INSTANCE_NOT_RUNNING", StatusRunning); err != nil {
		return err
	}
	if in.ZoneID != sub.ZoneID {
		return Errorf("OPERATION_DENIED_DIFFERENT_ZONE", "The instance %s is in %s, the subnet %s in %s.", in.ID, in.ZoneID, sub.ID, sub.ZoneID)
	}
	if t, ok := cat.FindInstanceType(in.InstanceTypeID); !ok || !t.SupportSubnet {
		return Errorf("OPERATION_DENIED_INSTANCE_NOT_SUPPORT_SUBNET", "%s does not support subnets.", in.InstanceTypeID)
	}
	if in.SubnetID == sub.ID {
		return Errorf("OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE", "The instance %s is already in the subnet %s.", in.ID, sub.ID)
	}
	if in.SubnetID != "" {
		return Errorf("OPERATION_DENIED_SUBNET_EXIST_INSTANCE", "The instance %s is already in the subnet %s; remove it from there first.", in.ID, in.SubnetID)
	}
	return nil
}

// CheckSubnetLeave reports whether the instance may leave a subnet: any
// state but PENDING and CREATING (OPERATION_DENIED_INSTANCE_CREATING: the
// provisioner is configuring its network) [decision]. Instances in the
// recycle bin may leave, freeing their address before they are released.
func CheckSubnetLeave(in *Instance) *Error {
	if in.Status == StatusPending || in.Status == StatusCreating {
		return Errorf("OPERATION_DENIED_INSTANCE_CREATING", "The instance %s is being created.", in.ID)
	}
	return nil
}
