package metalplane

import (
	"path"
	"strings"
)

// Custom partitions (ACTIONS.md §3.1.5).

// Allowed file systems per OS type. [decision] They are matched exactly as
// documented (ext4, not EXT4; NTFS, not ntfs), like the upper-case drive
// letters: InstanceInfo echoes the request, so one spelling per value keeps
// what the provisioner and the client see identical.
var partitionFsTypes = map[string]map[string]bool{
	"linux":   {"ext2": true, "ext3": true, "ext4": true},
	"windows": {"NTFS": true},
}

// Limits of a partition list. Nothing else bounds a linux list: every
// partition needs only 1 GB, so a large disk could take thousands, each
// stored and returned by every DescribeInstances.
const (
	// MaxPartitions [decision]: 32, twice what any install layout needs
	// and far below the 128 entries of a default GPT. A windows list is
	// already at most 6 (drive letters C to H).
	MaxPartitions = 32
	// MaxFsPathLength [decision]: 128 bytes for a linux mount point
	// (fsPath is ASCII), longer than any usual path of a layout.
	MaxFsPathLength = 128
)

// ValidatePartitions checks the partitions of CreateInstances and
// ReinstallInstance against the image being installed and the capacity
// RaidUsableGB computed. No partitions (the OS default layout) is valid.
//
// [decision] The checks run in this order and the first failure wins; it
// goes from the request as a whole, through each element, to the relations
// between elements, so that the code names the first thing the client has
// to fix:
//
//  0. At most MaxPartitions partitions: else INVALID_PARAMETER.
//  1. Partitions need an image that allows custom partitioning, of OS type
//     linux or windows: else INVALID_PARTITION_IMAGE_NOT_SET (403).
//  2. Each partition in list order, field by field:
//     fsPath missing or not of the OS's form: INVALID_PARTITION_MALFORMED;
//     fsType missing or not allowed for the OS: INVALID_PARTITION_NO_TYPE;
//     size missing or below 1 GB: INVALID_PARAMETER.
//  3. The same fsPath twice: INVALID_PARTITION_DUPLICATE_FILE_PATH.
//  4. No "/" (linux) or "C" (windows):
//     INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH.
//  5. The first element is not "/" (linux: INVALID_PARTITION_MALFORMED) or
//     not "C" (windows: INVALID_PARTITION_INVALID_ORDER), per the spec's
//     [decision] codes.
//  6. Windows letters not consecutive and ascending (C, D, E...):
//     INVALID_PARTITION_INVALID_ORDER.
//  7. Sizes adding up to more than usableGB: INVALID_PARTITION_SIZE_NOT_FULL.
//     The last partition takes whatever space remains, so a sum below the
//     capacity is fine.
//
// A linux fsPath is an absolute path of at most MaxFsPathLength bytes of
// [A-Za-z0-9._/-] that is already clean ([decision]): no "//", no trailing "/" except the root, and
// ([decision]) no "." or ".." element, since "/home/.." would mount over
// "/". A windows fsPath is one upper-case drive letter C to H, no colon.
func ValidatePartitions(parts []Partition, img *Image, usableGB int) *Error {
	if len(parts) == 0 {
		return nil
	}
	if err := CheckCount("partitions", len(parts), MaxPartitions); err != nil {
		return err
	}
	if img == nil || !img.CustomPartitions {
		return E("INVALID_PARTITION_IMAGE_NOT_SET")
	}
	osType := strings.ToLower(img.OSType)
	fsTypes, ok := partitionFsTypes[osType]
	if !ok {
		return E("INVALID_PARTITION_IMAGE_NOT_SET")
	}
	windows := osType == "windows"

	for i, p := range parts {
		if p.FsPath == nil || !validFsPath(*p.FsPath, windows) {
			if windows {
				return Errorf("INVALID_PARTITION_MALFORMED",
					"partitions[%d].fsPath must be one drive letter from C to H.", i)
			}
			return Errorf("INVALID_PARTITION_MALFORMED",
				"partitions[%d].fsPath must be a clean absolute path of at most %d letters, digits, '.', '_', '-' and '/'.", i, MaxFsPathLength)
		}
		if p.FsType == nil || !fsTypes[*p.FsType] {
			if windows {
				return Errorf("INVALID_PARTITION_NO_TYPE", "partitions[%d].fsType must be NTFS.", i)
			}
			return Errorf("INVALID_PARTITION_NO_TYPE", "partitions[%d].fsType must be ext2, ext3 or ext4.", i)
		}
		if p.Size == nil || *p.Size < 1 {
			return Errorf("INVALID_PARAMETER", "partitions[%d].size must be an integer of at least 1 GB.", i)
		}
	}

	seen := make(map[string]bool, len(parts))
	for _, p := range parts {
		if seen[*p.FsPath] {
			return Errorf("INVALID_PARTITION_DUPLICATE_FILE_PATH", "The fsPath %s is given twice.", *p.FsPath)
		}
		seen[*p.FsPath] = true
	}

	root := "/"
	if windows {
		root = "C"
	}
	if !seen[root] {
		return Errorf("INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH", "The partition %s is required.", root)
	}
	if *parts[0].FsPath != root {
		if windows {
			return Errorf("INVALID_PARTITION_INVALID_ORDER", "The first partition must be C.")
		}
		return Errorf("INVALID_PARTITION_MALFORMED", "The first partition must be /.")
	}
	if windows {
		for i, p := range parts {
			// Paths are single letters C..H here, and parts[0] is C.
			if (*p.FsPath)[0] != 'C'+byte(i) {
				return Errorf("INVALID_PARTITION_INVALID_ORDER",
					"Drive letters must follow each other from C (C, D, E...).")
			}
		}
	}

	// Compare before adding: huge sizes must not wrap around to a small sum.
	// left never goes below zero, so the subtraction cannot overflow.
	left := usableGB
	for _, p := range parts {
		if *p.Size > left {
			return Errorf("INVALID_PARTITION_SIZE_NOT_FULL",
				"The partition sizes add up to more than the %d GB usable.", max(usableGB, 0))
		}
		left -= *p.Size
	}
	return nil
}

// validFsPath reports whether s is a well-formed fsPath for the OS.
func validFsPath(s string, windows bool) bool {
	if windows {
		return len(s) == 1 && s[0] >= 'C' && s[0] <= 'H'
	}
	if !strings.HasPrefix(s, "/") || len(s) > MaxFsPathLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '/') {
			return false
		}
	}
	// A clean path has no "//", no trailing '/' (except "/") and no "."
	// or ".." elements.
	return path.Clean(s) == s
}
