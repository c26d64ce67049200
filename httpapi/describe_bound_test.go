package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/metalplane/metalplane"
)

// maxInstanceInfoBytes is the most one InstanceInfo of DescribeInstances
// takes as JSON, whatever a tenant sent, with the demo catalog's types
// (their descriptions are the operator's). With pageSize at most 1000 a
// DescribeInstances answer is at most about 1000 × 48 KiB = 47 MiB, and
// the default page of 20 under 1 MiB. Before the limits of issue 11 it
// had no bound: one instance could carry 38,000 tags.
//
// Most of it is the tags (20 × 256 characters that encoding/json may
// write as 6-byte escapes such as \u003c) and ipxeUrl (1024 bytes, the
// same escapes); docs/limits.md repeats the sum.
const maxInstanceInfoBytes = 48 << 10

// TestInstanceInfoBound fills every field a tenant controls to its limit
// with the characters that encode longest, and checks the JSON of the
// InstanceInfo against maxInstanceInfoBytes for every demo instance type.
func TestInstanceInfoBound(t *testing.T) {
	cat, err := metalplane.LoadCatalog(metalplane.DemoCatalog())
	if err != nil {
		t.Fatal(err)
	}
	worst := func(n int) string { return strings.Repeat("<", n) } // "\u003c" in JSON
	id := strings.Repeat("9", metalplane.MaxIDLength)
	name := strings.Repeat("n", metalplane.MaxNameLength)
	wan, lan := strings.Repeat("w", 10), strings.Repeat("l", 10)
	var tags []metalplane.Tag
	for range metalplane.MaxTagsPerInstance {
		k, v := worst(metalplane.MaxTagLength), worst(metalplane.MaxTagLength)
		tags = append(tags, metalplane.Tag{Key: &k, Value: &v})
	}
	var parts []metalplane.Partition
	for range metalplane.MaxPartitions {
		p, fs, size := "/"+strings.Repeat("d", metalplane.MaxFsPathLength-1), "ext4", 1<<31-1
		parts = append(parts, metalplane.Partition{FsPath: &p, FsType: &fs, Size: &size})
	}
	largest := 0
	for i := range cat.InstanceTypes {
		typ := &cat.InstanceTypes[i]
		// A custom RAID echoes at most one group per disk of the type.
		raid := &metalplane.RaidConfig{}
		for d := 1; d <= typ.DiskCount(); d++ {
			level := 0
			raid.CustomRaids = append(raid.CustomRaids, metalplane.CustomRaid{RaidType: &level, DiskSequence: []int{d}})
		}
		in := &metalplane.Instance{
			ID: id, TeamID: id, ZoneID: id, InstanceTypeID: typ.ID, Name: name, Hostname: name, ImageID: cat.Images[0].ID,
			IpxeURL: worst(metalplane.MaxIpxeURLLength), ChargeType: metalplane.ChargeTypePrepaid, Period: metalplane.MaxPrepaidPeriod,
			InternetChargeType: metalplane.InternetByTrafficPackage, BandwidthOutMbps: 1 << 30, TrafficPackageTB: 1e15,
			ResourceGroupID: id, KeyID: id, Status: metalplane.StatusInstallFailed,
			PublicIPv4: "255.255.255.255", PublicIPv6: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PrivateIP: "255.255.255.255", SubnetID: id,
			RaidConfig: raid, Partitions: parts, Nic: metalplane.Nic{WanName: &wan, LanName: &lan}, Tags: tags,
			CreateTime: time.Now(), ExpiredTime: time.Now(),
		}
		b, err := json.Marshal(toInstanceInfo(cat, map[string]string{id: strings.Repeat("g", 255)}, map[string]*instanceTypeInfo{}, in))
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, len(b))
		if len(b) > maxInstanceInfoBytes {
			t.Errorf("%s: got an InstanceInfo of %d bytes, want at most %d", typ.ID, len(b), maxInstanceInfoBytes)
		}
	}
	t.Logf("largest InstanceInfo: %d bytes", largest)
}
