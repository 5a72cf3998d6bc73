//go:build !linux && !darwin

package fingerprint

import "io/fs"

// statOf on other systems has no ctime or inode: the cache then relies on
// size, mtime and mode (plus the racy-timestamp guard).
func statOf(fi fs.FileInfo) statInfo {
	return statInfo{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
}
