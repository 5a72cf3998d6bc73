//go:build unix

package wheelbuild

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the frontend into its own process group and makes
// cancellation kill the whole group (the frontend spawns pip, the PEP 517
// backend and possibly compilers; killing only the leader would orphan them).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
