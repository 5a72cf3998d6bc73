//go:build darwin || (linux && !(amd64 || arm64 || riscv64 || ppc64le || s390x))

package fingerprint

import "golang.org/x/sys/unix"

// fstatat is unix.Fstatat where fstatat_linux.go's raw call is not known
// to match it (32-bit Linux uses fstatat64 and another Stat_t).
func fstatat(fd int, name string, st *unix.Stat_t, flags int) error {
	return unix.Fstatat(fd, name, st, flags)
}
