package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/watch"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
	"github.com/spf13/cobra"
)

type watchFlags struct {
	sf          stateFlags
	debounce    time.Duration
	maxWait     time.Duration
	follow      bool
	poll        bool
	parallelism int
}

func (a *app) watchCommand() *cobra.Command {
	var wf watchFlags
	cmd := &cobra.Command{
		Use:   "watch [OPERATION...]",
		Short: "Apply, then re-apply on every settled change to the inputs",
		Long: `Watch applies once, then watches every input (ado and plugin sources, the
manifest, the context and operation YAMLs and extra files) and re-plans when a
burst of changes settles. Paths fingerprints ignore (.git, dist/, build/,
editor swap files, .gitignore'd files, exclude patterns) never start a cycle,
and a save that keeps the content changes nothing. A change while wheels build
cancels and restarts the builds with the newest sources.

For a job still running when its inputs change, the operation's on_change
decides: "restart" stops it and submits the new job, "queue" submits the new
job after it ends, "ignore" leaves it running and submits the new job beside
it. Watch approves its own plans: it is meant for a development loop.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runWatch(cmd.Context(), args, wf)
		},
	}
	wf.sf.register(cmd)
	f := cmd.Flags()
	f.DurationVar(&wf.debounce, "debounce", 200*time.Millisecond, "apply once no change was seen for this long")
	f.DurationVar(&wf.maxWait, "max-wait", 10*time.Second, "apply at the latest this long after the first change of a burst")
	f.BoolVar(&wf.follow, "follow", false, "stream the logs of submitted jobs between cycles")
	f.BoolVar(&wf.poll, "poll", false, "re-plan every 2s instead of using file notifications (network file systems)")
	f.IntVar(&wf.parallelism, "parallelism", runtime.NumCPU(), "how many wheels to build at once")
	return cmd
}

// watcher is the state of one adopipe watch.
type watcher struct {
	a       *app
	wf      watchFlags
	ops     []string
	cfg     *manifest.Config // the last good manifest
	planner *planner.Planner // kept across cycles: its stat cache stays warm
	cn      *pipeline.Connector
	tails   map[string]context.CancelFunc // operation -> log follower
	mu      sync.Mutex
}

func (a *app) runWatch(parent context.Context, ops []string, wf watchFlags) error {
	ctx, stop := a.interruptible(parent)
	defer stop()
	cfg, p, diags := a.loadManifest()
	a.printDiags(diags, p.Files())
	if diags.HasErrors() {
		return exitCodeError{exitError}
	}
	workDir := filepath.Join(cfg.Dir, ".adopipe")
	w := &watcher{a: a, wf: wf, ops: ops, cfg: cfg, tails: map[string]context.CancelFunc{}}
	w.cn = &pipeline.Connector{WorkDir: workDir, RayBin: findRay(cfg.Build.Python), Log: func(f string, args ...any) { a.logLine(f, args...) }}
	defer w.cn.Close()
	w.planner = w.newPlanner()

	trees, files := w.inputs()
	fsw, err := watch.New(watch.Options{Trees: trees, Files: files, Debounce: wf.debounce, MaxWait: wf.maxWait, Poll: wf.poll})
	if err != nil {
		return err
	}
	defer fsw.Close()

	var (
		running     chan struct{}
		cancelCycle context.CancelFunc
		pending     []string
	)
	start := func(changed []string) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		running, cancelCycle = done, cancel
		go func() {
			defer close(done)
			w.cycle(cctx, changed)
		}()
	}
	start(nil)
	a.logLine("watching %d source trees and %d files; Ctrl-C to stop", len(trees), len(files))
	for {
		select {
		case <-ctx.Done():
			if running != nil {
				<-running
			}
			w.stopTails()
			fmt.Fprintln(a.stdout, "Stopped watching.")
			return nil
		case note := <-fsw.Notes():
			a.warn("%s", note)
		case b, ok := <-fsw.Batches():
			if !ok {
				return errors.New("the file watcher stopped")
			}
			pending = append(pending, b.Paths...)
			if running != nil {
				select {
				case <-running:
				default:
					a.logLine("change during a cycle: restarting it with the newest sources")
					cancelCycle()
					<-running
				}
			}
			if w.reload(pending) {
				trees, files = w.inputs()
				fsw.Reset(trees, files)
			}
			start(pending)
			pending = nil
		}
	}
}

func (w *watcher) newPlanner() *planner.Planner {
	workDir := filepath.Join(w.cfg.Dir, ".adopipe")
	return newPlanner(workDir, newCache(workDir))
}

// reload re-reads the manifest after it (or a file it names) changed. A
// broken manifest is reported and the last good one kept, so the next
// good edit is picked up.
func (w *watcher) reload(changed []string) bool {
	cfg, p, diags := w.a.loadManifest()
	if diags.HasErrors() {
		w.a.printDiags(diags, p.Files())
		w.a.logLine("manifest has errors: keeping the last good one until it is fixed")
		return false
	}
	w.cfg = cfg
	return true
}

// inputs lists what the planner says the selected operations' plans are
// built from.
func (w *watcher) inputs() ([]watch.Tree, []string) {
	var varFiles []string
	for _, vs := range w.a.global.varOrder {
		if vs.File != "" {
			varFiles = append(varFiles, vs.File)
		}
	}
	sources, files := planner.WatchPaths(w.cfg, w.ops, varFiles)
	trees := make([]watch.Tree, len(sources))
	for i, src := range sources {
		trees[i] = watch.Tree{Dir: src.Dir, Exclude: src.Exclude}
	}
	return trees, files
}

// cycle plans and, when something changed, applies, holding the state lock
// only for its own duration so status and stop work in between.
func (w *watcher) cycle(ctx context.Context, changed []string) {
	a := w.a
	sp := w.wf.sf.statePath
	if sp == "" {
		sp = filepath.Join(w.cfg.Dir, state.DefaultPath)
	}
	st, unlock, err := state.LoadLocked(ctx, sp, w.wf.sf.lockTimeout, "adopipe watch")
	if err != nil {
		a.printError(err)
		return
	}
	defer unlock()
	plan, err := w.planner.Plan(ctx, planner.Request{Config: w.cfg, State: st, Operations: w.ops, JobLost: localJobLost(filepath.Join(w.cfg.Dir, ".adopipe"))})
	if err != nil {
		if ctx.Err() == nil {
			a.printError(err)
		}
		return
	}
	_ = w.planner.SaveCaches()
	what := describeChanged(w.cfg.Dir, changed)
	if !plan.HasChanges() {
		if changed == nil {
			a.logLine("%s", planSummaryLine(plan))
		}
		return // a save that kept the content: nothing to do
	}
	a.logLine("%s%s", what, planSummaryLine(plan))
	outcome, err := pipeline.Apply(ctx, pipeline.Options{
		Config: w.cfg, Plan: plan, State: st, StatePath: sp,
		WorkDir: filepath.Join(w.cfg.Dir, ".adopipe"), Cache: newCache(filepath.Join(w.cfg.Dir, ".adopipe")),
		Parallelism: w.wf.parallelism, Connector: w.cn,
		Events:       w.event,
		BeforeSubmit: w.onChange(st),
	})
	if ctx.Err() != nil {
		return // superseded by a newer change, or Ctrl-C
	}
	var ids []string
	for _, j := range outcome.Jobs {
		if j.Submitted {
			ids = append(ids, j.JobID)
			if w.wf.follow {
				w.tail(j)
			}
		}
	}
	line := fmt.Sprintf("%d built, %d cached, %d submitted", outcome.Built, outcome.Cached, outcome.Submitted)
	if len(ids) > 0 {
		line += ": " + strings.Join(ids, ", ")
	}
	if outcome.Fail > 0 {
		line += fmt.Sprintf(", %d failed", outcome.Fail)
	}
	a.logLine("%s", line)
	if err != nil {
		a.printError(err)
	}
}

// event shows only failures between the compact cycle lines.
func (w *watcher) event(e pipeline.Event) {
	switch e.Type {
	case pipeline.EventBuildFailed, pipeline.EventSkipped:
		w.a.logLine("%s: %s", e.Name, e.Error)
	}
}

// onChange applies an operation's on_change to its previous job when that
// job is still running.
func (w *watcher) onChange(st *state.State) func(context.Context, planner.JobStep, *pipeline.Connection) error {
	return func(ctx context.Context, job planner.JobStep, conn *pipeline.Connection) error {
		prev := job.PreviousJobID
		if prev == "" {
			return nil
		}
		info, err := conn.Client.Job(ctx, prev)
		if err != nil || info.Status.IsTerminal() {
			return nil // gone or finished: nothing to decide
		}
		switch w.cfg.Operations[job.Operation].OnChange {
		case manifest.OnChangeRestart:
			w.a.logLine("%s: stopping %s (on_change = \"restart\")", job.Operation, prev)
			if _, err := conn.Client.Stop(ctx, prev); err != nil {
				return fmt.Errorf("stopping the previous job %s: %w", prev, err)
			}
			_, err := conn.Client.WaitTerminal(ctx, prev, time.Second)
			return err
		case manifest.OnChangeQueue:
			w.a.logLine("%s: waiting for %s to end (on_change = \"queue\")", job.Operation, prev)
			_, err := conn.Client.WaitTerminal(ctx, prev, time.Second)
			return err
		default:
			return nil
		}
	}
}

// tail follows a newly submitted job's logs until it ends or a newer job
// of the same operation replaces it.
func (w *watcher) tail(j pipeline.JobOutcome) {
	w.mu.Lock()
	if cancel, ok := w.tails[j.Operation]; ok {
		cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.tails[j.Operation] = cancel
	w.mu.Unlock()
	c := j.Client()
	go func() {
		var out io.Writer = &prefixWriter{w: w.a.stdout, prefix: j.Operation + " | ", mu: &w.a.outMu}
		_ = c.TailLogs(ctx, j.JobID, out)
		if info, err := c.Job(ctx, j.JobID); err == nil && info.Status.IsTerminal() {
			w.a.logLine("%s: job %s %s", j.Operation, j.JobID, info.Status)
		}
	}()
}

func (w *watcher) stopTails() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, cancel := range w.tails {
		cancel()
	}
}

func describeChanged(dir string, paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	// Editors and sed write short-lived temporary files beside the real
	// one; name only what still exists, unless nothing does (a deletion).
	var existing []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	if len(existing) > 0 {
		paths = existing
	}
	var rels []string
	for _, p := range paths {
		if r, err := filepath.Rel(dir, p); err == nil {
			p = r
		}
		rels = append(rels, p)
	}
	if len(rels) > 3 {
		rels = append(rels[:3], fmt.Sprintf("+%d", len(rels)-3))
	}
	return "changed " + strings.Join(rels, ", ") + "  →  "
}

func planSummaryLine(p *planner.Plan) string {
	s := p.Summary()
	if !p.HasChanges() {
		return fmt.Sprintf("no changes (%s cached, %s already submitted)", plural(s.Cached, "wheel"), plural(s.Submitted, "job"))
	}
	return fmt.Sprintf("plan: %s to build, %d cached, %s to submit", plural(s.Build, "wheel"), s.Cached, plural(s.Submit, "job"))
}
