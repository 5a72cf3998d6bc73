//go:build unix

package localcluster

import (
	"errors"
	"os"
	"syscall"

	"github.com/adopipe/adopipe/internal/running"
)

const supported = true

// proc is one process below the head (see Stop).
type proc = running.Proc

func descendants(pid int) []proc { return running.Descendants(pid) }

func sessionsLedBy(procs []proc) []proc { return running.SessionsLedBy(procs) }

func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return errors.New("refusing to signal process group <= 1")
	}
	return syscall.Kill(-pgid, sig)
}

func signalProcess(pid int, sig syscall.Signal) error {
	if pid <= 1 {
		return errors.New("refusing to signal pid <= 1")
	}
	return syscall.Kill(pid, sig)
}

func getpgid(pid int) (int, error) { return syscall.Getpgid(pid) }

// lockFile takes an exclusive flock on path, creating it if needed.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
