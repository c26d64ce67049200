package metalplane

import "testing"

// Instance types for the RAID tests, built inline so each case shows the
// hardware it runs on.
var (
	allLevels = []int{0, 1, 5, 10}
	// raidFour: four equal disks; TotalDiskGB a little below raw (3840).
	raidFour = &InstanceType{ID: "four", SupportRaids: allLevels,
		Disks: []Disk{{SizeGB: 960, Count: 4, Type: "SSD"}}, TotalDiskGB: 3500}
	raidFive = &InstanceType{ID: "five", SupportRaids: allLevels,
		Disks: []Disk{{SizeGB: 1000, Count: 5, Type: "HDD"}}, TotalDiskGB: 5000}
	raidSix = &InstanceType{ID: "six", SupportRaids: allLevels,
		Disks: []Disk{{SizeGB: 1000, Count: 6, Type: "HDD"}}, TotalDiskGB: 6000}
	raidTwo = &InstanceType{ID: "two", SupportRaids: allLevels,
		Disks: []Disk{{SizeGB: 480, Count: 2, Type: "SSD"}}, TotalDiskGB: 960}
	raidTwoMirror = &InstanceType{ID: "two-mirror", SupportRaids: []int{0, 1},
		Disks: []Disk{{SizeGB: 480, Count: 2, Type: "SSD"}}, TotalDiskGB: 960}
	raidOne = &InstanceType{ID: "one", SupportRaids: []int{0, 1},
		Disks: []Disk{{SizeGB: 480, Count: 1, Type: "SSD"}}, TotalDiskGB: 480}
	raidNone = &InstanceType{ID: "none",
		Disks: []Disk{{SizeGB: 480, Count: 2, Type: "SSD"}}, TotalDiskGB: 960}
	// raidMixed: the spec's example, 880×2 then 220×2 (disks 1, 2 and 3, 4).
	raidMixed = &InstanceType{ID: "mixed", SupportRaids: allLevels,
		Disks: []Disk{{SizeGB: 880, Count: 2, Type: "SSD"}, {SizeGB: 220, Count: 2, Type: "SSD"}}, TotalDiskGB: 2000}
	// raidSameSize: one size, two media.
	raidSameSize = &InstanceType{ID: "same-size", SupportRaids: allLevels,
		Disks: []Disk{{SizeGB: 960, Count: 2, Type: "SSD"}, {SizeGB: 960, Count: 2, Type: "NVMe"}}, TotalDiskGB: 3500}
)

func raidPtr(v int) *int { return &v }

// quickRaid returns a quick RAID config.
func quickRaid(level int) *RaidConfig { return &RaidConfig{RaidType: raidPtr(level)} }

// customRaids returns a custom RAID config; each group is a level followed by
// its disk numbers.
func customRaids(groups ...[]int) *RaidConfig {
	cfg := &RaidConfig{}
	for _, g := range groups {
		cfg.CustomRaids = append(cfg.CustomRaids, CustomRaid{RaidType: raidPtr(g[0]), DiskSequence: g[1:]})
	}
	return cfg
}

func TestValidateRaid(t *testing.T) {
	t.Parallel()
	const (
		conflict   Code = "INVALID_RAID_CONFIG_FAST_CUSTOM_CONFLICT"
		notSupport Code = "INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT"
		noQuick    Code = "INVALID_INSTANCE_TYPE_QUICK_RAID_NOT_SUPPORT"
		mismatch   Code = "INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH"
		rangeErr   Code = "INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_RANGE"
		duplicate  Code = "INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_DUPLICATE"
		disorder   Code = "INVALID_PARAMETER_VALUE_RAID_DISK_DISORDER"
	)
	tests := []struct {
		name string
		cfg  *RaidConfig
		typ  *InstanceType
		code Code
	}{
		{"nil", nil, raidNone, ""},
		{"empty", &RaidConfig{}, raidNone, ""},
		{"empty custom list", &RaidConfig{CustomRaids: []CustomRaid{}}, raidNone, ""},
		{"quick with empty custom list", &RaidConfig{RaidType: raidPtr(1), CustomRaids: []CustomRaid{}}, raidFour, ""},

		{"both", &RaidConfig{RaidType: raidPtr(1), CustomRaids: customRaids([]int{1, 1, 2}).CustomRaids}, raidFour, conflict},
		{"both, bad level", &RaidConfig{RaidType: raidPtr(3), CustomRaids: customRaids([]int{3, 1}).CustomRaids}, raidFour, conflict},

		{"quick level 3", quickRaid(3), raidFour, notSupport},
		{"quick level -1", quickRaid(-1), raidFour, notSupport},
		{"quick level not offered", quickRaid(5), raidTwoMirror, notSupport},
		{"quick on type without RAID", quickRaid(0), raidNone, notSupport},
		{"quick on mixed disks", quickRaid(1), raidMixed, noQuick},
		{"quick on same size, two media", quickRaid(1), raidSameSize, noQuick},
		{"quick bad level on mixed disks", quickRaid(6), raidMixed, notSupport},

		{"quick 0 on one disk", quickRaid(0), raidOne, ""},
		{"quick 1 on one disk", quickRaid(1), raidOne, mismatch},
		{"quick 1 on two", quickRaid(1), raidTwo, ""},
		{"quick 5 on two", quickRaid(5), raidTwo, mismatch},
		{"quick 10 on two", quickRaid(10), raidTwo, mismatch},
		{"quick 5 on four", quickRaid(5), raidFour, ""},
		{"quick 10 on four", quickRaid(10), raidFour, ""},
		{"quick 10 on five", quickRaid(10), raidFive, mismatch},
		{"quick 10 on six", quickRaid(10), raidSix, ""},

		{"custom mirrors on mixed", customRaids([]int{1, 1, 2}, []int{1, 3, 4}), raidMixed, ""},
		{"custom stripe across sizes", customRaids([]int{0, 1, 2, 3, 4}), raidMixed, ""},
		{"custom partial cover", customRaids([]int{1, 1, 2}), raidFour, ""},
		{"custom raid 0 one disk", customRaids([]int{0, 3}), raidFour, ""},
		{"custom raid 10 four", customRaids([]int{10, 1, 2, 3, 4}), raidSix, ""},
		{"custom missing raidType", &RaidConfig{CustomRaids: []CustomRaid{{DiskSequence: []int{1, 2}}}}, raidFour, "MISSING_PARAMETER"},
		{"custom level not offered", customRaids([]int{5, 1, 2}), raidTwoMirror, notSupport},
		{"custom second level bad, first disordered", customRaids([]int{1, 2, 1}, []int{7, 3, 4}), raidFour, notSupport},
		{"custom empty sequence", customRaids([]int{1}), raidFour, mismatch},
		{"custom disk 0", customRaids([]int{0, 0}), raidFour, rangeErr},
		{"custom disk above count", customRaids([]int{1, 4, 5}), raidFour, rangeErr},
		{"custom range before order", customRaids([]int{1, 5, 1}), raidFour, rangeErr},
		{"custom repeat in group", customRaids([]int{1, 3, 3}), raidFour, duplicate},
		{"custom repeat across groups", customRaids([]int{1, 1, 2}, []int{1, 2, 3}), raidFour, duplicate},
		{"custom gap", customRaids([]int{1, 1, 3}), raidFour, disorder},
		{"custom descending", customRaids([]int{1, 2, 1}), raidFour, disorder},
		{"custom raid 1 one disk", customRaids([]int{1, 1}), raidFour, mismatch},
		{"custom raid 5 two disks", customRaids([]int{5, 1, 2}), raidFour, mismatch},
		{"custom raid 10 three disks", customRaids([]int{10, 1, 2, 3}), raidFour, mismatch},
		{"custom raid 10 five disks", customRaids([]int{10, 1, 2, 3, 4, 5}), raidSix, mismatch},
		{"custom first group wins", customRaids([]int{1, 2, 1}, []int{1, 9, 10}), raidFour, disorder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(ValidateRaid(tt.cfg, tt.typ)); got != tt.code {
				t.Errorf("ValidateRaid on %s: got %q, want %q", tt.typ.ID, got, tt.code)
			}
		})
	}
}

func TestRaidUsableGB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *RaidConfig
		typ  *InstanceType
		want int
	}{
		{"no RAID", nil, raidFour, 3500},
		{"empty config", &RaidConfig{}, raidFour, 3500},
		// raidFour: raw 3840, reported 3500.
		{"quick 0", quickRaid(0), raidFour, 3500},
		{"quick 1", quickRaid(1), raidFour, 960 * 3500 / 3840},
		{"quick 5", quickRaid(5), raidFour, 3 * 960 * 3500 / 3840},
		{"quick 10", quickRaid(10), raidFour, 2 * 960 * 3500 / 3840},
		{"quick 1 equal to raw", quickRaid(1), raidTwo, 480},
		// raidMixed: raw 2200, reported 2000; only the first group counts.
		{"custom system mirror", customRaids([]int{1, 1, 2}, []int{0, 3, 4}), raidMixed, 880 * 2000 / 2200},
		{"custom small first", customRaids([]int{0, 3, 4}, []int{1, 1, 2}), raidMixed, 440 * 2000 / 2200},
		{"custom across sizes", customRaids([]int{1, 2, 3}), raidMixed, 220 * 2000 / 2200},
		{"custom stripe all", customRaids([]int{0, 1, 2, 3, 4}), raidMixed, 2000},
		{"no disks", quickRaid(0), &InstanceType{TotalDiskGB: 100}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RaidUsableGB(tt.cfg, tt.typ); got != tt.want {
				t.Errorf("RaidUsableGB on %s: got %d, want %d", tt.typ.ID, got, tt.want)
			}
		})
	}
}
