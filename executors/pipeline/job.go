package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/stage"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// JobDir is where an operation's job directory is staged.
func JobDir(workDir, operation string) string { return filepath.Join(workDir, "jobs", operation) }

// StageSpec is the job directory of a job spec, given its wheels in
// install order and the context file to stage (see contextFile).
func StageSpec(spec planner.JobSpec, wheels []stage.Wheel, context, address string) stage.Spec {
	s := stage.Spec{
		Wheels:        wheels,
		Context:       context,
		ContextName:   spec.ContextFile().Dst,
		Operation:     spec.OperationFile().Src,
		OperationName: spec.OperationFile().Dst,
		Pip:           spec.PipRequirements(),
		Excludes:      spec.Excludes,
		AdoVersion:    spec.AdoVersion,
		// Secrets are markers in the spec, so they never reach the job
		// directory, the package Ray stores, or a log.
		Env:        spec.Env,
		Entrypoint: spec.Entrypoint,
		Address:    address,
		Installer:  spec.Installer(),
		Layout:     spec.Layout(),
		Config:     spec.RayConfig(),
	}
	for _, f := range spec.ExtraFiles() {
		s.Files = append(s.Files, stage.File{Src: f.Src, Dst: f.Dst})
	}
	return s
}

// submitRequest is the Jobs API request for a staged job uploaded as
// workingDir.
func submitRequest(cfg *manifest.Config, job planner.JobStep, staged stage.Result, workingDir string, pyModules []string) rayjobs.SubmitRequest {
	spec := job.Spec
	req := rayjobs.SubmitRequest{
		Entrypoint:   staged.Entrypoint,
		SubmissionID: job.SubmissionID,
		WorkingDir:   workingDir,
		PipPackages:  staged.RuntimeEnv.Packages,
		Installer:    staged.RuntimeEnv.Installer,
		PyModules:    pyModules,
		Config:       staged.RuntimeEnv.Config,
		// The real values, secrets included, travel only in this request;
		// the staged (and uploaded) directory holds markers.
		EnvVars: planner.SubmitEnv(cfg, spec),
		Metadata: map[string]string{
			"adopipe_operation":    job.Operation,
			"adopipe_input_digest": job.InputDigest,
		},
	}
	res := spec.Resources
	if res.NumCPUs > 0 {
		req.EntrypointNumCPUs = &res.NumCPUs
	}
	if res.NumGPUs > 0 {
		req.EntrypointNumGPUs = &res.NumGPUs
	}
	if res.Memory > 0 {
		m := int64(res.Memory)
		req.EntrypointMemory = &m
	}
	req.EntrypointResources = res.Custom
	req.EntrypointLabelSelector = res.LabelSelector
	if len(staged.RuntimeEnv.Excludes) > 0 {
		// Ray's client keeps excludes in the runtime_env it sends.
		req.RuntimeEnv = map[string]any{"excludes": staged.RuntimeEnv.Excludes}
	}
	return req
}

// runJob stages, uploads and submits one operation's job.
func (r *runner) runJob(ctx context.Context, job planner.JobStep) JobOutcome {
	op := r.Config.Operations[job.Operation]
	jo := JobOutcome{Operation: job.Operation, Cluster: job.Cluster, JobID: job.SubmissionID}
	if job.Action == planner.ActionSubmitted {
		// Nothing to do, and no reason to start a cluster for it.
		r.mu.Lock()
		jo.JobID, jo.Address = job.PreviousJobID, r.State.Operations[job.Operation].Address
		r.out.AlreadySubmitted++
		r.mu.Unlock()
		return jo
	}

	conn, err := r.connection(ctx, op.Cluster)
	if err != nil {
		jo.Err = err
		return jo
	}
	jo.conn, jo.Address = conn, conn.Client.Address()

	wheels, err := r.jobWheels(job.Spec.WheelNames())
	if err != nil {
		jo.Err = err
		r.emitLocked(progress.Event{Type: progress.EventSkipped, Name: job.Operation, Error: err.Error()})
		return jo
	}
	if len(job.Spec.Resources.LabelSelector) > 0 && !rayjobs.SupportsLabelSelector(conn.RayVersion) {
		jo.Err = fmt.Errorf("the cluster runs Ray %s; resources.label_selector (Ray's entrypoint_label_selector) needs Ray %s or later: remove it from operation %q", conn.RayVersion, rayjobs.LabelSelectorVersion, job.Operation)
		return jo
	}
	r.checkBuiltRay(job, conn)

	if r.BeforeSubmit != nil {
		if err := r.BeforeSubmit(ctx, job, conn); err != nil {
			jo.Err = err
			return jo
		}
	}
	staged, uri, pyModules, err := r.stageAndUpload(ctx, job, wheels, conn)
	if err != nil {
		jo.Err = err
		return jo
	}

	req := submitRequest(r.Config, job, staged, uri, pyModules)
	id, already, err := conn.Client.Submit(ctx, req)
	if err != nil {
		jo.Err = err
		return jo
	}
	jo.JobID, jo.Submitted = id, !already

	r.mu.Lock()
	defer r.mu.Unlock()
	if already {
		r.out.AlreadySubmitted++
	} else {
		r.out.Submitted++
	}
	r.State.Operations[job.Operation] = state.OperationState{
		InputDigest: job.InputDigest,
		Inputs:      job.Spec.Inputs(),
		JobID:       id,
		SubmittedAt: time.Now().UTC(),
		Cluster:     job.Cluster,
		Address:     conn.Client.Address(),
		Status:      string(rayjobs.StatusPending),
		RayVersion:  conn.RayVersion,
	}
	if err := r.save(); err != nil {
		jo.Err = fmt.Errorf("job %s was submitted but the state could not be saved (a retried apply finds it by its id): %w", id, err)
	}
	r.emit(progress.Event{Type: progress.EventSubmit, Name: job.Operation, JobID: id, Message: map[bool]string{true: "already submitted", false: "submitted"}[already]})
	return jo
}

// stageAndUpload stages the job directory and uploads it as the job's
// working directory, and its py_modules packages. The staged directory
// holds the context YAML, which may hold a database password: unless
// KeepStaged, it is removed once uploaded (or once an upload failed), as
// ado's own remote mode removes its copy.
func (r *runner) stageAndUpload(ctx context.Context, job planner.JobStep, wheels []stage.Wheel, conn *Connection) (staged stage.Result, uri string, pyModules []string, err error) {
	dir := JobDir(r.WorkDir, job.Operation)
	ctxFile, err := contextFile(r.WorkDir, job.Spec)
	if err != nil {
		return stage.Result{}, "", nil, err
	}
	if !r.KeepStaged {
		defer func() {
			if err := removeStaged(dir, ctxFile, job.Spec); err != nil {
				r.emitLocked(progress.Warning("operation %s: removing the staged job directory: %v", job.Operation, err))
			}
		}()
	}
	staged, err = stage.Stage(dir, StageSpec(job.Spec, wheels, ctxFile, conn.Client.Address()))
	if err != nil {
		return stage.Result{}, "", nil, err
	}
	where := dir
	if !r.KeepStaged {
		where = "removed once uploaded (--keep-staged keeps it)"
	}
	r.emitLocked(progress.Event{Type: progress.EventStaged, Name: job.Operation, Message: fmt.Sprintf("%d files, %.1f MiB, %s", len(staged.Files), float64(staged.TotalBytes)/(1<<20), where)})
	for _, w := range staged.Warnings {
		r.emitLocked(progress.Event{Type: progress.EventLog, Name: job.Operation, Message: "warning: " + w})
	}
	uri, uploaded, err := conn.Client.UploadPackage(ctx, dir, job.Spec.Excludes)
	if err != nil {
		return stage.Result{}, "", nil, err
	}
	msg := "package already on the cluster: " + uri
	if uploaded {
		msg = "uploaded " + uri
	}
	r.emitLocked(progress.Event{Type: progress.EventUpload, Name: job.Operation, Message: msg})
	for _, m := range staged.RuntimeEnv.PyModules {
		muri, uploaded, err := conn.Client.UploadPackage(ctx, filepath.Join(dir, filepath.FromSlash(m)), nil)
		if err != nil {
			return stage.Result{}, "", nil, err
		}
		if uploaded {
			r.emitLocked(progress.Event{Type: progress.EventUpload, Name: job.Operation, Message: "uploaded " + m + " as " + muri})
		}
		pyModules = append(pyModules, muri)
	}
	return staged, uri, pyModules, nil
}

// removeStaged removes a job directory and the context copy staged into
// it, when adopipe wrote one (see contextFile).
func removeStaged(dir, ctxFile string, spec planner.JobSpec) error {
	err := os.RemoveAll(dir)
	if ctxFile != spec.ContextFile().Src {
		err = errors.Join(err, os.Remove(ctxFile))
	}
	return err
}

// checkBuiltRay checks the Ray requirements of the wheels this apply
// built for job against its cluster's Ray: the plan could check only the
// wheels it found in the cache.
func (r *runner) checkBuiltRay(job planner.JobStep, conn *Connection) {
	r.mu.Lock()
	requires := map[string][]string{}
	for _, name := range job.Spec.WheelNames() {
		if rs, ok := r.builtRequires[name]; ok {
			requires[name] = rs
		}
	}
	r.mu.Unlock()
	if len(requires) == 0 || conn.RayVersion == "" {
		return
	}
	var reqs []planner.SourcedRequirement
	for _, name := range job.Spec.WheelNames() {
		for _, rq := range requires[name] {
			reqs = append(reqs, planner.SourcedRequirement{From: "wheel " + name, Requirement: rq})
		}
	}
	for _, w := range planner.RayWarnings(conn.Cluster.Name, conn.RayVersion, job.Spec.RayPin != "", reqs) {
		r.emitLocked(progress.Warning("operation %s: %s", job.Operation, w))
	}
}

// jobWheels returns the built or cached wheels of a job in install order,
// or why the job cannot go ahead.
func (r *runner) jobWheels(names []string) ([]stage.Wheel, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []string
	var wheels []stage.Wheel
	for _, name := range names {
		if err, failed := r.failed[name]; failed {
			missing = append(missing, fmt.Sprintf("wheel %s failed to build (%v)", name, progress.FirstLine(err.Error())))
			continue
		}
		w, ok := r.wheels[name]
		if !ok {
			missing = append(missing, "wheel "+name+" was not built")
			continue
		}
		wheels = append(wheels, w)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not submitted: %s", strings.Join(missing, "; "))
	}
	return wheels, nil
}

func (r *runner) emitLocked(e progress.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(e)
}
