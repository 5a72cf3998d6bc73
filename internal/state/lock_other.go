//go:build !unix && !windows

package state

import "os"

func tryLockFile(f *os.File) (bool, error) { return false, errLockUnsupported }

func unlockFile(f *os.File) error { return errLockUnsupported }
