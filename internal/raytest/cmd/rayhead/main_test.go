package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testgate"
)

var rayhead string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rayhead-test-")
	if err != nil {
		panic(err)
	}
	rayhead = filepath.Join(dir, "rayhead")
	if out, err := exec.Command("go", "build", "-o", rayhead, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runHead runs rayhead with env (on top of a cleaned environment) and returns
// its exit code, stdout and stderr.
func runHead(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(rayhead, args...)
	cmd.Dir = t.TempDir() // outside the repository: no <repo>/.venv/bin/ray
	var clean []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, raytest.EnvAddress+"=") && !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, raytest.EnvPython+"=") {
			clean = append(clean, kv)
		}
	}
	cmd.Env = append(clean, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// noRay points python at a directory without ray (and runHead runs
// outside the repository, so there is no .venv to fall back to).
func noRay(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "python"), []byte("#!/bin/sh\n"), 0o755)
	return raytest.EnvPython + "=" + filepath.Join(dir, "python")
}

func TestUsesGivenAddressAndExitStatus(t *testing.T) {
	code, out, _ := runHead(t, []string{raytest.EnvAddress + "=http://127.0.0.1:9"},
		"--", "sh", "-c", `echo "addr=$`+raytest.EnvAddress+`"; exit 7`)
	if code != 7 || !strings.Contains(out, "addr=http://127.0.0.1:9") {
		t.Fatalf("code %d out %q", code, out)
	}
}

func TestWithoutRayRunsCommandUnlessCI(t *testing.T) {
	code, out, errOut := runHead(t, []string{noRay(t)}, "--", "sh", "-c", `echo "addr=[$`+raytest.EnvAddress+`]"`)
	if code != 0 || !strings.Contains(out, "addr=[]") || !strings.Contains(errOut, "ray CLI not found") {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
	code, out, errOut = runHead(t, []string{noRay(t), "CI=true"}, "--", "sh", "-c", "echo ran")
	if code == 0 || strings.Contains(out, "ran") || !strings.Contains(errOut, "CI=true") {
		t.Fatalf("with CI=true: code %d out %q err %q", code, out, errOut)
	}
}

func TestUsage(t *testing.T) {
	if code, _, _ := runHead(t, nil); code != 2 {
		t.Fatalf("no command: exit %d, want 2", code)
	}
}

// TestRealHeadForCommand starts a real head through the script, as the
// Makefile does, and checks the command sees a live Jobs API and that the
// head is gone afterwards.
func TestRealHeadForCommand(t *testing.T) {
	raytest.RequireRay(t)
	script := filepath.Join(raytest.RepoRoot(), "scripts", "with-ray-head")
	probe := `set -e
python3 - "$` + raytest.EnvAddress + `" <<'PY'
import json, sys, urllib.request
v = json.load(urllib.request.urlopen(sys.argv[1] + "/api/version", timeout=10))
urllib.request.urlopen(sys.argv[1] + "/api/jobs/", timeout=10)
print("ray_version=" + v["ray_version"])
print("address=" + sys.argv[1])
PY
exit 5`
	testgate.Tool(t, "python3")
	cmd := exec.Command(script, "sh", "-c", probe)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, raytest.EnvAddress+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 5 {
		t.Fatalf("with-ray-head: %v (want exit 5)\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "ray_version=") || !strings.Contains(errb.String(), "stopped the Ray head") {
		t.Fatalf("stdout: %s\nstderr: %s", out.String(), errb.String())
	}
	var addr string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "address=") {
			addr = strings.TrimPrefix(l, "address=")
		}
	}
	if addr == "" {
		t.Fatalf("no address in %q", out.String())
	}
	if c, err := exec.Command("python3", "-c", "import urllib.request,sys; urllib.request.urlopen(sys.argv[1]+'/api/version', timeout=3)", addr).CombinedOutput(); err == nil {
		t.Fatalf("%s still answers after with-ray-head returned: %s", addr, c)
	}
}
