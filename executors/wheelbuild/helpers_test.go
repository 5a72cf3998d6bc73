package wheelbuild

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testgate"
)

// pythonForTests locates the interpreter with pypa/build installed:
// $ADOPIPE_PYTHON, else <repo>/.venv/bin/python (made by `make venv`).
func pythonForTests(t testing.TB) string {
	t.Helper()
	py := raytest.RequirePython(t)
	if out, err := exec.Command(py, "-c", "import build").CombinedOutput(); err != nil {
		testgate.Missing(t, "%s cannot import build: %v\n%s", py, err, out)
	}
	return py
}

// uvForTests locates uv: $ADOPIPE_UV, beside the python (the project's
// .venv has it: python/requirements.txt pins it), or on PATH. uv is an
// optional frontend for users, but the project installs it, so a missing
// uv fails in CI like any missing part.
func uvForTests(t testing.TB, py string) string {
	t.Helper()
	if uv := os.Getenv("ADOPIPE_UV"); uv != "" {
		return uv
	}
	if uv := filepath.Join(filepath.Dir(py), "uv"); fileExists(uv) {
		return uv
	}
	return testgate.Tool(t, "uv")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// copyPlugin copies testdata/plugins/<name> into a fresh temp dir.
func copyPlugin(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	testfiles.CopyTo(t, filepath.Join("testdata", "plugins", name), dst)
	return dst
}

// git runs git in dir with a fixed identity.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=test@adopipe.invalid", "-c", "user.name=adopipe test", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// gitRepo turns dir into a git repository with everything committed.
func gitRepo(t testing.TB, dir string) {
	t.Helper()
	testgate.Tool(t, "git")
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "initial")
}

// wheelFiles lists the members of a wheel.
func wheelFiles(t testing.TB, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
