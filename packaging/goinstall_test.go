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

	env := goInstallEnv(t, gopath, gobin, "GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOPROXY="+goEnv(t, "GOPROXY"))

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

// TestGoInstallModuleVersion installs adopipe as the README's go install
// line does, github.com/adopipe/adopipe/cmd/adopipe@VERSION, from a module
// proxy on disk serving this checkout's HEAD as v0.99.0 (dependencies come
// from the machine's module cache, itself a file proxy, before the network).
// A module version carries no commit: --version prints the version and
// says the commit is unknown.
func TestGoInstallModuleVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("packaging: builds adopipe with go install")
	}
	const module, version = "github.com/adopipe/adopipe", "v0.99.0"
	root := raytest.RepoRoot()
	tmp := t.TempDir()
	versions := filepath.Join(tmp, "proxy", module, "@v")
	if err := os.MkdirAll(versions, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := exec.Command("git", "-C", root, "show", "HEAD:go.mod").Output()
	if err != nil {
		t.Fatalf("git show HEAD:go.mod: %v", err)
	}
	for name, data := range map[string]string{
		"list": version + "\n", version + ".info": `{"Version":"` + version + `"}`, version + ".mod": string(gomod),
	} {
		if err := os.WriteFile(filepath.Join(versions, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A module zip leaves out nested modules (directories with their own
	// go.mod), as the module proxy's zips do; the go command refuses a
	// zip that holds one.
	archive := []string{"-C", root, "archive", "--format=zip", "--prefix=" + module + "@" + version + "/",
		"-o", filepath.Join(versions, version+".zip"), "HEAD", "--", "."}
	for _, dir := range nestedModules(t, root) {
		archive = append(archive, ":(exclude)"+dir)
	}
	zip := exec.Command("git", archive...)
	if out, err := zip.CombinedOutput(); err != nil {
		t.Fatalf("git archive HEAD: %v\n%s", err, out)
	}

	gobin := filepath.Join(tmp, "bin")
	proxies := []string{"file://" + filepath.Join(tmp, "proxy"),
		"file://" + filepath.Join(goEnv(t, "GOMODCACHE"), "cache", "download"), goEnv(t, "GOPROXY")}
	env := goInstallEnv(t, filepath.Join(tmp, "gopath"), gobin,
		"GOMODCACHE="+filepath.Join(tmp, "modcache"), "GOPROXY="+strings.Join(proxies, ","), "GONOSUMDB="+module,
		// A writable module cache, so t.TempDir can remove it; built as
		// make dist builds, so the dependencies come from the build cache
		// although their sources sit in another module cache.
		"GOFLAGS=-mod=mod -modcacherw -trimpath", "CGO_ENABLED=0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", module+"/cmd/adopipe@"+version)
	cmd.Dir = tmp
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/cmd/adopipe@%s: %v\n%s", module, version, err, out)
	}
	got := disttest.Version(t, filepath.Join(gobin, "adopipe"))
	if !strings.HasPrefix(got, "adopipe "+version+"\ncommit  unknown ") {
		t.Errorf("adopipe --version after go install @%s:\n%s", version, got)
	}
}

// nestedModules lists the directories of HEAD, other than the root, that
// hold a go.mod.
func nestedModules(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-tree", "-r", "--name-only", "HEAD").Output()
	if err != nil {
		t.Fatalf("git ls-tree HEAD: %v", err)
	}
	var dirs []string
	for _, name := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if filepath.Base(name) == "go.mod" && name != "go.mod" {
			dirs = append(dirs, filepath.Dir(name))
		}
	}
	return dirs
}

// goInstallEnv is the environment less every GO* variable, with an empty
// GOPATH and GOBIN, -mod=mod, the shared build cache, no toolchain
// download, and extra NAME=VALUE settings (a later one wins).
func goInstallEnv(t *testing.T, gopath, gobin string, extra ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(name, "GO") {
			env = append(env, kv)
		}
	}
	env = append(env, "GOPATH="+gopath, "GOBIN="+gobin, "GOFLAGS=-mod=mod",
		"GOCACHE="+goEnv(t, "GOCACHE"), "GOTOOLCHAIN=local")
	return append(env, extra...)
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
