package wheelbuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveFrontend(t *testing.T) {
	withUV, without := t.TempDir(), t.TempDir()
	for _, f := range []string{filepath.Join(withUV, "python"), filepath.Join(withUV, "uv"), filepath.Join(without, "python")} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ frontend, python, want, wantUV string }{
		{FrontendAuto, filepath.Join(withUV, "python"), FrontendUV, filepath.Join(withUV, "uv")},
		{FrontendAuto, filepath.Join(without, "python"), FrontendBuild, ""},
		{FrontendBuild, filepath.Join(withUV, "python"), FrontendBuild, ""},
		{FrontendUV, filepath.Join(without, "python"), FrontendUV, ""},
	} {
		got, uv := ResolveFrontend(tc.frontend, tc.python)
		if got != tc.want || uv != tc.wantUV {
			t.Errorf("ResolveFrontend(%q, %s) = %q, %q; want %q, %q", tc.frontend, tc.python, got, uv, tc.want, tc.wantUV)
		}
	}
}
