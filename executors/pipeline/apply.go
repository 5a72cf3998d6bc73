package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/stage"
	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// Options is what Apply needs. The caller holds the state lock.
type Options struct {
	Config    *manifest.Config
	Plan      *planner.Plan
	State     *state.State
	StatePath string
	WorkDir   string
	Cache     *wheelcache.Cache
	// Parallelism bounds concurrent builds; 0 means wheelbuild.DefaultParallelism.
	Parallelism int
	Connector   *Connector
	// Events receives progress; it may be called from several goroutines
	// but never concurrently.
	Events progress.Func
	// KeepStaged keeps each staged job directory after its upload (it is
	// removed otherwise: it holds the context YAML and its secrets).
	KeepStaged bool
	// BeforeSubmit runs just before a job is submitted, with the cluster
	// connected; watch uses it to apply on_change to the previous job. An
	// error skips the submission.
	BeforeSubmit func(ctx context.Context, job planner.JobStep, conn *Connection) error
}

// Outcome says what an apply did.
type Outcome struct {
	Built, Synced, Cached             int
	Submitted, AlreadySubmitted, Fail int
	Jobs                              []JobOutcome
}

// JobOutcome is one operation's result.
type JobOutcome struct {
	Operation string
	Cluster   string
	JobID     string
	// Address is the dashboard the job was submitted to.
	Address string
	// Submitted is false when the job was already submitted for these
	// inputs (by an earlier apply, or found on the cluster by its id).
	Submitted bool
	Err       error
	conn      *Connection
}

// Summary is an outcome as apply --json reports it.
type Summary struct {
	Built            int          `json:"built"`
	Synced           int          `json:"synced"`
	Cached           int          `json:"cached"`
	Submitted        int          `json:"submitted"`
	AlreadySubmitted int          `json:"already_submitted"`
	Failed           int          `json:"failed"`
	Jobs             []JobSummary `json:"jobs"`
}

// JobSummary is one job of a Summary.
type JobSummary struct {
	Operation string `json:"operation"`
	JobID     string `json:"job_id"`
	Submitted bool   `json:"submitted"`
	Dashboard string `json:"dashboard"`
	Error     string `json:"error,omitempty"`
}

// SubmittedIDs are the ids of the jobs this apply submitted, in order.
func (o *Outcome) SubmittedIDs() []string {
	var ids []string
	for _, j := range o.Jobs {
		if j.Submitted {
			ids = append(ids, j.JobID)
		}
	}
	return ids
}

// Summary reports the outcome for apply --json.
func (o *Outcome) Summary() Summary {
	s := Summary{Built: o.Built, Synced: o.Synced, Cached: o.Cached, Submitted: o.Submitted, AlreadySubmitted: o.AlreadySubmitted, Failed: o.Fail, Jobs: []JobSummary{}}
	for _, j := range o.Jobs {
		js := JobSummary{Operation: j.Operation, JobID: j.JobID, Submitted: j.Submitted, Dashboard: j.DashboardURL()}
		if j.Err != nil {
			js.Error = j.Err.Error()
		}
		s.Jobs = append(s.Jobs, js)
	}
	return s
}

// DashboardURL links the job in Ray's dashboard.
func (j JobOutcome) DashboardURL() string {
	if j.Address == "" || j.JobID == "" {
		return ""
	}
	return j.Address + "/#/jobs/" + j.JobID
}

// Client is the Jobs client the job was submitted through.
func (j JobOutcome) Client() *rayjobs.Client {
	if j.conn == nil {
		return nil
	}
	return j.conn.Client
}

type runner struct {
	Options
	mu      sync.Mutex // guards State, Events and the outcome
	wheels  map[string]stage.Wheel
	failed  map[string]error  // wheel name -> build error
	reaches map[string]*reach // cluster name -> its connection attempt
	// builtRequires are the Requires-Dist of the wheels built by this
	// apply, by wheel name.
	builtRequires map[string][]string
	out           Outcome
}

func newRunner(opts Options) *runner {
	return &runner{Options: opts, wheels: map[string]stage.Wheel{}, failed: map[string]error{}, reaches: map[string]*reach{}, builtRequires: map[string][]string{}}
}

// Apply carries the plan out. The clusters are reached while the wheels
// build; when none can be, the builds stop. Independent operations go
// ahead when one fails; the returned error is non-nil when any step
// failed, and the Outcome says which.
func Apply(ctx context.Context, opts Options) (*Outcome, error) {
	r := newRunner(opts)
	buildCtx, cancelBuilds := context.WithCancelCause(ctx)
	defer cancelBuilds(nil)
	waitReached := r.reachClusters(ctx, cancelBuilds)
	r.buildWheels(buildCtx)
	for _, job := range r.Plan.Jobs {
		if ctx.Err() != nil {
			break
		}
		jo := r.runJob(ctx, job)
		r.mu.Lock()
		r.out.Jobs = append(r.out.Jobs, jo)
		r.mu.Unlock()
	}
	waitReached()
	// An interrupt shows up as one "interrupted", not as a failure of
	// every step it cut short; builds stopped because no cluster could be
	// reached are not failures either: the clusters' errors say why.
	interrupted := ctx.Err() != nil
	cut := func(err error) bool {
		return interrupted && errors.Is(err, ctx.Err()) || stoppedForClusters(buildCtx, err)
	}
	var errs []error
	for name, err := range r.failed {
		if !cut(err) {
			errs = append(errs, fmt.Errorf("wheel %s: %w", name, err))
			r.out.Fail++
		}
	}
	reported := map[error]bool{}
	for _, j := range r.out.Jobs {
		if j.Err == nil || cut(j.Err) {
			continue
		}
		r.out.Fail++
		if ce, ok := errors.AsType[*clusterError](j.Err); ok {
			if !reported[ce.err] {
				reported[ce.err] = true
				errs = append(errs, ce.err)
			}
			continue
		}
		errs = append(errs, fmt.Errorf("operation %s: %w", j.Operation, j.Err))
	}
	if interrupted {
		errs = append(errs, fmt.Errorf("interrupted: %w", ctx.Err()))
	}
	return &r.out, errors.Join(errs...)
}

// stoppedForClusters reports whether err is a build cut short because no
// cluster could be reached.
func stoppedForClusters(buildCtx context.Context, err error) bool {
	return errors.Is(context.Cause(buildCtx), errClustersUnreachable) && errors.Is(err, context.Canceled)
}

func (r *runner) emit(e progress.Event) {
	r.Events.Emit(e)
}

// save records the state, refusing if it would hold a sensitive value;
// called with r.mu held.
func (r *runner) save() error {
	return state.Save(r.StatePath, r.State, r.Config.SensitiveValues())
}

// buildWheels builds the wheels the plan marks, in parallel, and takes the
// others from the cache. Each finished wheel enters the cache and the state
// at once, so an interrupted apply keeps what it finished.
func (r *runner) buildWheels(ctx context.Context) {
	var reqs []wheelbuild.Request
	steps := map[string]planner.WheelStep{}
	for _, w := range r.Plan.Wheels {
		steps[w.Name] = w
		if w.Action == planner.ActionCached {
			if err := r.useCached(w); err == nil {
				continue
			}
			// A damaged cache entry is rebuilt, not fatal.
		}
		if w.Action == planner.ActionSync {
			err := r.syncWheel(w)
			if err == nil {
				continue
			}
			// The last wheel gone, a file edited since the plan: the
			// backend builds what the sources are now.
			r.mu.Lock()
			r.emit(progress.Warning("wheel %s: not synced (%v); building it", w.Name, err))
			r.mu.Unlock()
		}
		frontend, uv := wheelbuild.ResolveFrontend(r.Config.Build.Frontend, r.Config.Build.Python)
		reqs = append(reqs, wheelbuild.Request{
			Name:        w.Name,
			SourceDir:   w.SourceDir,
			Python:      r.Config.Build.Python,
			Frontend:    frontend,
			UV:          uv,
			NoIsolation: !r.Config.Build.Isolation,
			LogPath:     filepath.Join(r.WorkDir, "logs", "build-"+w.Name+".log"),
			OutDir:      r.Cache.Root,
			Timeout:     r.Config.Build.Timeout,
			Env:         reproducibleBuildEnv(),
		})
	}
	if len(reqs) == 0 {
		return
	}
	if err := os.MkdirAll(r.Cache.Root, 0o700); err != nil {
		for _, req := range reqs {
			r.failed[req.Name] = err
		}
		return
	}
	wheelbuild.BuildAll(ctx, reqs, r.Parallelism, func(e wheelbuild.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch e.Kind {
		case wheelbuild.EventStart:
			r.emit(progress.Event{Type: progress.EventBuildStart, Name: e.Name, LogPath: e.LogPath})
		case wheelbuild.EventFailed:
			r.failed[e.Name] = e.Err
			if stoppedForClusters(ctx, e.Err) {
				r.emit(progress.Event{Type: progress.EventBuildCancelled, Name: e.Name, Elapsed: e.Elapsed, LogPath: e.LogPath, Message: errClustersUnreachable.Error()})
				return
			}
			r.emit(progress.Event{Type: progress.EventBuildFailed, Name: e.Name, Elapsed: e.Elapsed, LogPath: e.LogPath, Error: e.Err.Error()})
		case wheelbuild.EventDone:
			if err := r.recordBuilt(steps[e.Name], e.Result); err != nil {
				r.failed[e.Name] = err
				r.emit(progress.Event{Type: progress.EventBuildFailed, Name: e.Name, Elapsed: e.Elapsed, Error: err.Error()})
				return
			}
			r.out.Built++
			r.emit(progress.Event{Type: progress.EventBuildDone, Name: e.Name, Wheel: e.Result.FileName, Elapsed: e.Elapsed, LogPath: e.LogPath})
		}
	})
}

// recordBuilt moves a fresh wheel into the cache and records it; called
// with r.mu held.
func (r *runner) recordBuilt(step planner.WheelStep, res wheelbuild.Result) error {
	defer res.Cleanup()
	path, sha, err := r.Cache.Put(step.Fingerprint, res.WheelPath)
	if err != nil {
		return fmt.Errorf("caching the wheel: %w", err)
	}
	r.wheels[step.Name] = stage.Wheel{Path: path, FileName: filepath.Base(path), SHA256: sha}
	if info, err := wheelbuild.InspectWheel(path); err == nil {
		r.builtRequires[step.Name] = info.RequiresDist
	}
	r.recordSyncMap(step, path)
	r.State.Plugins[step.Name] = state.PluginState{
		Fingerprint: step.Fingerprint,
		Wheel: state.WheelRecord{
			FileName:     filepath.Base(path),
			SHA256:       sha,
			Distribution: res.Distribution,
			Version:      res.Version,
			BuiltAt:      time.Now().UTC(),
		},
	}
	return r.save()
}

// useCached takes a verified wheel from the cache, recording it in the
// state when the state knew another fingerprint (a branch switched back).
func (r *runner) useCached(step planner.WheelStep) error {
	path, sha, ok, err := r.Cache.Get(step.Fingerprint)
	if !ok {
		if err == nil {
			err = fmt.Errorf("no cached wheel for fingerprint %s", step.Fingerprint[:12])
		}
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wheels[step.Name] = stage.Wheel{Path: path, FileName: filepath.Base(path), SHA256: sha}
	r.out.Cached++
	r.emit(progress.Event{Type: progress.EventCached, Name: step.Name, Wheel: filepath.Base(path)})
	if prev := r.State.Plugins[step.Name]; prev.Fingerprint != step.Fingerprint || prev.Wheel.SHA256 != sha {
		rec := state.WheelRecord{FileName: filepath.Base(path), SHA256: sha}
		if info, err := wheelbuild.InspectWheel(path); err == nil {
			rec.Distribution, rec.Version = info.Distribution, info.Version
		}
		r.State.Plugins[step.Name] = state.PluginState{Fingerprint: step.Fingerprint, Wheel: rec}
		return r.save()
	}
	return nil
}

// reproducibleBuildEnv pins the timestamps build backends write into
// wheels, unless the user chose their own: then rebuilding unchanged
// sources gives the same bytes, and Ray reuses the job environment it
// built for them.
func reproducibleBuildEnv() []string {
	if _, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		return nil
	}
	return []string{"SOURCE_DATE_EPOCH=315532800"} // 1980-01-01, the zip format's epoch
}
