//go:build !unix && !windows

package state

import (
	"errors"
	"os"
)

// errLockUnsupported is returned where the platform has no advisory lock.
var errLockUnsupported = errors.New("file locking is not supported on this platform")

func tryLockFile(f *os.File) (bool, error) { return false, errLockUnsupported }

func unlockFile(f *os.File) error { return errLockUnsupported }
