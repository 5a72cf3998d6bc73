//go:build darwin

package fingerprint

import "golang.org/x/sys/unix"

func fstatat(fd int, name string, st *unix.Stat_t, flags int) error {
	return unix.Fstatat(fd, name, st, flags)
}
