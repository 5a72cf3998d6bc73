//go:build darwin

package fingerprint

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

func setTimes(u *unix.Stat_t, st *syscall.Stat_t) {
	u.Mtim = unix.Timespec(st.Mtimespec)
	u.Ctim = unix.Timespec(st.Ctimespec)
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
