package pipeline

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// unauthorized is a cluster that rejects every request, as a token-auth
// Ray head does without a token.
func unauthorized(t *testing.T) (url string, requests func() []string) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		http.Error(w, "Unauthorized: Missing authentication token", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// loadProject writes files into a fresh directory and loads its ado.hcl.
func loadProject(t *testing.T, files map[string]string) (string, *manifest.Config) {
	t.Helper()
	dir := testfiles.Write(t, files)
	cfg, diags := manifest.NewParser().Load(filepath.Join(dir, "ado.hcl"), manifest.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return dir, cfg
}

// A cluster that rejects the token fails the apply while the wheels still
// build: the builds are cancelled, and the error is the cluster's, once.
func TestApplyFailsFastOnARejectedToken(t *testing.T) {
	t.Setenv("RAY_AUTH_TOKEN", "")
	t.Setenv("HOME", t.TempDir())
	url, requests := unauthorized(t)
	dir, cfg := loadProject(t, map[string]string{
		"ado.hcl": `
cluster "dev" {
  address     = "` + url + `"
  shared_disk = true
}
build { python = "./slow-python" }
plugin "plug" { source = "plug" }
operation "a" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.plug]
}
operation "b" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.plug]
}`,
		// A build that would outlast any test: it must be cancelled.
		"slow-python":         "#!/bin/sh\nexec sleep 600\n",
		"c.yaml":              "project: p\nmetadataStore:\n  scheme: sqlite\n  path: /tmp/p.db\n",
		"o.yaml":              "spaces: [s]\n",
		"plug/pyproject.toml": "[project]\nname='plug'\n",
	})
	cfg.Build.Python = filepath.Join(dir, "slow-python")
	if err := os.Chmod(cfg.Build.Python, 0o755); err != nil {
		t.Fatal(err)
	}
	workDir := filepath.Join(dir, ".adopipe")
	st := state.New()
	p, err := planner.New(workDir, nil).Plan(context.Background(), planner.Request{Config: cfg, State: st})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []progress.Event
	)
	cn := &Connector{WorkDir: workDir}
	defer cn.Close()
	out, err := Apply(context.Background(), Options{
		Config: cfg, Plan: p, State: st, StatePath: filepath.Join(workDir, "state.json"),
		WorkDir: workDir, Cache: wheelcache.New(filepath.Join(workDir, "cache")), Connector: cn,
		Events: func(e progress.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
	})

	var order []string
	for _, e := range events {
		switch e.Type {
		case progress.EventClusterFailed, progress.EventBuildCancelled, progress.EventBuildDone, progress.EventBuildFailed:
			order = append(order, e.Type+" "+e.Name)
		}
	}
	if strings.Join(order, ", ") != "cluster_failed dev, build_cancelled plug" {
		t.Errorf("events = %v; want the cluster's failure, then the build cancelled", order)
	}
	if _, ok := errors.AsType[*rayjobs.AuthError](err); !ok {
		t.Fatalf("err = %v, want the cluster's auth error", err)
	}
	msg := err.Error()
	if strings.Count(msg, "cluster dev") != 1 || strings.Contains(msg, "wheel") || strings.Contains(msg, "operation") || strings.Count(msg, "\n") > 0 {
		t.Errorf("want one clear error, got:\n%s", msg)
	}
	if out.Fail != 2 || out.Submitted != 0 || out.Built != 0 {
		t.Errorf("outcome = %+v", out)
	}
	for _, r := range requests() {
		if r != "GET /api/version" {
			t.Errorf("the rejected cluster was sent %s", r)
		}
	}
}

// One unreachable cluster does not stop the jobs of another.
func TestApplyGoesOnWithTheReachableCluster(t *testing.T) {
	e := newEnv(t)
	url, _ := unauthorized(t)
	e.cfg.Clusters["bad"] = &manifest.Cluster{Name: "bad", Address: url, SharedDisk: true}
	bad := *e.cfg.Operations["op"]
	bad.Name, bad.Cluster = "other", e.cfg.Clusters["bad"]
	e.cfg.Operations["other"] = &bad
	p := e.plan()
	out, err := e.apply(p)
	if _, ok := errors.AsType[*rayjobs.AuthError](err); !ok || !strings.HasPrefix(err.Error(), "cluster bad: ") {
		t.Fatalf("err = %v", err)
	}
	if out.Submitted != 1 || len(e.fake.Submitted) != 1 || e.st.Operations["op"].JobID == "" {
		t.Errorf("the job on the reachable cluster was not submitted: %+v", out)
	}
}

// writeWheel writes a wheel of distribution plug whose METADATA requires
// what requires says.
func writeWheel(t *testing.T, dir string, requires ...string) string {
	t.Helper()
	path := filepath.Join(dir, "plug-0.1-py3-none-any.whl")
	testfiles.RequiresWheel(t, path, requires...)
	return path
}

// A wheel built by this apply (the plan could not read it) whose
// Requires-Dist excludes the cluster's Ray is warned about, naming the pin.
func TestApplyChecksTheRayOfBuiltWheels(t *testing.T) {
	e := newEnv(t)
	wheel := writeWheel(t, t.TempDir(), "ray<2.50", "numpy")
	// A stand-in build frontend: `python -m build --wheel --outdir DIR ...`
	// copies the prepared wheel into DIR.
	py := filepath.Join(t.TempDir(), "python")
	os.WriteFile(py, []byte("#!/bin/sh\ncp '"+wheel+"' \"$5\"\n"), 0o755)
	e.cfg.Build.Python = py
	workDir := filepath.Join(e.dir, ".adopipe")
	p, err := planner.New(workDir, nil).Plan(context.Background(), planner.Request{Config: e.cfg, State: e.st})
	if err != nil {
		t.Fatal(err)
	}
	_, warnings, err := e.applyWarned(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], `operation op: wheel plug requires "ray<2.50", which excludes Ray 2.60.0 that cluster dev runs`) || !strings.Contains(warnings[0], "ray==2.60.0") {
		t.Errorf("warnings = %q", warnings)
	}
	if got := e.st.Operations["op"].RayVersion; got != "2.60.0" {
		t.Errorf("the state records Ray %q for the job", got)
	}
}
