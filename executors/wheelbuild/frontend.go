package wheelbuild

import (
	"os"
	"os/exec"
	"path/filepath"
)

// FrontendAuto picks the frontend: uv when the build interpreter's
// environment has one (a uv executable beside the python), else build.
// Measured on the quickstart plugin (docs/benchmarks.md), `uv build` took
// a third to two thirds of `python -m build`'s time, with or without
// isolation.
const FrontendAuto = ""

// ResolveFrontend turns FrontendAuto into FrontendUV (with the uv found
// beside python) or FrontendBuild; other frontends come back unchanged.
// Only the interpreter's own directory is searched, not PATH: the builds
// stay in the environment the manifest names.
func ResolveFrontend(frontend, python string) (resolved, uv string) {
	if frontend != FrontendAuto {
		return frontend, ""
	}
	if python == "" {
		python = "python3"
	}
	if !filepath.IsAbs(python) && filepath.Base(python) == python {
		p, err := exec.LookPath(python)
		if err != nil {
			return FrontendBuild, ""
		}
		python = p
	}
	cand := filepath.Join(filepath.Dir(python), "uv")
	if st, err := os.Stat(cand); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return FrontendUV, cand
	}
	return FrontendBuild, ""
}
