//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || s390x)

package fingerprint

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// fstatat is fstatat(2) as a raw system call: without the runtime's
// entersyscall/exitsyscall around it, a P is never handed off for it, and
// the scheduler's monitor thread finds no call to retake a P from. A
// no-op plan makes one such call per file; on a warm dentry cache each
// takes about a microsecond, far below the 20 µs after which the runtime
// would hand the P to another thread. Only on the 64-bit platforms whose
// unix.Fstatat is this same system call (SYS_NEWFSTATAT) with this Stat_t.
func fstatat(fd int, name string, st *unix.Stat_t, flags int) error {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := unix.RawSyscall6(unix.SYS_NEWFSTATAT, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
