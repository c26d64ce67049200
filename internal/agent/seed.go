package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/metalplane/metalplane/netboot/agentapi"
)

// The seed goes in a partition of its own after the image's, as Ironic
// does for config drives: the image's GPT is rewritten with one more
// entry (its partitions unchanged) and its backup moved to the end of the
// disk; the cidata partition holds a FAT filesystem labelled cidata.
// Only GPT images are seeded: an MBR image is refused (FailImage).

// SeedPartitionSize is the size of the cidata partition.
const SeedPartitionSize = 16 << 20

const sectorsPerMiB = (1 << 20) / 512

// WriteSeed adds the cidata partition after the image (imageBytes long)
// on the disk and writes the seed's files to it; it returns the bytes of
// the files.
func WriteSeed(diskPath string, imageBytes int64, files map[string][]byte) (int64, error) {
	d, err := diskfs.Open(diskPath, diskfs.WithOpenMode(diskfs.ReadWrite))
	if err != nil {
		return 0, fmt.Errorf("open the disk: %w", err)
	}
	defer d.Close()
	if d.LogicalBlocksize != 512 {
		return 0, fmt.Errorf("disks with %d-byte sectors are not supported", d.LogicalBlocksize)
	}
	table, err := d.GetPartitionTable()
	if err != nil {
		return 0, fail(agentapi.FailImage, "the image has no partition table the agent can read: %v", err)
	}
	old, ok := table.(*gpt.Table)
	if !ok {
		return 0, fail(agentapi.FailImage, "the image's partition table is %s; only GPT images can carry the seed", table.Type())
	}
	// The seed starts at the first MiB boundary after both the image and
	// its last partition.
	start := uint64((imageBytes + 511) / 512)
	next := &gpt.Table{GUID: old.GUID, ProtectiveMBR: true, LogicalSectorSize: 512, PhysicalSectorSize: 512}
	for _, p := range old.Partitions {
		if p == nil || p.Start == 0 && p.End == 0 {
			continue
		}
		if p.Name == agentapi.SeedLabel {
			continue // an earlier seed of the same image: replaced
		}
		cp := *p
		cp.Index = len(next.Partitions) + 1
		next.Partitions = append(next.Partitions, &cp)
		start = max(start, p.End+1)
	}
	start = (start + sectorsPerMiB - 1) / sectorsPerMiB * sectorsPerMiB
	end := start + SeedPartitionSize/512 - 1
	// 33 sectors of backup GPT at the end of the disk.
	if int64(end+34)*512 > d.Size {
		return 0, fail(agentapi.FailTooSmall, "the disk (%d bytes) has no room for the seed after the image", d.Size)
	}
	idx := len(next.Partitions) + 1
	next.Partitions = append(next.Partitions, &gpt.Partition{Index: idx, Start: start, End: end, Type: gpt.MicrosoftBasicData, Name: agentapi.SeedLabel})
	if err := d.Partition(next); err != nil {
		return 0, fmt.Errorf("write the partition table: %w", err)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: idx, FSType: filesystem.TypeFat32, VolumeLabel: agentapi.SeedLabel})
	if err != nil {
		return 0, fmt.Errorf("make the seed's filesystem: %w", err)
	}
	var n int64
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return n, fmt.Errorf("seed file %s: %w", name, err)
		}
		m, err := f.Write(files[name])
		n += int64(m)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, fmt.Errorf("seed file %s: %w", name, err)
		}
	}
	return n, nil
}

// ReadSeed reads the files of the cidata partition of a disk (tests and
// operators inspecting a disk image).
func ReadSeed(diskPath string) (map[string][]byte, error) {
	d, err := diskfs.Open(diskPath, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	table, err := d.GetPartitionTable()
	if err != nil {
		return nil, err
	}
	t, ok := table.(*gpt.Table)
	if !ok {
		return nil, errors.New("not a GPT disk")
	}
	for _, p := range t.Partitions {
		if p == nil || p.Name != agentapi.SeedLabel {
			continue
		}
		fs, err := d.GetFilesystem(p.Index)
		if err != nil {
			return nil, fmt.Errorf("the cidata partition: %w", err)
		}
		if label := strings.TrimSpace(fs.Label()); !strings.EqualFold(label, agentapi.SeedLabel) {
			return nil, fmt.Errorf("the cidata partition's filesystem is labelled %q", label)
		}
		files := map[string][]byte{}
		for _, name := range agentapi.SeedFiles {
			f, err := fs.OpenFile("/"+name, os.O_RDONLY)
			if err != nil {
				return nil, fmt.Errorf("seed file %s: %w", name, err)
			}
			body, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("seed file %s: %w", name, err)
			}
			files[name] = body
		}
		return files, nil
	}
	return nil, errors.New("no cidata partition")
}
