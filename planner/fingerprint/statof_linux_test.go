package fingerprint

import (
	"testing"

	"golang.org/x/sys/unix"
)

// lstatInfo is what the walk records for path on Linux, where adopipe
// stats with the syscalls (dir_linux.go, file_linux.go).
func lstatInfo(t *testing.T, path string) statInfo {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fromUnix(&st)
}
