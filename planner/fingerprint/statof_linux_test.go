package fingerprint

// statOf for the tests on Linux: adopipe itself stats with fstat there
// (file_linux.go); file_os.go uses the other systems' statOf.

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

func setTimes(u *unix.Stat_t, st *syscall.Stat_t) {
	u.Mtim = unix.Timespec(st.Mtim)
	u.Ctim = unix.Timespec(st.Ctim)
}

// statOf converts the result of (*os.File).Stat the same way dirHandle
// converts fstatat's, so the two compare equal for an unchanged file.
func statOf(fi fs.FileInfo) statInfo {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statInfo{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
	}
	var u unix.Stat_t
	u.Size = st.Size
	u.Ino = st.Ino
	u.Mode = st.Mode
	setTimes(&u, st)
	return fromUnix(&u)
}
