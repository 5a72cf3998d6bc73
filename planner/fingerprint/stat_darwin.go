//go:build darwin

package fingerprint

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func setTimes(u *unix.Stat_t, st *syscall.Stat_t) {
	u.Mtim = unix.Timespec(st.Mtimespec)
	u.Ctim = unix.Timespec(st.Ctimespec)
}
