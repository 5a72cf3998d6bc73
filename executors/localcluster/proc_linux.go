//go:build linux

package localcluster

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"github.com/adopipe/adopipe/internal/running"
)

func sysProcAttr(dieWithParent bool) *syscall.SysProcAttr {
	// Its own session (and so its own process group, pgid == pid): no
	// terminal signals reach it, and it outlives this process unless asked.
	a := &syscall.SysProcAttr{Setsid: true}
	if dieWithParent {
		// SIGTERM (not SIGKILL) so `ray start --block` drains and takes
		// its own children down with it.
		a.Pdeathsig = syscall.SIGTERM
	}
	return a
}

// processAlive reports whether pid runs (zombies count as dead).
func processAlive(pid int) bool { return running.Process(pid) }

// groupAlive reports whether any non-zombie process is in group pgid.
func groupAlive(pgid int) bool {
	pids, err := running.Group(pgid)
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	return len(pids) > 0
}

// looksLikeRay guards against pid reuse: the recorded pid must still be a
// `ray start` process.
func looksLikeRay(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("ray")) && bytes.Contains(b, []byte("start"))
}
