package manifest

import (
	"path/filepath"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

const validManifest = `
variable "namespace" { default = "discovery-dev" }
variable "team" {
  default   = "none"
  sensitive = true
}

cluster "dev" {
  headers = { "X-Team" = var.team, "X-Plain" = "p" }
  port_forward {
    command   = "oc"
    namespace = var.namespace
    service   = "ray-head-svc"
  }
}

cluster "local" {
  local { num_cpus = 2 }
}

ado { version = "2.3.0" }
plugin "mine" {
  source  = "plugins/mine"
  exclude = ["docs/"]
}
plugin "tune" { pip = "ado-ray-tune==2.2.1" }

env = { LOGLEVEL = "WARNING", SECRET = sensitive("s3cr3t") }

operation "sweep" {
  cluster   = cluster.dev
  context   = "ctx/context.yaml"
  operation = "operation.yaml"
  plugins   = [plugin.mine, plugin.tune]
  files     = ["spaces/space.yaml"]
  env       = { LOGLEVEL = "INFO", NS = upper(var.namespace) }
  on_change = "queue"
  resources { num_cpus = 1 }
}
`

func validTree(t *testing.T, manifest string) string {
	return testfiles.Write(t, map[string]string{
		"ado.hcl":                     manifest,
		"plugins/mine/pyproject.toml": "[project]\nname='mine'\n",
		"ctx/context.yaml":            "project: p\nmetadataStore:\n  scheme: mysql+pymysql\n  host: h\n",
		"operation.yaml":              "spaces: [s]\n",
		"spaces/space.yaml":           "entitySpace: []\n",
	})
}

func TestLoadValid(t *testing.T) {
	dir := validTree(t, validManifest)
	cfg, diags := NewParser().Load(filepath.Join(dir, "ado.hcl"), LoadOptions{Environ: []string{"ADOPIPE_VAR_namespace=from-env"},
		Vars: []VarSource{{Assignment: "team=blue"}},
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dev := cfg.Clusters["dev"]
	if dev.PortForward.Namespace != "from-env" || dev.PortForward.Port != 8265 || dev.PortForward.LocalPort != 8265 {
		t.Errorf("port_forward = %+v", dev.PortForward)
	}
	if dev.Address != "http://127.0.0.1:8265" {
		t.Errorf("derived address = %q", dev.Address)
	}
	if h := dev.Headers["X-Team"]; h.Value != "blue" || !h.Sensitive {
		t.Errorf("header = %+v, want sensitive blue", h)
	}
	if !cfg.Clusters["local"].SharesDisk() || dev.SharesDisk() {
		t.Error("SharesDisk wrong")
	}
	op := cfg.Operations["sweep"]
	if op.Cluster != dev || len(op.Plugins) != 2 || op.Plugins[0].Name != "mine" || op.OnChange != "queue" {
		t.Errorf("operation = %+v", op)
	}
	if op.Plugins[0].Dir != filepath.Join(dir, "plugins/mine") || op.Plugins[1].Pip != "ado-ray-tune==2.2.1" {
		t.Errorf("plugin sources = %+v %+v", op.Plugins[0].Source, op.Plugins[1].Source)
	}
	if op.Context.Dst != "context.yaml" || op.Files[0].Dst != "spaces/space.yaml" {
		t.Errorf("staged names = %+v %+v", op.Context, op.Files)
	}
	env := cfg.JobEnv(op, map[string]string{"OMP_NUM_THREADS": "1", "LOGLEVEL": "DEBUG"})
	if env["LOGLEVEL"].Value != "INFO" || env["OMP_NUM_THREADS"].Value != "1" || env["NS"].Value != "FROM-ENV" {
		t.Errorf("job env = %+v", env)
	}
	if !env["SECRET"].Sensitive || env["LOGLEVEL"].Sensitive {
		t.Errorf("sensitivity lost: %+v", env)
	}
	want := []string{"ado", "-c", "context.yaml", "create", "operation", "-f", "operation.yaml"}
	if got := op.Entrypoint(); len(got) != len(want) || got[0] != want[0] || got[6] != want[6] {
		t.Errorf("entrypoint = %q", got)
	}
}

func TestVariablePrecedence(t *testing.T) {
	dir := testfiles.Write(t, map[string]string{
		"ado.hcl": `variable "v" { default = "default" }` + "\n" + `cluster "c" { address = "http://${var.v}:1" }`,
		"a.hcl":   `v = "file-a"`,
		"b.hcl":   `v = "file-b"`,
	})
	file := filepath.Join(dir, "ado.hcl")
	cases := []struct {
		name    string
		environ []string
		vars    []VarSource
		want    string
	}{
		{"default", nil, nil, "default"},
		{"env", []string{"ADOPIPE_VAR_v=env"}, nil, "env"},
		{"file over env", []string{"ADOPIPE_VAR_v=env"}, []VarSource{{File: filepath.Join(dir, "a.hcl")}}, "file-a"},
		{"later file wins", nil, []VarSource{{File: filepath.Join(dir, "a.hcl")}, {File: filepath.Join(dir, "b.hcl")}}, "file-b"},
		{"var after file", nil, []VarSource{{File: filepath.Join(dir, "a.hcl")}, {Assignment: "v=flag"}}, "flag"},
		{"file after var", nil, []VarSource{{Assignment: "v=flag"}, {File: filepath.Join(dir, "b.hcl")}}, "file-b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, diags := NewParser().Load(file, LoadOptions{Environ: append([]string{}, c.environ...), Vars: c.vars})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := cfg.Clusters["c"].Address; got != "http://"+c.want+":1" {
				t.Errorf("address = %q, want host %q", got, c.want)
			}
		})
	}
}

func TestUndeclaredVarFlag(t *testing.T) {
	dir := testfiles.Write(t, map[string]string{"ado.hcl": `cluster "c" { address = "http://h:1" }`})
	_, diags := NewParser().Load(filepath.Join(dir, "ado.hcl"), LoadOptions{Environ: []string{}, Vars: []VarSource{{Assignment: "nope=1"}}})
	if !diags.HasErrors() || diags[0].Summary != "Value for undeclared variable" {
		t.Fatalf("diags = %v", diags)
	}
}

func TestJSONForm(t *testing.T) {
	dir := testfiles.Write(t, map[string]string{
		"ado.hcl.json": `{"cluster": {"dev": {"address": "http://127.0.0.1:8265"}}, "plugin": {"t": {"pip": "ado-trim==2.2.5"}}, "operation": {"op": {"cluster": "cluster.dev", "plugins": ["plugin.t"], "context": "c.yaml", "operation": "o.yaml"}}}`,
		"c.yaml":       "project: p\n",
		"o.yaml":       "spaces: []\n",
	})
	file, err := FindFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := NewParser().Load(file, LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if op := cfg.Operations["op"]; op.Cluster.Name != "dev" || op.Plugins[0].Name != "t" {
		t.Errorf("operation = %+v", op)
	}
}

func TestRemoteSQLiteOptIn(t *testing.T) {
	dir := testfiles.Write(t, map[string]string{
		"ado.hcl": `cluster "r" { address = "https://ray.example.com" }
operation "op" {
  cluster = cluster.r
  context = "c.yaml"
  operation = "o.yaml"
  allow_remote_sqlite = true
}`,
		"c.yaml": "project: p\nmetadataStore:\n  scheme: sqlite\n  path: p.db\n",
		"o.yaml": "spaces: []\n",
	})
	_, diags := NewParser().Load(filepath.Join(dir, "ado.hcl"), LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
}

// pin_ray on a cluster applies to its operations unless one says otherwise.
func TestPinRayDefaultsToTheCluster(t *testing.T) {
	dir := validTree(t, `cluster "r" {
  address = "https://ray.example.com"
  pin_ray = true
}
operation "pinned" {
  cluster   = cluster.r
  context   = "ctx/context.yaml"
  operation = "operation.yaml"
}
operation "free" {
  cluster   = cluster.r
  context   = "ctx/context.yaml"
  operation = "operation.yaml"
  pin_ray   = false
}`)
	cfg, diags := NewParser().Load(filepath.Join(dir, "ado.hcl"), LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !cfg.Clusters["r"].PinRay || !cfg.Operations["pinned"].PinRay || cfg.Operations["free"].PinRay {
		t.Errorf("pin_ray: cluster %v, pinned %v, free %v", cfg.Clusters["r"].PinRay, cfg.Operations["pinned"].PinRay, cfg.Operations["free"].PinRay)
	}
}
