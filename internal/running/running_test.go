//go:build linux

package running

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/testwait"
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

// A job entrypoint runs as `sh -c CMD` in a session of its own. Once the
// shell is killed its command is reparented away from us, and only its
// session still ties it to the shell listed before.
func TestSessionsLedByFindsReparentedMembers(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 31.4159; true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	shell := cmd.Process.Pid
	var sleeper int
	testwait.For(t, 10*time.Second, "the shell to start its sleep", func() bool {
		for _, p := range Descendants(shell) {
			sleeper = p.PID
			return true
		}
		return false
	})
	t.Cleanup(func() { syscall.Kill(sleeper, syscall.SIGKILL) })
	listed := slices.DeleteFunc(Descendants(os.Getpid()), func(p Proc) bool { return p.PID != shell })
	if len(listed) != 1 || listed[0].Session != shell {
		t.Fatalf("Descendants(self) lists the shell as %+v, want session %d", listed, shell)
	}

	cmd.Process.Kill()
	cmd.Wait()
	testwait.For(t, 10*time.Second, "the sleep to lose its parent", func() bool {
		return !slices.ContainsFunc(Descendants(os.Getpid()), func(p Proc) bool { return p.PID == sleeper })
	})
	members := SessionsLedBy(listed)
	if !slices.ContainsFunc(members, func(p Proc) bool { return p.PID == sleeper && p.Running() }) {
		t.Fatalf("SessionsLedBy(shell %d) = %+v, want the orphaned sleep %d", shell, members, sleeper)
	}
	if got := SessionsLedBy([]Proc{{PID: os.Getpid(), Session: -1}}); got != nil {
		t.Errorf("SessionsLedBy of a process leading no session = %+v, want none", got)
	}
}
