//go:build unix

// Package running tells whether a process or a process group still runs,
// from Linux's /proc where there is one. A zombie (exited, not yet reaped)
// counts as gone: it will never run again.
package running

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Stat returns the state letter and process group of pid from
// /proc/<pid>/stat; ok is false when there is no such process, or no /proc.
func Stat(pid int) (state byte, pgrp int, ok bool) {
	st, ok := readStat(pid)
	return st.state, st.pgrp, ok
}

// stat is what this package reads of /proc/<pid>/stat.
type stat struct {
	state      byte
	ppid, pgrp int
	session    int
	startTime  uint64 // clock ticks since boot: tells a reused pid apart
}

func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// "pid (comm) S ppid pgrp ... starttime(22nd)" — comm may hold spaces
	// and parens.
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
	session, err4 := strconv.Atoi(f[3])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return stat{}, false
	}
	return stat{state: f[0][0], ppid: ppid, pgrp: pgrp, session: session, startTime: start}, true
}

// Process reports whether pid runs and is not a zombie. Without /proc (not
// Linux) it asks the kernel, which counts a zombie as a process.
func Process(pid int) bool {
	if pid <= 0 {
		return false
	}
	if st, _, ok := Stat(pid); ok {
		return live(st)
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		return false // /proc works: there is no such process
	}
	return syscall.Kill(pid, 0) == nil
}

// Group lists the live (non-zombie) processes of process group pgid; the
// error says /proc could not be listed.
func Group(pgid int) ([]int, error) {
	var pids []int
	err := eachLive(func(pid int, st stat) {
		if st.pgrp == pgid {
			pids = append(pids, pid)
		}
	})
	return pids, err
}

// eachLive calls fn for every live (non-zombie) process /proc lists; the
// error says /proc could not be listed.
func eachLive(fn func(pid int, st stat)) error {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && live(st.state) {
			fn(pid, st)
		}
	}
	return nil
}

func live(state byte) bool { return state != 'Z' && state != 'X' }
