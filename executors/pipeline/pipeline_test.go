package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/fakeray"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

const secret = "s3cr3t-planted-value"

type env struct {
	t       *testing.T
	dir     string
	cfg     *manifest.Config
	st      *state.State
	cache   *wheelcache.Cache
	fake    *fakeray.Server
	address string
}

func newEnv(t *testing.T) *env {
	fake := fakeray.Start()
	t.Cleanup(fake.Close)
	files := map[string]string{
		"ado.hcl": `
variable "token" {
  default   = "` + secret + `"
  sensitive = true
}
cluster "dev" {
  address     = "` + fake.URL + `"
  shared_disk = true
}
plugin "plug" { source = "plug" }
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.plug]
  env       = { TOKEN = var.token, PLAIN = "visible" }
}`,
		"c.yaml":              "project: p\nmetadataStore:\n  scheme: sqlite\n  path: results/p.db\n",
		"o.yaml":              "spaces: [s]\n",
		"plug/pyproject.toml": "[project]\nname='plug'\n",
	}
	dir, cfg := loadProject(t, files)
	return &env{t: t, dir: dir, cfg: cfg, st: state.New(), cache: wheelcache.New(filepath.Join(dir, ".adopipe/cache")), fake: fake, address: fake.URL}
}

// plan plans with a wheel already cached for the plugin's sources, so no
// Python build runs in these unit tests.
func (e *env) plan() *planner.Plan {
	e.t.Helper()
	workDir := filepath.Join(e.dir, ".adopipe")
	lookup := func(fp string) (string, bool) {
		p, _, ok, _ := e.cache.Get(fp)
		return filepath.Base(p), ok
	}
	p, err := planner.New(workDir, lookup).Plan(context.Background(), planner.Request{Config: e.cfg, State: e.st})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, w := range p.Wheels {
		if w.Action != planner.ActionCached {
			whl := filepath.Join(e.t.TempDir(), "plug-0.1-py3-none-any.whl")
			os.WriteFile(whl, []byte("not really a wheel"), 0o644)
			if _, _, err := e.cache.Put(w.Fingerprint, whl); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	p, _ = planner.New(workDir, lookup).Plan(context.Background(), planner.Request{Config: e.cfg, State: e.st})
	return p
}

func (e *env) apply(p *planner.Plan) (*Outcome, error) {
	out, _, err := e.applyWarned(p)
	return out, err
}

// applyWarned applies p and returns the warnings it reported too.
func (e *env) applyWarned(p *planner.Plan) (*Outcome, []string, error) {
	workDir := filepath.Join(e.dir, ".adopipe")
	cn := &Connector{WorkDir: workDir}
	defer cn.Close()
	var warnings []string
	out, err := Apply(context.Background(), Options{
		Config: e.cfg, Plan: p, State: e.st, StatePath: filepath.Join(workDir, "state.json"),
		WorkDir: workDir, Cache: e.cache, Connector: cn,
		Events: func(ev progress.Event) {
			if ev.Type == progress.EventWarning {
				warnings = append(warnings, ev.Message)
			}
		},
	})
	return out, warnings, err
}

func TestApplySubmitsAndRecords(t *testing.T) {
	e := newEnv(t)
	p := e.plan()
	out, err := e.apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if out.Submitted != 1 || out.Cached != 1 || len(e.fake.Submitted) != 1 {
		t.Fatalf("outcome = %+v, submitted = %d", out, len(e.fake.Submitted))
	}
	job := p.Jobs[0]
	rec := e.st.Operations["op"]
	if rec.JobID != job.SubmissionID || rec.InputDigest != job.InputDigest || rec.Inputs["env TOKEN"] != "(sensitive)" {
		t.Errorf("state record = %+v", rec)
	}
	body := e.fake.Submitted[0]
	rt := body["runtime_env"].(map[string]any)
	vars := rt["env_vars"].(map[string]any)
	if vars["TOKEN"] != secret || vars["PLAIN"] != "visible" || vars["OMP_NUM_THREADS"] != "1" {
		t.Errorf("env_vars sent = %v", vars)
	}
	pip := rt["pip"].(map[string]any)["packages"].([]any)
	if len(pip) != 1 || !strings.HasPrefix(pip[0].(string), "${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/wheels/") {
		t.Errorf("pip = %v", pip)
	}

	// The secret is in the request only: not in the uploaded package, the
	// staged directory, or the state file.
	for name, zipped := range e.fake.Packages {
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("secret uploaded in %s:%s", name, f.Name)
			}
		}
	}
	filepath.Walk(e.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || filepath.Base(p) == "ado.hcl" {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
			t.Errorf("secret written to %s", p)
		}
		return nil
	})

	// The uploaded context has the SQLite path made absolute, and its
	// directory exists.
	staged := uploadedFile(t, e, "c.yaml")
	want := filepath.Join(e.dir, "results/p.db")
	if !strings.Contains(string(staged), want) {
		t.Errorf("staged context = %s, want path %s", staged, want)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "results")); err != nil {
		t.Errorf("SQLite directory not created: %v", err)
	}

	// Nothing changed: the next plan submits nothing.
	if p2 := e.plan(); p2.HasChanges() {
		t.Errorf("second plan has changes: %+v", p2.Jobs)
	}
}

// uploadedFile returns a file of the one package uploaded to the fake.
func uploadedFile(t *testing.T, e *env, name string) []byte {
	t.Helper()
	if len(e.fake.Packages) != 1 {
		t.Fatalf("%d packages uploaded", len(e.fake.Packages))
	}
	for _, zipped := range e.fake.Packages {
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name == name {
				rc, _ := f.Open()
				defer rc.Close()
				b, _ := io.ReadAll(rc)
				return b
			}
		}
	}
	t.Fatalf("%s not in the uploaded package", name)
	return nil
}

func TestApplyDuplicateIDIsAlreadySubmitted(t *testing.T) {
	e := newEnv(t)
	e.fake.SubmitErr = "Job with submission_id x already exists. Please use a different submission_id."
	p := e.plan()
	out, err := e.apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if out.AlreadySubmitted != 1 || out.Submitted != 0 {
		t.Fatalf("outcome = %+v", out)
	}
	if e.st.Operations["op"].JobID != p.Jobs[0].SubmissionID {
		t.Errorf("an already-known job is recorded too: %+v", e.st.Operations["op"])
	}
}

func TestApplySubmitFailureRecordsNothing(t *testing.T) {
	e := newEnv(t)
	e.fake.SubmitErr = "internal error"
	out, err := e.apply(e.plan())
	if err == nil || out.Fail != 1 {
		t.Fatalf("err = %v, outcome = %+v", err, out)
	}
	if _, ok := e.st.Operations["op"]; ok {
		t.Error("a failed submission was recorded as submitted")
	}
}

func TestApplySkipsJobWhoseWheelFailed(t *testing.T) {
	e := newEnv(t)
	p := e.plan()
	// A wheel that must be built but cannot be (no Python project backend
	// reachable): point the build at a missing interpreter.
	e.cfg.Build.Python = filepath.Join(e.dir, "no-such-python")
	p.Wheels[0].Action = planner.ActionBuild
	os.RemoveAll(e.cache.Dir(p.Wheels[0].Fingerprint))
	out, err := e.apply(p)
	if err == nil || len(e.fake.Submitted) != 0 {
		t.Fatalf("err = %v, submitted = %d", err, len(e.fake.Submitted))
	}
	if out.Jobs[0].Err == nil || !strings.Contains(out.Jobs[0].Err.Error(), "wheel plug failed to build") {
		t.Errorf("job error = %v", out.Jobs[0].Err)
	}
}
