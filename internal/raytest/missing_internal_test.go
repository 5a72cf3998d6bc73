package raytest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testgate"
)

func TestMissingSkipsOrFailsInCI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvPython, filepath.Join(dir, "python"))
	t.Setenv(EnvAddress, "")
	t.Chdir(dir) // outside the repository: no .venv/bin/ray to fall back to

	t.Setenv("CI", "")
	r := &testgate.Recorder{TB: t}
	rayOrMissing(r) // RequireRay without the -short gate, which would skip first
	if r.FatalMsg != "" || !strings.Contains(r.SkipMsg, "ray CLI not found") {
		t.Fatalf("outside CI: fatal %q skip %q", r.FatalMsg, r.SkipMsg)
	}
	r = &testgate.Recorder{TB: t}
	pythonOrMissing(r)
	if r.FatalMsg != "" || !strings.Contains(r.SkipMsg, "python not found") {
		t.Fatalf("outside CI: fatal %q skip %q", r.FatalMsg, r.SkipMsg)
	}

	t.Setenv("CI", "true")
	r = &testgate.Recorder{TB: t}
	rayOrMissing(r)
	if r.SkipMsg != "" || !strings.Contains(r.FatalMsg, "CI=true") {
		t.Fatalf("CI=true: fatal %q skip %q", r.FatalMsg, r.SkipMsg)
	}
}
