package state

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// LockPath is the lock file guarding the state at path.
func LockPath(path string) string { return path + ".lock" }

// Holder is what the process holding the lock writes into the lock file.
type Holder struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Command   string    `json:"command"`
	StartedAt time.Time `json:"started_at"`
}

// LockedError is returned by Lock when the state stays locked by another
// process until the timeout (or ctx) expires.
type LockedError struct {
	LockFile string
	// Holder is what the holder wrote; nil when it could not be read (the
	// holder may not have written it yet).
	Holder *Holder
	// Err is ctx.Err() when the context ended the wait, else nil.
	Err error
}

func (e *LockedError) Error() string {
	who := "another process"
	if h := e.Holder; h != nil {
		who = fmt.Sprintf("pid %d", h.PID)
		if h.Command != "" {
			who += fmt.Sprintf(" (%s)", h.Command)
		}
		if !h.StartedAt.IsZero() {
			who += " since " + clock(h.StartedAt)
		}
		if host, _ := os.Hostname(); h.Host != "" && h.Host != host {
			who += " on host " + h.Host
		}
	}
	msg := fmt.Sprintf("state is locked by %s; wait or pass --lock-timeout (lock file %s)", who, e.LockFile)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *LockedError) Unwrap() error { return e.Err }

func clock(t time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y != time.Now().Year() || m != time.Now().Month() || d != time.Now().Day() {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("15:04:05")
}

// lockWaiting is called once when Lock finds the lock held and starts
// waiting. Tests replace it.
var lockWaiting = func(h *Holder) {}

// Lock takes an exclusive OS advisory lock (flock on Unix, LockFileEx on
// Windows) on <path>.lock, waiting up to timeout (polling with backoff,
// honouring ctx). The holder writes its pid, host, command and start time
// into the lock file so that a waiter can say who holds it. command says
// what is running, e.g. "adopipe apply"; it is shown to other users, so it
// must not carry secrets (do not pass the full command line).
//
// The OS releases the lock when the holder dies, so a killed adopipe never
// blocks the next one. Unlock releases it; calling Unlock again is a no-op.
func Lock(ctx context.Context, path string, timeout time.Duration, command string) (unlock func() error, err error) {
	lockFile := LockPath(path)
	if err := os.MkdirAll(filepath.Dir(lockFile), 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := waitLock(ctx, f, lockFile, timeout); err != nil {
		f.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	h := Holder{PID: os.Getpid(), Host: host, Command: command, StartedAt: time.Now().UTC().Truncate(time.Second)}
	if err := writeHolder(f, &h); err != nil {
		_ = unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("writing lock file %s: %w", lockFile, err)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			// Clear the holder first so nobody reads stale details, then
			// release. The file stays: removing it would let two processes
			// lock two different inodes.
			_ = f.Truncate(0)
			uerr = unlockFile(f)
			if cerr := f.Close(); uerr == nil {
				uerr = cerr
			}
		})
		return uerr
	}, nil
}

func waitLock(ctx context.Context, f *os.File, lockFile string, timeout time.Duration) error {
	deadline := time.Now().Add(max(timeout, 0))
	backoff := 10 * time.Millisecond
	var timer *time.Timer
	waiting := false
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			return fmt.Errorf("locking %s: %w", lockFile, err)
		}
		if ok {
			return nil
		}
		if !waiting {
			waiting = true
			lockWaiting(readHolder(lockFile))
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &LockedError{LockFile: lockFile, Holder: readHolder(lockFile)}
		}
		wait := min(backoff, left)
		backoff = min(backoff*2, 500*time.Millisecond)
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return &LockedError{LockFile: lockFile, Holder: readHolder(lockFile), Err: ctx.Err()}
		case <-timer.C:
		}
	}
}

func writeHolder(f *os.File, h *Holder) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	// No fsync: other processes read the holder through the page cache,
	// and after a crash the flock is gone with the process, so durable
	// holder details would be stale anyway. The fsync cost every plan
	// 0.7-24 ms (a journal commit) for nothing.
	_, err = f.WriteAt(append(data, '\n'), 0)
	return err
}

// readHolder reads the holder details; nil if absent or unreadable.
func readHolder(lockFile string) *Holder {
	f, err := os.Open(lockFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil
	}
	var h Holder
	if err := json.Unmarshal(data, &h); err != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// LoadLocked takes the lock (see Lock) and loads the state, for commands
// that will Save: the usual sequence is LoadLocked, work, Save, unlock. If
// loading fails the lock is released.
func LoadLocked(ctx context.Context, path string, timeout time.Duration, command string) (*State, func() error, error) {
	unlock, err := Lock(ctx, path, timeout, command)
	if err != nil {
		return nil, nil, err
	}
	s, err := Load(path)
	if err != nil {
		_ = unlock()
		return nil, nil, err
	}
	return s, unlock, nil
}
