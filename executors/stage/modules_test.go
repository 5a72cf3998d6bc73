package stage

import (
	"archive/zip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
)

// writeWheel writes a wheel zip with the given members.
func writeWheel(t *testing.T, path string, members map[string]string) Wheel {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return Wheel{Path: path}
}

const purelib = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"

// TestLayoutModules stages a pure-Python plugin unpacked and a plugin with
// a console script as a wheel, under uv, with Ray's config.
func TestLayoutModules(t *testing.T) {
	src := t.TempDir()
	plug := writeWheel(t, filepath.Join(src, "plug-0.1.0-py3-none-any.whl"), map[string]string{
		"plug/__init__.py":                      VALUE,
		"plug/data/table.txt":                   "x\n",
		"plug-0.1.0.dist-info/WHEEL":            purelib,
		"plug-0.1.0.dist-info/METADATA":         "Metadata-Version: 2.1\nName: plug\nVersion: 0.1.0\nRequires-Dist: scikit-learn==1.9.1\nRequires-Dist: pytest; extra == \"test\"\nRequires-Dist: tool\nRequires-Dist: scikit-learn==1.9.1\n\nRequires-Dist: not-a-header\n",
		"plug-0.1.0.dist-info/entry_points.txt": "[ado.custom_experiments]\nplug = plug\n",
	})
	tool := writeWheel(t, filepath.Join(src, "tool-2.0-py3-none-any.whl"), map[string]string{
		"tool/__init__.py":                    "",
		"tool-2.0.dist-info/WHEEL":            purelib,
		"tool-2.0.dist-info/METADATA":         "Metadata-Version: 2.1\nName: tool\nVersion: 2.0\nRequires-Dist: rich\n",
		"tool-2.0.dist-info/entry_points.txt": "[console_scripts]\ntool = tool:main\n",
	})
	dir := filepath.Join(t.TempDir(), "job")
	spec := Spec{
		Wheels:     []Wheel{tool, plug},
		Entrypoint: []string{"python", "-c", "import plug"},
		Installer:  manifest.InstallerUV,
		Layout:     manifest.LayoutModules,
		Config:     manifest.RuntimeEnv{SetupTimeoutSeconds: 900, EagerInstall: false}.RayConfig(),
		Env:        map[string]string{"A": "1"},
	}
	res, err := Stage(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	rt := res.RuntimeEnv
	mod := rt.PyModules
	if len(mod) != 1 || !strings.HasPrefix(mod[0], ModulesDir+"/") {
		t.Fatalf("PyModules = %v, want one py_modules/<hex> dir", mod)
	}
	for _, f := range []string{"plug/__init__.py", "plug/data/table.txt", "plug-0.1.0.dist-info/entry_points.txt"} {
		if got := testfiles.Read(t, filepath.Join(dir, mod[0], f)); f == "plug/__init__.py" && got != VALUE {
			t.Errorf("%s = %q", f, got)
		}
	}
	// tool has a console script: it stays a wheel, installed by uv; the
	// requirements of plug follow, without extras, duplicates or tool
	// itself (a wheel of this job).
	wantPkgs := []string{WorkingDirVar + "/" + WheelRelPath(sha256File(t, tool.Path), "tool-2.0-py3-none-any.whl"), "scikit-learn==1.9.1"}
	if !reflect.DeepEqual(rt.Packages, wantPkgs) || rt.Installer != "uv" {
		t.Errorf("packages = %v (%s), want %v under uv", rt.Packages, rt.Installer, wantPkgs)
	}
	if !strings.Contains(testfiles.Read(t, filepath.Join(dir, RayIgnoreFile)), "/"+ModulesDir+"/") {
		t.Errorf("%s does not keep %s out of the working directory", RayIgnoreFile, ModulesDir)
	}

	// ray_runtime_env.yaml says the same, with py_modules entries `ray job
	// submit` can pack (each top-level name of the unpacked wheel).
	var parsed struct {
		UV        []string          `yaml:"uv"`
		Pip       []string          `yaml:"pip"`
		PyModules []string          `yaml:"py_modules"`
		Config    map[string]any    `yaml:"config"`
		EnvVars   map[string]string `yaml:"env_vars"`
	}
	if err := yaml.Unmarshal([]byte(testfiles.Read(t, filepath.Join(dir, RuntimeEnvFile))), &parsed); err != nil {
		t.Fatal(err)
	}
	wantEntries := []string{mod[0] + "/plug", mod[0] + "/plug-0.1.0.dist-info"}
	if !reflect.DeepEqual(parsed.UV, wantPkgs) || parsed.Pip != nil || !reflect.DeepEqual(parsed.PyModules, wantEntries) {
		t.Errorf("ray_runtime_env.yaml = %+v, want uv %v and py_modules %v", parsed, wantPkgs, wantEntries)
	}
	if parsed.Config["setup_timeout_seconds"] != 900 || parsed.Config["eager_install"] != false {
		t.Errorf("config = %v", parsed.Config)
	}

	// The working directory's package does not change when only the
	// unpacked wheel does: a plugin edit uploads the module, not the job.
	before, err := workingDirURI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, mod[0], "plug", "__init__.py"), []byte("VALUE = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after, err := workingDirURI(dir); err != nil || after != before {
		t.Errorf("working dir package %s -> %s (%v): py_modules/ is uploaded with it", before, after, err)
	}
}

const VALUE = "VALUE = 1\n"

func sha256File(t *testing.T, p string) string {
	t.Helper()
	d, err := digest.FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRequiresDist reads requirements, skipping extras-only ones and the
// description after the headers.
func TestRequiresDist(t *testing.T) {
	got := requiresDist("Name: x\nRequires-Dist: a>=1\nRequires-Dist: b; python_version < \"3.12\"\nRequires-Dist: c; extra == 'dev'\n\nRequires-Dist: d\n")
	want := []string{"a>=1", `b; python_version < "3.12"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requiresDist = %q, want %q", got, want)
	}
	for req, name := range map[string]string{"Scikit_Learn==1.9": "scikit-learn", "a[x]>=1": "a", "b ; python_version<'3'": "b", "c @ https://x": "c"} {
		if got := requirementName(req); got != name {
			t.Errorf("requirementName(%q) = %q, want %q", req, got, name)
		}
	}
}

// workingDirURI is the package URI the Jobs client gives dir as a working
// directory: a fake cluster that already holds every package answers the
// client's lookup, so nothing is uploaded.
func workingDirURI(dir string) (string, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c, err := rayjobs.New(rayjobs.Config{Address: srv.URL})
	if err != nil {
		return "", err
	}
	uri, uploaded, err := c.UploadPackage(context.Background(), dir, nil)
	if uploaded {
		return "", fmt.Errorf("uploaded %s although the cluster has it", uri)
	}
	return uri, err
}
