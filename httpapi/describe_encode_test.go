package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
)

// describeInstancesAnswer is DescribeInstances' output as it was encoded
// with encoding/json before encodeDescribeInstances, the reference its
// bytes are held to: its fields are in the order a map's sorted keys had.
type describeInstancesAnswer struct {
	DataSet    []instanceInfo `json:"dataSet"`
	TotalCount int            `json:"totalCount"`
}

// oddText holds every ASCII character, the ones encoding/json escapes
// among them, bytes that are not UTF-8, the line and paragraph
// separators, and characters outside the BMP.
func oddText() string {
	var sb strings.Builder
	for c := range 0x80 {
		sb.WriteByte(byte(c))
	}
	sb.WriteString("\xff\xfe tail \xc3 é 中文 \u2028\u2029 😀 \U0010FFFF \xed\xa0\x80 end")
	return sb.String()
}

// describeEncodeCases are instances with every field set, with none, and
// in between, rendered as DescribeInstances renders them.
func describeEncodeCases(t *testing.T) (*metalplane.Catalog, map[string]string, []*metalplane.Instance) {
	t.Helper()
	cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
	if err != nil {
		t.Fatal(err)
	}
	odd := oddText()
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	full := &metalplane.Instance{
		ID: "bm-" + odd, TeamID: "team", ZoneID: odd, InstanceTypeID: cat.InstanceTypes[0].ID, Name: odd, Hostname: "<host>&" + odd,
		ImageID: cat.Images[0].ID, IpxeURL: "http://example.invalid/boot?a=1&b=<2>", ChargeType: metalplane.ChargeTypePrepaid, Period: 36,
		AutoRenew: true, InternetChargeType: metalplane.InternetByTrafficPackage, BandwidthOutMbps: 1 << 30, TrafficPackageTB: 123.456,
		ResourceGroupID: "rg-1", KeyID: "key-" + odd, Status: metalplane.StatusInstallFailed,
		PublicIPv4: "203.0.113.7", PublicIPv6: "2001:db8::7", PrivateIP: "10.0.0.7", SubnetID: "subnet-" + odd,
		RaidConfig: &metalplane.RaidConfig{RaidType: num(10), CustomRaids: []metalplane.CustomRaid{
			{RaidType: num(1), DiskSequence: []int{1, 2}}, {RaidType: nil, DiskSequence: nil}, {RaidType: num(0), DiskSequence: []int{}}}},
		Partitions:        []metalplane.Partition{{FsPath: str("/"), FsType: str("ext4"), Size: num(-5)}, {}, {FsPath: str(odd)}},
		Nic:               metalplane.Nic{WanName: str("wan" + odd), LanName: str("")},
		Tags:              []metalplane.Tag{{Key: str(odd), Value: str(odd)}, {Key: str("k")}, {}},
		EnableGatewayMode: true,
		CreateTime:        time.Date(2026, 12, 2, 0, 30, 59, 999, time.FixedZone("x", 3600)), ExpiredTime: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	bare := &metalplane.Instance{ID: "bm-bare", InstanceTypeID: "no-such-type", ImageID: "no-such-image", ChargeType: metalplane.ChargeTypePostpaid}
	cases := []*metalplane.Instance{full, bare}
	// One field at a time away from full: each optional part empty, and
	// the numbers that encoding/json writes in exponent form.
	for _, change := range []func(*metalplane.Instance){
		func(in *metalplane.Instance) { in.RaidConfig = &metalplane.RaidConfig{} },
		func(in *metalplane.Instance) { in.RaidConfig.RaidType = nil },
		func(in *metalplane.Instance) { in.RaidConfig.CustomRaids = nil },
		func(in *metalplane.Instance) { in.Partitions, in.Tags = []metalplane.Partition{}, []metalplane.Tag{} },
		func(in *metalplane.Instance) { in.Nic = metalplane.Nic{LanName: str("lan")} },
		func(in *metalplane.Instance) { in.Nic = metalplane.Nic{} },
		func(in *metalplane.Instance) { in.TrafficPackageTB = 0 },
		func(in *metalplane.Instance) { in.TrafficPackageTB = 1e-7 },
		func(in *metalplane.Instance) { in.TrafficPackageTB = 1e21 },
		func(in *metalplane.Instance) { in.TrafficPackageTB = 1e20 },
		func(in *metalplane.Instance) { in.TrafficPackageTB = -0.000001 },
		func(in *metalplane.Instance) { in.InstanceTypeID = cat.InstanceTypes[len(cat.InstanceTypes)-1].ID },
		func(in *metalplane.Instance) { in.ResourceGroupID = "rg-unknown" },
		func(in *metalplane.Instance) { in.BandwidthOutMbps, in.Period = -1, 0 },
	} {
		in := *full
		rc := *full.RaidConfig
		in.RaidConfig = &rc
		change(&in)
		cases = append(cases, &in)
	}
	return cat, map[string]string{"rg-1": "group <" + odd + ">"}, cases
}

// TestDescribeEncodeMatchesEncodingJSON holds the hand-written answer of
// DescribeInstances to the bytes encoding/json writes for the same
// instances: one page of all the cases, each case alone, and an empty page.
func TestDescribeEncodeMatchesEncodingJSON(t *testing.T) {
	cat, groups, cases := describeEncodeCases(t)
	pages := [][]*metalplane.Instance{cases, {}}
	for _, in := range cases {
		pages = append(pages, []*metalplane.Instance{in})
	}
	for i, page := range pages {
		types := map[string]*instanceTypeInfo{}
		data := make([]instanceInfo, len(page))
		for j, in := range page {
			data[j] = toInstanceInfo(cat, groups, types, in)
		}
		want, err := json.Marshal(describeInstancesAnswer{DataSet: data, TotalCount: 100_000 + i})
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeDescribeInstances(data, 100_000+i)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			at := 0
			for at < min(len(got), len(want)) && got[at] == want[at] {
				at++
			}
			t.Errorf("page %d (%d instances): differs at byte %d:\n got …%s\nwant …%s", i, len(page), at,
				got[max(at-80, 0):min(at+80, len(got))], want[max(at-80, 0):min(at+80, len(want))])
		}
	}
}

// TestDescribeEncodeRefusesWhatJSONCannotHold: NaN has no JSON form; the
// answer is an error (a 500), as it was with encoding/json, never a body
// that does not parse.
func TestDescribeEncodeRefusesWhatJSONCannotHold(t *testing.T) {
	nan := 0.0
	nan /= nan
	if _, err := encodeDescribeInstances([]instanceInfo{{TrafficPackageSize: &nan}}, 1); err == nil {
		t.Fatal("encoded a NaN trafficPackageSize without an error")
	}
}

// FuzzAppendJSONString compares the string encoder with encoding/json's
// for any string.
func FuzzAppendJSONString(f *testing.F) {
	f.Add(oddText())
	f.Add("")
	f.Add("plain-ascii_01")
	f.Add("\xf0\x9f\x98")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got[1:], want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}
