package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The lab's head and workers each have their own session directory: an
// env one node creates counts, and an env created on two nodes counts on
// each.
func TestEnvsCountedOnEveryNode(t *testing.T) {
	root := t.TempDir()
	head, worker := filepath.Join(root, "head", "session_x"), filepath.Join(root, "worker-1", "session_x")
	mk := func(session, kind, hash string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(session, "runtime_resources", kind, hash), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk(head, "pip", "old")
	sessions := []string{head, worker}
	before, err := listEnvs(sessions)
	if err != nil {
		t.Fatal(err)
	}
	mk(head, "uv", "a")
	mk(worker, "uv", "a")
	mk(worker, "pip", "b")
	after, err := listEnvs(sessions)
	if err != nil {
		t.Fatal(err)
	}
	got := runResult{NewEnvs: newEnvs(before, after)}
	if n := got.envCount(); n != 3 {
		t.Fatalf("new envs %v: %d, want 3 (uv/a on both nodes, pip/b on the worker)", got.NewEnvs, n)
	}
	if len(got.NewEnvs["pip"]) != 1 || got.NewEnvs["pip"][0] != filepath.Join(worker, "runtime_resources", "pip", "b") {
		t.Fatalf("new pip envs %v, want the worker's b only", got.NewEnvs["pip"])
	}
}

// A driver log may land on any node's logs directory.
func TestEntrypointSeenInAnyNodesLogs(t *testing.T) {
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "head", "logs"), filepath.Join(root, "worker-1", "logs")}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w, err := watchEntrypoints(dirs)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	log := "Runtime env is setting up.\nRunning entrypoint for job job-1: ado ...\n"
	if err := os.WriteFile(filepath.Join(dirs[1], "job-driver-job-1.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[0], "job-driver-job-2.log"), []byte("Runtime env is setting up.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := w.Started("job-1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job-1's entrypoint, logged on the second node, was not seen")
		}
		time.Sleep(10 * time.Millisecond) // waiting for inotify's event
	}
	if _, ok := w.Started("job-2"); ok {
		t.Fatal("job-2 has no entrypoint line, but was seen as started")
	}
}
