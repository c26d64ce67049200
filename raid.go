package metalplane

// RAID configuration (ACTIONS.md §3.1.4). Disks are numbered from 1 by
// expanding InstanceType.Disks in order: 880×2, 220×2 gives disks 1 and 2
// of 880 GB and disks 3 and 4 of 220 GB.

// raidLevels are the levels the API knows, with the fewest disks each
// needs (product docs; [decision] RAID 0 over a single disk is allowed).
var raidLevels = map[int]int{0: 1, 1: 2, 5: 3, 10: 4}

// ValidateRaid checks a raidConfig against the instance type. A nil config,
// or one with neither raidType nor customRaids, means no RAID and is valid.
//
// The checks run in this order and the first failure wins:
//
//  1. raidType together with a non-empty customRaids:
//     INVALID_RAID_CONFIG_FAST_CUSTOM_CONFLICT.
//  2. Every level (the quick level, or each group's in order) must be one
//     of 0, 1, 5, 10 and in t.SupportRaids:
//     INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT. A group without raidType
//     answers MISSING_PARAMETER ([decision]: the field is required in
//     every group, Terraform dereferences it when reading back, and the
//     spec answers MISSING_PARAMETER for other conditionally required
//     fields such as instanceChargePrepaid).
//  3. Quick RAID on a type with more than one Disks entry (mixed disks):
//     INVALID_INSTANCE_TYPE_QUICK_RAID_NOT_SUPPORT. [decision] Two entries
//     of the same size but different media count as mixed too.
//  4. Quick RAID uses every disk; too few for the level (or an odd count
//     for RAID 10): INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH.
//  5. Custom groups, one group after the other, each checked for: empty
//     diskSequence (DISK_MISMATCH, [decision]); a number outside 1..N
//     (SEQUENCE_RANGE); a number repeated in the group or used by an
//     earlier group (SEQUENCE_DUPLICATE); numbers not consecutive and
//     ascending (DISK_DISORDER); too few disks for the level, or an odd
//     count for RAID 10 (DISK_MISMATCH).
//
// Custom groups need not cover every disk ([decision], §3.1.4).
func ValidateRaid(cfg *RaidConfig, t *InstanceType) *Error {
	if cfg == nil || cfg.RaidType == nil && len(cfg.CustomRaids) == 0 {
		return nil
	}
	if cfg.RaidType != nil && len(cfg.CustomRaids) > 0 {
		return E("INVALID_RAID_CONFIG_FAST_CUSTOM_CONFLICT")
	}

	if cfg.RaidType != nil {
		level := *cfg.RaidType
		if !typeSupportsRaid(t, level) {
			return Errorf("INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT",
				"The instance type does not support RAID %d.", level)
		}
		if len(t.Disks) > 1 {
			return E("INVALID_INSTANCE_TYPE_QUICK_RAID_NOT_SUPPORT")
		}
		if n := t.DiskCount(); !raidDiskCountFits(level, n) {
			return Errorf("INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH",
				"RAID %d cannot be built over the %d disks of the instance type.", level, n)
		}
		return nil
	}

	for i, g := range cfg.CustomRaids {
		if g.RaidType == nil {
			return Errorf("MISSING_PARAMETER", "raidConfig.customRaids[%d].raidType is required.", i)
		}
		if !typeSupportsRaid(t, *g.RaidType) {
			return Errorf("INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT",
				"The instance type does not support RAID %d.", *g.RaidType)
		}
	}

	n := t.DiskCount()
	used := make(map[int]bool)
	for i, g := range cfg.CustomRaids {
		seq := g.DiskSequence
		if len(seq) == 0 {
			return Errorf("INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH",
				"raidConfig.customRaids[%d].diskSequence is empty.", i)
		}
		for _, d := range seq {
			if d < 1 || d > n {
				return Errorf("INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_RANGE",
					"Disk %d is out of range: the instance type has disks 1 to %d.", d, n)
			}
		}
		for _, d := range seq {
			if used[d] {
				return Errorf("INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_DUPLICATE",
					"Disk %d is used twice.", d)
			}
			used[d] = true
		}
		for k := 1; k < len(seq); k++ {
			if seq[k] != seq[k-1]+1 {
				return Errorf("INVALID_PARAMETER_VALUE_RAID_DISK_DISORDER",
					"raidConfig.customRaids[%d].diskSequence must be consecutive and ascending.", i)
			}
		}
		if level := *g.RaidType; !raidDiskCountFits(level, len(seq)) {
			return Errorf("INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH",
				"RAID %d cannot be built over %d disks.", level, len(seq))
		}
	}
	return nil
}

// RaidUsableGB returns the capacity, in GB, that partitions may use with the
// RAID configuration: the bound of INVALID_PARTITION_SIZE_NOT_FULL. cfg must
// have passed ValidateRaid.
//
// [decision] With no RAID it is t.TotalDiskGB, the reported usable size.
// With RAID the array capacity is computed from the raw disk sizes (RAID 0:
// the sum; RAID 1: one disk; RAID 5: n-1 disks; RAID 10: n/2 disks; a
// group's disks count at the size of its smallest, as controllers do), then
// scaled by TotalDiskGB/raw sum, so it keeps the same margin below raw
// (formatting, GB versus GiB) that the catalog's TotalDiskGB has. Quick RAID
// spans every disk. With custom groups only the first group counts: it is
// the system array the OS and its partitions are installed on; later groups
// are data arrays left to the user.
func RaidUsableGB(cfg *RaidConfig, t *InstanceType) int {
	if cfg == nil || cfg.RaidType == nil && len(cfg.CustomRaids) == 0 {
		return t.TotalDiskGB
	}
	sizes := diskSizes(t)
	raw := 0
	for _, s := range sizes {
		raw += s
	}
	if raw == 0 {
		return t.TotalDiskGB
	}

	var level int
	var group []int // sizes of the disks in the array
	switch {
	case cfg.RaidType != nil:
		level, group = *cfg.RaidType, sizes
	case cfg.CustomRaids[0].RaidType != nil:
		level = *cfg.CustomRaids[0].RaidType
		for _, d := range cfg.CustomRaids[0].DiskSequence {
			if d >= 1 && d <= len(sizes) {
				group = append(group, sizes[d-1])
			}
		}
	}
	capacity := raidCapacity(level, group)
	// int64: sizes in GB times a total in GB can exceed 32 bits.
	return int(int64(capacity) * int64(t.TotalDiskGB) / int64(raw))
}

// raidCapacity returns the raw capacity of an array of the level over disks
// of the sizes given; 0 when the array cannot exist.
func raidCapacity(level int, sizes []int) int {
	n := len(sizes)
	if !raidDiskCountFits(level, n) {
		return 0
	}
	smallest := sizes[0]
	sum := 0
	for _, s := range sizes {
		smallest = min(smallest, s)
		sum += s
	}
	switch level {
	case 0:
		return sum
	case 1:
		return smallest
	case 5:
		return (n - 1) * smallest
	case 10:
		return n / 2 * smallest
	}
	return 0
}

// raidDiskCountFits reports whether n disks suit the level: at least the
// level's minimum, and an even count for RAID 10 (mirrored pairs).
func raidDiskCountFits(level, n int) bool {
	least, ok := raidLevels[level]
	if !ok || n < least {
		return false
	}
	return level != 10 || n%2 == 0
}

// typeSupportsRaid reports whether level is a known level offered by t.
func typeSupportsRaid(t *InstanceType, level int) bool {
	if _, ok := raidLevels[level]; !ok {
		return false
	}
	for _, l := range t.SupportRaids {
		if l == level {
			return true
		}
	}
	return false
}

// diskSizes returns the size of every disk of t by disk number - 1.
func diskSizes(t *InstanceType) []int {
	sizes := make([]int, 0, t.DiskCount())
	for _, d := range t.Disks {
		for range d.Count {
			sizes = append(sizes, d.SizeGB)
		}
	}
	return sizes
}
