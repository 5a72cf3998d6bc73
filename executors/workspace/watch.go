package workspace

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/watch"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// WatchOptions say what to watch and how to apply.
type WatchOptions struct {
	// Operations selects operations by name; empty means all.
	Operations []string
	// VarFiles are the variable files the manifest was loaded with.
	VarFiles          []string
	Debounce, MaxWait time.Duration
	// Poll re-plans on a timer instead of file notifications.
	Poll        bool
	Parallelism int
	// Logs, when set, receives the logs of each submitted job.
	Logs func(operation string) io.Writer
	// Reload re-reads the manifest after a change; false keeps the last
	// good one (Reload reports why).
	Reload func() (*manifest.Config, bool)
	// Report receives what watch does, beside the pipeline's events.
	Report func(WatchEvent)
}

// WatchEvent is one step of a watch.
type WatchEvent struct {
	Kind WatchKind
	// Trees and Files count what is watched (WatchStarted).
	Trees, Files int
	// Changed lists the paths that started the cycle (nil for the first),
	// relative to the manifest's directory.
	Changed []string
	Plan    *planner.Plan     // WatchPlanned
	Outcome *pipeline.Outcome // WatchApplied
	// Err is why a cycle failed (WatchFailed) or what an apply's failed
	// steps were (WatchApplied).
	Err error
	// Operation, JobID and Status say how a submitted job ended (WatchJobEnded).
	Operation, JobID string
	Status           rayjobs.Status
	Note             string // WatchNote: from the file watcher
}

// WatchKind says what a WatchEvent reports.
type WatchKind int

// Kinds of watch events.
const (
	WatchStarted   WatchKind = iota // watching Trees and Files
	WatchRestarted                  // a change cancelled the running cycle
	WatchPlanned                    // a cycle planned Plan for Changed
	WatchApplied                    // a cycle applied: Outcome, Err
	WatchFailed                     // a cycle failed before applying: Err
	WatchJobEnded                   // a submitted job ended
	WatchNote                       // the file watcher says Note
)

// watcher is the state of one Watch.
type watcher struct {
	p       *Project
	o       WatchOptions
	planner *planner.Planner // kept across cycles: its stat cache stays warm
	cn      *pipeline.Connector

	followers sync.WaitGroup
	mu        sync.Mutex
	tracks    map[string]context.CancelFunc // operation -> its newest job's follower
	cycling   bool                          // a cycle holds the state
	pending   map[string]jobStatus          // statuses not recorded yet, by operation
}

type jobStatus struct{ jobID, status string }

// Watch applies once, then re-applies on every settled change to the
// inputs of the selected operations, until ctx ends. Each cycle holds the
// state lock (per the lock policy) only while it runs, so status and stop
// work in between; a change during a cycle cancels it and starts another
// with the newest sources. The jobs it submits are followed to their end
// and their statuses recorded.
func (p *Project) Watch(ctx context.Context, o WatchOptions) error {
	w := &watcher{p: p, o: o, planner: p.NewPlanner(), cn: p.Connector(true),
		tracks: map[string]context.CancelFunc{}, pending: map[string]jobStatus{}}
	defer w.cn.Close()
	trees, files := w.inputs()
	fsw, err := watch.New(watch.Options{Trees: trees, Files: files, Debounce: o.Debounce, MaxWait: o.MaxWait, Poll: o.Poll})
	if err != nil {
		return err
	}
	defer fsw.Close()

	var (
		running     chan struct{}
		cancelCycle context.CancelFunc
		changed     []string
	)
	start := func(paths []string) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		running, cancelCycle = done, cancel
		go func() {
			defer close(done)
			w.cycle(cctx, paths)
		}()
	}
	start(nil)
	w.report(WatchEvent{Kind: WatchStarted, Trees: len(trees), Files: len(files)})
	for {
		select {
		case <-ctx.Done():
			if running != nil {
				<-running
			}
			w.stopTracks()
			w.followers.Wait()
			w.mu.Lock()
			defer w.mu.Unlock()
			if err := w.flushLocked(context.WithoutCancel(ctx)); err != nil {
				w.p.warn("recording the jobs' statuses: %v", err)
			}
			return nil
		case note := <-fsw.Notes():
			w.report(WatchEvent{Kind: WatchNote, Note: note})
		case b, ok := <-fsw.Batches():
			if !ok {
				return errors.New("the file watcher stopped")
			}
			changed = append(changed, b.Paths...)
			if running != nil {
				select {
				case <-running:
				default:
					w.report(WatchEvent{Kind: WatchRestarted})
					cancelCycle()
					<-running
				}
			}
			if cfg, ok := o.Reload(); ok {
				p.Config = cfg
				trees, files = w.inputs()
				fsw.Reset(trees, files)
			}
			start(changedPaths(p.Config.Dir, changed))
			changed = nil
		}
	}
}

func (w *watcher) report(e WatchEvent) {
	if w.o.Report != nil {
		w.o.Report(e)
	}
}

// inputs converts what the planner says plans are built from.
func (w *watcher) inputs() ([]watch.Tree, []string) {
	sources, files := planner.WatchPaths(w.p.Config, w.o.Operations, w.o.VarFiles)
	trees := make([]watch.Tree, len(sources))
	for i, src := range sources {
		trees[i] = watch.Tree{Dir: src.Dir, Exclude: src.Exclude}
	}
	return trees, files
}

// cycle plans and, when something changed, applies. The first cycle
// (changed nil) is a plain apply; later ones apply each operation's
// on_change.
func (w *watcher) cycle(ctx context.Context, changed []string) {
	// Mark the cycle first: from then on no status is written between
	// cycles, so watch's own brief lock cannot make Open fail.
	w.mu.Lock()
	w.cycling = true
	w.mu.Unlock()
	s, err := w.p.Open(ctx)
	if err != nil {
		w.endCycle(ctx, nil)
		w.report(WatchEvent{Kind: WatchFailed, Err: err})
		return
	}
	defer w.endCycle(ctx, s)
	plan, err := s.Plan(ctx, w.planner, PlanOptions{Operations: w.o.Operations, Connector: w.cn})
	if err != nil {
		if ctx.Err() == nil {
			w.report(WatchEvent{Kind: WatchFailed, Err: err})
		}
		return
	}
	if changed != nil {
		plan = dropIgnored(w.p.Config, plan, w.p.emit)
	}
	w.report(WatchEvent{Kind: WatchPlanned, Changed: changed, Plan: plan})
	if !plan.HasChanges() {
		return // a save that kept the content: nothing to do
	}
	opts := s.Pipeline(plan, w.o.Parallelism, w.cn)
	opts.BeforeSubmit = func(ctx context.Context, job planner.JobStep, conn *pipeline.Connection) error {
		return applyOnChange(ctx, w.p.Config.Operations[job.Operation].OnChange, job, conn.Client, w.p.emit)
	}
	outcome, err := pipeline.Apply(ctx, opts)
	if ctx.Err() != nil {
		return // superseded by a newer change, or Ctrl-C
	}
	for _, j := range outcome.Jobs {
		if j.Submitted {
			w.track(j)
		}
	}
	w.report(WatchEvent{Kind: WatchApplied, Outcome: outcome, Err: err})
}

// endCycle records the statuses learnt during the cycle into its state
// (s nil: the cycle could not open it) and releases it; holding mu
// throughout leaves no moment where a status would be written beside the
// cycle.
func (w *watcher) endCycle(ctx context.Context, s *Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cycling = false
	if s == nil { // the cycle could not open the state
		return
	}
	for op, js := range w.pending {
		if err := s.RecordStatus(ctx, op, js.jobID, js.status); err != nil {
			w.p.warn("job %s: could not record its status %s: %v", js.jobID, js.status, err)
		}
		delete(w.pending, op)
	}
	if err := s.Close(); err != nil {
		w.p.warn("releasing the state lock: %v", err)
	}
}

// record keeps a job's status: at once between cycles (errBusy while
// another adopipe holds the state), or at the end of the running cycle.
func (w *watcher) record(ctx context.Context, op, jobID, status string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[op] = jobStatus{jobID, status}
	if w.cycling {
		return nil
	}
	return w.flushLocked(ctx)
}

// flushLocked records the pending statuses between cycles; those the lock
// of another adopipe keeps out stay pending for the next try, and the
// error says so with errBusy. Called with mu held.
func (w *watcher) flushLocked(ctx context.Context) error {
	var errs []error
	for op, js := range w.pending {
		err := w.p.recordBriefly(ctx, op, js.jobID, js.status)
		if !errors.Is(err, errBusy) {
			delete(w.pending, op)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// track follows a newly submitted job until it ends or a newer job of the
// same operation replaces it, streaming its logs when asked.
func (w *watcher) track(j pipeline.JobOutcome) {
	w.mu.Lock()
	if cancel, ok := w.tracks[j.Operation]; ok {
		cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.tracks[j.Operation] = cancel
	w.mu.Unlock()
	var logs io.Writer
	if w.o.Logs != nil {
		logs = w.o.Logs(j.Operation)
	}
	w.followers.Go(func() {
		info, err := w.p.followJob(ctx, j.Client(), j.Operation, j.JobID, logs, func(status string) error {
			return w.record(ctx, j.Operation, j.JobID, status)
		})
		if err == nil {
			w.report(WatchEvent{Kind: WatchJobEnded, Operation: j.Operation, JobID: j.JobID, Status: info.Status})
		}
	})
}

func (w *watcher) stopTracks() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, cancel := range w.tracks {
		cancel()
	}
}

// changedPaths names what changed relative to dir. Editors and sed write
// short-lived temporary files beside the real one, so it keeps only the
// paths that still exist, unless none does (a deletion).
func changedPaths(dir string, paths []string) []string {
	var existing []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	if len(existing) > 0 {
		paths = existing
	}
	rels := make([]string, len(paths))
	for i, p := range paths {
		rels[i] = p
		if r, err := filepath.Rel(dir, p); err == nil {
			rels[i] = r
		}
	}
	return rels
}
