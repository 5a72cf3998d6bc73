package state

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

// The test binary re-executes itself to get real second processes: with
// helperEnv set, TestMain runs a helper instead of the tests.
const (
	helperEnv  = "ADOPIPE_STATE_TEST_HELPER" // "crash-save" or "hold-lock"
	pathEnv    = "ADOPIPE_STATE_TEST_PATH"
	crashAtEnv = "ADOPIPE_STATE_TEST_CRASH_AT"
	crashCode  = 3
)

// The steps of an atomic write, as the tests name them.
const (
	stepTempWritten = atomicfile.TempWritten
	stepBackedUp    = atomicfile.BackedUp
	stepRenamed     = atomicfile.Renamed
	stepDirSynced   = atomicfile.DirSynced
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "crash-save":
		helperCrashSave()
	case "hold-lock":
		helperHoldLock()
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperCrashSave loads the state, records a plugin "crash" and saves,
// exiting abruptly (no deferred cleanup) right after the named step.
func helperCrashSave() {
	path, step := os.Getenv(pathEnv), os.Getenv(crashAtEnv)
	afterStep = func(s atomicfile.Step) error {
		if string(s) == step {
			os.Exit(crashCode)
		}
		return nil
	}
	s, err := Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.Plugins["crash"] = PluginState{Fingerprint: "sha256:crash"}
	if err := Save(path, s, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperHoldLock takes the lock, says "locked" on stdout, holds it until
// stdin closes, then releases it and says "unlocked".
func helperHoldLock() {
	unlock, err := Lock(context.Background(), os.Getenv(pathEnv), 0, "adopipe apply")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("unlocked")
	os.Exit(0)
}

func helperCmd(t *testing.T, mode, path string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, pathEnv+"="+path)
	cmd.Env = append(cmd.Env, extraEnv...)
	return cmd
}

// lockHolder is a child process holding the lock on a state path.
type lockHolder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startHolder starts a child that holds the lock and waits until it says so.
func startHolder(t *testing.T, path string) *lockHolder {
	t.Helper()
	cmd := helperCmd(t, "hold-lock", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &lockHolder{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	})
	if line := h.readLine(t); line != "locked" {
		t.Fatalf("holder said %q, want \"locked\"; stderr: %s", line, stderr.String())
	}
	return h
}

// readLine reads one line from the holder, failing the test if none comes
// within a generous deadline (a hung child must not hang the test run).
func (h *lockHolder) readLine(t *testing.T) string {
	t.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := h.out.ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil && r.line == "" {
			t.Fatalf("reading from lock holder: %v", r.err)
		}
		return r.line
	case <-time.After(30 * time.Second):
		t.Fatal("lock holder said nothing within 30s")
		return ""
	}
}
