package sqlstore

import (
	"context"

	"github.com/metalplane/metalplane"
)

// listedInstanceColumns are the columns of instanceColumns that the API's
// instance listings answer: not team_id (the filter's), order_number,
// host_id, cluster_id nor failure_reason. Each column of each row is
// driver work (on SQLite two or three calls into the library and an
// allocation or two): reading the page of DescribeInstances was the
// largest part of the server's CPU per request.
const listedInstanceColumns = `id, zone_id, instance_type_id, name, hostname, image_id, ipxe_url,
	charge_type, period, auto_renew, internet_charge_type, bandwidth_out_mbps, traffic_package_tb, resource_group_id, key_id, status,
	public_ipv4, public_ipv6, private_ip, subnet_id, raid_config, partitions, wan_name, lan_name, tags, enable_gateway_mode,
	create_time, expired_time`

// newListedInstanceScanner reads rows of listedInstanceColumns, then of
// any extra columns.
func newListedInstanceScanner(extra ...any) *instanceScanner {
	s := &instanceScanner{}
	in := &s.in
	s.dest = append([]any{&in.ID, &in.ZoneID, &in.InstanceTypeID, &in.Name, &in.Hostname, &in.ImageID, &in.IpxeURL,
		&in.ChargeType, &s.period, &in.AutoRenew, &in.InternetChargeType, &s.bandwidth, &in.TrafficPackageTB, &in.ResourceGroupID, &in.KeyID, &s.status,
		&in.PublicIPv4, &in.PublicIPv6, &in.PrivateIP, &in.SubnetID, &s.raid, &s.parts, &s.wan, &s.lan, &s.tags, &in.EnableGatewayMode,
		&s.created, &s.expired}, extra...)
	return s
}

// FindListedInstances is FindInstances for listings: each instance has
// only the fields of listedInstanceColumns, and TeamID (the filter's);
// OrderNumber, HostID, ClusterID and FailureReason are left empty.
func (db *DB) FindListedInstances(ctx context.Context, f InstanceFilter) ([]*metalplane.Instance, int, error) {
	found, total, err := db.findInstances(ctx, f, listedInstanceColumns, newListedInstanceScanner)
	for _, in := range found {
		in.TeamID = f.TeamID
	}
	return found, total, err
}
