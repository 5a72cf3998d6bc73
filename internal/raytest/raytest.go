// Package raytest gives tests a real Ray head.
//
// Contract: Head(t) returns the http address of a Ray head usable for jobs.
// If ADOPIPE_TEST_RAY_ADDRESS is set it is used and nothing is started.
// Otherwise one head per test binary is started on 127.0.0.1 with free
// ports and its own temp dir (executors/localcluster), and stopped by pid
// when Main's m.Run returns. Head and the Require functions are the real
// tier: under -short they skip, and a missing ray or python skips the test,
// except when CI=true, where it fails it (internal/testgate decides).
//
// Use it as:
//
//	func TestMain(m *testing.M) { raytest.Main(m) }
package raytest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/testgate"
)

// Environment variables read by this package.
const (
	EnvAddress = "ADOPIPE_TEST_RAY_ADDRESS"
	// EnvTempDir names the Ray temp dir of the head rayhead started (its
	// session_latest holds the logs and runtime_resources), for benchmarks
	// that count what the node created.
	EnvTempDir = "ADOPIPE_TEST_RAY_TEMP_DIR"
	EnvPython  = "ADOPIPE_PYTHON"
	modulePath = "github.com/adopipe/adopipe"
)

var (
	mu       sync.Mutex
	started  *localcluster.Cluster
	startErr error
	stateDir string
)

// RepoRoot returns the root of the adopipe module (the directory whose
// go.mod declares github.com/adopipe/adopipe), searching upward from the
// working directory. It returns "" when not inside the repository.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isModuleRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "module ") {
			return strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "module ")), `"`) == modulePath
		}
	}
	return false
}

// Python returns the Python interpreter for tests: $ADOPIPE_PYTHON, else
// <repo>/.venv/bin/python. The path may not exist; check with Require.
func Python() string {
	if p := os.Getenv(EnvPython); p != "" {
		return p
	}
	return filepath.Join(RepoRoot(), ".venv", "bin", "python")
}

// RayBin returns the `ray` CLI for tests: the `ray` beside $ADOPIPE_PYTHON
// when that is set and has one, else <repo>/.venv/bin/ray. The path may
// not exist; use RequireRay to skip or fail.
func RayBin() string {
	if p := os.Getenv(EnvPython); p != "" {
		if cand := filepath.Join(filepath.Dir(p), "ray"); isExecutable(cand) {
			return cand
		}
	}
	return filepath.Join(RepoRoot(), ".venv", "bin", "ray")
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// RequireRay marks t as real tier (testgate.Real) and returns RayBin(),
// or skips or fails the test when it is missing (testgate.Missing).
func RequireRay(t testing.TB) string {
	t.Helper()
	testgate.Real(t, "Ray")
	return rayOrMissing(t)
}

// RequirePython marks t as real tier (it runs the project's Python: Ray's
// code, a build) and returns Python(), or skips or fails the test when it
// is missing.
func RequirePython(t testing.TB) string {
	t.Helper()
	testgate.Real(t, "the project's Python")
	return pythonOrMissing(t)
}

func rayOrMissing(t testing.TB) string {
	t.Helper()
	return executableOrMissing(t, "ray CLI", RayBin())
}

func pythonOrMissing(t testing.TB) string {
	t.Helper()
	return executableOrMissing(t, "python", Python())
}

// executableOrMissing returns path, or reports the part (what) missing.
func executableOrMissing(t testing.TB, what, path string) string {
	t.Helper()
	if !isExecutable(path) {
		testgate.Missing(t, "%s not found at %s", what, path)
	}
	return path
}

// Head returns the http address (e.g. http://127.0.0.1:41234) of a Ray
// head usable for jobs. See the package comment.
func Head(t testing.TB) string {
	t.Helper()
	testgate.Real(t, "a Ray head")
	if addr := os.Getenv(EnvAddress); addr != "" {
		return strings.TrimRight(addr, "/")
	}
	bin := RequireRay(t)
	mu.Lock()
	defer mu.Unlock()
	if started != nil && !started.Alive() {
		// A test stopped or crashed the shared head: start a fresh one
		// rather than hand out a dead address.
		fmt.Fprintf(os.Stderr, "raytest: the test Ray head (pid %d) died; starting another\n", started.PID)
		stopCtx, cancel := context.WithTimeout(context.Background(), localcluster.DefaultStopTimeout)
		started.Stop(stopCtx)
		cancel()
		if stateDir != "" {
			os.RemoveAll(stateDir)
		}
		started = nil
	}
	if started == nil && startErr == nil {
		started, startErr = startHead(bin, os.Stderr)
	}
	if startErr != nil {
		t.Fatalf("starting a Ray head for tests: %v", startErr)
	}
	return started.Address
}

// HeadTempDir returns the Ray temp dir of the head Head returns (its
// session_latest holds logs and runtime_resources): the one Head started,
// or ADOPIPE_TEST_RAY_TEMP_DIR when ADOPIPE_TEST_RAY_ADDRESS names the
// head ("" when that is unset).
func HeadTempDir() string {
	if os.Getenv(EnvAddress) != "" {
		return os.Getenv(EnvTempDir)
	}
	mu.Lock()
	defer mu.Unlock()
	if started == nil {
		return ""
	}
	return started.TempDir
}

// HeadVersion returns the Ray version of the head started by Head, or ""
// when the head came from ADOPIPE_TEST_RAY_ADDRESS.
func HeadVersion() string {
	mu.Lock()
	defer mu.Unlock()
	if started == nil {
		return ""
	}
	return started.RayVersion
}

func startHead(bin string, log io.Writer) (*localcluster.Cluster, error) {
	dir, err := os.MkdirTemp("", "adopipe-raytest-")
	if err != nil {
		return nil, err
	}
	stateDir = dir
	c, err := localcluster.Start(context.Background(), HeadOptions(bin, dir, log))
	if err != nil {
		os.RemoveAll(dir)
		stateDir = ""
		return nil, err
	}
	return c, nil
}

// HeadOptions are the localcluster options the harness (and
// scripts/with-ray-head) use for a test head.
func HeadOptions(rayBin, stateDir string, log io.Writer) localcluster.Options {
	return localcluster.Options{
		RayBin:            rayBin,
		StateDir:          stateDir,
		ObjectStoreMemory: 256 << 20, // tests move little data; keep /dev/shm free
		Progress:          func(e progress.Event) { fmt.Fprintln(log, e.Message) },
		DieWithParent:     true, // a killed test binary must not leave a head behind
	}
}

// StopHead stops the head Head started, if any. Main calls it.
func StopHead() error {
	mu.Lock()
	defer mu.Unlock()
	if started == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), localcluster.DefaultStopTimeout)
	defer cancel()
	err := started.Stop(ctx)
	started, startErr = nil, errors.New("the test Ray head was stopped")
	if stateDir != "" && err == nil {
		os.RemoveAll(stateDir)
	}
	return err
}

// Main runs the tests and stops the head started by Head, by its pid.
func Main(m *testing.M) {
	code := m.Run()
	if err := StopHead(); err != nil {
		fmt.Fprintf(os.Stderr, "raytest: stopping the Ray head: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
