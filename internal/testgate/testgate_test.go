package testgate

import (
	"strings"
	"testing"
)

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	t.Setenv("CI", "")
	r := &Recorder{TB: t}
	Missing(r, "uv not found")
	if r.FatalMsg != "" || !strings.Contains(r.SkipMsg, "uv not found") {
		t.Errorf("outside CI: fatal %q skip %q", r.FatalMsg, r.SkipMsg)
	}
	t.Setenv("CI", "true")
	r = &Recorder{TB: t}
	Missing(r, "uv not found")
	if r.SkipMsg != "" || !strings.Contains(r.FatalMsg, "uv not found") || !strings.Contains(r.FatalMsg, "CI=true") {
		t.Errorf("CI=true: fatal %q skip %q", r.FatalMsg, r.SkipMsg)
	}
}

func TestToolFindsOrMisses(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("PATH", t.TempDir())
	r := &Recorder{TB: t}
	Tool(r, "surely-not-a-command")
	if !strings.Contains(r.SkipMsg, "surely-not-a-command not found on PATH") {
		t.Errorf("missing tool: skip %q", r.SkipMsg)
	}
}

func TestRealSkipsOnlyUnderShort(t *testing.T) {
	r := &Recorder{TB: t}
	Real(r, "a Ray head")
	if skipped := r.SkipMsg != ""; skipped != testing.Short() {
		t.Errorf("-short=%v: skip %q", testing.Short(), r.SkipMsg)
	}
	if testing.Short() && !strings.Contains(r.SkipMsg, "a Ray head") {
		t.Errorf("skip message %q does not say what was skipped", r.SkipMsg)
	}
}
