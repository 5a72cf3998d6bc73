//go:build darwin

package fingerprint

import (
	"io/fs"
	"syscall"
)

func statOf(fi fs.FileInfo) statInfo {
	s := statInfo{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ctime = st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec
		s.ino = st.Ino
		s.mode = uint32(st.Mode)
	}
	return s
}
