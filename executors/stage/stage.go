// Package stage writes a Ray job directory the way the manual recipe does
// (reference/remote_run.md): the wheels, the ado context and operation
// YAMLs, extra files, ray_runtime_env.yaml and a submit.sh holding the
// equivalent `ray job submit` line.
//
// Wheels go under content-addressed paths, wheels/<first 12 hex of
// sha256>/<wheel file>, because Ray keys its pip environment cache on the
// literal requirement strings: a rebuilt wheel with an unchanged file name
// must still be a changed string (ray issue 41827).
package stage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/manifest"
)

// WorkingDirVar is expanded by Ray's pip plugin on the worker to the job's
// unpacked working directory. It must reach Ray untouched.
const WorkingDirVar = "${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}"

// Names of the generated files in the job directory.
const (
	RuntimeEnvFile = "ray_runtime_env.yaml"
	SubmitScript   = "submit.sh"
	WheelsDir      = "wheels"
)

// Wheel is one wheel to install in the job.
type Wheel struct {
	Path     string // the wheel file to stage
	FileName string // name in the job dir (default: base name of Path)
	SHA256   string // hex digest; computed when empty, checked when given
}

// File is an extra file or directory to stage.
type File struct {
	Src string // file or directory
	Dst string // relative path in the job dir (default: base name of Src)
}

// Spec is everything a job directory is made of.
type Spec struct {
	Wheels []Wheel
	// Context and Operation are the source paths of ado's context
	// (metastore) YAML and operation YAML; either may be empty when a custom
	// Entrypoint does not need it.
	Context, Operation string
	// ContextName and OperationName are their names in the job dir
	// (default: base names).
	ContextName, OperationName string
	Files                      []File
	// Pip lists extra requirement strings, installed after the wheels.
	Pip []string
	// Excludes are Ray's runtime_env excludes: gitignore-style patterns of
	// files in the directory not uploaded.
	Excludes []string
	// AdoVersion adds "ado-core==<AdoVersion>" (or "ado-core<AdoVersion>"
	// when it starts with a comparison operator) after Pip.
	AdoVersion string
	// Env is the job's environment, already merged (DefaultEnv < manifest
	// env < operation env; see MergeEnv).
	Env map[string]string
	// Entrypoint is the job's command as arguments (default: ado -c
	// <context> create operation -f <operation>).
	Entrypoint []string
	// Address is the Ray dashboard address written into submit.sh
	// (RAY_ADDRESS overrides it when the script runs).
	Address string
	// Installer is manifest.InstallerPip (default) or InstallerUV: the
	// runtime_env field that lists the packages.
	Installer string
	// Layout is manifest.LayoutWheel (default) or LayoutModules: pure-Python
	// wheels staged unpacked as py_modules entries (see modules.go).
	Layout string
	// Config is Ray's runtime_env config (setup_timeout_seconds,
	// eager_install); nil leaves Ray's defaults.
	Config map[string]any
}

// SizedFile is a staged file and its size, as rayjobs reports the files
// of an oversized package.
type SizedFile = rayjobs.FileSize

// Result describes a staged job directory.
type Result struct {
	Dir        string
	Files      []SizedFile // every staged file, sorted by path
	TotalBytes int64
	Largest    []SizedFile // up to 5 largest files, largest first
	Warnings   []string
	RuntimeEnv RuntimeEnvSpec
	// Entrypoint is the entrypoint string `ray job submit` would send for
	// submit.sh's arguments (Python's subprocess.list2cmdline).
	Entrypoint string
}

// RuntimeEnvSpec is the runtime environment, for a Jobs API client to send
// as JSON exactly as ray_runtime_env.yaml says it.
type RuntimeEnvSpec struct {
	// Installer is "pip" or "uv": the field Packages go in.
	Installer string   `json:"installer,omitempty"`
	Packages  []string `json:"packages,omitempty"`
	// PyModules are job-dir relative directories, each an unpacked wheel
	// to upload as one py_modules package.
	PyModules []string          `json:"py_modules,omitempty"`
	Config    map[string]any    `json:"config,omitempty"`
	EnvVars   map[string]string `json:"env_vars,omitempty"`
	Excludes  []string          `json:"excludes,omitempty"`
}

// MergeEnv merges layers left to right (later layers win) into a new map.
func MergeEnv(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

// WheelRelPath is the staged path of a wheel: wheels/<12 hex>/<file>.
func WheelRelPath(sha256Hex, fileName string) string {
	return path.Join(WheelsDir, sha256Hex[:12], fileName)
}

// prepared is a Spec with defaults filled and inputs checked.
type prepared struct {
	spec    Spec
	wheels  []Wheel        // installed by pip or uv: deduplicated, SHA256 and FileName set
	modules []*moduleWheel // staged unpacked (layout modules)
}

func prepare(spec Spec) (*prepared, error) {
	p := &prepared{spec: spec}
	seen := map[string]bool{}
	for _, w := range spec.Wheels {
		if w.FileName == "" {
			w.FileName = filepath.Base(w.Path)
		}
		if _, err := wheelbuild.ParseWheelName(w.FileName); err != nil {
			return nil, err
		}
		sum, err := digest.FileSHA256(w.Path)
		if err != nil {
			return nil, fmt.Errorf("wheel %s: %w", w.FileName, err)
		}
		if w.SHA256 != "" && !strings.EqualFold(w.SHA256, sum) {
			return nil, fmt.Errorf("wheel %s has sha256 %s, expected %s", w.Path, sum[:12], strings.ToLower(w.SHA256)[:min(12, len(w.SHA256))])
		}
		w.SHA256 = sum
		key := WheelRelPath(sum, w.FileName)
		if seen[key] {
			continue
		}
		seen[key] = true
		p.wheels = append(p.wheels, w)
	}
	if spec.AdoVersion != "" {
		for _, w := range p.wheels {
			if wn, _ := wheelbuild.ParseWheelName(w.FileName); wheelbuild.NormalizeName(wn.Distribution) == "ado-core" {
				return nil, fmt.Errorf("both an ado-core wheel (%s) and ado version %q given; pick one", w.FileName, spec.AdoVersion)
			}
		}
	}
	if spec.Layout == manifest.LayoutModules {
		if err := p.splitModules(); err != nil {
			return nil, err
		}
	}
	if p.spec.Context != "" && p.spec.ContextName == "" {
		p.spec.ContextName = filepath.Base(p.spec.Context)
	}
	if p.spec.Operation != "" && p.spec.OperationName == "" {
		p.spec.OperationName = filepath.Base(p.spec.Operation)
	}
	args, err := EntrypointArgs(p.spec)
	if err != nil {
		return nil, err
	}
	p.spec.Entrypoint = args
	for k := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("invalid environment variable name %q", k)
		}
	}
	return p, nil
}

// splitModules moves the wheels that can be staged unpacked from p.wheels
// to p.modules.
func (p *prepared) splitModules() error {
	var keep []Wheel
	for _, w := range p.wheels {
		m, _, err := openModuleWheel(w)
		if err != nil {
			return err // Stage adds its prefix once
		}
		if m == nil {
			keep = append(keep, w) // installed as a wheel (see openModuleWheel)
			continue
		}
		p.modules = append(p.modules, m)
	}
	p.wheels = keep
	return nil
}

// moduleRequirements are the unpacked wheels' requirements, in order,
// without duplicates and without those naming a wheel of this job (it is
// on the path or installed from the job directory already).
func (p *prepared) moduleRequirements() []string {
	ours := map[string]bool{}
	for _, m := range p.modules {
		ours[m.project] = true
	}
	for _, w := range p.wheels {
		if wn, err := wheelbuild.ParseWheelName(w.FileName); err == nil {
			ours[wheelbuild.NormalizeName(wn.Distribution)] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range p.modules {
		for _, r := range m.requires {
			if ours[requirementName(r)] || seen[r] {
				continue
			}
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func (p *prepared) runtimeEnv() RuntimeEnvSpec {
	rt := RuntimeEnvSpec{Installer: p.spec.Installer, Config: p.spec.Config}
	if rt.Installer == "" {
		rt.Installer = manifest.InstallerPip
	}
	for _, w := range p.wheels {
		rt.Packages = append(rt.Packages, WorkingDirVar+"/"+WheelRelPath(w.SHA256, w.FileName))
	}
	rt.Packages = append(rt.Packages, p.moduleRequirements()...)
	rt.Packages = append(rt.Packages, p.spec.Pip...)
	if v := p.spec.AdoVersion; v != "" {
		if strings.ContainsAny(v[:1], "=<>!~") {
			rt.Packages = append(rt.Packages, "ado-core"+v)
		} else {
			rt.Packages = append(rt.Packages, "ado-core=="+v)
		}
	}
	for _, m := range p.modules {
		rt.PyModules = append(rt.PyModules, m.dir)
	}
	if len(p.spec.Env) > 0 {
		rt.EnvVars = MergeEnv(p.spec.Env)
	}
	rt.Excludes = p.spec.Excludes
	return rt
}

// EntrypointArgs returns the job's command as arguments (the default ado
// command when Spec.Entrypoint is empty).
func EntrypointArgs(spec Spec) ([]string, error) {
	if len(spec.Entrypoint) > 0 {
		return append([]string(nil), spec.Entrypoint...), nil
	}
	if spec.Context == "" || spec.Operation == "" {
		return nil, errors.New("the default entrypoint (ado create operation) needs both a context and an operation file")
	}
	c, o := spec.ContextName, spec.OperationName
	if c == "" {
		c = filepath.Base(spec.Context)
	}
	if o == "" {
		o = filepath.Base(spec.Operation)
	}
	return []string{"ado", "-c", c, "create", "operation", "-f", o}, nil
}

// EntrypointString returns the entrypoint string `ray job submit -- ARGS`
// sends to the Jobs API for these arguments: Ray's CLI joins them with
// Python's shlex.join (subprocess.list2cmdline only on Windows), so a Jobs
// client sending this string submits byte-for-byte what submit.sh would.
func EntrypointString(args []string) string { return ShlexJoin(args) }

// Stage writes the job directory dir. It is built in a temporary sibling
// directory and renamed into place, so a half-staged dir never appears. An
// existing dir is replaced only when it is empty or was staged before (it
// holds ray_runtime_env.yaml).
func Stage(dir string, spec Spec) (Result, error) {
	res, err := stageDir(dir, spec)
	if err != nil {
		return Result{}, fmt.Errorf("stage: %w", err)
	}
	return res, nil
}

func stageDir(dir string, spec Spec) (Result, error) {
	p, err := prepare(spec)
	if err != nil {
		return Result{}, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return Result{}, err
	}
	if err := checkReplaceable(dir); err != nil {
		return Result{}, err
	}
	plan, warnings, err := p.plan()
	if err != nil {
		return Result{}, err
	}

	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Result{}, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".staging-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	// Private: the context YAML may hold a database password.
	if err := os.Chmod(tmp, 0o700); err != nil {
		return Result{}, err
	}

	rt := p.runtimeEnv()
	entry := EntrypointString(p.spec.Entrypoint)
	plan = append(plan,
		op{dst: RuntimeEnvFile, data: []byte(RuntimeEnvYAML(rt, p.pyModuleEntries())), mode: 0o600},
		op{dst: SubmitScript, data: []byte(SubmitScriptText(p.spec.Address, p.spec.Entrypoint)), mode: 0o700},
	)
	var files []SizedFile
	var total int64
	for _, o := range plan {
		n, err := o.do(tmp)
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", o.dst, err)
		}
		files = append(files, SizedFile{Path: o.dst, Size: n})
		total += n
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	largest := rayjobs.LargestFiles(files, 5)
	if rayjobs.OverUploadLimit(total) {
		var parts []string
		for _, f := range largest {
			parts = append(parts, fmt.Sprintf("%s (%s)", f.Path, mib(f.Size)))
		}
		warnings = append(warnings, fmt.Sprintf("job directory is %s, above Ray's %s upload limit; largest files: %s",
			mib(total), mib(rayjobs.MaxPackageSize), strings.Join(parts, ", ")))
	}

	if err := swapInto(tmp, dir); err != nil {
		return Result{}, err
	}
	return Result{
		Dir: dir, Files: files, TotalBytes: total, Largest: largest, Warnings: warnings,
		RuntimeEnv: rt, Entrypoint: entry,
	}, nil
}

// pyModuleEntries are ray_runtime_env.yaml's py_modules entries.
func (p *prepared) pyModuleEntries() []string {
	var out []string
	for _, m := range p.modules {
		out = append(out, m.pyModuleEntries()...)
	}
	return out
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// private keeps the owner's permission bits of a staged file (an
// executable stays executable) and drops the others': a job directory is
// readable only by its user, as it may hold secrets.
func private(m fs.FileMode) fs.FileMode { return m.Perm() &^ 0o077 }

// op writes one file of the job dir: a link/copy of src or literal data.
type op struct {
	dst  string // slash-separated relative path
	src  string
	link bool // try a hard link first (wheels)
	data []byte
	mode fs.FileMode
}

func (o op) do(root string) (int64, error) {
	dst := filepath.Join(root, filepath.FromSlash(o.dst))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, err
	}
	if o.src == "" {
		if err := os.WriteFile(dst, o.data, o.mode); err != nil {
			return 0, err
		}
		return int64(len(o.data)), os.Chmod(dst, o.mode)
	}
	if o.link {
		if err := os.Link(o.src, dst); err == nil {
			st, err := os.Stat(dst)
			if err != nil {
				return 0, err
			}
			return st.Size(), nil
		}
	}
	return copyFile(o.src, dst, o.mode)
}

func copyFile(src, dst string, mode fs.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, mode)
	}
	return n, err
}

// plan lists the copy operations for wheels, YAMLs and extra files and
// checks destinations.
func (p *prepared) plan() ([]op, []string, error) {
	var ops []op
	var warnings []string
	taken := map[string]string{} // dst -> what
	reserve := func(dst, what string) error {
		if prev, ok := taken[dst]; ok {
			return fmt.Errorf("%s and %s both want %s in the job directory", prev, what, dst)
		}
		// A file may not sit where a directory is needed or vice versa.
		for other, prev := range taken {
			if strings.HasPrefix(dst, other+"/") || strings.HasPrefix(other, dst+"/") {
				return fmt.Errorf("%s (%s) and %s (%s) overlap in the job directory", prev, other, what, dst)
			}
		}
		taken[dst] = what
		return nil
	}
	for _, g := range []string{RuntimeEnvFile, SubmitScript} {
		taken[g] = "the generated " + g
	}
	if len(p.modules) > 0 {
		if err := reserve(RayIgnoreFile, "the generated "+RayIgnoreFile); err != nil {
			return nil, nil, err
		}
		ops = append(ops, op{dst: RayIgnoreFile, data: []byte("# Generated by adopipe: the unpacked wheels travel as py_modules packages.\n/" + ModulesDir + "/\n"), mode: 0o600})
	}
	for _, m := range p.modules {
		for _, o := range m.files {
			if err := reserve(o.dst, "wheel "+m.wheel.FileName); err != nil {
				return nil, nil, err
			}
			ops = append(ops, o)
		}
	}
	for _, w := range p.wheels {
		dst := WheelRelPath(w.SHA256, w.FileName)
		if err := reserve(dst, "wheel "+w.FileName); err != nil {
			return nil, nil, err
		}
		ops = append(ops, op{dst: dst, src: w.Path, link: true, mode: 0o600})
	}
	for _, y := range []struct{ src, name, what string }{
		{p.spec.Context, p.spec.ContextName, "context"},
		{p.spec.Operation, p.spec.OperationName, "operation"},
	} {
		if y.src == "" {
			continue
		}
		dst, err := cleanDst(y.name)
		if err != nil {
			return nil, nil, fmt.Errorf("%s name: %w", y.what, err)
		}
		st, err := os.Stat(y.src)
		if err != nil {
			return nil, nil, fmt.Errorf("%s file: %w", y.what, err)
		}
		if !st.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("%s file %s is not a regular file", y.what, y.src)
		}
		if err := reserve(dst, y.what+" file"); err != nil {
			return nil, nil, err
		}
		ops = append(ops, op{dst: dst, src: y.src, mode: 0o600})
	}
	for _, f := range p.spec.Files {
		d := f.Dst
		if d == "" {
			d = filepath.Base(f.Src)
		}
		dst, err := cleanDst(d)
		if err != nil {
			return nil, nil, fmt.Errorf("file %s: %w", f.Src, err)
		}
		for _, r := range []string{WheelsDir, ModulesDir} {
			if dst == r || strings.HasPrefix(dst, r+"/") {
				return nil, nil, fmt.Errorf("file %s: %s/ is reserved for staged packages", f.Src, r)
			}
		}
		fops, err := treeOps(f.Src, dst)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range fops {
			if err := reserve(o.dst, o.src); err != nil {
				return nil, nil, err
			}
			if b := path.Base(o.dst); b == ".gitignore" || b == ".rayignore" {
				warnings = append(warnings, fmt.Sprintf("staged %s: Ray's upload honours %s files, so files it matches are not uploaded", o.dst, b))
			}
		}
		ops = append(ops, fops...)
	}
	return ops, warnings, nil
}

// cleanDst validates a relative destination and returns it slash-separated.
func cleanDst(d string) (string, error) {
	s := filepath.ToSlash(d)
	if s == "" || path.IsAbs(s) || filepath.IsAbs(d) || filepath.VolumeName(d) != "" {
		return "", fmt.Errorf("destination %q must be a relative path", d)
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." {
			return "", fmt.Errorf("destination %q must not contain .. components", d)
		}
	}
	c := path.Clean(s)
	if c == "." {
		return "", fmt.Errorf("destination %q names the job directory itself", d)
	}
	return c, nil
}

// treeOps lists the copies for a file or directory tree, refusing .git
// directories and virtual environments (they blow Ray's upload limit and
// never belong in a job).
func treeOps(src, dst string) ([]op, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if !st.IsDir() {
		if filepath.Base(src) == ".git" {
			return nil, fmt.Errorf("refusing to stage %s (a .git file)", src)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file or directory", src)
		}
		return []op{{dst: dst, src: src, mode: private(st.Mode())}}, nil
	}
	var ops []op
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(dst, filepath.ToSlash(rel))
		if d.IsDir() {
			if why := forbiddenDir(p); why != "" {
				return fmt.Errorf("refusing to stage %s: %s", p, why)
			}
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Stat(p) // follow symlinks to files
		if err != nil {
			return err
		}
		if info.IsDir() {
			return fmt.Errorf("%s is a symlink to a directory; stage the directory itself", p)
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		ops = append(ops, op{dst: target, src: p, mode: private(info.Mode())})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ops, nil
}

// forbiddenDir says why a directory must not be staged ("" when fine).
func forbiddenDir(dir string) string {
	if filepath.Base(dir) == ".git" {
		return "it is a .git directory"
	}
	if fileExistsAt(filepath.Join(dir, ".git")) {
		return "it is a git checkout (contains .git)"
	}
	if fileExistsAt(filepath.Join(dir, "pyvenv.cfg")) {
		return "it is a Python virtual environment (contains pyvenv.cfg)"
	}
	if fileExistsAt(filepath.Join(dir, "conda-meta")) {
		return "it is a conda environment (contains conda-meta)"
	}
	return ""
}

func fileExistsAt(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func checkReplaceable(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) == 0 || fileExistsAt(filepath.Join(dir, RuntimeEnvFile)) {
		return nil
	}
	return fmt.Errorf("refusing to replace %s: it is not empty and was not staged by adopipe (no %s)", dir, RuntimeEnvFile)
}

// swapInto renames the staged tmp dir to dir, moving a previous dir aside
// first and removing it afterwards.
func swapInto(tmp, dir string) error {
	var old string
	if _, err := os.Lstat(dir); err == nil {
		old = filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old-"+randHex())
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("move previous %s aside: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir) // put the previous one back
		}
		return err
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

func randHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
