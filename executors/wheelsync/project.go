// Package wheelsync makes a new wheel without a build backend when a
// plugin's edit provably gives the same result (planner.ActionSync): it
// records, after a build, which source files the wheel holds verbatim
// (Record), and later copies the last wheel with those members replaced
// and RECORD rewritten (Patch), in-process and deterministically.
//
// "Provably" rests on two facts. The pure-Python backends adopipe trusts
// (setuptools, hatchling, flit-core) copy package files into the wheel
// byte for byte, and the only other members they write are the
// .dist-info files, computed from pyproject.toml (and files it names).
// So a project qualifies only when its metadata is static: no setup.py,
// no dynamic fields, no version plugin or build hook, no other build
// requirement; and an edit qualifies only when it changes the content of
// files found byte for byte in the wheel (the planner checks that).
package wheelsync

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// trustedBackends are the build backends known to copy package files
// verbatim and to compute the rest from static metadata. "" is
// setuptools' legacy default, which without setup.py is build_meta.
var trustedBackends = map[string]bool{
	"":                                 true,
	"setuptools.build_meta":            true,
	"setuptools.build_meta:__legacy__": true,
	"hatchling.build":                  true,
	"flit_core.buildapi":               true,
}

// trustedRequires are the build requirements those backends need; any
// other one (setuptools_scm, hatch-vcs, a build hook) may write files or
// metadata of its own.
var trustedRequires = map[string]bool{
	"setuptools": true, "wheel": true, "hatchling": true, "flit-core": true,
}

// pyproject is the part of pyproject.toml the checks read.
type pyproject struct {
	BuildSystem struct {
		Requires     []string `toml:"requires"`
		BuildBackend string   `toml:"build-backend"`
		BackendPath  []string `toml:"backend-path"`
	} `toml:"build-system"`
	Project *struct {
		Version      string   `toml:"version"`
		Dynamic      []string `toml:"dynamic"`
		Readme       any      `toml:"readme"`
		License      any      `toml:"license"`
		LicenseFiles []string `toml:"license-files"`
	} `toml:"project"`
	Tool map[string]any `toml:"tool"`
}

var reqName = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

// Project is what Check learns about a checkout.
type Project struct {
	// Refused says why no edit of the project may be synced; empty when
	// edits may be.
	Refused string
	// MetadataFiles are files the metadata is read from (readme, license
	// files, as paths or globs relative to the checkout): they are never
	// synced, even when a package also ships them.
	MetadataFiles []string
}

// Check reads the checkout's pyproject.toml and says whether its wheel's
// non-package members depend only on that file.
func Check(sourceDir string) Project {
	if _, err := os.Stat(filepath.Join(sourceDir, "setup.py")); err == nil {
		return Project{Refused: "setup.py runs code at build time"}
	}
	b, err := os.ReadFile(filepath.Join(sourceDir, "pyproject.toml"))
	if err != nil {
		return Project{Refused: "no pyproject.toml to read the metadata from"}
	}
	var pp pyproject
	if _, err := toml.Decode(string(b), &pp); err != nil {
		return Project{Refused: "pyproject.toml does not parse: " + firstLine(err)}
	}
	bs := pp.BuildSystem
	switch {
	case len(bs.BackendPath) > 0:
		return Project{Refused: "its build backend is in the checkout (backend-path)"}
	case !trustedBackends[bs.BuildBackend]:
		return Project{Refused: fmt.Sprintf("build backend %q is not one known to copy sources verbatim", bs.BuildBackend)}
	case pp.Project == nil:
		return Project{Refused: "pyproject.toml has no [project] table: the metadata is not static"}
	case len(pp.Project.Dynamic) > 0:
		return Project{Refused: fmt.Sprintf("[project] dynamic = %q: metadata is computed at build time", pp.Project.Dynamic)}
	case pp.Project.Version == "":
		return Project{Refused: "[project] has no static version"}
	}
	for _, r := range bs.Requires {
		m := reqName.FindStringSubmatch(r)
		if m == nil || !trustedRequires[normalize(m[1])] {
			return Project{Refused: fmt.Sprintf("build requirement %q may write files or metadata of its own", r)}
		}
	}
	if why := toolRefusal(pp.Tool); why != "" {
		return Project{Refused: why}
	}
	var meta []string
	if readme, ok := pp.Project.Readme.(string); ok {
		meta = append(meta, readme)
	}
	meta = append(meta, fileOf(pp.Project.Readme)...)
	meta = append(meta, fileOf(pp.Project.License)...)
	meta = append(meta, pp.Project.LicenseFiles...)
	return Project{MetadataFiles: meta}
}

// toolRefusal finds [tool.*] settings that run code or compute metadata
// during the build.
func toolRefusal(tool map[string]any) string {
	if _, ok := tool["setuptools_scm"]; ok {
		return "[tool.setuptools_scm]: the version comes from git"
	}
	if st, ok := tool["setuptools"].(map[string]any); ok {
		for _, k := range []string{"cmdclass", "ext-modules", "dynamic"} {
			if _, ok := st[k]; ok {
				return fmt.Sprintf("[tool.setuptools] %s: the build runs or computes more than a copy", k)
			}
		}
	}
	if hatch, ok := tool["hatch"].(map[string]any); ok && hasHooks(hatch) {
		return "[tool.hatch] declares hooks: they may write files or metadata"
	}
	return ""
}

// hasHooks reports whether a table has a "hooks" table at any depth.
func hasHooks(t map[string]any) bool {
	for k, v := range t {
		if k == "hooks" {
			return true
		}
		if sub, ok := v.(map[string]any); ok && hasHooks(sub) {
			return true
		}
	}
	return false
}

// fileOf returns the file a readme or license table names ({file = ...};
// a license string is an SPDX expression, not a file).
func fileOf(v any) []string {
	if t, ok := v.(map[string]any); ok {
		if f, ok := t["file"].(string); ok {
			return []string{f}
		}
	}
	return nil
}

var sepRun = regexp.MustCompile(`[-_.]+`)

func normalize(name string) string { return strings.ToLower(sepRun.ReplaceAllString(name, "-")) }

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
