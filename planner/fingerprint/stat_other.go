//go:build !linux && !darwin

package fingerprint

import (
	"io/fs"
	"os"
	"path/filepath"
)

// On other systems there is no ctime or inode: the cache relies on size,
// mtime and mode (plus the racy-timestamp guards).
func statOf(fi fs.FileInfo) statInfo {
	return statInfo{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
}

type dirHandle struct{ abs string }

func openDir(abs string) (*dirHandle, []fs.DirEntry, error) {
	ents, err := os.ReadDir(abs)
	if err != nil {
		return nil, nil, err
	}
	return &dirHandle{abs: abs}, ents, nil
}

func (d *dirHandle) close() {}

func (d *dirHandle) lstat(name string) (statInfo, fileKind, error) {
	fi, err := os.Lstat(filepath.Join(d.abs, name))
	if err != nil {
		return statInfo{}, 0, err
	}
	k := kindOther
	switch {
	case fi.Mode().IsRegular():
		k = kindRegular
	case fi.Mode()&fs.ModeSymlink != 0:
		k = kindLink
	case fi.IsDir():
		k = kindDir
	}
	return statOf(fi), k, nil
}

func (d *dirHandle) readlink(name string) (string, error) {
	return os.Readlink(filepath.Join(d.abs, name))
}
