package metalplane

import (
	"math"
	"testing"
)

// part returns a partition with every field set.
func part(fsPath, fsType string, size int) Partition {
	return Partition{FsPath: &fsPath, FsType: &fsType, Size: &size}
}

func TestValidatePartitions(t *testing.T) {
	t.Parallel()
	const (
		notSet    Code = "INVALID_PARTITION_IMAGE_NOT_SET"
		malformed Code = "INVALID_PARTITION_MALFORMED"
		noType    Code = "INVALID_PARTITION_NO_TYPE"
		order     Code = "INVALID_PARTITION_INVALID_ORDER"
		missing   Code = "INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH"
		duplicate Code = "INVALID_PARTITION_DUPLICATE_FILE_PATH"
		notFull   Code = "INVALID_PARTITION_SIZE_NOT_FULL"
		badParam  Code = "INVALID_PARAMETER"
	)
	linux := &Image{ID: "ubuntu-24", Catalog: "ubuntu", OSType: "linux", CustomPartitions: true}
	linuxCaps := &Image{ID: "rocky-9", Catalog: "centos", OSType: "Linux", CustomPartitions: true}
	windows := &Image{ID: "win-2022", Catalog: "windows", OSType: "windows", CustomPartitions: true}
	esxi := &Image{ID: "esxi-8", Catalog: "esxi", OSType: "esxi", CustomPartitions: false}
	noCustom := &Image{ID: "debian-12", Catalog: "debian", OSType: "linux", CustomPartitions: false}
	otherOS := &Image{ID: "bsd", Catalog: "freebsd", OSType: "freebsd", CustomPartitions: true}

	root := part("/", "ext4", 100)
	drive := func(letter string) Partition { return part(letter, "NTFS", 100) }
	tests := []struct {
		name   string
		parts  []Partition
		img    *Image
		usable int
		code   Code
	}{
		{"none without image", nil, nil, 0, ""},
		{"empty list", []Partition{}, esxi, 0, ""},

		{"no image", []Partition{root}, nil, 1000, notSet},
		{"esxi", []Partition{root}, esxi, 1000, notSet},
		{"image without custom partitions", []Partition{root}, noCustom, 1000, notSet},
		{"unknown OS type", []Partition{root}, otherOS, 1000, notSet},
		{"image before fields", []Partition{{}}, nil, 1000, notSet},

		{"linux root only", []Partition{root}, linux, 1000, ""},
		{"linux OS type any case", []Partition{root}, linuxCaps, 1000, ""},
		{"linux every fs type", []Partition{root, part("/data", "ext3", 200), part("/boot", "ext2", 1)}, linux, 1000, ""},
		{"linux nested path", []Partition{root, part("/var/lib/docker-1.x_y", "ext4", 100)}, linux, 1000, ""},
		{"linux sum equals usable", []Partition{part("/", "ext4", 400), part("/home", "ext4", 600)}, linux, 1000, ""},

		{"linux path missing", []Partition{{FsType: root.FsType, Size: root.Size}}, linux, 1000, malformed},
		{"linux path empty", []Partition{part("", "ext4", 1)}, linux, 1000, malformed},
		{"linux path relative", []Partition{root, part("home", "ext4", 1)}, linux, 1000, malformed},
		{"linux trailing slash", []Partition{root, part("/home/", "ext4", 1)}, linux, 1000, malformed},
		{"linux double slash", []Partition{root, part("//home", "ext4", 1)}, linux, 1000, malformed},
		{"linux inner double slash", []Partition{root, part("/a//b", "ext4", 1)}, linux, 1000, malformed},
		{"linux dot-dot", []Partition{root, part("/home/..", "ext4", 1)}, linux, 1000, malformed},
		{"linux dot", []Partition{root, part("/./srv", "ext4", 1)}, linux, 1000, malformed},
		{"linux space", []Partition{root, part("/my data", "ext4", 1)}, linux, 1000, malformed},
		{"linux non-ASCII", []Partition{root, part("/données", "ext4", 1)}, linux, 1000, malformed},
		{"linux drive letter", []Partition{part("C", "ext4", 1)}, linux, 1000, malformed},

		{"linux type missing", []Partition{{FsPath: root.FsPath, Size: root.Size}}, linux, 1000, noType},
		{"linux xfs", []Partition{part("/", "xfs", 100)}, linux, 1000, noType},
		{"linux upper case ext4", []Partition{part("/", "EXT4", 100)}, linux, 1000, noType},
		{"linux NTFS", []Partition{part("/", "NTFS", 100)}, linux, 1000, noType},

		{"size missing", []Partition{{FsPath: root.FsPath, FsType: root.FsType}}, linux, 1000, badParam},
		{"size zero", []Partition{part("/", "ext4", 0)}, linux, 1000, badParam},
		{"size negative", []Partition{part("/", "ext4", -5)}, linux, 1000, badParam},

		{"fields in list order", []Partition{part("/", "xfs", 100), part("bad", "ext4", 1)}, linux, 1000, noType},
		{"path before type", []Partition{part("bad", "xfs", 0)}, linux, 1000, malformed},
		{"type before size", []Partition{part("/", "xfs", 0)}, linux, 1000, noType},
		{"element before cross checks", []Partition{root, root, part("/x", "ext4", 0)}, linux, 1000, badParam},

		{"linux duplicate", []Partition{root, part("/data", "ext4", 1), part("/data", "ext4", 1)}, linux, 1000, duplicate},
		{"duplicate before missing root", []Partition{part("/data", "ext4", 1), part("/data", "ext4", 1)}, linux, 1000, duplicate},
		{"linux root missing", []Partition{part("/home", "ext4", 1)}, linux, 1000, missing},
		{"linux root not first", []Partition{part("/home", "ext4", 1), root}, linux, 1000, malformed},
		{"linux any order after root", []Partition{root, part("/var", "ext4", 1), part("/boot", "ext4", 1)}, linux, 1000, ""},
		{"linux too big", []Partition{part("/", "ext4", 400), part("/home", "ext4", 601)}, linux, 1000, notFull},
		{"linux sizes overflow int", []Partition{part("/", "ext4", math.MaxInt), part("/a", "ext4", math.MaxInt)}, linux, 1000, notFull},

		{"windows C only", []Partition{drive("C")}, windows, 1000, ""},
		{"windows C to H", []Partition{drive("C"), drive("D"), drive("E"), drive("F"), drive("G"), drive("H")}, windows, 600, ""},
		{"windows C to H too big", []Partition{drive("C"), drive("D"), drive("E"), drive("F"), drive("G"), drive("H")}, windows, 599, notFull},
		{"windows lower case", []Partition{drive("c")}, windows, 1000, malformed},
		{"windows colon", []Partition{drive("C:")}, windows, 1000, malformed},
		{"windows two letters", []Partition{drive("CD")}, windows, 1000, malformed},
		{"windows letter I", []Partition{drive("C"), drive("I")}, windows, 1000, malformed},
		{"windows letter A", []Partition{drive("A")}, windows, 1000, malformed},
		{"windows linux path", []Partition{drive("/")}, windows, 1000, malformed},
		{"windows lower-case ntfs", []Partition{part("C", "ntfs", 100)}, windows, 1000, noType},
		{"windows ext4", []Partition{part("C", "ext4", 100)}, windows, 1000, noType},
		{"windows duplicate", []Partition{drive("C"), drive("D"), drive("C")}, windows, 1000, duplicate},
		{"windows C missing", []Partition{drive("D"), drive("E")}, windows, 1000, missing},
		{"windows C not first", []Partition{drive("D"), drive("C")}, windows, 1000, order},
		{"windows gap", []Partition{drive("C"), drive("E")}, windows, 1000, order},
		{"windows descending", []Partition{drive("C"), drive("E"), drive("D")}, windows, 1000, order},
		{"windows too big", []Partition{drive("C"), drive("D")}, windows, 150, notFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validationCode(ValidatePartitions(tt.parts, tt.img, tt.usable)); got != tt.code {
				t.Errorf("ValidatePartitions: got %q, want %q", got, tt.code)
			}
		})
	}
}
