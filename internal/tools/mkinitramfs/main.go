// Command mkinitramfs packs a directory into a gzipped initramfs (cpio
// "newc") that is the same byte for byte whenever the files are: entries
// sorted by path, owned by root, dated 1970, numbered in order. busybox's
// cpio writes each file's inode and time, which differ from build to
// build. Used by scripts/build-ramdisk.sh:
//
//	go run ./internal/tools/mkinitramfs DIR > initrd.gz
package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkinitramfs DIR > initrd.gz")
		os.Exit(2)
	}
	if err := pack(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
}

func pack(root string, out *os.File) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(paths)
	bw := bufio.NewWriter(out)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestCompression)
	w := &newcWriter{w: zw}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var data []byte
		mode := uint32(fi.Mode().Perm())
		nlink := uint32(1)
		switch {
		case fi.Mode().IsDir():
			mode |= 0o040000
			nlink = 2
		case fi.Mode()&fs.ModeSymlink != 0:
			mode |= 0o120000
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			data = []byte(target)
		case fi.Mode().IsRegular():
			mode |= 0o100000
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file, directory or symbolic link", p)
		}
		w.entry(rel, mode, nlink, data)
	}
	w.entry("TRAILER!!!", 0, 1, nil)
	if w.err != nil {
		return w.err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// newcWriter writes cpio "newc" entries.
type newcWriter struct {
	w   interface{ Write([]byte) (int, error) }
	ino uint32
	n   int64
	err error
}

func (c *newcWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func (c *newcWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *newcWriter) entry(name string, mode, nlink uint32, data []byte) {
	c.ino++
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize, check.
	c.write(fmt.Appendf(nil, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0))
	c.write(append([]byte(name), 0))
	c.pad()
	c.write(data)
	c.pad()
}
