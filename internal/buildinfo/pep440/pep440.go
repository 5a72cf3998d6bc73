package pep440

import (
	"github.com/adopipe/adopipe/internal/buildinfo"

	"fmt"
	"regexp"
	"strings"
)

// DevelPythonVersion is the Python version of a binary built without a
// version: the lowest development release, below every real one.
const DevelPythonVersion = "0.0.0.dev0"

var (
	semverRE = regexp.MustCompile(`^v(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)
	// A pseudo-version's pre-release part: TIME-REV before any tag,
	// 0.TIME-REV after a release tag, PRE.0.TIME-REV after a pre-release tag.
	pseudoPreRE = regexp.MustCompile(`^(?:(.+)\.0\.|0\.)?(\d{14})-[0-9a-f]{12}$`)
	preRE       = regexp.MustCompile(`(?i)^(alpha|a|beta|b|rc|c|pre|preview)[.-]?(\d*)$`)
)

var prePEP440 = map[string]string{"alpha": "a", "a": "a", "beta": "b", "b": "b", "rc": "rc", "c": "rc", "pre": "rc", "preview": "rc"}

// PythonVersion converts a Go module version (a semver tag or a
// pseudo-version, as FromBuildInfo reports it) into the PEP 440 version of
// the wheels:
//
//	v0.3.0                               -> 0.3.0
//	v0.3.0-rc.1                          -> 0.3.0rc1
//	v0.3.1-0.20261128035625-39e4b1fb1a30 -> 0.3.1.dev20261128035625
//	v0.0.0-20261128035625-39e4b1fb1a30   -> 0.0.0.dev20261128035625
//	(devel)                              -> 0.0.0.dev0
//
// Build metadata (+dirty) and the commit are left out: PyPI refuses local
// version labels; adopipe --version still shows both.
func PythonVersion(goVersion string) (string, error) {
	if goVersion == buildinfo.Devel || goVersion == "" {
		return DevelPythonVersion, nil
	}
	m := semverRE.FindStringSubmatch(goVersion)
	if m == nil {
		return "", fmt.Errorf("version %q is not a Go module version (vMAJOR.MINOR.PATCH[-PRE][+BUILD])", goVersion)
	}
	release, pre := m[1], m[2]
	dev := ""
	if p := pseudoPreRE.FindStringSubmatch(pre); p != nil {
		pre, dev = p[1], ".dev"+p[2]
	}
	if pre == "" {
		return release + dev, nil
	}
	q := preRE.FindStringSubmatch(pre)
	if q == nil {
		return "", fmt.Errorf("version %q: pre-release %q has no PEP 440 equivalent (use -alpha.N, -beta.N or -rc.N)", goVersion, pre)
	}
	n := q[2]
	if n == "" {
		n = "0"
	}
	return release + prePEP440[strings.ToLower(q[1])] + n + dev, nil
}
