package packaging_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/disttest"
	"github.com/adopipe/adopipe/internal/raytest"
)

// TestGoInstall installs adopipe as the README's second way does, with go
// install, into an empty GOPATH and GOBIN: only the module cache (and the
// build cache) are shared with the machine's, to keep it fast. The result
// prints the same --version as the binary inside the wheel: both carry what
// the go command stamped from the same checkout.
func TestGoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("packaging: builds adopipe with go install and compares it with the wheel of make dist-test")
	}
	wheel := disttest.Wheel(t, "manylinux")
	root := raytest.RepoRoot()
	tmp := t.TempDir()
	gopath, gobin := filepath.Join(tmp, "gopath"), filepath.Join(tmp, "bin")

	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(name, "GO") {
			env = append(env, kv)
		}
	}
	env = append(env, "GOPATH="+gopath, "GOBIN="+gobin, "GOFLAGS=-mod=mod",
		"GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOCACHE="+goEnv(t, "GOCACHE"), "GOPROXY="+goEnv(t, "GOPROXY"),
		"GOTOOLCHAIN=local")

	// -mod=mod lets go install rewrite go.mod and go.sum: it must find
	// nothing to change (a tidy module), and the checkout is restored if
	// it did.
	restore := keepFiles(t, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "./cmd/adopipe")
	cmd.Dir = root
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if changed := restore(); len(changed) > 0 {
		t.Errorf("go install -mod=mod rewrote %v (restored): run go mod tidy", changed)
	}
	if err != nil {
		t.Fatalf("go install ./cmd/adopipe: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(gobin)
	if err != nil || len(entries) != 1 || entries[0].Name() != "adopipe" {
		t.Fatalf("GOBIN %s holds %v (%v), want adopipe alone", gobin, entries, err)
	}
	got := disttest.Version(t, filepath.Join(gobin, "adopipe"))
	if want := disttest.BinaryVersion(t, wheel); got != want {
		t.Errorf("go install's adopipe --version:\n%s\nthe wheel's binary:\n%s", got, want)
	}
	if !strings.HasPrefix(got, "adopipe ") {
		t.Errorf("--version does not start with the name:\n%s", got)
	}
}

// keepFiles saves the files' contents; the returned func writes back those
// that changed and names them.
func keepFiles(t *testing.T, paths ...string) func() []string {
	t.Helper()
	saved := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		saved[p] = data
	}
	return func() []string {
		var changed []string
		for _, p := range paths {
			if now, err := os.ReadFile(p); err != nil || !bytes.Equal(now, saved[p]) {
				changed = append(changed, filepath.Base(p))
				if err := os.WriteFile(p, saved[p], 0o644); err != nil {
					t.Errorf("restoring %s: %v", p, err)
				}
			}
		}
		return changed
	}
}

// goEnv returns `go env NAME` as the machine has it.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
