package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/internal/testdb"
)

// createRunningN buys amount instances with req and waits until all are
// RUNNING; it returns their IDs in purchase order.
func createRunningN(t *testing.T, env *apitest.Env, req map[string]any, amount int) []string {
	t.Helper()
	req["amount"] = amount
	var created createResponse
	mustTickCall(t, env, env.BMC(), "CreateInstances", req, &created)
	waitStatus(t, env, created.InstanceIDSet, "RUNNING")
	return created.InstanceIDSet
}

func join(ids ...string) map[string]any {
	list := make([]map[string]any, len(ids))
	for i, id := range ids {
		list[i] = map[string]any{"instanceId": id}
	}
	return map[string]any{"subnetInstanceList": list}
}

func associate(subnetID string, items ...map[string]any) map[string]any {
	return map[string]any{"subnetId": subnetID, "subnetInstanceList": items}
}

// members returns the subnet's members as instance ID → private IP,
// checking that each is BOUND.
func members(t *testing.T, env *apitest.Env, subnetID string) (map[string]string, int) {
	t.Helper()
	out := describeSubnets(t, env, env.BMC2022(), map[string]any{"subnetIds": []string{subnetID}})
	if len(out.DataSet) != 1 {
		t.Fatalf("DescribeSubnets %s: got %d subnets", subnetID, len(out.DataSet))
	}
	m := map[string]string{}
	for _, s := range out.DataSet[0].SubnetInstanceSet {
		if s.PrivateIPStatus != "BOUND" {
			t.Errorf("member %s: got privateIpStatus %q, want BOUND", s.InstanceID, s.PrivateIPStatus)
		}
		m[s.InstanceID] = s.PrivateIPAddress
	}
	return m, out.DataSet[0].AvailableIPCount
}

func instanceNetwork(t *testing.T, env *apitest.Env, id string) (subnetIDs, privateIPs []any) {
	t.Helper()
	d := describeOne(t, env, id)
	s, _ := d["subnetIds"].([]any)
	p, _ := d["privateIpAddresses"].([]any)
	return s, p
}

func TestSubnetAssociateAndUnassociate(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		ids := createRunningN(t, env, minimalCreate(), 3)
		// A /29 gives .2 to .6.
		sub := newSubnet(t, env, env.BMC(), map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.1.0/29", "subnetName": "assoc"})

		// Terraform's call (2022-11-20): the lowest free address.
		mustTickCall(t, env, env.BMC2022(), "AssociateSubnetInstances", map[string]any{"subnetId": sub, "subnetInstanceList": []map[string]any{{"instanceId": ids[0]}}}, nil)
		got, free := members(t, env, sub)
		if want := map[string]string{ids[0]: "10.0.1.2"}; !sameMembers(got, want) || free != 4 {
			t.Fatalf("after joining: got members %v and %d free, want %v and 4", got, free, want)
		}
		s, p := instanceNetwork(t, env, ids[0])
		if len(s) != 1 || s[0] != sub || len(p) != 1 || p[0] != "10.0.1.2" {
			t.Fatalf("DescribeInstances: got subnetIds %v privateIpAddresses %v, want [%s] [10.0.1.2]", s, p, sub)
		}
		var filtered describeResponse
		mustTickCall(t, env, env.BMC(), "DescribeInstances", map[string]any{"subnetId": sub}, &filtered)
		if filtered.TotalCount != 1 || filtered.DataSet[0]["instanceId"] != ids[0] {
			t.Fatalf("DescribeInstances subnetId filter: got %d instances, want %s", filtered.TotalCount, ids[0])
		}

		// Two at once (2026-02-01), one with a requested address.
		req := associate(sub, map[string]any{"instanceId": ids[1], "privateIpAddress": "10.0.1.6"}, map[string]any{"instanceId": ids[2]})
		mustTickCall(t, env, env.BMC(), "AssociateSubnetInstances", req, nil)
		got, free = members(t, env, sub)
		if want := map[string]string{ids[0]: "10.0.1.2", ids[1]: "10.0.1.6", ids[2]: "10.0.1.3"}; !sameMembers(got, want) || free != 2 {
			t.Fatalf("after joining two: got %v and %d free, want %v and 2", got, free, want)
		}

		// Leaving frees the address; DeleteSubnet waits for the last one.
		mustTickCall(t, env, env.BMC2022(), "UnAssociateSubnetInstance", map[string]any{"subnetId": sub, "instanceId": ids[0]}, nil)
		got, free = members(t, env, sub)
		if _, ok := got[ids[0]]; ok || len(got) != 2 || free != 3 {
			t.Fatalf("after leaving: got %v and %d free, want two members and 3 free", got, free)
		}
		if s, p := instanceNetwork(t, env, ids[0]); len(s) != 0 || len(p) != 0 {
			t.Fatalf("DescribeInstances after leaving: got subnetIds %v privateIpAddresses %v, want none", s, p)
		}
		// Leaving again, or a subnet one is not in, changes nothing.
		mustTickCall(t, env, env.BMC(), "UnAssociateSubnetInstance", map[string]any{"subnetId": sub, "instanceId": ids[0]}, nil)
		// The freed address is handed out again.
		mustTickCall(t, env, env.BMC(), "AssociateSubnetInstances", associate(sub, map[string]any{"instanceId": ids[0]}), nil)
		if got, _ = members(t, env, sub); got[ids[0]] != "10.0.1.2" {
			t.Fatalf("rejoining: got %v, want %s at 10.0.1.2", got, ids[0])
		}
		apitest.ExpectCode(t, tickCall(t, env, env.BMC(), "DeleteSubnet", map[string]any{"subnetId": sub}, nil), "OPERATION_DENIED_SUBNET_EXIST_INSTANCE")
		for _, id := range ids {
			mustTickCall(t, env, env.BMC(), "UnAssociateSubnetInstance", map[string]any{"subnetId": sub, "instanceId": id}, nil)
		}
		mustTickCall(t, env, env.BMC(), "DeleteSubnet", map[string]any{"subnetId": sub}, nil)
	})
}

func sameMembers(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSubnetAssociateRefusals(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		ids := createRunningN(t, env, minimalCreate(), 5)
		vt4 := minimalCreate()
		vt4["instanceTypeId"] = "VT4"
		noSubnet := createRunningN(t, env, vt4, 1)[0]
		sub := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.2.0/29", "subnetName": "refusals"})
		other := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.3.0/24", "subnetName": "other"})
		hkg := newSubnet(t, env, c, map[string]any{"zoneId": "HKG-A", "cidrBlock": "10.0.4.0/24", "subnetName": "hkg"})
		_, key := env.NewTeam(t, "other-team")
		foreign := newSubnet(t, env, env.ClientWithKey("bmc", httpapi.BMCVersion2026, key), map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.5.0/24", "subnetName": "theirs"})
		mustTickCall(t, env, c, "AssociateSubnetInstances", associate(sub, map[string]any{"instanceId": ids[0], "privateIpAddress": "10.0.2.4"}), nil)
		mustTickCall(t, env, c, "AssociateSubnetInstances", associate(other, map[string]any{"instanceId": ids[1]}), nil)
		hundredOne := make([]map[string]any, 101)
		for i := range hundredOne {
			hundredOne[i] = map[string]any{"instanceId": fmt.Sprintf("%018d", i+1)}
		}
		item := func(id, ip string) map[string]any { return map[string]any{"instanceId": id, "privateIpAddress": ip} }
		for _, tc := range []struct {
			name string
			req  map[string]any
			code metalplane.Code
		}{
			{"no subnetId", join(ids[2]), "MISSING_PARAMETER"},
			{"no list", map[string]any{"subnetId": sub}, "MISSING_PARAMETER"},
			{"empty list", associate(sub), "MISSING_PARAMETER"},
			{"no instanceId", associate(sub, map[string]any{"privateIpAddress": "10.0.2.5"}), "MISSING_PARAMETER"},
			{"101 items", map[string]any{"subnetId": sub, "subnetInstanceList": hundredOne}, "INVALID_PARAMETER"},
			{"instance twice", associate(sub, item(ids[2], ""), item(ids[2], "")), "OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE"},
			{"address twice", associate(sub, item(ids[2], "10.0.2.5"), item(ids[3], "10.0.2.5")), "INVALID_PARAMETER_DUPLICATE_LAN_IP"},
			{"not an address", associate(sub, item(ids[2], "10.0.2")), "INVALID_PARAMETER"},
			{"unknown subnet", associate("999999999999999999", item(ids[2], "")), "INVALID_SUBNET_NOT_FOUND"},
			{"another team's subnet", associate(foreign, item(ids[2], "")), "INVALID_SUBNET_NOT_FOUND"},
			{"unknown instance", associate(sub, item(ids[2], ""), item("999999999999999999", "")), "INVALID_INSTANCE_NOT_FOUND"},
			{"other zone", associate(hkg, item(ids[2], "")), "OPERATION_DENIED_DIFFERENT_ZONE"},
			{"type without subnets", associate(sub, item(noSubnet, "")), "OPERATION_DENIED_INSTANCE_NOT_SUPPORT_SUBNET"},
			{"already a member", associate(sub, item(ids[0], "")), "OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE"},
			{"member of another subnet", associate(sub, item(ids[1], "")), "OPERATION_DENIED_SUBNET_EXIST_INSTANCE"},
			{"outside the block", associate(sub, item(ids[2], "10.0.3.5")), "INVALID_PARAMETER"},
			{"gateway address", associate(sub, item(ids[2], "10.0.2.1")), "INVALID_PARAMETER_LAN_IP_NOT_SUPPORT"},
			{"network address", associate(sub, item(ids[2], "10.0.2.0")), "INVALID_PARAMETER_LAN_IP_NOT_SUPPORT"},
			{"broadcast address", associate(sub, item(ids[2], "10.0.2.7")), "INVALID_PARAMETER_LAN_IP_NOT_SUPPORT"},
			{"address in use", associate(sub, item(ids[2], "10.0.2.4")), "OPERATION_DENIED_IP_ASSOCIATED_INSTANCE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "AssociateSubnetInstances", tc.req, nil), tc.code)
			})
		}
		// All or nothing: a refused request added nobody.
		if got, free := members(t, env, sub); len(got) != 1 || free != 4 {
			t.Fatalf("after the refusals: got members %v and %d free, want only %s", got, free, ids[0])
		}

		// States: only RUNNING instances join.
		for _, tc := range []struct {
			status metalplane.InstanceStatus
			code   metalplane.Code
		}{
			{metalplane.StatusStopped, "OPERATION_DENIED_INSTANCE_NOT_RUNNING"},
			{metalplane.StatusCreating, "OPERATION_DENIED_INSTANCE_CREATING"},
			{metalplane.StatusRecycle, "OPERATION_DENIED_INSTANCE_RECYCLED"},
		} {
			setStatus(t, env, ids[4], tc.status)
			apitest.ExpectCode(t, tickCall(t, env, c, "AssociateSubnetInstances", associate(sub, item(ids[4], "")), nil), tc.code)
		}
		// A subnet that is not AVAILABLE takes nobody.
		if _, err := env.DB.SQL.ExecContext(context.Background(), `UPDATE subnets SET status = 'CREATING' WHERE id = $1`, other); err != nil {
			t.Fatal(err)
		}
		apitest.ExpectCode(t, tickCall(t, env, c, "AssociateSubnetInstances", associate(other, item(ids[2], "")), nil), "OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT")

		// Full: .2 to .6 are five addresses; one is taken, four more fit.
		mustTickCall(t, env, c, "AssociateSubnetInstances", associate(sub, item(ids[2], ""), item(ids[3], "")), nil)
		setStatus(t, env, ids[4], metalplane.StatusRunning)
		more := createRunningN(t, env, minimalCreate(), 3)
		apitest.ExpectCode(t, tickCall(t, env, c, "AssociateSubnetInstances", associate(sub, item(ids[4], ""), item(more[0], ""), item(more[1], "")), nil),
			"INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT")
		if got, free := members(t, env, sub); len(got) != 3 || free != 2 {
			t.Fatalf("after a refused overfill: got %v and %d free, want 3 members and 2 free", got, free)
		}

		// Leaving.
		for _, tc := range []struct {
			name string
			req  map[string]any
			code metalplane.Code
		}{
			{"no subnetId", map[string]any{"instanceId": ids[0]}, "MISSING_PARAMETER"},
			{"no instanceId", map[string]any{"subnetId": sub}, "MISSING_PARAMETER"},
			{"unknown subnet", map[string]any{"subnetId": "999999999999999999", "instanceId": ids[0]}, "INVALID_SUBNET_NOT_FOUND"},
			{"another team's subnet", map[string]any{"subnetId": foreign, "instanceId": ids[0]}, "INVALID_SUBNET_NOT_FOUND"},
			{"unknown instance", map[string]any{"subnetId": sub, "instanceId": "999999999999999999"}, "INVALID_INSTANCE_NOT_FOUND"},
		} {
			t.Run("leave "+tc.name, func(t *testing.T) {
				apitest.ExpectCode(t, tickCall(t, env, c, "UnAssociateSubnetInstance", tc.req, nil), tc.code)
			})
		}
		// A recycled member may leave, freeing its address.
		setStatus(t, env, ids[0], metalplane.StatusRecycle)
		mustTickCall(t, env, c, "UnAssociateSubnetInstance", map[string]any{"subnetId": sub, "instanceId": ids[0]}, nil)
		if got, free := members(t, env, sub); len(got) != 2 || free != 3 {
			t.Fatalf("after the recycled member left: got %v and %d free, want 2 members and 3 free", got, free)
		}
	})
}

// TestSubnetLeaveWhileCreating uses a server without workers: an instance
// bought into a subnet stays PENDING and may not leave it yet.
func TestSubnetLeaveWhileCreating(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		env := apitest.Start(t, dsn, apitest.Options{NoWorkers: true})
		c := env.BMC()
		sub := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.6.0/29", "subnetName": "pending"})
		req := minimalCreate()
		req["subnetId"] = sub
		var created createResponse
		mustTickCall(t, env, c, "CreateInstances", req, &created)
		id := created.InstanceIDSet[0]
		apitest.ExpectCode(t, tickCall(t, env, c, "UnAssociateSubnetInstance", map[string]any{"subnetId": sub, "instanceId": id}, nil), "OPERATION_DENIED_INSTANCE_CREATING")
		if got, _ := members(t, env, sub); got[id] != "10.0.6.2" {
			t.Fatalf("got members %v, want %s at 10.0.6.2", got, id)
		}
	})
}

// TestSubnetAssociateLastAddressRace sends ten concurrent requests for the
// last free address of a subnet: exactly one wins, the others are told the
// subnet is full, and no address is given twice.
func TestSubnetAssociateLastAddressRace(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		c := env.BMC()
		ids := createRunningN(t, env, minimalCreate(), 14)
		sub := newSubnet(t, env, c, map[string]any{"zoneId": "SEL-A", "cidrBlock": "10.0.7.0/29", "subnetName": "race"})
		fill := make([]map[string]any, 4)
		for i := range fill {
			fill[i] = map[string]any{"instanceId": ids[i]}
		}
		mustTickCall(t, env, c, "AssociateSubnetInstances", associate(sub, fill...), nil)

		racers := ids[4:]
		errs := make([]error, len(racers))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, id := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = c.Call(context.Background(), "AssociateSubnetInstances", associate(sub, map[string]any{"instanceId": id}), nil)
			}()
		}
		close(start)
		wg.Wait()
		var winners []string
		for i, err := range errs {
			if err == nil {
				winners = append(winners, racers[i])
				continue
			}
			apitest.ExpectCode(t, err, "INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT")
		}
		if len(winners) != 1 {
			t.Fatalf("got %d winners, want exactly 1", len(winners))
		}
		got, free := members(t, env, sub)
		if len(got) != 5 || free != 0 || got[winners[0]] == "" {
			t.Fatalf("got members %v and %d free, want the four and the winner, none free", got, free)
		}
		var ips []string
		for _, ip := range got {
			ips = append(ips, ip)
		}
		slices.Sort(ips)
		if want := []string{"10.0.7.2", "10.0.7.3", "10.0.7.4", "10.0.7.5", "10.0.7.6"}; !slices.Equal(ips, want) {
			t.Fatalf("got addresses %v, want %v", ips, want)
		}
	})
}
