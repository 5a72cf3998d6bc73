package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/adopipe/adopipe/internal/interrupt"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/termview"
	"github.com/adopipe/adopipe/manifest"
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

When an operation's inputs change, its on_change decides: "restart" (the
default) stops its running job, then submits the new one; "queue" submits the
new job once the running one ends; "parallel" submits it beside the running
one; "ignore" never resubmits (its wheels are still built). The jobs watch
submits are followed to their end and their statuses kept in the state.
Watch approves its own plans: it is meant for a development loop.`,
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
	f.IntVar(&wf.parallelism, "parallelism", wheelbuild.DefaultParallelism(), "how many wheels to build at once")
	return cmd
}

func (a *app) runWatch(parent context.Context, ops []string, wf watchFlags) error {
	ctx, stop := interrupt.Context(parent, a.stderr)
	defer stop()
	p, err := a.project(wf.sf, "adopipe watch", a.watchEvent)
	if err != nil {
		return err
	}
	o := workspace.WatchOptions{
		Operations: ops, VarFiles: a.global.varFiles,
		Debounce: wf.debounce, MaxWait: wf.maxWait, Poll: wf.poll, Parallelism: wf.parallelism,
		Reload: a.reloadManifest,
		Report: func(e workspace.WatchEvent) { a.watchReport(wf.follow, e) },
	}
	if wf.follow {
		o.Logs = func(op string) io.Writer {
			return &termview.PrefixWriter{W: a.stdout, Prefix: op + " | ", Mu: &a.outMu}
		}
	}
	if err := p.Watch(ctx, o); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "Stopped watching.")
	return nil
}

// reloadManifest re-reads the manifest after it (or a file it names)
// changed. A broken manifest is reported and the last good one kept, so
// the next good edit is picked up.
func (a *app) reloadManifest() (*manifest.Config, bool) {
	cfg, p, diags := a.loadManifest()
	if diags.HasErrors() {
		a.printDiags(diags, p.Files())
		a.logLine("manifest has errors: keeping the last good one until it is fixed")
		return nil, false
	}
	return cfg, true
}

// watchReport shows a watch as one timestamped line per step.
func (a *app) watchReport(follow bool, e workspace.WatchEvent) {
	switch e.Kind {
	case workspace.WatchStarted:
		a.logLine("watching %d source trees and %d files; Ctrl-C to stop", e.Trees, e.Files)
	case workspace.WatchNote:
		a.warn("%s", e.Note)
	case workspace.WatchRestarted:
		a.logLine("change during a cycle: restarting it with the newest sources")
	case workspace.WatchFailed:
		a.printError(e.Err)
	case workspace.WatchPlanned:
		// A cycle with nothing to do is shown only when no file started it.
		if e.Plan.HasChanges() || e.Changed == nil {
			a.planWarnings(e.Plan)
			a.logLine("%s%s", describeChanged(e.Changed), planSummary(e.Plan, false))
		}
	case workspace.WatchApplied:
		o := e.Outcome
		ids := o.SubmittedIDs()
		line := fmt.Sprintf("%d built, %s%d cached, %d submitted", o.Built, termview.When(o.Synced > 0, fmt.Sprintf("%d synced, ", o.Synced)), o.Cached, o.Submitted)
		if len(ids) > 0 {
			line += ": " + strings.Join(ids, ", ")
		}
		if o.Fail > 0 {
			line += fmt.Sprintf(", %d failed", o.Fail)
		}
		a.logLine("%s", line)
		if e.Err != nil {
			a.printError(e.Err)
		}
	case workspace.WatchJobEnded:
		if follow {
			a.logLine("%s: job %s %s", e.Operation, e.JobID, e.Status)
		}
	}
}

// watchEvent shows, between the cycle lines, only what needs attention:
// failures, clusters coming up, on_change decisions and warnings.
func (a *app) watchEvent(e progress.Event) {
	switch e.Type {
	case progress.EventBuildFailed, progress.EventSkipped:
		a.logLine("%s: %s", e.Name, e.Error)
	case progress.EventCluster:
		a.logLine("cluster %s: %s", e.Name, e.Message)
	case progress.EventOnChange:
		a.logLine("%s: %s", e.Name, e.Message)
	case progress.EventWarning:
		a.warn("%s", e.Message)
	}
}

// describeChanged names the first paths that started a cycle.
func describeChanged(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	if len(paths) > 3 {
		paths = append(paths[:3:3], fmt.Sprintf("+%d", len(paths)-3))
	}
	return "changed " + strings.Join(paths, ", ") + "  →  "
}
