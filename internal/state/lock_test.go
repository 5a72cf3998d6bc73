package state

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// long is a deadline for waits that must succeed; never a timing assertion.
const long = 30 * time.Second

func mustLock(t *testing.T, path string, timeout time.Duration) func() error {
	t.Helper()
	unlock, err := Lock(context.Background(), path, timeout, "adopipe test")
	if err != nil {
		t.Fatal(err)
	}
	return unlock
}

func TestLockWritesHolderAndUnlockClearsIt(t *testing.T) {
	path := statePath(t)
	before := time.Now().Add(-time.Second)
	unlock := mustLock(t, path, 0)
	h := readHolder(LockPath(path))
	if h == nil {
		t.Fatal("no holder details in the lock file")
	}
	host, _ := os.Hostname()
	if h.PID != os.Getpid() || h.Command != "adopipe test" || h.Host != host || h.StartedAt.Before(before) {
		t.Errorf("holder = %+v", h)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	if h := readHolder(LockPath(path)); h != nil {
		t.Errorf("holder details left after unlock: %+v", h)
	}
	// Released: it can be taken again at once.
	mustLock(t, path, 0)()
}

func TestLockHeldInSameProcess(t *testing.T) {
	path := statePath(t)
	unlock := mustLock(t, path, 0)
	defer unlock()

	_, err := Lock(context.Background(), path, 0, "adopipe plan")
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("err = %v, want *LockedError", err)
	}
	if locked.Holder == nil || locked.Holder.PID != os.Getpid() {
		t.Errorf("holder = %+v", locked.Holder)
	}
	msg := err.Error()
	want := regexp.MustCompile(`^state is locked by pid ` + strconv.Itoa(os.Getpid()) +
		` \(adopipe test\) since \d\d:\d\d:\d\d; wait or pass --lock-timeout \(lock file ` + regexp.QuoteMeta(LockPath(path)) + `\)$`)
	if !want.MatchString(msg) {
		t.Errorf("message %q does not match %s", msg, want)
	}
}

func TestLockWaitEndsWithContext(t *testing.T) {
	path := statePath(t)
	unlock := mustLock(t, path, 0)
	defer unlock()

	ctx, cancel := context.WithCancel(context.Background())
	lockWaiting = func(*Holder) { cancel() }
	t.Cleanup(func() { lockWaiting = func(*Holder) {} })
	_, err := Lock(ctx, path, time.Hour, "adopipe apply")
	var locked *LockedError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &locked) {
		t.Fatalf("err = %v, want a LockedError wrapping context.Canceled", err)
	}
}

func TestLockMessageWithoutHolderDetails(t *testing.T) {
	e := &LockedError{LockFile: "x.lock"}
	if got, want := e.Error(), "state is locked by another process; wait or pass --lock-timeout (lock file x.lock)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e.Holder = &Holder{PID: 1234, Command: "adopipe apply", Host: "elsewhere.example",
		StartedAt: time.Date(2001, 2, 3, 12, 3, 4, 0, time.Local)}
	if got, want := e.Error(), "state is locked by pid 1234 (adopipe apply) since 2001-02-03 12:03:04 on host elsewhere.example; wait or pass --lock-timeout (lock file x.lock)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLockBetweenProcesses: a second process fails fast with a short
// timeout naming the holder, and with a long one waits for the holder to
// release and then proceeds.
func TestLockBetweenProcesses(t *testing.T) {
	path := statePath(t)
	holder := startHolder(t, path)
	childPID := holder.cmd.Process.Pid

	_, err := Lock(context.Background(), path, 50*time.Millisecond, "adopipe apply")
	if err == nil || !strings.Contains(err.Error(), "state is locked by pid "+strconv.Itoa(childPID)+" (adopipe apply) since ") {
		t.Fatalf("short timeout: err = %v, want it to name pid %d", err, childPID)
	}

	waiting := make(chan struct{})
	lockWaiting = func(*Holder) { close(waiting) }
	t.Cleanup(func() { lockWaiting = func(*Holder) {} })
	type result struct {
		unlock func() error
		err    error
	}
	got := make(chan result, 1)
	go func() {
		u, err := Lock(context.Background(), path, long, "adopipe apply")
		got <- result{u, err}
	}()
	select {
	case <-waiting:
	case r := <-got:
		t.Fatalf("Lock returned (%v) while the other process held the lock", r.err)
	case <-time.After(long):
		t.Fatal("Lock never started waiting")
	}
	// Let the holder go; the waiter must then get the lock.
	holder.stdin.Close()
	if line := holder.readLine(t); line != "unlocked" {
		t.Fatalf("holder said %q", line)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("waiting Lock: %v", r.err)
	}
	defer r.unlock()
	if h := readHolder(LockPath(path)); h == nil || h.PID != os.Getpid() {
		t.Errorf("lock file names %+v, want this process", h)
	}
}

// TestLockReleasedWhenHolderDies: the OS drops the lock of a killed holder,
// so the next adopipe is not blocked even though the stale holder details
// are still in the file.
func TestLockReleasedWhenHolderDies(t *testing.T) {
	path := statePath(t)
	holder := startHolder(t, path)
	if _, err := Lock(context.Background(), path, 0, "adopipe apply"); err == nil {
		t.Fatal("lock not held by the child")
	}
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = holder.cmd.Wait()
	if h := readHolder(LockPath(path)); h == nil || h.PID != holder.cmd.Process.Pid {
		t.Fatalf("expected the dead holder's details to remain, got %+v", h)
	}
	unlock, err := Lock(context.Background(), path, long, "adopipe apply")
	if err != nil {
		t.Fatalf("lock of a killed holder still blocks: %v", err)
	}
	unlock()
}

func TestLoadLocked(t *testing.T) {
	path := statePath(t)
	s, unlock, err := LoadLocked(context.Background(), path, 0, "adopipe apply")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), path, 0, "x"); err == nil {
		t.Fatal("LoadLocked did not hold the lock")
	}
	if err := Save(path, s, nil); err != nil {
		t.Fatal(err)
	}
	unlock()

	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadLocked(context.Background(), path, 0, "adopipe apply"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt state: err = %v", err)
	}
	// The failed load released the lock.
	mustLock(t, path, 0)()
}
