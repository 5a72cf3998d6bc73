package raylab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/internal/running"
)

// stopPID sends SIGTERM to pid if it still runs the program named want
// (a recycled pid is left alone), waits up to 20 s, then SIGKILLs it.
func stopPID(ctx context.Context, pid int, want string) error {
	if !runs(pid, want) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for runs(pid, want) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			syscall.Kill(pid, syscall.SIGKILL)
			time.Sleep(100 * time.Millisecond)
			if runs(pid, want) {
				return fmt.Errorf("%s (pid %d) still running after SIGKILL", want, pid)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// runs reports whether pid is a live (non-zombie) process whose command
// line mentions want.
func runs(pid int, want string) bool {
	if !running.Process(pid) {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(cmdline), want)
}

// startProcess starts a lab process with its output appended to logPath,
// in its own process group.
func startProcess(logPath string, dieWithParent bool, name string, args ...string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return cmd, nil
}

// waitFor calls f every 200 ms until it succeeds, exited closes, or the
// timeout or ctx ends.
func waitFor(ctx context.Context, timeout time.Duration, exited <-chan struct{}, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

func writeSecrets(d layout) error {
	return errors.Join(
		os.WriteFile(d.token(), []byte(randomHex(32)), 0o600),
		os.WriteFile(d.mysqlPassword(), []byte(randomHex(16)), 0o600),
	)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
