package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"maps"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
	"github.com/metalplane/metalplane/internal/apitest"
	"github.com/metalplane/metalplane/sqlstore"
)

// Image IDs of demo-catalog.yaml.
const (
	demoImageCentOS79   = "d49d6b04-b0b6-4656-a6fc-b4feb541c3ea" // linux, every type
	demoImageUbuntu2204 = "3477e9ab-df3e-4ce2-a492-d42b431cbf53" // linux, every type
	demoImageWin2022    = "26121c7e-8316-4afd-8b13-01aba6f717e9" // windows, not on ST12/VT4
	demoImageESXi80     = "193a76aa-e709-4b13-91a9-40259dab2e11" // no custom partitions
)

// omitField marks a field of minimalCreate that a request leaves out.
type omitField struct{}

// postpaidWith is minimalCreate (POSTPAID M6C in SEL-A, ByBandwidth) with
// the fields of extra set, or removed where extra holds omitField{}.
func postpaidWith(extra map[string]any) map[string]any {
	req := minimalCreate()
	for k, v := range extra {
		if _, ok := v.(omitField); ok {
			delete(req, k)
			continue
		}
		req[k] = v
	}
	return req
}

// prepaidWith is postpaidWith for a one-month PREPAID order.
func prepaidWith(extra map[string]any) map[string]any {
	fields := map[string]any{"instanceChargeType": "PREPAID", "instanceChargePrepaid": map[string]any{"period": 1}}
	maps.Copy(fields, extra)
	return postpaidWith(fields)
}

// part builds one Partition.
func part(path, fsType string, size int) map[string]any {
	return map[string]any{"fsPath": path, "fsType": fsType, "size": size}
}

// customRaid builds one CustomRaid group.
func customRaid(level int, disks ...int) map[string]any {
	return map[string]any{"raidType": level, "diskSequence": disks}
}

// tagsOf builds a TagAssociation from key, value pairs.
func tagsOf(kv ...string) map[string]any {
	var tags []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, map[string]any{"key": kv[i], "value": kv[i+1]})
	}
	return map[string]any{"tags": tags}
}

// newAuthorizedKey returns a fresh ed25519 public key as one
// authorized_keys line.
func newAuthorizedKey(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sk))) + " " + comment
}

// createFixture is what a case's setup may use: the server, the team the
// case runs as and that team's clients.
type createFixture struct {
	env  *apitest.Env
	team *metalplane.Team
	bmc  *httpapi.Client // 2026-02-01
	ccs  *httpapi.Client
}

// createErrorCase is one CreateInstances request that must fail.
type createErrorCase struct {
	name string
	// v2022 sends the request with a 2022-11-20 client.
	v2022 bool
	// ownTeam runs the case on a new team, for cases whose setup changes
	// the account.
	ownTeam bool
	// setup prepares the account or the inventory and may fill in req
	// (e.g. a subnet ID). Changes to shared hosts are undone with
	// t.Cleanup.
	setup func(t *testing.T, f createFixture, req map[string]any)
	req   map[string]any
	// body, when set, is sent instead of req: any JSON value, or []byte
	// sent as is.
	body   any
	code   metalplane.Code
	status int // as ERRORS.md prints (or infers) it
}

// callCreate sends a CreateInstances body; []byte goes out verbatim.
func callCreate(ctx context.Context, c *httpapi.Client, body any) error {
	return callAction(ctx, c, "CreateInstances", body)
}

// countInstances returns DescribeInstances' totalCount for the client's team.
func countInstances(t *testing.T, c *httpapi.Client) int {
	t.Helper()
	var out describeResponse
	if err := c.Call(context.Background(), "DescribeInstances", map[string]any{}, &out); err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	return out.TotalCount
}

// stockSnapshot maps "zone/type" to DescribeAvailableResources' qty.
func stockSnapshot(t *testing.T, c *httpapi.Client) map[string]int {
	t.Helper()
	var out struct {
		AvailableResources []struct {
			ZoneID         string `json:"zoneId"`
			InstanceTypeID string `json:"instanceTypeId"`
			Qty            int    `json:"qty"`
		} `json:"availableResources"`
	}
	if err := c.Call(context.Background(), "DescribeAvailableResources", map[string]any{"instanceChargeType": "PREPAID"}, &out); err != nil {
		t.Fatalf("DescribeAvailableResources: %v", err)
	}
	stock := map[string]int{}
	for _, r := range out.AvailableResources {
		stock[r.ZoneID+"/"+r.InstanceTypeID] = r.Qty
	}
	return stock
}

// teamMoney returns the team's balance and the sum of its ledger.
func teamMoney(t *testing.T, env *apitest.Env, teamID string) (balance, ledger metalplane.Money) {
	t.Helper()
	ctx := context.Background()
	team, err := env.DB.FindTeam(ctx, teamID)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := env.DB.LedgerSum(ctx, teamID)
	if err != nil {
		t.Fatal(err)
	}
	return team.Balance, sum
}

// createSubnet creates a subnet through the API and returns its ID.
func createSubnet(t *testing.T, c *httpapi.Client, zoneID, cidr string) string {
	t.Helper()
	var out struct {
		SubnetID string `json:"subnetId"`
	}
	req := map[string]any{"zoneId": zoneID, "cidrBlock": cidr, "subnetName": "test-net"}
	if err := c.Call(context.Background(), "CreateSubnet", req, &out); err != nil {
		t.Fatalf("CreateSubnet %s %s: %v", zoneID, cidr, err)
	}
	return out.SubnetID
}

// importKeyPair imports a fresh public key through the API and returns
// the key pair's ID.
func importKeyPair(t *testing.T, ccs *httpapi.Client, name string) string {
	t.Helper()
	var out struct {
		KeyID string `json:"keyId"`
	}
	req := map[string]any{"keyName": name, "publicKey": newAuthorizedKey(t, name+"@test")}
	if err := ccs.Call(context.Background(), "ImportKeyPair", req, &out); err != nil {
		t.Fatalf("ImportKeyPair: %v", err)
	}
	return out.KeyID
}

// setBalance moves the team's balance to want with an operator ledger row.
func setBalance(t *testing.T, env *apitest.Env, teamID string, want metalplane.Money) {
	t.Helper()
	ctx := context.Background()
	team, err := env.DB.FindTeam(ctx, teamID)
	if err != nil {
		t.Fatal(err)
	}
	// An operator debit lowers the balance and a credit raises it
	// (the audit checks the signs); no row is needed to stay put.
	e := metalplane.LedgerEntry{TeamID: teamID, Amount: want - team.Balance, Kind: metalplane.LedgerDebit, Note: "test: set balance"}
	switch {
	case e.Amount == 0:
		return
	case e.Amount > 0:
		e.Kind = metalplane.LedgerCredit
	}
	if err := env.DB.AddLedgerEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// updateTeam applies upd to the team.
func updateTeam(t *testing.T, env *apitest.Env, teamID string, upd sqlstore.TeamUpdate) {
	t.Helper()
	if err := env.DB.UpdateTeam(context.Background(), teamID, upd); err != nil {
		t.Fatal(err)
	}
}

// drainHosts moves every free host of the zone and type except leave into
// maintenance, and back when the (sub)test ends.
func drainHosts(t *testing.T, env *apitest.Env, zoneID, typeID string, leave int) {
	t.Helper()
	ctx := context.Background()
	hosts, err := env.DB.FindHosts(ctx, sqlstore.HostFilter{ZoneID: zoneID, InstanceTypeID: typeID, State: sqlstore.HostAvailable})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) < leave {
		t.Fatalf("got %d free %s hosts in %s, want at least %d", len(hosts), typeID, zoneID, leave)
	}
	for _, h := range hosts[leave:] {
		if err := env.DB.SetHostMaintenance(ctx, h.ID, true, "test: drain"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := env.DB.SetHostMaintenance(context.Background(), h.ID, false, ""); err != nil {
				t.Errorf("restore host %s: %v", h.ID, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// runCreateErrorCases runs each case as a subtest: it sets the case up,
// sends the request, checks the code and the spec's HTTP status, and
// checks the team it ran as still has no instance.
func runCreateErrorCases(t *testing.T, env *apitest.Env, cases []createErrorCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			version := httpapi.BMCVersion2026
			if tc.v2022 {
				version = httpapi.BMCVersion2022
			}
			f := createFixture{env: env, team: env.Team, bmc: env.BMC(), ccs: env.CCS()}
			c := env.Client("bmc", version)
			if tc.ownTeam {
				team, key := env.NewTeam(t, fmt.Sprintf("create-case-%02d", i))
				f = createFixture{env: env, team: team, bmc: env.ClientWithKey("bmc", httpapi.BMCVersion2026, key), ccs: env.ClientWithKey("ccs", httpapi.CCSVersion, key)}
				c = env.ClientWithKey("bmc", version, key)
			}
			req := maps.Clone(tc.req)
			if tc.setup != nil {
				tc.setup(t, f, req)
			}
			var body any = req
			if tc.body != nil {
				body = tc.body
			}
			err := callCreate(ctx, c, body)
			apitest.ExpectCode(t, err, tc.code)
			if apiErr := err.(*httpapi.APIError); apiErr.Status != tc.status {
				t.Errorf("got HTTP %d for %s, want %d as ERRORS.md says", apiErr.Status, tc.code, tc.status)
			}
			if n := countInstances(t, f.bmc); n != 0 {
				t.Errorf("got totalCount %d after a failed create, want 0", n)
			}
		})
	}
}

// TestCreateInstancesErrorCodes sends one crafted request per error code
// of the seed's table (ERRORS.md §4.1) and per other code CreateInstances
// can answer (§4.2, §4.3), then checks that none of them bought anything.
func TestCreateInstancesErrorCodes(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		keyA, keyB := newAuthorizedKey(t, "a@test"), newAuthorizedKey(t, "b@test")
		stockBefore := stockSnapshot(t, env.BMC())
		balanceBefore, ledgerBefore := teamMoney(t, env, env.Team.ID)

		cases := []createErrorCase{
			// ERRORS.md §4.1: the seed's 30 rows, in the seed's order.
			{name: "seed/zone not found", req: postpaidWith(map[string]any{"zoneId": "XXX-Z"}),
				code: "INVALID_ZONE_NOT_FOUND", status: 404},
			{name: "seed/raid disk out of range", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 2, 3)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_RANGE", status: 400},
			{name: "seed/subnet not found", req: postpaidWith(map[string]any{"subnetId": "subnet-nothere"}),
				code: "INVALID_SUBNET_NOT_FOUND", status: 404},
			{name: "seed/instance type not found", req: postpaidWith(map[string]any{"instanceTypeId": "Z99"}),
				code: "INVALID_INSTANCE_TYPE_NOT_FOUND", status: 404},
			{name: "seed/raid disk used in two groups", req: postpaidWith(map[string]any{"instanceTypeId": "M9E",
				"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 1, 2), customRaid(1, 2, 3)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_DUPLICATE", status: 400},
			{name: "seed/raid disk twice in one group", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 1, 1)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_DUPLICATE", status: 400},
			{name: "seed/password and keyId", req: postpaidWith(map[string]any{"password": "Example~123", "keyId": "key-AbCd1234"}),
				code: "INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT", status: 400},
			{name: "seed/password and sshKeys on 2022", v2022: true, req: postpaidWith(map[string]any{"password": "Example~123", "sshKeys": []string{keyA}}),
				code: "INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT", status: 400},
			{name: "seed/keyId and sshKeys on 2022", v2022: true, req: postpaidWith(map[string]any{"keyId": "key-AbCd1234", "sshKeys": []string{keyA}}),
				code: "INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT", status: 400},
			{name: "seed/partition path relative", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{part("boot", "ext4", 10)}}),
				code: "INVALID_PARTITION_MALFORMED", status: 400},
			{name: "seed/partition windows letter with colon", req: postpaidWith(map[string]any{"imageId": demoImageWin2022, "partitions": []any{part("C:", "NTFS", 100)}}),
				code: "INVALID_PARTITION_MALFORMED", status: 400},
			{name: "seed/image not found", req: postpaidWith(map[string]any{"imageId": "00000000-0000-4000-8000-000000000000"}),
				code: "INVALID_IMAGE_NOT_FOUND", status: 404},
			{name: "seed/image not installable on type", req: postpaidWith(map[string]any{"instanceTypeId": "ST12", "imageId": demoImageWin2022}),
				code: "INVALID_IMAGE_NOT_FOUND", status: 404},
			{name: "seed/nic name too short", req: postpaidWith(map[string]any{"nic": map[string]any{"wanName": "w0"}}),
				code: "INVALID_PARAMETER_NIC_NAME_MALFORMED", status: 400},
			{name: "seed/lan name starts with wan", req: postpaidWith(map[string]any{"nic": map[string]any{"lanName": "wan1"}}),
				code: "INVALID_PARAMETER_NIC_NAME_MALFORMED", status: 400},
			{name: "seed/raid level not supported", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"raidType": 5}}),
				code: "INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT", status: 400},
			{name: "seed/raid on a type without raid", req: postpaidWith(map[string]any{"instanceTypeId": "S8I", "raidConfig": map[string]any{"raidType": 0}}),
				code: "INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT", status: 400},
			{name: "seed/quick and custom raid", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"raidType": 1, "customRaids": []any{customRaid(1, 1, 2)}}}),
				code: "INVALID_RAID_CONFIG_FAST_CUSTOM_CONFLICT", status: 400},
			{name: "seed/postpaid not enabled", ownTeam: true, req: postpaidWith(nil),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					updateTeam(t, f.env, f.team.ID, sqlstore.TeamUpdate{PostpaidAllowed: ptr(false)})
				},
				code: "INVALID_CHARGE_TYPE_NOT_SUPPORT", status: 403},
			{name: "seed/quota exceeded", ownTeam: true, req: postpaidWith(map[string]any{"amount": 3}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					updateTeam(t, f.env, f.team.ID, sqlstore.TeamUpdate{InstanceQuota: ptr(2)})
				},
				code: "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", status: 403},
			{name: "seed/ssh key twice on 2022", v2022: true, req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "sshKeys": []string{keyA, keyB, keyA}}),
				code: "INVALID_PARAMETER_SSH_KEY_DUPLICATE", status: 400},
			{name: "seed/quick raid on mixed disks", req: postpaidWith(map[string]any{"instanceTypeId": "MX4", "raidConfig": map[string]any{"raidType": 1}}),
				code: "INVALID_INSTANCE_TYPE_QUICK_RAID_NOT_SUPPORT", status: 400},
			{name: "seed/wan and lan names equal ignoring case", req: postpaidWith(map[string]any{"nic": map[string]any{"wanName": "eth0", "lanName": "ETH0"}}),
				code: "INVALID_PARAMETER_NIC_NAME_CONFLICT", status: 400},
			{name: "seed/wan name starts with lan", req: postpaidWith(map[string]any{"nic": map[string]any{"wanName": "Lan0x"}}),
				code: "INVALID_PARAMETER_NIC_NAME_MALFORMED", status: 400},
			{name: "seed/nic names equal", req: postpaidWith(map[string]any{"nic": map[string]any{"wanName": "net0", "lanName": "net0"}}),
				code: "INVALID_PARAMETER_NIC_NAME_CONFLICT", status: 400},
			{name: "seed/password too short", req: postpaidWith(map[string]any{"password": "Ab1~"}),
				code: "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED", status: 400},
			{name: "seed/password without special", req: postpaidWith(map[string]any{"password": "Example1234"}),
				code: "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED", status: 400},
			{name: "seed/password with space", req: postpaidWith(map[string]any{"password": "Exam ple~123"}),
				code: "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED", status: 400},
			{name: "seed/partition xfs", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{part("/", "xfs", 100)}}),
				code: "INVALID_PARTITION_NO_TYPE", status: 400},
			{name: "seed/partition without type", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{map[string]any{"fsPath": "/", "size": 100}}}),
				code: "INVALID_PARTITION_NO_TYPE", status: 400},
			{name: "seed/windows partition ext4", req: postpaidWith(map[string]any{"imageId": demoImageWin2022, "partitions": []any{part("C", "ext4", 100)}}),
				code: "INVALID_PARTITION_NO_TYPE", status: 400},
			{name: "seed/windows letters skip one", req: postpaidWith(map[string]any{"imageId": demoImageWin2022, "partitions": []any{part("C", "NTFS", 100), part("E", "NTFS", 100)}}),
				code: "INVALID_PARTITION_INVALID_ORDER", status: 400},
			{name: "seed/windows C not first", req: postpaidWith(map[string]any{"imageId": demoImageWin2022, "partitions": []any{part("D", "NTFS", 100), part("C", "NTFS", 100)}}),
				code: "INVALID_PARTITION_INVALID_ORDER", status: 400},
			{name: "seed/subnet too small for amount", req: postpaidWith(map[string]any{"amount": 6}),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					// A /29 has 8 addresses; network, gateway and broadcast leave 5.
					req["subnetId"] = createSubnet(t, f.bmc, "SEL-A", "192.168.50.0/29")
				},
				code: "INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT", status: 400},
			{name: "seed/linux without root", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{part("/data", "ext4", 100)}}),
				code: "INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH", status: 400},
			{name: "seed/windows without C", req: postpaidWith(map[string]any{"imageId": demoImageWin2022, "partitions": []any{part("D", "NTFS", 100)}}),
				code: "INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH", status: 400},
			{name: "seed/ssh key not a key on 2022", v2022: true, req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "sshKeys": []string{"rsa AAAAnot-a-key"}}),
				code: "INVALID_PARAMETER_SSH_KEY_MALFORMED", status: 400},
			{name: "seed/six ssh keys on 2022", v2022: true,
				req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "sshKeys": []string{keyA, keyB,
					newAuthorizedKey(t, "c"), newAuthorizedKey(t, "d"), newAuthorizedKey(t, "e"), newAuthorizedKey(t, "f")}}),
				code: "INVALID_PARAMETER_SSH_KEY_MALFORMED", status: 400},
			{name: "seed/partition path twice", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79,
				"partitions": []any{part("/", "ext4", 100), part("/data", "ext4", 100), part("/data", "ext3", 100)}}),
				code: "INVALID_PARTITION_DUPLICATE_FILE_PATH", status: 400},
			{name: "seed/raid 1 on one disk", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 1)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH", status: 400},
			{name: "seed/raid 10 on two disks", req: postpaidWith(map[string]any{"instanceTypeId": "M9E", "raidConfig": map[string]any{"customRaids": []any{customRaid(10, 1, 2)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH", status: 400},
			{name: "seed/raid group without disks", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(0)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH", status: 400},
			{name: "seed/instance name 65 characters", req: postpaidWith(map[string]any{"instanceName": strings.Repeat("a", 65)}),
				code: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", status: 400},
			{name: "seed/instance name with space", req: postpaidWith(map[string]any{"instanceName": "web 1"}),
				code: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", status: 400},
			{name: "seed/partitions without image", req: postpaidWith(map[string]any{"partitions": []any{part("/", "ext4", 100)}}),
				code: "INVALID_PARTITION_IMAGE_NOT_SET", status: 403},
			{name: "seed/partitions on ESXi", req: postpaidWith(map[string]any{"imageId": demoImageESXi80, "partitions": []any{part("/", "ext4", 100)}}),
				code: "INVALID_PARTITION_IMAGE_NOT_SET", status: 403},
			{name: "seed/partitions with ipxe", req: postpaidWith(map[string]any{"ipxeUrl": "https://boot.example.com/menu.ipxe", "partitions": []any{part("/", "ext4", 100)}}),
				code: "INVALID_PARTITION_IMAGE_NOT_SET", status: 403},
			{name: "seed/hostname 65 characters", req: postpaidWith(map[string]any{"hostname": strings.Repeat("h", 65)}),
				code: "INVALID_PARAMETER_HOSTNAME_EXCEED", status: 400},
			{name: "seed/subnet in another zone", req: postpaidWith(nil),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					req["subnetId"] = createSubnet(t, f.bmc, "HKG-A", "10.0.20.0/24")
				},
				code: "INVALID_SUBNET_ZONE_MISMATCH", status: 400},
			{name: "seed/raid disks not consecutive", req: postpaidWith(map[string]any{"instanceTypeId": "M9E", "raidConfig": map[string]any{"customRaids": []any{customRaid(5, 1, 3, 4)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_DISORDER", status: 400},
			{name: "seed/raid disks descending", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"customRaids": []any{customRaid(1, 2, 1)}}}),
				code: "INVALID_PARAMETER_VALUE_RAID_DISK_DISORDER", status: 400},
			{name: "seed/hostname with space", req: postpaidWith(map[string]any{"hostname": "web server"}),
				code: "INVALID_PARAMETER_HOSTNAME_MALFORMED", status: 400},
			{name: "seed/hostname with bad token", req: postpaidWith(map[string]any{"hostname": "web[1,x]"}),
				code: "INVALID_PARAMETER_HOSTNAME_MALFORMED", status: 400},

			// ERRORS.md §4.2 (statuses inferred there).
			{name: "sdk/internet charge type not offered", req: postpaidWith(map[string]any{"instanceTypeId": "MX4", "internetChargeType": "ByTrafficPackage"}),
				code: "OPERATION_FILED_INTERNET_CHARGE_TYPE_NOT_SUPPORT", status: 403},
			{name: "sdk/bandwidth above type maximum", req: postpaidWith(map[string]any{"internetMaxBandwidthOut": 3001}),
				code: "INVALID_BANDWIDTH_VALUE_EXCEED_MAXIMUM", status: 400},
			{name: "sdk/partitions larger than disks", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{part("/", "ext4", 1000), part("/data", "ext4", 781)}}),
				code: "INVALID_PARTITION_SIZE_NOT_FULL", status: 400},
			{name: "sdk/partitions larger than raid 1 array", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79,
				"raidConfig": map[string]any{"raidType": 1}, "partitions": []any{part("/", "ext4", 1000)}}),
				code: "INVALID_PARTITION_SIZE_NOT_FULL", status: 400},
			{name: "sdk/stock below amount", req: postpaidWith(map[string]any{"instanceTypeId": "VT4", "amount": 7}),
				code: "RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", status: 400},
			{name: "sdk/stock below amount after maintenance", req: postpaidWith(map[string]any{"instanceTypeId": "ST12", "amount": 2}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					drainHosts(t, f.env, "SEL-A", "ST12", 1)
				},
				code: "RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT", status: 400},
			{name: "sdk/sold out in catalog", req: postpaidWith(map[string]any{"zoneId": "HKG-A", "instanceTypeId": "ST12"}),
				code: "RESOURCES_SOLDOUT_INSTANCE_TYPE", status: 400},
			{name: "sdk/sold out prepaid only zone", req: prepaidWith(map[string]any{"zoneId": "SAO-A"}),
				code: "RESOURCES_SOLDOUT_INSTANCE_TYPE", status: 400},
			{name: "sdk/type not sold in zone", req: postpaidWith(map[string]any{"zoneId": "FRA-A", "instanceTypeId": "MX4"}),
				code: "RESOURCES_SOLDOUT_INSTANCE_TYPE", status: 400},
			{name: "sdk/sold out after maintenance", req: postpaidWith(map[string]any{"instanceTypeId": "ST12"}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					drainHosts(t, f.env, "SEL-A", "ST12", 0)
				},
				code: "RESOURCES_SOLDOUT_INSTANCE_TYPE", status: 400},
			{name: "sdk/postpaid in prepaid only zone", req: postpaidWith(map[string]any{"zoneId": "SAO-A", "instanceTypeId": "S8I"}),
				code: "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", status: 403},

			// ERRORS.md §4.3.
			{name: "ours/prepaid balance too low", ownTeam: true, req: prepaidWith(map[string]any{"instanceTypeId": "S8I"}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					setBalance(t, f.env, f.team.ID, 100*metalplane.MoneyScale) // S8I costs 119 a month
				},
				code: "OPERATION_DENIED_BALANCE_INSUFFICIENT", status: 403},
			{name: "ours/postpaid without balance", ownTeam: true, req: postpaidWith(nil),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					setBalance(t, f.env, f.team.ID, 0)
				},
				code: "OPERATION_DENIED_BALANCE_INSUFFICIENT", status: 403},
			{name: "ours/no poc voucher", req: prepaidWith(map[string]any{"marketingOptions": map[string]any{"usePocVoucher": true}}),
				code: "OPERATION_DENIED_POC_VOUCHER_NOT_FOUND", status: 403},
			{name: "ours/key pair not found", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "keyId": "key-AbCd1234"}),
				code: "INVALID_KEY_PAIR_NOT_FOUND", status: 404},
			{name: "ours/key pair of another team", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79}),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					_, key := f.env.NewTeam(t, "key-owner")
					req["keyId"] = importKeyPair(t, f.env.ClientWithKey("ccs", httpapi.CCSVersion, key), "other-team")
				},
				code: "INVALID_KEY_PAIR_NOT_FOUND", status: 404},
			{name: "ours/subnet on type without subnets", req: postpaidWith(map[string]any{"instanceTypeId": "VT4"}),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					req["subnetId"] = createSubnet(t, f.bmc, "SEL-A", "10.0.30.0/24")
				},
				code: "OPERATION_DENIED_INSTANCE_NOT_SUPPORT_SUBNET", status: 403},
			{name: "ours/subnet of another team", req: postpaidWith(nil),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					_, key := f.env.NewTeam(t, "subnet-owner")
					req["subnetId"] = createSubnet(t, f.env.ClientWithKey("bmc", httpapi.BMCVersion2026, key), "SEL-A", "10.0.40.0/24")
				},
				code: "INVALID_SUBNET_NOT_FOUND", status: 404},
			{name: "ours/subnet not available", ownTeam: true, req: postpaidWith(nil),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					// CreateSubnet stores subnets AVAILABLE at once and no
					// action moves them elsewhere, so the API cannot reach
					// this state: it is forced in the database.
					id := createSubnet(t, f.bmc, "SEL-A", "10.0.50.0/24")
					if _, err := f.env.DB.SQL.ExecContext(context.Background(), `UPDATE subnets SET status = $1 WHERE id = $2`, metalplane.SubnetCreating, id); err != nil {
						t.Fatal(err)
					}
					req["subnetId"] = id
				},
				code: "OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT", status: 403},
			{name: "ours/resource group not found", req: postpaidWith(map[string]any{"resourceGroupId": "rg-nothere"}),
				code: "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND", status: 404},
			{name: "ours/resource group of another team", req: postpaidWith(nil),
				setup: func(t *testing.T, f createFixture, req map[string]any) {
					other, _ := f.env.NewTeam(t, "group-owner")
					g, err := f.env.DB.CreateResourceGroup(context.Background(), other.ID, "theirs")
					if err != nil {
						t.Fatal(err)
					}
					req["resourceGroupId"] = g.ID
				},
				code: "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND", status: 404},
			{name: "ours/gateway mode not enabled", req: postpaidWith(map[string]any{"enableGatewayMode": true}),
				code: "UNAUTHORIZED_OPERATION", status: 403},

			// MISSING_PARAMETER.
			{name: "missing/zoneId", req: postpaidWith(map[string]any{"zoneId": omitField{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/empty zoneId", req: postpaidWith(map[string]any{"zoneId": ""}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/instanceChargeType", req: postpaidWith(map[string]any{"instanceChargeType": omitField{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/instanceTypeId", req: postpaidWith(map[string]any{"instanceTypeId": omitField{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/internetChargeType", req: postpaidWith(map[string]any{"internetChargeType": omitField{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/instanceChargePrepaid for PREPAID", req: prepaidWith(map[string]any{"instanceChargePrepaid": omitField{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/period for PREPAID", req: prepaidWith(map[string]any{"instanceChargePrepaid": map[string]any{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/clusterId for ByBandwidthCluster", req: postpaidWith(map[string]any{"instanceTypeId": "M9E", "internetChargeType": "ByBandwidthCluster"}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "missing/raidType of a custom group", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"customRaids": []any{map[string]any{"diskSequence": []int{1, 2}}}}}),
				code: "MISSING_PARAMETER", status: 400},

			// INVALID_PARAMETER.
			{name: "invalid/amount 0 on 2026", req: postpaidWith(map[string]any{"amount": 0}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/amount 101", req: postpaidWith(map[string]any{"amount": 101}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/amount negative", req: postpaidWith(map[string]any{"amount": -1}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/bandwidth 0 on 2026", req: postpaidWith(map[string]any{"internetMaxBandwidthOut": 0}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/period 0", req: prepaidWith(map[string]any{"instanceChargePrepaid": map[string]any{"period": 0}}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/period 37", req: prepaidWith(map[string]any{"instanceChargePrepaid": map[string]any{"period": 37}}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/negative traffic package", req: postpaidWith(map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": -1}),
				code: "INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR", status: 400},
			{name: "invalid/traffic package above the largest", req: postpaidWith(map[string]any{"internetChargeType": "ByTrafficPackage", "trafficPackageSize": 1000.05}),
				code: "INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED", status: 400},
			{name: "invalid/charge type enum", req: postpaidWith(map[string]any{"instanceChargeType": "MONTHLY"}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/charge type lower case", req: postpaidWith(map[string]any{"instanceChargeType": "postpaid"}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/internet charge type enum", req: postpaidWith(map[string]any{"internetChargeType": "ByMagic"}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/userData 32769 bytes", req: postpaidWith(map[string]any{"userData": strings.Repeat("x", metalplane.MaxUserDataBytes+1)}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/duplicate tag keys", req: postpaidWith(map[string]any{"tags": tagsOf("env", "prod", "env", "dev")}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/empty tag value", req: postpaidWith(map[string]any{"tags": tagsOf("env", "")}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/tag key 129 characters", req: postpaidWith(map[string]any{"tags": tagsOf(strings.Repeat("k", 129), "v")}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/tag value 129 characters", req: postpaidWith(map[string]any{"tags": tagsOf("owner", strings.Repeat("é", 129))}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/ipxeUrl with imageId", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "ipxeUrl": "https://boot.example.com/menu.ipxe"}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/ipxeUrl not http", req: postpaidWith(map[string]any{"ipxeUrl": "ftp://boot.example.com/menu.ipxe"}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/partition size 0", req: postpaidWith(map[string]any{"imageId": demoImageCentOS79, "partitions": []any{part("/", "ext4", 0)}}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/amount is a string", req: postpaidWith(map[string]any{"amount": "2"}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/zoneId is a number", req: postpaidWith(map[string]any{"zoneId": 5}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/tags is an array", req: postpaidWith(map[string]any{"tags": []any{map[string]any{"key": "a", "value": "b"}}}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/body is an array", body: []any{minimalCreate()},
				code: "INVALID_PARAMETER", status: 400},
			{name: "invalid/body is not JSON", body: []byte(`{"zoneId": "SEL-A",`),
				code: "INVALID_PARAMETER", status: 400},
		}
		runCreateErrorCases(t, env, cases)

		if n := countInstances(t, env.BMC()); n != 0 {
			t.Errorf("got totalCount %d after only failed creates, want 0", n)
		}
		balance, ledger := teamMoney(t, env, env.Team.ID)
		if balance != balanceBefore || ledger != ledgerBefore {
			t.Errorf("got balance %s and ledger sum %s, want %s and %s as before", balance, ledger, balanceBefore, ledgerBefore)
		}
		if balance != ledger {
			t.Errorf("got balance %s, want the ledger sum %s", balance, ledger)
		}
		stockAfter := stockSnapshot(t, env.BMC())
		if !maps.Equal(stockAfter, stockBefore) {
			for k, v := range stockBefore {
				if stockAfter[k] != v {
					t.Errorf("got qty %d for %s, want %d as before", stockAfter[k], k, v)
				}
			}
		}
	})
}

// TestCreateValidationOrder sends requests with two faults each and checks
// that the fault checked first in ACTIONS.md §3.1.9 decides the code.
func TestCreateValidationOrder(t *testing.T) {
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		cases := []createErrorCase{
			{name: "1 missing instanceTypeId before 2 bad zone", req: postpaidWith(map[string]any{"zoneId": "XXX-Z", "instanceTypeId": omitField{}}),
				code: "MISSING_PARAMETER", status: 400},
			{name: "1 userData too long before 2 bad zone", req: postpaidWith(map[string]any{"zoneId": "XXX-Z", "userData": strings.Repeat("x", metalplane.MaxUserDataBytes+1)}),
				code: "INVALID_PARAMETER", status: 400},
			{name: "2 bad zone before 7 bad password", req: postpaidWith(map[string]any{"zoneId": "XXX-Z", "password": "short"}),
				code: "INVALID_ZONE_NOT_FOUND", status: 404},
			{name: "2 bad zone before 3 bad type", req: postpaidWith(map[string]any{"zoneId": "XXX-Z", "instanceTypeId": "Z99"}),
				code: "INVALID_ZONE_NOT_FOUND", status: 404},
			{name: "3 bad type before 4 charge type of zone", req: postpaidWith(map[string]any{"zoneId": "SAO-A", "instanceTypeId": "Z99"}),
				code: "INVALID_INSTANCE_TYPE_NOT_FOUND", status: 404},
			{name: "4 account charge type before 4 zone charge type", ownTeam: true, req: postpaidWith(map[string]any{"zoneId": "SAO-A", "instanceTypeId": "S8I"}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					updateTeam(t, f.env, f.team.ID, sqlstore.TeamUpdate{PostpaidAllowed: ptr(false)})
				},
				code: "INVALID_CHARGE_TYPE_NOT_SUPPORT", status: 403},
			{name: "4 zone charge type before 5 internet charge type", req: postpaidWith(map[string]any{"zoneId": "SAO-A", "instanceTypeId": "S8I", "internetChargeType": "ByTrafficPackage"}),
				code: "OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT", status: 403},
			{name: "5 internet charge type before 6 bad image", req: postpaidWith(map[string]any{"instanceTypeId": "MX4", "internetChargeType": "ByTrafficPackage", "imageId": "00000000-0000-4000-8000-000000000000"}),
				code: "OPERATION_FILED_INTERNET_CHARGE_TYPE_NOT_SUPPORT", status: 403},
			{name: "5 bandwidth before 6 bad image", req: postpaidWith(map[string]any{"internetMaxBandwidthOut": 5000, "imageId": "00000000-0000-4000-8000-000000000000"}),
				code: "INVALID_BANDWIDTH_VALUE_EXCEED_MAXIMUM", status: 400},
			{name: "6 bad image before 7 login conflict", req: postpaidWith(map[string]any{"imageId": "00000000-0000-4000-8000-000000000000", "password": "Example~123", "keyId": "key-AbCd1234"}),
				code: "INVALID_IMAGE_NOT_FOUND", status: 404},
			{name: "7 login conflict before 7 bad password", req: postpaidWith(map[string]any{"password": "short", "keyId": "key-AbCd1234"}),
				code: "INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT", status: 400},
			{name: "7 bad password before 8 bad hostname", req: postpaidWith(map[string]any{"password": "short", "hostname": "web server"}),
				code: "INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED", status: 400},
			{name: "7 unknown keyId before 8 bad name", req: postpaidWith(map[string]any{"keyId": "key-AbCd1234", "instanceName": "web server"}),
				code: "INVALID_KEY_PAIR_NOT_FOUND", status: 404},
			{name: "8 instanceName before hostname", req: postpaidWith(map[string]any{"instanceName": "web server", "hostname": "web server"}),
				code: "INVALID_PARAMETER_INSTANCE_NAME_EXCEED", status: 400},
			{name: "8 bad hostname before 9 bad raid", req: postpaidWith(map[string]any{"hostname": "web server", "raidConfig": map[string]any{"raidType": 5}}),
				code: "INVALID_PARAMETER_HOSTNAME_MALFORMED", status: 400},
			{name: "9 bad raid before 10 bad partitions", req: postpaidWith(map[string]any{"raidConfig": map[string]any{"raidType": 5}, "partitions": []any{part("/", "ext4", 100)}}),
				code: "INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT", status: 400},
			{name: "10 bad partitions before 11 bad nic", req: postpaidWith(map[string]any{"partitions": []any{part("/", "ext4", 100)}, "nic": map[string]any{"wanName": "w0"}}),
				code: "INVALID_PARTITION_IMAGE_NOT_SET", status: 403},
			{name: "11 bad nic before 12 unknown subnet", req: postpaidWith(map[string]any{"nic": map[string]any{"wanName": "w0"}, "subnetId": "subnet-nothere"}),
				code: "INVALID_PARAMETER_NIC_NAME_MALFORMED", status: 400},
			{name: "12 unknown subnet before 13 unknown group", req: postpaidWith(map[string]any{"subnetId": "subnet-nothere", "resourceGroupId": "rg-nothere"}),
				code: "INVALID_SUBNET_NOT_FOUND", status: 404},
			{name: "13 unknown group before 14 duplicate tags", req: postpaidWith(map[string]any{"resourceGroupId": "rg-nothere", "tags": tagsOf("a", "1", "a", "2")}),
				code: "OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND", status: 404},
			{name: "14 gateway mode before 16 stock", req: postpaidWith(map[string]any{"enableGatewayMode": true, "zoneId": "HKG-A", "instanceTypeId": "ST12"}),
				code: "UNAUTHORIZED_OPERATION", status: 403},
			{name: "14 duplicate tags before 15 quota", ownTeam: true, req: postpaidWith(map[string]any{"amount": 3, "tags": tagsOf("a", "1", "a", "2")}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					updateTeam(t, f.env, f.team.ID, sqlstore.TeamUpdate{InstanceQuota: ptr(2)})
				},
				code: "INVALID_PARAMETER", status: 400},
			{name: "15 quota before 16 stock", ownTeam: true, req: postpaidWith(map[string]any{"instanceTypeId": "VT4", "amount": 7}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					updateTeam(t, f.env, f.team.ID, sqlstore.TeamUpdate{InstanceQuota: ptr(2)})
				},
				code: "OPERATION_DENIED_INSTANCE_QUOTA_EXCEED", status: 403},
			{name: "16 stock before 17 balance", ownTeam: true, req: prepaidWith(map[string]any{"zoneId": "SAO-A"}),
				setup: func(t *testing.T, f createFixture, _ map[string]any) {
					setBalance(t, f.env, f.team.ID, 0)
				},
				code: "RESOURCES_SOLDOUT_INSTANCE_TYPE", status: 400},
		}
		runCreateErrorCases(t, env, cases)
	})
}
