package metalplane

import (
	"strings"
	"testing"
)

func TestCheckLength(t *testing.T) {
	t.Parallel()
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name string
		v    *string
		max  int
		want Code
	}{
		{name: "absent", v: nil, max: 1},
		{name: "empty", v: ptr(""), max: 1},
		{name: "at the limit", v: ptr("abc"), max: 3},
		{name: "over the limit", v: ptr("abcd"), max: 3, want: "INVALID_PARAMETER"},
		{name: "characters, not bytes", v: ptr("ééé"), max: 3},
		{name: "one character over", v: ptr("éééé"), max: 3, want: "INVALID_PARAMETER"},
		{name: "4-byte characters", v: ptr(strings.Repeat("😀", MaxTagLength)), max: MaxTagLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(CheckLength("field", tt.v, tt.max)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckList(t *testing.T) {
	t.Parallel()
	ids := func(n int, id string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id
		}
		return out
	}
	id := strings.Repeat("1", MaxIDLength)
	tests := []struct {
		name    string
		ids     []string
		max     int
		want    Code
		message string
	}{
		{name: "none", ids: nil, max: 100},
		{name: "full list of full IDs", ids: ids(100, id), max: 100},
		{name: "one item too many", ids: ids(101, "1"), max: 100, want: "INVALID_PARAMETER", message: "instanceIds holds at most 100 items; got 101."},
		{name: "one ID too long", ids: append(ids(3, "1"), id+"1"), max: 100, want: "INVALID_PARAMETER", message: "instanceIds[3] must be at most 64 characters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckIDList("instanceIds", tt.ids, tt.max)
			if got := validationCode(err); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if err != nil && err.Message != tt.message {
				t.Errorf("got message %q, want %q", err.Message, tt.message)
			}
		})
	}
}

func TestCheckTags(t *testing.T) {
	t.Parallel()
	tag := func(k, v string) Tag { return Tag{Key: &k, Value: &v} }
	many := func(n int) []Tag {
		out := make([]Tag, n)
		for i := range out {
			out[i] = tag(strings.Repeat("k", i+1), "v")
		}
		return out
	}
	long := strings.Repeat("é", MaxTagLength)
	tests := []struct {
		name string
		tags []Tag
		want Code
	}{
		{name: "20 tags at full length", tags: append(many(MaxTagsPerInstance-1), tag(long, long))},
		{name: "21 tags", tags: many(MaxTagsPerInstance + 1), want: "INVALID_PARAMETER"},
		{name: "key of 129 characters", tags: []Tag{tag(long+"é", "v")}, want: "INVALID_PARAMETER"},
		{name: "empty value", tags: []Tag{tag("k", "")}, want: "INVALID_PARAMETER"},
		{name: "repeated key", tags: []Tag{tag("k", "1"), tag("k", "2")}, want: "INVALID_PARAMETER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := checkTags(&TagAssociation{Tags: tt.tags})
			if code := validationCode(err); code != tt.want {
				t.Fatalf("got %q, want %q", code, tt.want)
			}
			if err == nil && len(got) != len(tt.tags) {
				t.Errorf("got %d tags, want %d", len(got), len(tt.tags))
			}
		})
	}
	filters := many(MaxTagFilters)
	if err := CheckTagFilters(filters); err != nil {
		t.Errorf("20 tag filters: got %v, want nil", err)
	}
	if err := CheckTagFilters(append(filters, tag("x", ""))); validationCode(err) != "INVALID_PARAMETER" {
		t.Errorf("21 tag filters: got %v, want INVALID_PARAMETER", err)
	}
	if err := CheckTagFilters([]Tag{{Value: &long}}); validationCode(err) != "INVALID_PARAMETER" {
		t.Errorf("a filter without key: got %v, want INVALID_PARAMETER", err)
	}
}

// TestSizeLimitsOfRules covers the limits enforced inside the rules of
// other files: public key text, partitions and CIDR blocks.
func TestSizeLimitsOfRules(t *testing.T) {
	t.Parallel()
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	if _, err := ParsePublicKeys(key + " " + strings.Repeat("c", MaxPublicKeyLineBytes-len(key)-1)); err != nil {
		t.Errorf("a key line of %d bytes: got %v, want it accepted", MaxPublicKeyLineBytes, err)
	}
	if _, err := ParsePublicKeys(key + " " + strings.Repeat("c", MaxPublicKeyLineBytes-len(key))); validationCode(err) != "INVALID_PUBLIC_KEY_MALFORMED" {
		t.Errorf("a key line of %d bytes: got %v, want INVALID_PUBLIC_KEY_MALFORMED", MaxPublicKeyLineBytes+1, err)
	}
	if _, err := ParsePublicKeys(key + strings.Repeat("\n", MaxPublicKeyBytes)); validationCode(err) != "INVALID_PUBLIC_KEY_MALFORMED" {
		t.Errorf("one key and 20,480 blank lines: got %v, want INVALID_PUBLIC_KEY_MALFORMED", err)
	}
	if err := ValidateSSHKeys([]string{key + " " + strings.Repeat("c", MaxPublicKeyLineBytes)}); validationCode(err) != "INVALID_PARAMETER_SSH_KEY_MALFORMED" {
		t.Errorf("an sshKeys entry over %d bytes: got %v, want INVALID_PARAMETER_SSH_KEY_MALFORMED", MaxPublicKeyLineBytes, err)
	}

	linux := &Image{ID: "ubuntu-24", Catalog: "ubuntu", OSType: "linux", CustomPartitions: true}
	layout := func(n int) []Partition {
		parts := []Partition{part("/", "ext4", 10)}
		for i := 1; i < n; i++ {
			parts = append(parts, part("/d"+strings.Repeat("x", i), "ext4", 1))
		}
		return parts
	}
	if err := ValidatePartitions(layout(MaxPartitions), linux, 1000); err != nil {
		t.Errorf("%d partitions: got %v, want nil", MaxPartitions, err)
	}
	if err := ValidatePartitions(layout(MaxPartitions+1), linux, 1000); validationCode(err) != "INVALID_PARAMETER" {
		t.Errorf("%d partitions: got %v, want INVALID_PARAMETER", MaxPartitions+1, err)
	}
	longPath := []Partition{part("/", "ext4", 10), part("/"+strings.Repeat("p", MaxFsPathLength), "ext4", 1)}
	if err := ValidatePartitions(longPath, linux, 1000); validationCode(err) != "INVALID_PARTITION_MALFORMED" {
		t.Errorf("an fsPath of %d bytes: got %v, want INVALID_PARTITION_MALFORMED", MaxFsPathLength+1, err)
	}

	_, err := ValidateSubnetCIDR(strings.Repeat("1", 10_000))
	if validationCode(err) != "INVALID_PARAMETER_SUBNET_CIDR_BLOCK" || len(err.Message) > 200 {
		t.Errorf("a 10,000-character cidrBlock: got %v, want a short INVALID_PARAMETER_SUBNET_CIDR_BLOCK", err)
	}
}
