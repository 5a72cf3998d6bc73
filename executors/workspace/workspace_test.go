package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/internal/fakeray"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testwait"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// deadline bounds every wait for something the code under test does.
const deadline = 30 * time.Second

// project is a workspace whose one operation builds no wheel (so no
// Python runs) and submits to a fake Jobs API.
type project struct {
	t    *testing.T
	dir  string
	fake *fakeray.Server
	mu   sync.Mutex
	seen []progress.Event
}

func newProject(t *testing.T, onChange string) *project {
	t.Helper()
	fake := fakeray.Start()
	t.Cleanup(fake.Close)
	dir := testfiles.Write(t, map[string]string{
		"ado.hcl": `
cluster "dev" {
  address     = "` + fake.URL + `"
  shared_disk = true # the fake Ray head runs on this machine
}
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  on_change = "` + onChange + `"
}`,
		"c.yaml": "project: p\nmetadataStore:\n  scheme: sqlite\n  path: results/p.db\n",
		"o.yaml": "spaces: [s1]\n",
	})
	return &project{t: t, dir: dir, fake: fake}
}

func (p *project) config() *manifest.Config {
	p.t.Helper()
	cfg, diags := manifest.NewParser().Load(filepath.Join(p.dir, "ado.hcl"), manifest.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		p.t.Fatal(diags)
	}
	return cfg
}

func (p *project) open(lock bool) *Project {
	return New(p.config(), Options{Lock: lock, Command: "test", Events: p.event})
}

func (p *project) event(e progress.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, e)
}

// saw reports whether an event of type typ mentioning text was emitted.
func (p *project) saw(typ, text string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.seen {
		if e.Type == typ && strings.Contains(e.Message+e.Error, text) {
			return true
		}
	}
	return false
}

// holdLock takes the state lock the way another adopipe would.
func (p *project) holdLock() (release func()) {
	p.t.Helper()
	unlock, err := state.Lock(context.Background(), filepath.Join(p.dir, state.DefaultPath), deadline, "another adopipe")
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { unlock() })
	return func() { unlock() }
}

// record returns the operation's record in the state on disk.
func (p *project) record() state.OperationState {
	st, err := state.Load(filepath.Join(p.dir, state.DefaultPath))
	if err != nil {
		p.t.Fatal(err)
	}
	return st.Operations["op"]
}

func (p *project) submitted() int {
	p.fake.Lock()
	defer p.fake.Unlock()
	return len(p.fake.Submitted)
}

func (p *project) stopped() []string {
	p.fake.Lock()
	defer p.fake.Unlock()
	return append([]string(nil), p.fake.Stopped...)
}

// openAndPlan opens a locked session and plans it with o, as adopipe plan
// and apply do; the caller closes the session.
func (p *project) openAndPlan(o PlanOptions) (*Project, *Session, *planner.Plan) {
	p.t.Helper()
	ws := p.open(true)
	s, err := ws.Open(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	plan, err := s.Plan(context.Background(), ws.NewPlanner(), o)
	if err != nil {
		s.Close()
		p.t.Fatalf("plan: %v", err)
	}
	return ws, s, plan
}

// apply submits the operation's job once, as adopipe apply does.
func (p *project) apply() string {
	p.t.Helper()
	ws, s, plan := p.openAndPlan(PlanOptions{})
	defer s.Close()
	cn := ws.Connector(true)
	defer cn.Close()
	if _, err := pipeline.Apply(context.Background(), s.Pipeline(plan, 1, cn)); err != nil {
		p.t.Fatal(err)
	}
	return s.State.Operations["op"].JobID
}

// The lock policy: writers lock for their run unless --lock=false;
// readers never wait for the lock and record a status only when they
// can take it, or always with --lock=false.
func TestLockPolicy(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	id := p.apply()
	ctx := context.Background()
	release := p.holdLock()

	if _, err := p.open(true).Open(ctx); !errors.As(err, new(*state.LockedError)) {
		t.Fatalf("a writer ran beside the lock holder: %v", err)
	}
	s, err := p.open(false).Open(ctx)
	if err != nil {
		t.Fatalf("--lock=false still waits for the lock: %v", err)
	}
	s.Close()

	r, err := p.open(true).Read()
	if err != nil {
		t.Fatalf("a reader waits for the lock: %v", err)
	}
	if err := r.RecordStatus(ctx, "op", id, "RUNNING"); err != nil {
		t.Fatal(err)
	}
	if got := p.record().Status; got != "PENDING" {
		t.Errorf("a reader wrote the state beside its lock holder: status %s", got)
	}
	r, _ = p.open(false).Read()
	if err := r.RecordStatus(ctx, "op", id, "RUNNING"); err != nil {
		t.Fatal(err)
	}
	if got := p.record().Status; got != "RUNNING" {
		t.Errorf("with --lock=false the status was not recorded: %s", got)
	}

	release()
	r, _ = p.open(true).Read()
	if err := r.RecordStatus(ctx, "op", id, "SUCCEEDED"); err != nil {
		t.Fatal(err)
	}
	if got := p.record().Status; got != "SUCCEEDED" {
		t.Errorf("a reader did not record the status with the lock free: %s", got)
	}
	// A status for a job the state no longer records changes nothing.
	if err := r.RecordStatus(ctx, "op", "another-job", "FAILED"); err != nil || p.record().Status != "SUCCEEDED" {
		t.Errorf("a stale job's status was recorded: %v, %s", err, p.record().Status)
	}
}

// watching runs Watch until the test ends and collects its reports.
type watching struct {
	mu      sync.Mutex
	reports []WatchEvent
	stop    func()
}

func (p *project) watch(ws *Project) *watching {
	p.t.Helper()
	w := &watching{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ws.Watch(ctx, WatchOptions{
			Debounce: 50 * time.Millisecond, MaxWait: time.Second, Parallelism: 1,
			Reload: func() (*manifest.Config, bool) { return p.config(), true },
			Report: func(e WatchEvent) {
				w.mu.Lock()
				w.reports = append(w.reports, e)
				w.mu.Unlock()
			},
		})
	}()
	w.stop = func() {
		cancel()
		if err := <-done; err != nil {
			p.t.Errorf("watch: %v", err)
		}
	}
	p.t.Cleanup(func() {
		if ctx.Err() == nil {
			w.stop()
		}
	})
	return w
}

// count returns how many reports of kind k came, with their last.
func (w *watching) count(k WatchKind) (int, WatchEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, last := 0, WatchEvent{}
	for _, e := range w.reports {
		if e.Kind == k {
			n, last = n+1, e
		}
	}
	return n, last
}

func (p *project) edit() {
	if err := os.WriteFile(filepath.Join(p.dir, "o.yaml"), []byte("spaces: [s2]\n"), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// Watch keeps the state true: every status its job goes through is
// recorded, also one reached while another adopipe held the lock.
func TestWatchRecordsItsJobsStatuses(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	p.fake.SetStatus("", "RUNNING")
	w := p.watch(p.open(true))
	testwait.For(t, deadline, "the first job", func() bool { n, _ := w.count(WatchApplied); return n == 1 })
	testwait.For(t, deadline, "RUNNING in the state", func() bool { return p.record().Status == "RUNNING" })
	id := p.record().JobID

	release := p.holdLock()
	p.fake.SetStatus(id, "SUCCEEDED")
	release()
	testwait.For(t, deadline, "SUCCEEDED in the state", func() bool { return p.record().Status == "SUCCEEDED" })
	testwait.For(t, deadline, "the end reported", func() bool { n, e := w.count(WatchJobEnded); return n == 1 && e.Status == "SUCCEEDED" })
	w.stop()
}

// With --lock=false a watch cycle runs beside another lock holder; with
// the lock it reports the holder.
func TestWatchHonoursLockFalse(t *testing.T) {
	for _, lock := range []bool{true, false} {
		p := newProject(t, manifest.OnChangeRestart)
		p.holdLock()
		w := p.watch(p.open(lock))
		if lock {
			testwait.For(t, deadline, "the cycle to fail", func() bool { _, e := w.count(WatchFailed); return e.Err != nil })
			if _, e := w.count(WatchFailed); !errors.As(e.Err, new(*state.LockedError)) || p.submitted() != 0 {
				t.Errorf("with the lock held elsewhere: %v, %d submitted", e.Err, p.submitted())
			}
		} else {
			testwait.For(t, deadline, "the job", func() bool { n, _ := w.count(WatchApplied); return n == 1 })
			if p.submitted() != 1 || p.record().JobID == "" {
				t.Errorf("--lock=false: %d submitted, state %+v", p.submitted(), p.record())
			}
		}
		w.stop()
	}
}

// on_change, for a job still running when its inputs change.
func TestWatchOnChange(t *testing.T) {
	cases := []struct {
		policy string
		check  func(t *testing.T, p *project, w *watching, first string)
	}{
		{manifest.OnChangeRestart, func(t *testing.T, p *project, w *watching, first string) {
			testwait.For(t, deadline, "the second job", func() bool { return p.submitted() == 2 })
			if got := p.stopped(); len(got) != 1 || got[0] != first {
				t.Errorf("stopped %v, want the first job %s", got, first)
			}
		}},
		{manifest.OnChangeQueue, func(t *testing.T, p *project, w *watching, first string) {
			testwait.For(t, deadline, "watch to wait", func() bool { return p.saw(progress.EventOnChange, "waiting for "+first+" to end") })
			if n := p.submitted(); n != 1 {
				t.Fatalf("submitted %d jobs while the first still runs", n)
			}
			p.fake.SetStatus(first, "SUCCEEDED")
			testwait.For(t, deadline, "the second job", func() bool { return p.submitted() == 2 })
			if got := p.stopped(); len(got) != 0 {
				t.Errorf("queue stopped %v", got)
			}
		}},
		{manifest.OnChangeParallel, func(t *testing.T, p *project, w *watching, first string) {
			testwait.For(t, deadline, "the second job", func() bool { return p.submitted() == 2 })
			if got := p.stopped(); len(got) != 0 {
				t.Errorf("parallel stopped %v", got)
			}
		}},
		{manifest.OnChangeIgnore, func(t *testing.T, p *project, w *watching, first string) {
			testwait.For(t, deadline, "the change planned", func() bool { _, e := w.count(WatchPlanned); return e.Changed != nil })
			if _, e := w.count(WatchPlanned); len(e.Plan.Jobs) != 0 || p.submitted() != 1 {
				t.Errorf("ignore resubmitted: plan %+v, %d submitted", e.Plan.Jobs, p.submitted())
			}
			if !p.saw(progress.EventOnChange, `not resubmitted (on_change = "ignore")`) {
				t.Error("watch did not say why it left the operation alone")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.policy, func(t *testing.T) {
			p := newProject(t, c.policy)
			p.fake.SetStatus("", "RUNNING")
			w := p.watch(p.open(true))
			testwait.For(t, deadline, "the first job", func() bool { n, _ := w.count(WatchApplied); return n == 1 })
			first := p.record().JobID
			p.edit()
			c.check(t, p, w, first)
			w.stop()
		})
	}
}

// A session holding the lock clears what interrupted builds left in the
// wheel cache; one without the lock leaves it, another adopipe may be
// building.
func TestOpenCleansTheWheelCache(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	ws := p.open(false)
	leftover := filepath.Join(ws.Cache.Root, ".wheelbuild-123")
	if err := os.MkdirAll(leftover, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := ws.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("--lock=false cleaned the cache: %v", err)
	}
	s, err = p.open(true).Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("%s is still there: %v", leftover, err)
	}
}
