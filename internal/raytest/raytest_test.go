package raytest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/raytest"
)

func TestMain(m *testing.M) { raytest.Main(m) }

func TestRepoRoot(t *testing.T) {
	root := raytest.RepoRoot()
	if root == "" {
		t.Fatal("RepoRoot found nothing from the package directory")
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "raytest")); err != nil {
		t.Fatalf("RepoRoot %s is not the adopipe root: %v", root, err)
	}
}

func TestToolPaths(t *testing.T) {
	t.Setenv(raytest.EnvPython, "")
	root := raytest.RepoRoot()
	if got, want := raytest.Python(), filepath.Join(root, ".venv", "bin", "python"); got != want {
		t.Errorf("Python() = %s, want %s", got, want)
	}
	if got, want := raytest.RayBin(), filepath.Join(root, ".venv", "bin", "ray"); got != want {
		t.Errorf("RayBin() = %s, want %s", got, want)
	}
	// ADOPIPE_PYTHON overrides python, and its sibling ray is used.
	dir := t.TempDir()
	for _, n := range []string{"python", "ray"} {
		os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755)
	}
	t.Setenv(raytest.EnvPython, filepath.Join(dir, "python"))
	if got := raytest.Python(); got != filepath.Join(dir, "python") {
		t.Errorf("Python() with %s set = %s", raytest.EnvPython, got)
	}
	if got := raytest.RayBin(); got != filepath.Join(dir, "ray") {
		t.Errorf("RayBin() with %s set = %s", raytest.EnvPython, got)
	}
}

func TestHeadUsesEnvAddress(t *testing.T) {
	t.Setenv(raytest.EnvAddress, "http://127.0.0.1:1/")
	if got := raytest.Head(t); got != "http://127.0.0.1:1" {
		t.Fatalf("Head = %q, want the env address without trailing slash", got)
	}
}

// TestHeadRunsAJob submits a real job to the head and waits for it to
// succeed: the head is usable for jobs, not only up.
func TestHeadRunsAJob(t *testing.T) {
	addr := raytest.Head(t)
	body, _ := json.Marshal(map[string]any{"entrypoint": "echo raytest-$((40+2))"})
	resp, err := http.Post(addr+"/api/jobs/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /api/jobs/: %s %s", resp.Status, b)
	}
	var sub struct {
		SubmissionID string `json:"submission_id"`
	}
	if err := json.Unmarshal(b, &sub); err != nil || sub.SubmissionID == "" {
		t.Fatalf("submit answer %s: %v", b, err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	var status string
	for time.Now().Before(deadline) {
		resp, err := http.Get(addr + "/api/jobs/" + sub.SubmissionID)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		status = info.Status
		if status == "SUCCEEDED" {
			break
		}
		if status == "FAILED" || status == "STOPPED" {
			t.Fatalf("job %s: %s %s", sub.SubmissionID, status, info.Message)
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not a wait for luck
	}
	if status != "SUCCEEDED" {
		t.Fatalf("job %s still %s at the deadline", sub.SubmissionID, status)
	}
	resp, err = http.Get(addr + "/api/jobs/" + sub.SubmissionID + "/logs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "raytest-42") {
		t.Fatalf("job logs lack the entrypoint's output: %s", b)
	}
	if os.Getenv(raytest.EnvAddress) == "" && raytest.HeadVersion() == "" {
		t.Error("HeadVersion empty for a head the harness started")
	}
}

func TestHeadIsShared(t *testing.T) {
	a := raytest.Head(t)
	b := raytest.Head(t)
	if a != b {
		t.Fatalf("Head returned %s then %s: one head per test binary", a, b)
	}
}
