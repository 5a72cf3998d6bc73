//go:build !unix

package wheelbuild

import "os/exec"

func setProcessGroup(cmd *exec.Cmd) {}
