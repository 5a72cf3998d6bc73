//go:build !unix

package localcluster

import (
	"errors"
	"syscall"
)

const supported = false

var errUnsupported = errors.New("local Ray clusters are only supported on Unix")

func sysProcAttr(bool) *syscall.SysProcAttr   { return nil }
func signalGroup(int, syscall.Signal) error   { return errUnsupported }
func signalProcess(int, syscall.Signal) error { return errUnsupported }
func getpgid(int) (int, error)                { return 0, errUnsupported }
func lockFile(string) (func(), error)         { return nil, errUnsupported }
func processAlive(int) bool                   { return false }
func groupAlive(int) bool                     { return false }
func looksLikeRay(int) bool                   { return false }

// proc stands in for running.Proc, which needs Unix.
type proc struct{ PID int }

func descendants(int) []proc      { return nil }
func sessionsLedBy([]proc) []proc { return nil }
func (proc) Running() bool        { return false }
