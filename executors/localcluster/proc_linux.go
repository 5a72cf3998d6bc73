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
	st, ok := readStat(pid)
	return st.state, st.pgrp, ok
}

// stat is what /proc/<pid>/stat says that Stop needs.
type stat struct {
	state      byte
	ppid, pgrp int
	startTime  uint64 // clock ticks since boot: tells a reused pid apart
}

func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// "pid (comm) S ppid pgrp ... starttime(22nd)" — comm may hold
	// spaces and parens.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return stat{}, false
	}
	return stat{state: f[0][0], ppid: ppid, pgrp: pgrp, startTime: start}, true
}

// descendants lists the live processes below pid. Ray starts job
// entrypoints in sessions of their own, so killing the head's process
// group misses them; they are still processes this head started.
func descendants(pid int) []proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]proc{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(p); ok && st.state != 'Z' && st.state != 'X' {
			children[st.ppid] = append(children[st.ppid], proc{pid: p, startTime: st.startTime})
		}
	}
	var out []proc
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return out
}

// alive reports whether p still runs as the same process (same pid and
// start time, not a zombie).
func (p proc) alive() bool {
	st, ok := readStat(p.pid)
	return ok && st.startTime == p.startTime && st.state != 'Z' && st.state != 'X'
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
