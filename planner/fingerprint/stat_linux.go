//go:build linux

package fingerprint

import (
	"io/fs"
	"syscall"
)

func statOf(fi fs.FileInfo) statInfo {
	s := statInfo{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
		s.ino = st.Ino
		s.mode = st.Mode
	}
	return s
}
