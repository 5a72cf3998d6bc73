package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/termview"
	"github.com/adopipe/adopipe/planner"
)

// applyView shows an apply as plain lines or, with --json, as one JSON
// event per line.
type applyView struct {
	a      *app
	asJSON bool
	mu     sync.Mutex
	enc    *json.Encoder
	live   *termview.Live // on a terminal: builds drawn in place
}

func (a *app) newApplyView(asJSON bool) *applyView {
	v := &applyView{a: a, asJSON: asJSON, enc: json.NewEncoder(a.stdout)}
	if !asJSON && termview.IsTerminal(a.stdout) {
		v.live = termview.NewLive(a.stdout, &v.mu, "wheel ")
	}
	return v
}

// json writes one event line: payload's fields, its type and the time.
func (v *applyView) json(kind string, payload any) {
	var fields map[string]any
	b, _ := json.Marshal(payload) // events and plans always marshal
	_ = json.Unmarshal(b, &fields)
	v.mu.Lock()
	defer v.mu.Unlock()
	fields["type"] = kind
	fields["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	_ = v.enc.Encode(fields)
}

func (v *applyView) plan(p *planner.Plan) {
	if v.asJSON {
		v.json("plan", map[string]any{"plan": p})
		return
	}
	v.a.renderPlan(p)
}

func (v *applyView) event(e progress.Event) {
	if v.asJSON {
		v.json(e.Type, e)
		return
	}
	switch e.Type {
	case progress.EventWarning:
		v.a.warn("%s", e.Message)
		return
	case progress.EventClusterFailed:
		return // the apply's error says it, once
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	w := v.a.stdout
	secs := e.Elapsed.Seconds()
	if v.live != nil && v.live.ShowBuild(e) {
		return
	}
	switch e.Type {
	case progress.EventBuildStart:
		fmt.Fprintf(w, "wheel %s: building (log: %s)\n", e.Name, e.LogPath)
	case progress.EventBuildDone:
		fmt.Fprintf(w, "wheel %s: built %s in %.1fs\n", e.Name, e.Wheel, secs)
	case progress.EventBuildFailed:
		fmt.Fprintf(w, "wheel %s: FAILED after %.1fs: %s\n", e.Name, secs, e.Error)
	case progress.EventBuildCancelled:
		fmt.Fprintf(w, "wheel %s: cancelled: %s\n", e.Name, e.Message)
	case progress.EventCached, progress.EventSynced:
		fmt.Fprintf(w, "wheel %s: %s %s%s\n", e.Name, e.Type[len("wheel_"):], e.Wheel, termview.When(e.Message != "", " ("+e.Message+" replaced, no build)"))
	case progress.EventSkipped:
		fmt.Fprintf(w, "job %s: %s\n", e.Name, e.Error)
	case progress.EventSubmit:
		fmt.Fprintf(w, "job %s: %s as %s\n", e.Name, e.Message, e.JobID)
	case progress.EventJobStatus:
		fmt.Fprintf(w, "job %s: %s %s\n", e.Name, e.Status, e.Message)
	case progress.EventCluster:
		fmt.Fprintf(w, "cluster %s: %s\n", e.Name, e.Message)
	default:
		fmt.Fprintf(w, "job %s: %s\n", e.Name, e.Message)
	}
}

// done ends the live build lines, so later output goes below them.
func (v *applyView) done() {
	if v.live != nil {
		v.mu.Lock()
		v.live.Finish()
		v.mu.Unlock()
	}
}

func (v *applyView) outcome(o *pipeline.Outcome) {
	v.done()
	if v.asJSON {
		v.json("summary", o.Summary())
		return
	}
	w := v.a.stdout
	for _, j := range o.Jobs {
		if j.Err == nil && j.JobID != "" {
			fmt.Fprintf(w, "job %s: %s  %s\n", j.Operation, j.JobID, j.DashboardURL())
		}
	}
	fmt.Fprintf(w, "\nApply complete: %d built, %s%d cached, %d submitted, %d already submitted, %d failed.\n",
		o.Built, termview.When(o.Synced > 0, fmt.Sprintf("%d synced, ", o.Synced)), o.Cached, o.Submitted, o.AlreadySubmitted, o.Fail)
}
