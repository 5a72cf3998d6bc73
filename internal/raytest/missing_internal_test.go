package raytest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// recTB records Fatalf/Skipf instead of ending the test.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper()                   {}
func (r *recTB) Fatalf(f string, a ...any) { r.fatal = fmt.Sprintf(f, a...) }
func (r *recTB) Skipf(f string, a ...any)  { r.skip = fmt.Sprintf(f, a...) }

func TestMissingSkipsOrFailsInCI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvPython, filepath.Join(dir, "python"))
	t.Setenv(EnvAddress, "")
	t.Chdir(dir) // outside the repository: no .venv/bin/ray to fall back to

	t.Setenv("CI", "")
	r := &recTB{TB: t}
	rayOrMissing(r) // RequireRay without the -short gate, which would skip first
	if r.fatal != "" || !strings.Contains(r.skip, "ray CLI not found") {
		t.Fatalf("outside CI: fatal %q skip %q", r.fatal, r.skip)
	}
	r = &recTB{TB: t}
	pythonOrMissing(r)
	if r.fatal != "" || !strings.Contains(r.skip, "python not found") {
		t.Fatalf("outside CI: fatal %q skip %q", r.fatal, r.skip)
	}

	t.Setenv("CI", "true")
	r = &recTB{TB: t}
	rayOrMissing(r)
	if r.skip != "" || !strings.Contains(r.fatal, "CI=true") {
		t.Fatalf("CI=true: fatal %q skip %q", r.fatal, r.skip)
	}
}
