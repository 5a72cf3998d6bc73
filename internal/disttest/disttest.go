// Package disttest gives tests the wheels `make dist-test` built (the linux
// x86_64 ones; `make test` builds them and sets ADOPIPE_TEST_DIST).
// Without them a test skips, except when CI=true, where it fails.
package disttest

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/testgate"
)

// EnvDist names the directory holding the wheels under test.
const EnvDist = "ADOPIPE_TEST_DIST"

// Dir returns $ADOPIPE_TEST_DIST, or skips (fails under CI=true) when it
// is unset or holds no wheel.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvDist)
	if dir == "" {
		missing(t, "%s is not set", EnvDist)
	}
	if w, _ := filepath.Glob(filepath.Join(dir, "*.whl")); len(w) == 0 {
		missing(t, "%s=%s holds no wheel", EnvDist, dir)
	}
	return dir
}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	const hint = "run `make dist-test` and set " + EnvDist + "=$PWD/.cache/dist-test, as `make test` does"
	testgate.Missing(t, format+" (%s)", append(args, hint)...)
}

// Wheel returns the one wheel in Dir whose platform tag starts with
// platform (e.g. "manylinux", "musllinux_1_2_x86_64").
func Wheel(t testing.TB, platform string) string {
	t.Helper()
	dir := Dir(t)
	all, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	var found []string
	for _, w := range all {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(w), ".whl"), "-")
		if len(parts) == 5 && strings.HasPrefix(parts[4], platform) {
			found = append(found, w)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s wheel in %s, found %v", platform, dir, found)
	}
	return found[0]
}

// BinaryVersion extracts the adopipe binary from a wheel for this machine
// and returns what its --version prints.
func BinaryVersion(t testing.TB, wheel string) string {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open("adopipe/bin/adopipe")
	if err != nil {
		t.Fatalf("%s: %v", wheel, err)
	}
	defer f.Close()
	bin := filepath.Join(t.TempDir(), "adopipe")
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, f); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return Version(t, bin)
}

// Version runs `BIN --version` and returns its output.
func Version(t testing.TB, bin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	return string(out)
}
