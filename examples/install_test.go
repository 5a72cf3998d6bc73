package examples_test

// Installing adopipe as its users do (issue 16): the linux x86_64 wheel
// that `make dist-test` builds goes into a fresh virtualenv with pip, or
// into uv's tool directory with `uv tool install`, and that adopipe, with
// no Go on PATH, validates, plans and applies the quickstart.
//
// The fresh virtualenv holds adopipe alone. The quickstart still needs a
// Python with ray (for the local Ray head adopipe starts), build (for the
// plugin wheel) and ado (the job's entrypoint): the project's .venv, on PATH
// before the fresh one, stands for the researcher's own environment, as in
// TestQuickstart. adopipe itself needs nothing from it.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/disttest"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testgate"
)

func TestQuickstartFromWheel(t *testing.T) {
	if testing.Short() {
		t.Skip("real tier: installs the wheel and runs a Ray job (minutes)")
	}
	wheel := disttest.Wheel(t, "manylinux")
	py := raytest.RequirePython(t)
	venv := filepath.Join(t.TempDir(), "venv")
	runOK(t, nil, py, "-m", "venv", venv)
	vpy := filepath.Join(venv, "bin", "python")
	// As the README says: pip picks the wheel for this platform from the
	// directory (manylinux on this glibc machine, not musllinux).
	runOK(t, nil, vpy, "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
		"--find-links", disttest.Dir(t), "adopipe")
	freeze := runOK(t, nil, vpy, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check",
		"--exclude", "pip", "--exclude", "setuptools")
	version := strings.Split(filepath.Base(wheel), "-")[1]
	if lines := strings.Fields(freeze); len(lines) != 1 || lines[0] != "adopipe=="+version {
		t.Fatalf("the fresh virtualenv holds %q, want adopipe==%s alone (besides pip)", lines, version)
	}

	q := newQuickstart(t)
	q.bin = filepath.Join(venv, "bin", "adopipe")
	q.setPath(filepath.Dir(py), filepath.Join(venv, "bin"), pathWithoutGo(os.Getenv("PATH")))
	onPath := runOK(t, q.env, "bash", "-c", "command -v adopipe; command -v go || echo 'no go'")
	if want := q.bin + "\nno go\n"; onPath != want {
		t.Fatalf("on the test's PATH: %q, want %q (the wheel's adopipe, and no Go)", onPath, want)
	}
	if got, want := q.adopipeOK(t, cmdDeadline, "--version"), disttest.BinaryVersion(t, wheel); got != want {
		t.Errorf("the installed adopipe --version:\n%s\nthe wheel's binary:\n%s", got, want)
	}

	if out := q.adopipeOK(t, cmdDeadline, "validate"); !strings.Contains(out, "Success!") {
		t.Errorf("validate:\n%s", out)
	}
	out, code := q.adopipe(t, cmdDeadline, "plan", "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "1 wheel to build") || !strings.Contains(out, "1 job to submit") {
		t.Fatalf("plan --detailed-exitcode: exit %d, want 2 with 1 wheel to build and 1 job to submit:\n%s", code, out)
	}
	out = q.adopipeOK(t, jobDeadline, "apply", "--auto-approve", "--follow")
	if !strings.Contains(out, "job walk: SUCCEEDED") {
		t.Errorf("apply --follow exited 0 without reporting SUCCEEDED:\n%s", tail(out, 30))
	}
	q.checkResults(t, 2, 1)
	if out := q.adopipeOK(t, cmdDeadline, "plan", "--detailed-exitcode"); !strings.Contains(out, "No changes") {
		t.Errorf("plan after apply does not say No changes:\n%s", out)
	}
}

func TestUvToolInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("packaging: installs the wheel of make dist-test")
	}
	wheel := disttest.Wheel(t, "manylinux")
	py := raytest.RequirePython(t)
	uv := filepath.Join(filepath.Dir(py), "uv")
	if _, err := os.Stat(uv); err != nil {
		testgate.Missing(t, "uv not found at %s (pinned in python/requirements.txt)", uv)
	}
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(name, "UV_") && name != "VIRTUAL_ENV" && name != "HOME" {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+filepath.Join(dir, "home"), "UV_NO_CONFIG=1", "UV_PYTHON_DOWNLOADS=never",
		"UV_TOOL_DIR="+filepath.Join(dir, "tools"), "UV_TOOL_BIN_DIR="+filepath.Join(dir, "bin"),
		"UV_CACHE_DIR="+filepath.Join(dir, "cache"))
	runOK(t, env, uv, "tool", "install", "--offline", "--python", py, wheel)

	bin := filepath.Join(dir, "bin", "adopipe")
	if got, want := runOK(t, env, bin, "--version"), disttest.BinaryVersion(t, wheel); got != want {
		t.Errorf("adopipe --version from uv's tool bin:\n%s\nthe wheel's binary:\n%s", got, want)
	}
	qs := filepath.Join(dir, "quickstart")
	copyTracked(t, raytest.RepoRoot(), "examples/quickstart", qs)
	if out := runOK(t, env, bin, "-C", qs, "validate"); !strings.Contains(out, "Success!") {
		t.Errorf("adopipe validate from uv's tool bin:\n%s", out)
	}
	if out := runOK(t, env, uv, "tool", "list"); !strings.Contains(out, "- adopipe") {
		t.Errorf("uv tool list does not list adopipe's command:\n%s", out)
	}
}

// runOK runs a command with env (nil: the test's own) and returns its
// combined output; a failure or a hang of cmdDeadline fails the test.
func runOK(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 40))
	}
	return string(out)
}

// setPath replaces PATH in the quickstart's environment.
func (q *quickstart) setPath(dirs ...string) {
	for i, kv := range q.env {
		if strings.HasPrefix(kv, "PATH=") {
			q.env[i] = "PATH=" + strings.Join(dirs, string(os.PathListSeparator))
		}
	}
}

// pathWithoutGo drops the PATH entries that hold a go command.
func pathWithoutGo(path string) string {
	var keep []string
	for _, dir := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(dir, "go")); err != nil {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}
