// Package testgate decides, in one place, whether a test that needs more
// than Go runs, skips or fails:
//
//   - under `go test -short`, the real tier (a Ray head, a Python build,
//     Ray's own Python code) is skipped: -short means no Ray and no Python
//     builds, whatever is installed;
//   - a part a test needs (the project's .venv, uv, git, bash, /dev/shm)
//     that is missing skips the test on a developer's machine, and fails
//     it when CI=true: CI installs every part, so a skip there would hide
//     a test that never ran.
package testgate

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether CI=true, where missing parts fail instead of skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Real marks t as part of the real tier, which -short skips. what names
// what the test runs, for the skip message (e.g. "a Ray head").
func Real(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: skipping the real tier (%s)", what)
	}
}

// Missing skips t, or fails it when CI=true, because a part it needs is
// not there. The message says what is missing; Missing adds how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: tests must not skip for a missing part; the project's install steps, make venv and .ci/run, provide it)", msg)
		return
	}
	t.Skipf("%s (make venv, or install it, to run this test)", msg)
}

// Tool returns the path of the command name on PATH, or calls Missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not found on PATH", name)
	}
	return p
}

// Recorder is a testing.TB that records Fatalf and Skipf instead of
// ending the test, for tests of gates (this package's and raytest's).
type Recorder struct {
	testing.TB
	FatalMsg, SkipMsg string // the last messages
}

func (r *Recorder) Helper()                   {}
func (r *Recorder) Fatalf(f string, a ...any) { r.FatalMsg = fmt.Sprintf(f, a...) }
func (r *Recorder) Skipf(f string, a ...any)  { r.SkipMsg = fmt.Sprintf(f, a...) }
