package scaffold

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Project is a Python project directory: ado itself or an ado plugin.
type Project struct {
	Dir string // absolute
	// Name is the distribution name from pyproject.toml, or the directory's
	// name when it has only setup.py.
	Name string
	// Why says what makes it ado or a plugin, for prompts and comments:
	// "ado.actuators: sfttrainer", "ado_actuators package".
	Why string
}

// adoDistribution is the distribution name of ado itself.
const adoDistribution = "ado-core"

// adoEntryPointGroups are the entry point groups ado loads plugins from.
var adoEntryPointGroups = []string{"ado.actuators", "ado.operators", "ado.custom_experiments"}

// adoNamespacePackages are the namespace packages ado finds plugins in
// without entry points.
var adoNamespacePackages = []string{"ado_actuators", "ado_operators"}

// pyproject is the part of pyproject.toml that tells ado and its plugins
// apart.
type pyproject struct {
	Project struct {
		Name        string                       `toml:"name"`
		EntryPoints map[string]map[string]string `toml:"entry-points"`
	} `toml:"project"`
}

// projectKind says what a directory holds.
type projectKind int

const (
	notAdo projectKind = iota
	adoCheckout
	adoPlugin
)

// inspectProject reads dir's pyproject.toml (or notes its setup.py) and
// reports whether it is ado, an ado plugin, or neither. A directory that is
// not a Python project at all is notAdo with a nil error.
func inspectProject(dir string) (Project, projectKind, error) {
	p := Project{Dir: dir, Name: filepath.Base(dir)}
	hasPyproject, hasSetup := isFile(filepath.Join(dir, "pyproject.toml")), isFile(filepath.Join(dir, "setup.py"))
	if !hasPyproject && !hasSetup {
		return p, notAdo, nil
	}
	var whys []string
	if hasPyproject {
		var pp pyproject
		if _, err := toml.DecodeFile(filepath.Join(dir, "pyproject.toml"), &pp); err != nil {
			return p, notAdo, fmt.Errorf("%s: %w", filepath.Join(dir, "pyproject.toml"), err)
		}
		if pp.Project.Name != "" {
			p.Name = pp.Project.Name
		}
		if normalizeDistribution(p.Name) == adoDistribution {
			p.Why = "ado-core"
			return p, adoCheckout, nil
		}
		for _, group := range adoEntryPointGroups {
			names := make([]string, 0, len(pp.Project.EntryPoints[group]))
			for name := range pp.Project.EntryPoints[group] {
				names = append(names, name)
			}
			sort.Strings(names)
			if len(names) > 0 {
				whys = append(whys, group+": "+strings.Join(names, ", "))
			}
		}
	}
	for _, pkg := range adoNamespacePackages {
		if hasPackageDir(dir, pkg) {
			whys = append(whys, pkg+" package")
		}
	}
	if len(whys) == 0 {
		return p, notAdo, nil
	}
	p.Why = strings.Join(whys, "; ")
	return p, adoPlugin, nil
}

// hasPackageDir looks for a package directory at the top of a project or
// under src/, the two layouts setuptools and hatch find by default.
func hasPackageDir(dir, pkg string) bool {
	for _, p := range []string{filepath.Join(dir, pkg), filepath.Join(dir, "src", pkg)} {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// normalizeDistribution applies PEP 503 normalisation: ado_core, Ado.Core
// and ado-core are one distribution.
func normalizeDistribution(name string) string {
	name = strings.ToLower(name)
	return strings.NewReplacer("_", "-", ".", "-").Replace(name)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
