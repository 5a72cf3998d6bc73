package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/manifest"
)

const testManifest = `
cluster "local" {
  local {}
}
plugin "alpha" { source = "alpha" }
plugin "beta"  { source = "beta" }
plugin "tune"  { pip = "ado-ray-tune==2.2.1" }
operation "op" {
  cluster   = cluster.local
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.alpha, plugin.beta, plugin.tune]
  env       = { TOKEN = sensitive("s3cr3t") }
}
operation "solo" {
  cluster   = cluster.local
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.beta]
}
`

type fixture struct {
	t     *testing.T
	dir   string
	cache map[string]string // fingerprint -> wheel file
	st    *state.State
}

func newFixture(t *testing.T) *fixture {
	dir := testfiles.Write(t, map[string]string{
		"ado.hcl":              testManifest,
		"c.yaml":               "project: p\nmetadataStore:\n  scheme: sqlite\n  path: /tmp/p.db\n",
		"o.yaml":               "spaces: [s]\n",
		"alpha/pyproject.toml": "[project]\nname='alpha'\n",
		"alpha/src/a.py":       "A = 1\n",
		"beta/pyproject.toml":  "[project]\nname='beta'\n",
		"beta/src/b.py":        "B = 1\n",
	})
	return &fixture{t: t, dir: dir, cache: map[string]string{}, st: state.New()}
}

func (f *fixture) plan(ops ...string) *Plan {
	f.t.Helper()
	return f.planWith(f.config(), ops)
}

// config loads the fixture's ado.hcl, as it is now.
func (f *fixture) config() *manifest.Config {
	f.t.Helper()
	cfg, diags := manifest.NewParser().Load(filepath.Join(f.dir, "ado.hcl"), manifest.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		f.t.Fatal(diags)
	}
	return cfg
}

// planner plans in the fixture's work directory with its wheel cache.
func (f *fixture) planner() *Planner {
	return New(filepath.Join(f.dir, ".adopipe"), func(fp string) (string, bool) {
		w, ok := f.cache[fp]
		return w, ok
	})
}

// planWith plans cfg's operations ops (all when none).
func (f *fixture) planWith(cfg *manifest.Config, ops []string) *Plan {
	f.t.Helper()
	p := f.planner()
	plan, err := p.Plan(context.Background(), Request{Config: cfg, State: f.st, Operations: ops})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := p.SaveCaches(); err != nil {
		f.t.Fatal(err)
	}
	return plan
}

// apply records the plan as done, as apply would: wheels built and cached,
// jobs submitted.
func (f *fixture) apply(p *Plan) {
	for _, w := range p.Wheels {
		f.cache[w.Fingerprint] = w.Name + ".whl"
		f.st.Plugins[w.Name] = state.PluginState{Fingerprint: w.Fingerprint, Wheel: state.WheelRecord{FileName: w.Name + ".whl"}}
	}
	for _, j := range p.Jobs {
		f.st.Operations[j.Operation] = state.OperationState{InputDigest: j.InputDigest, Inputs: j.Spec.Inputs(), JobID: j.SubmissionID}
	}
}

func (f *fixture) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func actions(p *Plan) string {
	var b strings.Builder
	for _, w := range p.Wheels {
		b.WriteString(w.Action.Symbol() + w.Name + " ")
	}
	for _, j := range p.Jobs {
		b.WriteString(j.Action.Symbol() + j.Operation + " ")
	}
	return strings.TrimSpace(b.String())
}

func TestPlanLifecycle(t *testing.T) {
	f := newFixture(t)
	p := f.plan()
	if got := actions(p); got != "+alpha +beta +op +solo" {
		t.Fatalf("first plan = %q", got)
	}
	if s := p.Summary(); s != (Summary{Build: 2, Submit: 2}) {
		t.Errorf("summary = %+v", s)
	}
	firstID := p.Jobs[0].SubmissionID
	if j := p.Jobs[0]; !strings.HasPrefix(j.SubmissionID, "adopipe-op-") || len(j.SubmissionID) != len("adopipe-op-")+12 || j.Reason != "never submitted" {
		t.Errorf("job step = %+v", j)
	}
	f.apply(p)

	p = f.plan()
	if got := actions(p); got != "=alpha =beta =op =solo" || p.HasChanges() {
		t.Fatalf("plan after apply = %q", got)
	}

	// Touching a file without changing it changes nothing.
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(f.dir, "alpha/src/a.py"), future, future)
	if got := actions(f.plan()); got != "=alpha =beta =op =solo" {
		t.Fatalf("plan after touch = %q", got)
	}

	// Editing one file of one plugin rebuilds exactly that plugin, names
	// the file, and resubmits only the operations using it.
	f.write("alpha/src/a.py", "A = 2\n")
	p = f.plan()
	if got := actions(p); got != "~alpha =beta +op =solo" {
		t.Fatalf("plan after edit = %q", got)
	}
	a, _ := p.Wheel("alpha")
	if a.Reason != "1 file changed: src/a.py" || len(a.Changed) != 1 {
		t.Errorf("rebuild reason = %q %v", a.Reason, a.Changed)
	}
	f.apply(p)
	if got := actions(f.plan()); got != "=alpha =beta =op =solo" {
		t.Fatalf("plan after second apply = %q", got)
	}

	// Reverting finds the earlier wheel in the cache: no build.
	f.write("alpha/src/a.py", "A = 1\n")
	p = f.plan()
	a, _ = p.Wheel("alpha")
	if a.Action != ActionCached || !strings.Contains(a.Reason, "in the cache") {
		t.Errorf("after revert alpha = %+v", a)
	}
	if p.Jobs[0].Action != ActionSubmit || !strings.Contains(p.Jobs[0].Reason, "inputs changed") {
		t.Errorf("after revert op = %+v", p.Jobs[0])
	}
	// Back to the first inputs: a new job id, or Ray would take it for the
	// first job, already run, and nothing would run the current code.
	if p.Jobs[0].SubmissionID == firstID {
		t.Errorf("reverted inputs reuse the first job id %s", firstID)
	}
	// Planning again without applying gives the same id: a retried apply
	// is recognised by Ray.
	if again := f.plan(); again.Jobs[0].SubmissionID != p.Jobs[0].SubmissionID {
		t.Errorf("the id is not stable across plans: %s then %s", p.Jobs[0].SubmissionID, again.Jobs[0].SubmissionID)
	}
}

func TestPlanSelectsOperations(t *testing.T) {
	f := newFixture(t)
	if got := actions(f.plan("solo")); got != "+beta +solo" {
		t.Fatalf("plan solo = %q", got)
	}
	cfg := f.config()
	_, err := New(t.TempDir(), nil).Plan(context.Background(), Request{Config: cfg, State: f.st, Operations: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), `no operation "nope"`) || !strings.Contains(err.Error(), "op, solo") {
		t.Fatalf("err = %v", err)
	}
}

func TestInputsChangeReasonsAndSecrets(t *testing.T) {
	f := newFixture(t)
	p := f.plan("op")
	f.apply(p)
	cfg := f.config()
	spec, err := BuildSpec(cfg, cfg.Operations["op"], map[string]string{"alpha": "a", "beta": "b"}, "")
	if err != nil {
		t.Fatal(err)
	}
	in := spec.Inputs()
	if in["env TOKEN"] != SensitiveMarker {
		t.Errorf("secret reached the inputs: %q", in["env TOKEN"])
	}
	for k, v := range in {
		if strings.Contains(v, "s3cr3t") || strings.Contains(k, "s3cr3t") {
			t.Errorf("secret in input %s", k)
		}
	}
	// With per-input digests in state, the reason names the changed input.
	st := f.st.Operations["op"]
	st.Inputs = map[string]string{}
	fps := map[string]string{}
	for _, w := range p.Wheels {
		fps[w.Name] = w.Fingerprint
	}
	spec, _ = BuildSpec(cfg, cfg.Operations["op"], fps, "")
	for k, v := range spec.Inputs() {
		st.Inputs[k] = v
	}
	f.st.Operations["op"] = st
	f.write("o.yaml", "spaces: [t]\n")
	p = f.plan("op")
	if got := p.Jobs[0].Reason; got != "inputs changed: file o.yaml" {
		t.Errorf("reason = %q", got)
	}
}

// A plugin checked out inside ado's source does not change ado's
// fingerprint: editing it rebuilds only the plugin.
func TestPluginInsideAdoSource(t *testing.T) {
	f := newFixture(t)
	f.write("ado.hcl", `
cluster "local" {
  local {}
}
ado { source = "." }
plugin "alpha" { source = "alpha" }
operation "op" {
  cluster   = cluster.local
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.alpha]
}
`)
	os.WriteFile(filepath.Join(f.dir, "pyproject.toml"), []byte("[project]\nname='ado-core'\n"), 0o644)
	f.apply(f.plan())
	f.write("alpha/src/a.py", "A = 3\n")
	if got := actions(f.plan()); got != "=ado ~alpha +op" {
		t.Fatalf("plan after plugin edit = %q", got)
	}
}

// Interrupted while fingerprinting, a plan returns the interruption and
// writes nothing: no state, no caches.
func TestPlanInterruptedWhileFingerprinting(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	workDir := filepath.Join(f.dir, ".adopipe")
	_, err := New(workDir, nil).Plan(ctx, Request{Config: cfg, State: f.st})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(workDir); !os.IsNotExist(err) {
		t.Errorf("an interrupted plan wrote %s", workDir)
	}
}

// A job recorded as submitted to a local head that is gone is planned
// again, with the reason, under a new id.
func TestPlanResubmitsJobLostWithItsHead(t *testing.T) {
	f := newFixture(t)
	p := f.plan("solo")
	f.apply(p)
	cfg := f.config()
	lost := map[string]JobRefresh{"solo": {Lost: true, Reason: "its local Ray head stopped"}}
	again, err := f.planner().
		Plan(context.Background(), Request{Config: cfg, State: f.st, Operations: []string{"solo"}, Refreshed: lost})
	if err != nil {
		t.Fatal(err)
	}
	j := again.Jobs[0]
	if j.Action != ActionSubmit || !strings.Contains(j.Reason, "its local Ray head stopped") || j.SubmissionID == p.Jobs[0].SubmissionID {
		t.Fatalf("job step = %+v", j)
	}
	if again.Wheels[0].Action != ActionCached {
		t.Errorf("the wheel is rebuilt: %+v", again.Wheels[0])
	}
}

// Await is asked once the sources are fingerprinted (the executors
// refresh meanwhile) and its answers are the plan's refresh.
func TestPlanAwaitsTheRefresh(t *testing.T) {
	f := newFixture(t)
	p := f.plan("solo")
	f.apply(p)
	cfg, _ := manifest.NewParser().Load(filepath.Join(f.dir, "ado.hcl"), manifest.LoadOptions{Environ: []string{}})
	calls := 0
	again, err := New(filepath.Join(f.dir, ".adopipe"), func(fp string) (string, bool) { w, ok := f.cache[fp]; return w, ok }).
		Plan(context.Background(), Request{Config: cfg, State: f.st, Operations: []string{"solo"},
			Await: func() (map[string]JobRefresh, map[string]string) {
				calls++
				return map[string]JobRefresh{"solo": {Lost: true, Reason: "its local Ray head stopped"}}, nil
			}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Await called %d times", calls)
	}
	if j := again.Jobs[0]; j.Action != ActionSubmit || !strings.Contains(j.Reason, "its local Ray head stopped") {
		t.Fatalf("job step = %+v", j)
	}
}

// A FAILED job with unchanged inputs is planned as submitted, showing its
// last status; --replace submits it again under a new, stable id.
func TestPlanReplace(t *testing.T) {
	f := newFixture(t)
	first := f.plan("solo")
	f.apply(first)
	rec := f.st.Operations["solo"]
	rec.Status = "FAILED"
	f.st.Operations["solo"] = rec
	j := f.plan("solo").Jobs[0]
	want := "already submitted as " + rec.JobID + ", last seen FAILED; --replace solo submits it again"
	if j.Action != ActionSubmitted || j.Reason != want || j.LastStatus != "FAILED" {
		t.Fatalf("job step = %+v\nwant reason %q", j, want)
	}

	cfg := f.config()
	replace := func(ops ...string) (*Plan, error) {
		return f.planner().
			Plan(context.Background(), Request{Config: cfg, State: f.st, Operations: ops, Replace: []string{"solo"}})
	}
	p, err := replace("solo")
	if err != nil {
		t.Fatal(err)
	}
	j = p.Jobs[0]
	if j.Action != ActionSubmit || !j.Replace || j.SubmissionID == rec.JobID || j.Reason != "replacing "+rec.JobID+", last seen FAILED, as asked" {
		t.Fatalf("replaced job step = %+v", j)
	}
	if again, _ := replace("solo"); again.Jobs[0].SubmissionID != j.SubmissionID {
		t.Errorf("a retried replace gets another id: %s then %s", j.SubmissionID, again.Jobs[0].SubmissionID)
	}
	if p.Wheels[0].Action != ActionCached {
		t.Errorf("replacing a job rebuilds its wheel: %+v", p.Wheels[0])
	}
	// Once the replacement is recorded, a plain plan has nothing to do.
	f.apply(p)
	if j := f.plan("solo").Jobs[0]; j.Action != ActionSubmitted || j.PreviousJobID != p.Jobs[0].SubmissionID {
		t.Errorf("after the replacement = %+v", j)
	}
	// Replacing an operation the plan does not cover is refused.
	if _, err := replace("op"); err == nil || !strings.Contains(err.Error(), `"solo" is not among the planned operations (op)`) {
		t.Errorf("err = %v", err)
	}
}

// TestFingerprintListingsStayBounded: .adopipe/fingerprints keeps only the
// listings a later plan can diff against (built per the state, or just
// computed), however often the sources change between builds.
func TestFingerprintListingsStayBounded(t *testing.T) {
	f := newFixture(t)
	p := f.plan()
	f.apply(p)
	built := map[string]bool{}
	for _, w := range p.Wheels {
		built[w.Fingerprint] = true
	}
	dir := FingerprintDir(filepath.Join(f.dir, ".adopipe"))
	stale := filepath.Join(dir, strings.Repeat("ab", 32)+".json.gz")
	if err := os.WriteFile(stale, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	var last *Plan
	for i := 2; i <= 6; i++ { // edits never built
		f.write("alpha/src/a.py", fmt.Sprintf("A = %d\n", i))
		last = f.plan()
	}
	want := map[string]bool{}
	for fp := range built {
		want[fp+".json.gz"] = true
	}
	for _, w := range last.Wheels {
		want[w.Fingerprint+".json.gz"] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
		if !want[e.Name()] {
			t.Errorf("%s kept: neither built nor current", e.Name())
		}
	}
	if len(got) != len(want) {
		t.Errorf("fingerprints/ holds %v, want the %d listings %v", got, len(want), want)
	}
	// The kept listing of the built fingerprint still names what changed.
	if w := last.Wheels[0]; w.Name != "alpha" || !strings.Contains(w.Reason, "src/a.py") {
		t.Errorf("alpha step = %+v; want its reason to name src/a.py", w)
	}
}

// What a refresh learnt wins over the state: the status seen on the
// cluster is shown, and a lost job with unchanged inputs is resubmitted;
// with changed inputs the change is the reason.
func TestPlanUsesTheRefresh(t *testing.T) {
	f := newFixture(t)
	f.apply(f.plan("solo"))
	rec := f.st.Operations["solo"]
	rec.Status = "RUNNING"
	f.st.Operations["solo"] = rec
	cfg := f.config()
	plan := func(r JobRefresh) JobStep {
		p, err := f.planner().
			Plan(context.Background(), Request{Config: cfg, State: f.st, Operations: []string{"solo"}, Refreshed: map[string]JobRefresh{"solo": r}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Jobs[0]
	}
	if j := plan(JobRefresh{Status: "STOPPED"}); j.Action != ActionSubmitted || j.LastStatus != "STOPPED" || !strings.HasSuffix(j.Reason, "last seen STOPPED; --replace solo submits it again") {
		t.Errorf("refreshed status = %+v", j)
	}
	if j := plan(JobRefresh{}); j.LastStatus != "RUNNING" || strings.Contains(j.Reason, "--replace") {
		t.Errorf("without a refresh = %+v", j)
	}
	if j := plan(JobRefresh{Lost: true, Reason: "cluster c no longer knows it"}); j.Action != ActionSubmit || j.Reason != "submitted before as "+rec.JobID+", but cluster c no longer knows it" {
		t.Errorf("lost = %+v", j)
	}
	f.write("o.yaml", "spaces: [changed]\n")
	if j := plan(JobRefresh{Lost: true, Reason: "cluster c no longer knows it"}); !strings.HasPrefix(j.Reason, "inputs changed") {
		t.Errorf("lost with changed inputs = %+v", j)
	}
}
