package testgate

import (
	"fmt"
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

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	t.Setenv("CI", "")
	r := &recTB{TB: t}
	Missing(r, "uv not found")
	if r.fatal != "" || !strings.Contains(r.skip, "uv not found") {
		t.Errorf("outside CI: fatal %q skip %q", r.fatal, r.skip)
	}
	t.Setenv("CI", "true")
	r = &recTB{TB: t}
	Missing(r, "uv not found")
	if r.skip != "" || !strings.Contains(r.fatal, "uv not found") || !strings.Contains(r.fatal, "CI=true") {
		t.Errorf("CI=true: fatal %q skip %q", r.fatal, r.skip)
	}
}

func TestToolFindsOrMisses(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("PATH", t.TempDir())
	r := &recTB{TB: t}
	Tool(r, "surely-not-a-command")
	if !strings.Contains(r.skip, "surely-not-a-command not found on PATH") {
		t.Errorf("missing tool: skip %q", r.skip)
	}
}

func TestRealSkipsOnlyUnderShort(t *testing.T) {
	r := &recTB{TB: t}
	Real(r, "a Ray head")
	if skipped := r.skip != ""; skipped != testing.Short() {
		t.Errorf("-short=%v: skip %q", testing.Short(), r.skip)
	}
	if testing.Short() && !strings.Contains(r.skip, "a Ray head") {
		t.Errorf("skip message %q does not say what was skipped", r.skip)
	}
}
