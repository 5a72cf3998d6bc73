package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

// adoCheckout is the ado-core source release `make ado-checkout` unpacks;
// tests that need it skip without it, and fail in CI.
func adoCheckoutDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(filepath.Join("..", "..", ".cache", "ado-checkout"))
	if err == nil && isFile(filepath.Join(dir, "pyproject.toml")) {
		abs, _ := filepath.Abs(dir)
		return abs
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but the ado checkout is missing: run make ado-checkout")
	}
	t.Skip("no ado checkout: run make ado-checkout")
	return ""
}

func rels(t *testing.T, root string, paths []string) []string {
	t.Helper()
	out := make([]string, len(paths))
	for i, p := range paths {
		r, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = filepath.ToSlash(r)
	}
	return out
}

func yamlPaths(ys []YAMLFile) []string {
	out := make([]string, len(ys))
	for i, y := range ys {
		out[i] = y.Path
	}
	return out
}

func projectDirs(ps []Project) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Dir
	}
	return out
}

func TestScanQuickstart(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", "examples", "quickstart"))
	f, err := Scan(root, DefaultDepth)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("plugins", rels(t, root, projectDirs(f.Plugins)), "plugin")
	check("ado", rels(t, root, projectDirs(f.Ado)))
	check("contexts", rels(t, root, yamlPaths(f.Contexts)), "context.yaml")
	check("operations", rels(t, root, yamlPaths(f.Operations)), "operation.yaml")
	check("spaces", rels(t, root, yamlPaths(f.Spaces)), "space.yaml")
	if !f.Contexts[0].SQLite {
		t.Error("the quickstart's context is SQLite; Scan says otherwise")
	}
	if f.Plugins[0].Name != "adopipe-quickstart" || !strings.Contains(f.Plugins[0].Why, "ado.custom_experiments: adopipe_quickstart") {
		t.Errorf("plugin = %+v", f.Plugins[0])
	}
}

// TestScanAdoCheckout finds ado itself and every plugin of ado's own
// repository, by entry points or by the ado_actuators package.
func TestScanAdoCheckout(t *testing.T) {
	root := adoCheckoutDir(t)
	f, err := Scan(root, DefaultDepth)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Ado) != 1 || f.Ado[0].Dir != root {
		t.Errorf("ado = %+v, want the checkout itself", f.Ado)
	}
	found := map[string]Project{}
	for _, p := range f.Plugins {
		found[rels(t, root, []string{p.Dir})[0]] = p
	}
	for dir, name := range map[string]string{
		"plugins/actuators/sfttrainer":         "ado-sfttrainer",
		"plugins/actuators/vllm_performance":   "ado-vllm-performance",
		"plugins/actuators/example_actuator":   "robotic_lab",
		"plugins/custom_experiments/autoconf":  "ado-autoconf",
		"plugins/custom_experiments/cplex_mip": "ado-cplex-mip",
		"plugins/operators/ray_tune":           "ado-ray-tune",
		"plugins/operators/trim":               "ado-trim",
		"plugins/operators/profile_space":      "ado-profile-space",
		"plugins/operators/anomalous_series":   "ado-anomalous-series",
	} {
		if p, ok := found[dir]; !ok || p.Name != name {
			t.Errorf("plugin %s: got %+v, want distribution %s", dir, p, name)
		}
	}
}

// TestScanSkips leaves out YAMLs of an ado checkout below the root (its
// examples), hidden and build directories, and what lies deeper than depth.
func TestScanSkips(t *testing.T) {
	const ctx = "project: p\nmetadataStore: {scheme: mysql+pymysql}\n"
	root := testfiles.Write(t, map[string]string{
		"ado/pyproject.toml":                      "[project]\nname = \"ado-core\"\n",
		"ado/examples/ctx.yaml":                   ctx,
		"ado/plugins/operators/x/pyproject.toml":  "[project]\nname = \"ado-x\"\n[project.entry-points.\"ado.operators\"]\nx = \"x.op\"\n",
		".venv/lib/p/pyproject.toml":              "[project]\nname = \"ado-hidden\"\n[project.entry-points.\"ado.operators\"]\nh = \"h\"\n",
		"build/ctx.yaml":                          ctx,
		"a/b/c/d/e/ctx.yaml":                      ctx,
		"mine/ctx.yaml":                           ctx,
		"plain/pyproject.toml":                    "[project]\nname = \"numpy-ish\"\n",
		"legacy/setup.py":                         "",
		"legacy/ado_operators/legacy/__init__.py": "",
		"remote.yaml":                             "executionType: {type: cluster}\n",
	})
	f, err := Scan(root, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rels(t, root, yamlPaths(f.Contexts)), " "); got != "mine/ctx.yaml" {
		t.Errorf("contexts = %s, want only mine/ctx.yaml", got)
	}
	if got := strings.Join(rels(t, root, projectDirs(f.Plugins)), " "); got != "ado/plugins/operators/x legacy" {
		t.Errorf("plugins = %s", got)
	}
	if len(f.AdoRemotes) != 1 {
		t.Errorf("ado --remote contexts = %v", f.AdoRemotes)
	}
}
