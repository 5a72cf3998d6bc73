package localcluster

import (
	"os"
	"path/filepath"
	"testing"
)

// Without a dist-info beside it (a ray on PATH from elsewhere), the
// version comes from `ray --version`.
func TestInstalledVersionAsksRay(t *testing.T) {
	ray := filepath.Join(t.TempDir(), "ray")
	if err := os.WriteFile(ray, []byte("#!/bin/sh\necho 'ray, version 2.59.3'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := InstalledVersion(ray); err != nil || v != "2.59.3" {
		t.Fatalf("InstalledVersion = %q, %v", v, err)
	}
	if _, err := InstalledVersion(""); err == nil {
		t.Fatal("no ray executable: want an error")
	}
}
