package stage

// The "modules" layout: a pure-Python plugin wheel is staged unpacked, as
// a Ray py_modules entry (its packages and its .dist-info directory, so
// importlib.metadata finds its entry points), and only its requirements go
// into the pip or uv list. Ray keys the environment on that list, which a
// plugin edit does not change, so the node reuses the environment instead
// of creating a new one (a clone of the base virtualenv, ~500 MB, several
// seconds) for every edit.

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/adopipe/adopipe/executors/wheelbuild"
)

// ModulesDir holds the unpacked wheels, one py_modules entry each:
// py_modules/<12 hex of the wheel's sha256>/.
const ModulesDir = "py_modules"

// RayIgnoreFile keeps ModulesDir out of the working directory upload
// (Ray's uploader and adopipe's honour it): the modules travel as their own
// packages, so a plugin edit leaves the working directory unchanged.
const RayIgnoreFile = ".rayignore"

// moduleWheel is a wheel staged unpacked.
type moduleWheel struct {
	wheel    Wheel
	dir      string   // ModulesDir/<12 hex>
	tops     []string // top-level names in the wheel (packages, modules, .dist-info)
	files    []op     // the unpacked files, under dir
	requires []string // Requires-Dist without extras-only entries
	project  string   // normalized distribution name
}

// ModuleRelPath is the staged directory of an unpacked wheel.
func ModuleRelPath(sha256Hex string) string { return path.Join(ModulesDir, sha256Hex[:12]) }

// openModuleWheel reads w and reports whether it can be staged unpacked:
// purelib, no .data directory (scripts, headers, data files need an
// installer) and no console or GUI scripts (py_modules puts no script on
// PATH; ado's own wheel provides `ado`). why says why not.
func openModuleWheel(w Wheel) (m *moduleWheel, why string, err error) {
	zr, err := zip.OpenReader(w.Path)
	if err != nil {
		// Not a wheel this layout can read: pip or uv gets it as it is
		// and reports what is wrong with it.
		return nil, "it cannot be read as a zip file: " + err.Error(), nil
	}
	defer zr.Close()
	m = &moduleWheel{wheel: w, dir: ModuleRelPath(w.SHA256)}
	wn, err := wheelbuild.ParseWheelName(w.FileName)
	if err != nil {
		return nil, "", err
	}
	m.project = wheelbuild.NormalizeName(wn.Distribution)
	seen := map[string]bool{}
	var distInfo string
	for _, f := range zr.File {
		name := f.Name
		if cleaned, err := cleanDst(name); err != nil || cleaned != strings.TrimSuffix(name, "/") {
			return nil, "", fmt.Errorf("wheel %s: unsafe path %q", w.FileName, name)
		}
		top, _, _ := strings.Cut(name, "/")
		if strings.HasSuffix(top, ".data") {
			why = "it has a .data directory"
		}
		if strings.HasSuffix(top, ".dist-info") {
			distInfo = top
		}
		if !seen[top] {
			seen[top] = true
			m.tops = append(m.tops, top)
		}
		if !strings.HasSuffix(name, "/") {
			o, err := unzipOp(f, m.dir)
			if err != nil {
				return nil, "", fmt.Errorf("wheel %s: %w", w.FileName, err)
			}
			m.files = append(m.files, o)
		}
	}
	if distInfo == "" {
		return nil, "", fmt.Errorf("wheel %s has no .dist-info directory", w.FileName)
	}
	sort.Strings(m.tops) // the YAML's order, whatever the zip's

	read := func(name string) string {
		for _, f := range zr.File {
			if f.Name == distInfo+"/"+name {
				rc, err := f.Open()
				if err != nil {
					return ""
				}
				defer rc.Close()
				b, _ := io.ReadAll(io.LimitReader(rc, 4<<20))
				return string(b)
			}
		}
		return ""
	}
	if !headerIs(read("WHEEL"), "Root-Is-Purelib", "true") {
		why = "it is not pure Python (Root-Is-Purelib is not true)"
	}
	if ep := read("entry_points.txt"); strings.Contains(ep, "[console_scripts]") || strings.Contains(ep, "[gui_scripts]") {
		why = "it installs scripts (console_scripts)"
	}
	m.requires = requiresDist(read("METADATA"))
	if why != "" {
		return nil, why, nil
	}
	return m, "", nil
}

// headerIs reports whether an RFC 822 style header block sets key to want.
func headerIs(text, key, want string) bool {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.EqualFold(strings.TrimSpace(v), want)
		}
	}
	return false
}

// requiresDist lists METADATA's Requires-Dist values, leaving out those
// only an extra asks for (their marker mentions `extra`).
func requiresDist(metadata string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(metadata))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // the headers end; the description follows
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(k, "Requires-Dist") {
			continue
		}
		v = strings.TrimSpace(v)
		if _, marker, ok := strings.Cut(v, ";"); ok && strings.Contains(marker, "extra") {
			continue
		}
		out = append(out, v)
	}
	return out
}

// requirementName is the normalized project name a requirement names.
func requirementName(req string) string {
	end := strings.IndexAny(req, " ;[<>=!~(@")
	if end < 0 {
		end = len(req)
	}
	return wheelbuild.NormalizeName(req[:end])
}

// unzipOp reads one wheel member into an op that writes it under dir.
func unzipOp(f *zip.File, dir string) (op, error) {
	rc, err := f.Open()
	if err != nil {
		return op{}, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, rc); err != nil {
		return op{}, fmt.Errorf("%s: %w", f.Name, err)
	}
	mode := private(f.Mode())
	if mode == 0 {
		mode = 0o600
	}
	return op{dst: path.Join(dir, f.Name), data: b.Bytes(), mode: mode}, nil
}

// pyModuleEntries are ray_runtime_env.yaml's py_modules entries for m:
// one per top-level package, module or .dist-info, because Ray's own
// client packs each entry with its directory name on top.
func (m *moduleWheel) pyModuleEntries() []string {
	out := make([]string, len(m.tops))
	for i, t := range m.tops {
		out[i] = path.Join(m.dir, t)
	}
	return out
}
