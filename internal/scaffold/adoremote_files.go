package scaffold

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// packages converts packages.fromSource (wheels ado builds) and
// packages.fromPyPI (requirements and prebuilt wheels). fromSource comes
// first so an ado checkout there is known when fromPyPI names ado-core.
func (c *remoteConverter) packages(f field) {
	fields := c.y.fields(f.value, "packages", "fromPyPI", "fromSource")
	names := map[string]bool{}
	if sf, ok := fields["fromSource"]; ok {
		for _, n := range c.y.strList(sf, "packages.fromSource") {
			c.fromSource(n, names)
		}
	}
	if pf, ok := fields["fromPyPI"]; ok {
		for _, n := range c.y.strList(pf, "packages.fromPyPI") {
			c.fromPyPI(n, names)
		}
	}
}

func (c *remoteConverter) fromSource(n *yaml.Node, names map[string]bool) {
	y := c.y
	dir := c.resolve(n.Value)
	if !isDir(dir) {
		y.errorf(n, "fromSource path not found", "%s is not a directory. ado resolves relative fromSource paths against the directory `ado --remote` runs in (%s; set it with --ado-cwd).", dir, c.opts.Cwd)
		return
	}
	p, kind, err := inspectProject(dir)
	switch {
	case err != nil:
		y.errorf(n, "Unreadable pyproject.toml", "%v.", err)
		return
	case kind == adoCheckout && c.r.Ado != nil:
		y.errorf(n, "Two ado checkouts", "fromSource lists ado-core twice (%s and %s); keep one.", c.r.Ado.Source, dir)
		return
	case kind == adoCheckout:
		c.r.Ado = &Ado{Source: dir, Comment: []string{"packages.fromSource (" + c.at(n) + "): ado itself, built into a wheel as ado does."}}
		return
	case kind == notAdo && !isFile(filepath.Join(dir, "pyproject.toml")) && !isFile(filepath.Join(dir, "setup.py")):
		y.errorf(n, "fromSource is not a Python project", "%s holds neither pyproject.toml nor setup.py, so neither ado nor adopipe can build a wheel from it.", dir)
		return
	}
	c.r.Plugins = append(c.r.Plugins, Plugin{
		Name:    uniqueName(PluginName(p.Name), names),
		Source:  dir,
		Comment: []string{fmt.Sprintf("packages.fromSource (%s): %s, built into a wheel as ado does (ado runs uv build;", c.at(n), p.Name), "adopipe runs python -m build, or uv build with build { frontend = \"uv\" })."},
	})
}

// requirementName is the distribution name at the start of a PEP 508
// requirement.
var requirementName = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$`)

var exactPin = regexp.MustCompile(`^\s*==\s*([0-9][0-9A-Za-z.+!-]*)\s*$`)

func (c *remoteConverter) fromPyPI(n *yaml.Node, names map[string]bool) {
	entry := strings.TrimSpace(n.Value)
	if strings.HasSuffix(strings.ToLower(entry), ".whl") && isFile(c.resolve(entry)) {
		c.localWheel(n, c.resolve(entry))
		return
	}
	m := requirementName.FindStringSubmatch(entry)
	if m == nil || strings.HasSuffix(strings.ToLower(entry), ".whl") {
		// A URL, or a wheel path that exists only on the cluster: Ray's
		// installer reads it there, as with ado.
		c.r.Pip = append(c.r.Pip, entry)
		return
	}
	name := normalizeDistribution(m[1])
	switch {
	case name == adoDistribution && c.r.Ado == nil && exactPin.MatchString(m[2]):
		version := exactPin.FindStringSubmatch(m[2])[1]
		c.r.Ado = &Ado{Version: version, Comment: []string{"packages.fromPyPI (" + c.at(n) + "): " + entry + "."}}
	case strings.HasPrefix(name, "ado-") && name != adoDistribution:
		c.r.Plugins = append(c.r.Plugins, Plugin{
			Name:    uniqueName(PluginName(name), names),
			Pip:     entry,
			Comment: []string{"packages.fromPyPI (" + c.at(n) + "), installed from the package index."},
		})
	default:
		c.r.Pip = append(c.r.Pip, entry)
	}
}

// localWheel stages a prebuilt wheel and installs it from the job's
// directory, as ado copies it into its working directory.
func (c *remoteConverter) localWheel(n *yaml.Node, abs string) {
	rel, ok := c.inManifestDir(abs)
	if !ok {
		c.y.errorf(n, "Local wheel outside the manifest's directory", "%s lies outside %s, and adopipe stages only files inside the manifest's directory. Copy the wheel there, or give its checkout as a plugin source so adopipe builds it.", abs, c.opts.Dir)
		return
	}
	c.r.Files = append(c.r.Files, abs)
	c.r.Pip = append(c.r.Pip, workingDirVar+"/"+rel)
}

func (c *remoteConverter) additionalFile(n *yaml.Node) {
	y := c.y
	abs := c.resolve(n.Value)
	fi, err := os.Stat(abs)
	if err != nil {
		y.errorf(n, "additionalFiles entry not found", "%s does not exist (ado refuses it too). Relative paths are resolved against the directory `ado --remote` runs in (%s; set it with --ado-cwd).", abs, c.opts.Cwd)
		return
	}
	if _, ok := c.inManifestDir(abs); !ok {
		y.errorf(n, "File outside the manifest's directory", "%s lies outside %s; adopipe stages only files inside the manifest's directory, at the same relative path. Copy it there, or write ado.hcl in a directory that holds it (adopipe -C DIR init).", abs, c.opts.Dir)
		return
	}
	files := []string{abs}
	if fi.IsDir() {
		if files, err = filesUnder(abs); err != nil {
			y.errorf(n, "Cannot list directory", "%v.", err)
			return
		}
		if len(files) > maxDirFiles {
			y.errorf(n, "Directory too large to list", "%s holds %d files; the manifest lists each staged file, and more than %d suggests data that belongs on the cluster's storage. List the files the job needs.", abs, len(files), maxDirFiles)
			return
		}
	}
	moved := false
	for _, f := range files {
		rel, _ := c.inManifestDir(f)
		adoRel := path.Join(filepath.Base(abs), filepath.ToSlash(strings.TrimPrefix(f, abs)))
		if !fi.IsDir() {
			adoRel = filepath.Base(abs)
		}
		moved = moved || rel != adoRel
		c.r.Files = append(c.r.Files, f)
	}
	if moved {
		y.warnf(n, "Staged at a different path than ado's", "ado links %s at the top of the job's working directory as %s; adopipe stages files at their path relative to ado.hcl. If the operation refers to it as %s, move it next to ado.hcl or change the reference.", n.Value, filepath.Base(abs), filepath.Base(abs))
	}
}

// filesUnder lists the regular files below dir, sorted, leaving out what
// is never job input (version control, caches).
func filesUnder(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "__pycache__") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
