package stage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testgate"
	"github.com/adopipe/adopipe/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

func write(t *testing.T, p, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// fixture writes inputs with fixed contents (so digests, and therefore the
// golden files, are stable).
type fixture struct {
	src                  string
	ado, plugin          Wheel
	context, operation   string
	space, scripts, exec string
}

func newFixture(t *testing.T) fixture {
	src := t.TempDir()
	f := fixture{src: src}
	f.ado = Wheel{Path: write(t, filepath.Join(src, "dist", "ado_core-1.2.0-py3-none-any.whl"), "ado wheel bytes", 0o644)}
	f.plugin = Wheel{Path: write(t, filepath.Join(src, "plug", "sfttrainer-0.9.1.dev3+g1a2b3c4-py3-none-any.whl"), "plugin wheel bytes", 0o644), SHA256: sha("plugin wheel bytes")}
	f.context = write(t, filepath.Join(src, "ctx", "my context.yaml"), "project: p\nmetadataStore:\n  scheme: mysql+pymysql\n", 0o644)
	f.operation = write(t, filepath.Join(src, "operation.yaml"), "spaces: [s1]\n", 0o644)
	f.space = write(t, filepath.Join(src, "space.yaml"), "entitySpace: []\n", 0o644)
	f.scripts = filepath.Join(src, "scripts")
	f.exec = write(t, filepath.Join(f.scripts, "run.sh"), "#!/bin/sh\necho hi\n", 0o755)
	write(t, filepath.Join(f.scripts, "lib", "helper.py"), "X = 1\n", 0o644)
	write(t, filepath.Join(f.scripts, "__pycache__", "helper.cpython-311.pyc"), "junk", 0o644)
	return f
}

func (f fixture) spec() Spec {
	return Spec{
		Wheels:    []Wheel{f.ado, f.plugin},
		Context:   f.context,
		Operation: f.operation,
		Files:     []File{{Src: f.space}, {Src: f.scripts, Dst: "extra/scripts"}},
		Pip:       []string{"numpy==1.26.4"},
		Env:       MergeEnv(DefaultEnv(), map[string]string{"LOGLEVEL": "WARNING", "HOME": "/tmp"}),
		Address:   "http://127.0.0.1:8265",
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		write(t, p, got, 0o644)
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file %s (go test -update to accept):\n--- got\n%s\n--- want\n%s", name, p, got, want)
	}
}

// stageGolden stages spec into dir and compares its ray_runtime_env.yaml
// and submit.sh with testdata/golden/<name>/; it returns the result and the
// runtime env's text.
func stageGolden(t *testing.T, dir string, spec Spec, name string) (Result, string) {
	t.Helper()
	res, err := Stage(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	rt := testfiles.Read(t, filepath.Join(dir, RuntimeEnvFile))
	golden(t, name+"/ray_runtime_env.yaml", rt)
	golden(t, name+"/submit.sh", testfiles.Read(t, filepath.Join(dir, SubmitScript)))
	return res, rt
}

func TestStageRecipe(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "job")
	spec := f.spec()
	res, rt := stageGolden(t, dir, spec, "recipe")

	adoRel := "wheels/" + sha("ado wheel bytes")[:12] + "/ado_core-1.2.0-py3-none-any.whl"
	plugRel := "wheels/" + sha("plugin wheel bytes")[:12] + "/sfttrainer-0.9.1.dev3+g1a2b3c4-py3-none-any.whl"

	// The YAML parses to exactly the runtime env a Jobs client would send.
	var parsed struct {
		Pip     []string          `yaml:"pip"`
		EnvVars map[string]string `yaml:"env_vars"`
	}
	if err := yaml.Unmarshal([]byte(rt), &parsed); err != nil {
		t.Fatal(err)
	}
	wantPip := []string{
		"${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/" + adoRel,
		"${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/" + plugRel,
		"numpy==1.26.4",
	}
	wantEnv := map[string]string{
		"PYTHONUNBUFFERED": "x", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
		"RAY_AIR_NEW_PERSISTENCE_MODE": "0", "LOGLEVEL": "WARNING", "HOME": "/tmp",
	}
	if !reflect.DeepEqual(parsed.Pip, wantPip) || !reflect.DeepEqual(parsed.EnvVars, wantEnv) {
		t.Errorf("parsed runtime env = %#v", parsed)
	}
	rtAPI, err := RuntimeEnv(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rtAPI.Packages, wantPip) || !reflect.DeepEqual(rtAPI.EnvVars, wantEnv) || !reflect.DeepEqual(res.RuntimeEnv, rtAPI) {
		t.Errorf("RuntimeEnv = %#v, Result.RuntimeEnv = %#v", rtAPI, res.RuntimeEnv)
	}
	if js, _ := json.Marshal(rtAPI); !strings.Contains(string(js), `"${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/`) {
		t.Errorf("JSON runtime env mangles the working dir variable: %s", js)
	}
	if res.Entrypoint != `ado -c 'my context.yaml' create operation -f operation.yaml` {
		t.Errorf("Entrypoint = %q", res.Entrypoint)
	}

	// Layout.
	var paths []string
	for _, sf := range res.Files {
		paths = append(paths, sf.Path)
	}
	wantPaths := []string{
		"extra/scripts/lib/helper.py", "extra/scripts/run.sh", "my context.yaml", "operation.yaml",
		RuntimeEnvFile, "space.yaml", SubmitScript, adoRel, plugRel,
	}
	sort.Strings(wantPaths)
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("staged files = %q\nwant %q", paths, wantPaths)
	}
	for _, p := range wantPaths {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	if testfiles.Read(t, filepath.Join(dir, "my context.yaml")) != testfiles.Read(t, f.context) {
		t.Error("context.yaml content differs")
	}
	if st, _ := os.Stat(filepath.Join(dir, "extra/scripts/run.sh")); st == nil || st.Mode().Perm()&0o100 == 0 {
		t.Error("executable bit of run.sh lost")
	}
	if st, _ := os.Stat(filepath.Join(dir, SubmitScript)); st == nil || st.Mode().Perm() != 0o700 {
		t.Error("submit.sh is not 0700")
	}
	// The job directory may hold secrets (a context's database password):
	// only its user may read it. (A wheel is a hard link to its source,
	// whose mode it shares; it holds no secret.)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if info, err := os.Lstat(p); err == nil && info.Mode().Perm()&0o077 != 0 && !strings.HasSuffix(p, ".whl") {
			t.Errorf("%s is %v: readable by others", p, info.Mode().Perm())
		}
		return nil
	})
	// Wheels are hard links when source and job dir share a file system.
	a, _ := os.Stat(f.ado.Path)
	b, _ := os.Stat(filepath.Join(dir, adoRel))
	if sameFS(t, f.src, dir) && !os.SameFile(a, b) {
		t.Error("wheel was copied, not hard-linked")
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
	noLeftovers(t, filepath.Dir(dir), "job")
}

func TestStageQuoting(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "job")
	spec := Spec{
		Wheels:     []Wheel{f.plugin},
		Pip:        []string{`requests[socks]>=2.31; python_version >= "3.9"`, "pkg @ https://example.invalid/pkg.whl", "#hash"},
		AdoVersion: "1.2.0",
		Env: map[string]string{
			"QUOTED":     `say "hi" \ $HOME`,
			"EMPTY":      "",
			"MULTI":      "line1\nline2",
			"NUMBERLIKE": "007",
			"BOOLLIKE":   "true",
			"dotted.key": "v",
		},
		Entrypoint: []string{"python", "-c", `import os; print(os.environ["QUOTED"], 'x')`, "a b", ""},
	}
	res, rt := stageGolden(t, dir, spec, "quoting")
	var parsed RuntimeEnvSpec
	if err := yaml.Unmarshal([]byte(rt), &struct {
		Pip     *[]string          `yaml:"pip"`
		EnvVars *map[string]string `yaml:"env_vars"`
	}{&parsed.Packages, &parsed.EnvVars}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed.EnvVars, spec.Env) {
		t.Errorf("env_vars round trip = %#v", parsed.EnvVars)
	}
	wantPip := append([]string{"${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/" + sha("plugin wheel bytes")[:12] + "/" + filepath.Base(f.plugin.Path)}, spec.Pip...)
	wantPip = append(wantPip, "ado-core==1.2.0")
	if !reflect.DeepEqual(parsed.Packages, wantPip) || !reflect.DeepEqual(res.RuntimeEnv.Packages, wantPip) {
		t.Errorf("pip round trip = %#v", parsed.Packages)
	}
}

func TestAdoVersionForms(t *testing.T) {
	for v, want := range map[string]string{"1.2.0": "ado-core==1.2.0", ">=1.2,<2": "ado-core>=1.2,<2", "~=1.2": "ado-core~=1.2"} {
		rt, err := RuntimeEnv(Spec{AdoVersion: v, Entrypoint: []string{"true"}})
		if err != nil || len(rt.Packages) != 1 || rt.Packages[0] != want {
			t.Errorf("AdoVersion %q: %v %v", v, rt.Packages, err)
		}
	}
	f := newFixture(t)
	if _, err := RuntimeEnv(Spec{Wheels: []Wheel{f.ado}, AdoVersion: "1.2.0", Entrypoint: []string{"true"}}); err == nil {
		t.Error("an ado-core wheel plus an ado version was accepted")
	}
}

func TestStageRefusals(t *testing.T) {
	f := newFixture(t)
	gitDir := filepath.Join(f.src, "checkout")
	write(t, filepath.Join(gitDir, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	write(t, filepath.Join(gitDir, "a.py"), "", 0o644)
	venv := filepath.Join(f.src, "stuff", "venv")
	write(t, filepath.Join(venv, "pyvenv.cfg"), "home = /usr/bin\n", 0o644)
	write(t, filepath.Join(f.src, "stuff", "ok.txt"), "", 0o644)

	cases := []struct {
		name    string
		mutate  func(*Spec)
		errPart string
	}{
		{"git dir", func(s *Spec) { s.Files = []File{{Src: filepath.Join(gitDir, ".git")}} }, ".git directory"},
		{"git checkout", func(s *Spec) { s.Files = []File{{Src: gitDir}} }, "git checkout"},
		{"nested venv", func(s *Spec) { s.Files = []File{{Src: filepath.Join(f.src, "stuff")}} }, "virtual environment"},
		{"dotdot", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "../space.yaml"}} }, "must not contain .."},
		{"inner dotdot", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "a/../../b"}} }, "must not contain .."},
		{"absolute", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "/etc/space.yaml"}} }, "relative"},
		{"dot", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "."}} }, "job directory itself"},
		{"clash with operation", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "operation.yaml"}} }, "both want operation.yaml"},
		{"clash with generated", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "submit.sh"}} }, "both want submit.sh"},
		{"file over dir", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "extra"}, {Src: f.scripts, Dst: "extra/scripts"}} }, "overlap"},
		{"into wheels", func(s *Spec) { s.Files = []File{{Src: f.space, Dst: "wheels/x.yaml"}} }, "reserved"},
		{"missing file", func(s *Spec) { s.Files = []File{{Src: filepath.Join(f.src, "nope")}} }, "no such file"},
		{"bad digest", func(s *Spec) { s.Wheels = []Wheel{{Path: f.ado.Path, SHA256: sha("other")}} }, "expected"},
		{"not a wheel", func(s *Spec) { s.Wheels = []Wheel{{Path: f.space}} }, ".whl"},
		{"no entrypoint", func(s *Spec) { s.Operation = "" }, "default entrypoint"},
	}
	dir := filepath.Join(t.TempDir(), "job")
	if _, err := Stage(dir, f.spec()); err != nil {
		t.Fatal(err)
	}
	before := testfiles.Read(t, filepath.Join(dir, RuntimeEnvFile))
	for _, tc := range cases {
		spec := f.spec()
		tc.mutate(&spec)
		_, err := Stage(dir, spec)
		if err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.errPart)
		}
	}
	// Failed stagings leave the previous job dir and no temporary dirs.
	if testfiles.Read(t, filepath.Join(dir, RuntimeEnvFile)) != before {
		t.Error("a failed Stage changed the previous job dir")
	}
	noLeftovers(t, filepath.Dir(dir), "job")
}

func TestStageReplacesOnlyStagedDirs(t *testing.T) {
	f := newFixture(t)
	parent := t.TempDir()
	user := filepath.Join(parent, "mine")
	write(t, filepath.Join(user, "precious.txt"), "keep", 0o644)
	if _, err := Stage(user, f.spec()); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("staging over a user directory: %v", err)
	}
	if testfiles.Read(t, filepath.Join(user, "precious.txt")) != "keep" {
		t.Error("user directory damaged")
	}

	// Restaging replaces the whole previous staging (no stale files).
	dir := filepath.Join(parent, "job")
	if _, err := Stage(dir, f.spec()); err != nil {
		t.Fatal(err)
	}
	spec := f.spec()
	spec.Files = nil
	spec.Wheels = []Wheel{f.plugin}
	if _, err := Stage(dir, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "space.yaml")); !os.IsNotExist(err) {
		t.Error("file from the previous staging survived")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, WheelsDir)); len(ents) != 1 {
		t.Errorf("wheels/ holds %d entries, want 1", len(ents))
	}
	noLeftovers(t, parent, "job", "mine")
}

func TestStageSizeWarning(t *testing.T) {
	f := newFixture(t)
	big := filepath.Join(f.src, "big.bin")
	fh, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(rayjobs.MaxPackageSize + 1); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	spec := f.spec()
	spec.Files = append(spec.Files, File{Src: big, Dst: "data/big.bin"})
	res, err := Stage(filepath.Join(t.TempDir(), "job"), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalBytes <= rayjobs.MaxPackageSize || len(res.Largest) == 0 || res.Largest[0].Path != "data/big.bin" {
		t.Errorf("total %d, largest %v", res.TotalBytes, res.Largest)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "data/big.bin (100.0 MiB)") || !strings.Contains(res.Warnings[0], "upload limit") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestStageWarnsAboutGitignore(t *testing.T) {
	f := newFixture(t)
	gi := write(t, filepath.Join(f.src, "gi", ".gitignore"), "*.whl\n", 0o644)
	spec := f.spec()
	spec.Files = append(spec.Files, File{Src: gi})
	res, err := Stage(filepath.Join(t.TempDir(), "job"), spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], ".gitignore") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

// TestShlexJoin compares with the real Python implementation, which `ray
// job submit` uses, and runs the result through /bin/sh as Ray does.
func TestShlexJoin(t *testing.T) {
	cases := [][]string{
		{"ado", "-c", "context.yaml", "create", "operation", "-f", "operation.yaml"},
		{"a b", "", `x"y`, `back\slash`, "it's", "$HOME", "`x`", "print(1)", "x;y", "tab\there", "ünï", "a\nb"},
		{`python`, `-c`, `print("hi", 'there')`},
	}
	py, err := exec.LookPath("python3")
	for _, args := range cases {
		got := ShlexJoin(args)
		if err != nil {
			continue
		}
		in, _ := json.Marshal(args)
		cmd := exec.Command(py, "-c", "import json,shlex,sys; sys.stdout.write(shlex.join(json.load(sys.stdin)))")
		cmd.Stdin = strings.NewReader(string(in))
		want, perr := cmd.Output()
		if perr != nil {
			t.Fatal(perr)
		}
		if got != string(want) {
			t.Errorf("ShlexJoin(%q) = %q, Python says %q", args, got, want)
		}
		// /bin/sh -c 'printf "<%s>\n" ARGS' gives back the arguments.
		out, serr := exec.Command("/bin/sh", "-c", `printf '<%s>\n' `+got).Output()
		if serr != nil {
			t.Fatalf("sh: %v", serr)
		}
		var back []string
		for _, a := range args {
			back = append(back, "<"+a+">")
		}
		if string(out) != strings.Join(back, "\n")+"\n" {
			t.Errorf("sh split %q into\n%s", got, out)
		}
	}
	if err != nil {
		t.Log("python3 not found: compared only with /bin/sh")
	}
}

// TestSubmitScriptArgs runs submit.sh with a stand-in `ray` first on PATH
// that records its arguments and working directory, checking the shell
// quoting end to end and the RAY_ADDRESS override.
func TestSubmitScriptArgs(t *testing.T) {
	bash := testgate.Tool(t, "bash")
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "job")
	spec := f.spec()
	spec.Address = "http://127.0.0.1:8265/it's"
	spec.Entrypoint = []string{"ado", "-c", "my context.yaml", "$HOME", "`x`", `"q"`, ""}
	if _, err := Stage(dir, spec); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	out := filepath.Join(t.TempDir(), "argv")
	write(t, filepath.Join(bin, "ray"), "#!/usr/bin/env bash\n{ pwd; for a in \"$@\"; do printf '%s\\n' \"<$a>\"; done; } > \"$ADOPIPE_TEST_ARGV\"\n", 0o755)
	run := func(env ...string) []string {
		cmd := exec.Command(bash, filepath.Join(dir, SubmitScript))
		cmd.Dir = t.TempDir() // the script must cd to its own directory
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "ADOPIPE_TEST_ARGV="+out, "RAY_ADDRESS=")
		cmd.Env = append(cmd.Env, env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("submit.sh: %v\n%s", err, b)
		}
		return strings.Split(strings.TrimSuffix(testfiles.Read(t, out), "\n"), "\n")
	}
	got := run()
	realDir, _ := filepath.EvalSymlinks(dir)
	want := []string{realDir, "<job>", "<submit>", "<--no-wait>", "<--address>", "<http://127.0.0.1:8265/it's>",
		"<--working-dir>", "<.>", "<--runtime-env>", "<ray_runtime_env.yaml>", "<-v>", "<-->",
		"<ado>", "<-c>", "<my context.yaml>", "<$HOME>", "<`x`>", `<"q">`, "<>"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ray argv =\n%q\nwant\n%q", got, want)
	}
	got = run("RAY_ADDRESS=http://10.0.0.1:8265")
	if len(got) < 6 || got[5] != "<http://10.0.0.1:8265>" {
		t.Errorf("RAY_ADDRESS override: argv %q", got)
	}
}

func TestSubmitScriptRequiresAddress(t *testing.T) {
	bash := testgate.Tool(t, "bash")
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "job")
	spec := f.spec()
	spec.Address = ""
	if _, err := Stage(dir, spec); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, filepath.Join(dir, SubmitScript))
	cmd.Env = append(os.Environ(), "RAY_ADDRESS=")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "set RAY_ADDRESS") {
		t.Errorf("submit.sh without address: err=%v out=%s", err, b)
	}
}

// noLeftovers checks that parent holds exactly the named entries (no
// staging or old directories).
func noLeftovers(t *testing.T, parent string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("%s holds %q, want %q", parent, got, names)
	}
}

// DefaultEnv returns the recipe's recommended job environment, as the
// manifest defines it.
func DefaultEnv() map[string]string { return maps.Clone(manifest.RecommendedEnv) }

// RuntimeEnv returns the runtime environment Stage writes to
// ray_runtime_env.yaml, for a Jobs API client to send as JSON. It hashes
// wheels whose SHA256 is not given.
func RuntimeEnv(spec Spec) (RuntimeEnvSpec, error) {
	p, err := prepare(spec)
	if err != nil {
		return RuntimeEnvSpec{}, err
	}
	return p.runtimeEnv(), nil
}

// excludes reach ray_runtime_env.yaml, which `ray job submit` applies.
func TestRuntimeEnvYAMLExcludes(t *testing.T) {
	got := RuntimeEnvYAML(RuntimeEnvSpec{Packages: []string{"x==1"}, Excludes: []string{"*.ckpt", "data/tmp/"}}, nil)
	if !strings.Contains(got, "pip:\n  - x==1\nexcludes:\n  - \"*.ckpt\"\n  - data/tmp/\n") {
		t.Errorf("ray_runtime_env.yaml =\n%s", got)
	}
}
