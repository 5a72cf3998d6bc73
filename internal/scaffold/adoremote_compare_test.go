package scaffold

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
	"github.com/hashicorp/hcl/v2"
)

// adoView is what ado --remote does with a remote context: the directories
// it builds wheels in, the requirements and files it sends, the
// environment and runtime_env config it sets. testdata/ado_remote_view.py
// prints it from ado's own code; fast tests write it by hand.
type adoView struct {
	Error       string `json:"error"`
	Wait        bool   `json:"wait"`
	ClusterURL  string `json:"cluster_url"`
	PortForward *struct {
		Namespace   string `json:"namespace"`
		Service     string `json:"service"`
		LocalPort   int    `json:"local_port"`
		ServicePort int    `json:"service_port"`
	} `json:"port_forward"`
	FromSource   []string          `json:"from_source"`
	Files        []string          `json:"files"`
	Requirements []string          `json:"requirements"`
	LocalWheels  []string          `json:"local_wheels"`
	EnvVars      map[string]string `json:"env_vars"`
	Config       *struct {
		SetupTimeoutSeconds int  `json:"setup_timeout_seconds"`
		EagerInstall        bool `json:"eager_install"`
	} `json:"config"`
}

// converted is the manifest `adopipe init --from-ado-remote` wrote for a
// remote context, loaded and planned.
type converted struct {
	cfg   *manifest.Config
	op    *manifest.Operation
	plan  *planner.Plan
	diags hcl.Diagnostics // of the conversion
}

// convert runs the conversion as `adopipe init --from-ado-remote FILE
// --ado-cwd CWD` does, in a manifest directory holding a MySQL context and
// an operation YAML (cwd itself when it has them), then loads the manifest
// as `adopipe validate` does and plans it. With conversion errors it stops
// there, as init writes nothing then.
func convert(t *testing.T, file, cwd string) converted {
	t.Helper()
	dir := cwd
	if !isFile(filepath.Join(cwd, "context.yaml")) {
		dir = testfiles.Write(t, map[string]string{"context.yaml": mysqlContext, "operation.yaml": "spaces: [s]\noperation: {module: {operatorName: random_walk}}\n"})
	}
	remote, diags := FromAdoRemote(file, RemoteOptions{Cwd: cwd, Dir: dir, PortForwardCommand: "oc"})
	c := converted{diags: diags}
	if diags.HasErrors() {
		return c
	}
	f, err := Scan(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Choose(f, Flags{Context: filepath.Join(dir, "context.yaml"), Operations: []string{filepath.Join(dir, "operation.yaml")}}, remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ado.hcl")
	cfg := writeValid(t, out, d, true)
	t.Cleanup(func() { os.Remove(out) })
	c.cfg, c.op = cfg, cfg.Operations[cfg.OperationNames()[0]]
	c.plan, err = planner.New(t.TempDir(), nil).Plan(context.Background(), planner.Request{Config: cfg, State: state.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameAsAdo checks the converted manifest builds, installs, stages and
// sets what ado would.
func sameAsAdo(t *testing.T, v adoView, c converted) {
	t.Helper()
	var wheels []string
	for _, w := range c.plan.Wheels {
		wheels = append(wheels, w.SourceDir)
	}
	same(t, "wheels built from", realPaths(wheels), realPaths(v.FromSource))

	var reqs, localWheels []string
	for _, p := range c.op.Plugins {
		if !p.FromSource() {
			reqs = append(reqs, p.Pip)
		}
	}
	for _, p := range c.op.Pip {
		if rel, ok := strings.CutPrefix(p, workingDirVar+"/"); ok {
			localWheels = append(localWheels, filepath.Join(c.cfg.Dir, rel))
		} else {
			reqs = append(reqs, p)
		}
	}
	if c.cfg.Ado != nil && c.cfg.Ado.Version != "" {
		reqs = append(reqs, "ado-core=="+c.cfg.Ado.Version)
	}
	same(t, "requirements", reqs, v.Requirements)
	same(t, "local wheels", realPaths(localWheels), realPaths(v.LocalWheels))

	var staged, inputs []string
	for _, f := range c.op.Files {
		staged = append(staged, f.Src)
	}
	same(t, "staged files", realPaths(staged), realPaths(append(append([]string{}, v.Files...), v.LocalWheels...)))
	for _, f := range c.plan.Jobs[0].Spec.File {
		if f.Role == "" {
			inputs = append(inputs, filepath.Join(c.cfg.Dir, filepath.FromSlash(f.Dst)))
		}
	}
	same(t, "files the plan stages", realPaths(inputs), realPaths(staged))

	env := map[string]string{}
	for k, val := range c.cfg.Env {
		env[k] = val.Value
	}
	same(t, "env", mapLines(env), mapLines(v.EnvVars))

	rt := c.op.RuntimeEnv
	if v.Config == nil && rt.Declared {
		t.Errorf("runtime_env declared (%+v) where ado writes no config", rt)
	}
	if v.Config != nil && (!rt.Declared || rt.SetupTimeoutSeconds != v.Config.SetupTimeoutSeconds || rt.EagerInstall != v.Config.EagerInstall) {
		t.Errorf("runtime_env = %+v, ado's config = %+v", rt, *v.Config)
	}
	sameCluster(t, v, c.op.Cluster)
}

func sameCluster(t *testing.T, v adoView, cl *manifest.Cluster) {
	t.Helper()
	adoURL := strings.TrimSuffix(v.ClusterURL, "/")
	if v.PortForward == nil {
		if cl.PortForward != nil || cl.Address != adoURL {
			t.Errorf("cluster address %q, port_forward %+v; ado submits to %s directly", cl.Address, cl.PortForward, adoURL)
		}
		return
	}
	pf := cl.PortForward
	want := *v.PortForward
	if pf == nil || pf.Namespace != want.Namespace || pf.Service != want.Service || pf.LocalPort != want.LocalPort || pf.Port != want.ServicePort {
		t.Fatalf("port_forward = %+v, ado forwards %+v", pf, want)
	}
	address := cl.Address
	if address == "" {
		address = fmt.Sprintf("http://127.0.0.1:%d", pf.LocalPort)
	}
	u, _ := url.Parse(adoURL)
	if address != adoURL && !(isLoopback(adoURL) && u.Port() == fmt.Sprint(pf.LocalPort) && address == fmt.Sprintf("http://127.0.0.1:%d", pf.LocalPort)) {
		t.Errorf("adopipe submits to %s, ado to %s", address, adoURL)
	}
}

func realPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		out[i] = p
	}
	return out
}

func mapLines(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := append([]string{}, got...), append([]string{}, want...)
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s:\n adopipe: %q\n ado:     %q", what, g, w)
	}
}
