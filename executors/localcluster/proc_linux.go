//go:build linux

package localcluster

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
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

// procStat returns the state letter and process group of pid from
// /proc/<pid>/stat, ok=false if the process does not exist.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) S ppid pgrp ..." — comm may hold spaces and parens.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	pg, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pg, true
}

// processAlive reports whether pid runs (zombies count as dead).
func processAlive(pid int) bool {
	st, _, ok := procStat(pid)
	return ok && st != 'Z' && st != 'X'
}

// groupAlive reports whether any non-zombie process is in group pgid.
func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, pg, ok := procStat(pid)
		if ok && pg == pgid && st != 'Z' && st != 'X' {
			return true
		}
	}
	return false
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
