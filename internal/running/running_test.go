//go:build linux

package running

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestSelfAndGroup(t *testing.T) {
	st, pg, ok := Stat(os.Getpid())
	if !ok || !live(st) || pg != syscall.Getpgrp() {
		t.Fatalf("Stat(self) = %q %d %v, want a live process in group %d", st, pg, ok, syscall.Getpgrp())
	}
	if !Process(os.Getpid()) || Process(0) || Process(-1) {
		t.Error("Process: self should run; 0 and -1 are no processes")
	}
	pids, err := Group(syscall.Getpgrp())
	if err != nil || !slices.Contains(pids, os.Getpid()) {
		t.Errorf("Group(own group) = %v, %v; want it to hold %d", pids, err, os.Getpid())
	}
}

// An exited child that is not yet reaped is a zombie: not alive.
func TestZombieIsNotAlive(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _, ok := Stat(pid); ok && st == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not become a zombie", pid)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	if Process(pid) {
		t.Errorf("Process(%d) = true for a zombie", pid)
	}
}
