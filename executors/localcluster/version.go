package localcluster

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// InstalledVersion is the Ray version a head started with rayBin would run,
// found without starting one: the ray-<version>.dist-info beside it in its
// virtualenv, else `ray --version`. plan uses it for a local head that is
// not running yet, so it never has to start one to know the version.
func InstalledVersion(rayBin string) (string, error) {
	if rayBin == "" {
		return "", fmt.Errorf("no ray executable found: install ray (pip install 'ray[default]') or set ADOPIPE_RAY")
	}
	if bin, err := filepath.EvalSymlinks(rayBin); err == nil {
		infos, _ := filepath.Glob(filepath.Join(filepath.Dir(bin), "..", "lib", "python3*", "site-packages", "ray-*.dist-info"))
		if len(infos) == 1 {
			return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(infos[0]), "ray-"), ".dist-info"), nil
		}
	}
	out, err := exec.Command(rayBin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", rayBin, err)
	}
	// "ray, version 2.60.0"
	if m := rayVersionLine.FindSubmatch(out); m != nil {
		return string(m[1]), nil
	}
	return "", fmt.Errorf("%s --version printed no version: %q", rayBin, strings.TrimSpace(string(out)))
}

var rayVersionLine = regexp.MustCompile(`version ([0-9][^\s]*)`)
