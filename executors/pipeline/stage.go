package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/stage"
	"github.com/adopipe/adopipe/manifest"
)

// StagedJob is one job directory written by Stage.
type StagedJob struct {
	Operation string
	Result    stage.Result
	Err       error
}

// Stage builds the wheels the plan needs and writes each job directory to
// outDir/<operation>, with submit.sh for the stock `ray job submit`. It
// contacts no cluster.
func Stage(ctx context.Context, opts Options, outDir string) ([]StagedJob, *Outcome, error) {
	r := newRunner(opts)
	r.buildWheels(ctx)
	var jobs []StagedJob
	var errs []error
	for name, err := range r.failed {
		errs = append(errs, fmt.Errorf("wheel %s: %w", name, err))
	}
	for _, job := range r.Plan.Jobs {
		op := r.Config.Operations[job.Operation]
		sj := StagedJob{Operation: job.Operation}
		wheels, err := r.jobWheels(job.Spec.WheelNames())
		if err == nil {
			address := stageAddress(r.WorkDir, op.Cluster)
			var ctxFile string
			if ctxFile, err = contextFile(r.WorkDir, job.Spec); err == nil {
				sj.Result, err = stage.Stage(filepath.Join(outDir, job.Operation), StageSpec(job.Spec, wheels, ctxFile, address))
			}
		}
		if err != nil {
			sj.Err = err
			errs = append(errs, fmt.Errorf("operation %s: %w", job.Operation, err))
		}
		jobs = append(jobs, sj)
	}
	r.out.Fail = len(errs)
	return jobs, &r.out, errors.Join(errs...)
}

// stageAddress is the address written into submit.sh: the cluster's, the
// local head adopipe runs for it when one is up, or Ray's default (the
// script lets RAY_ADDRESS override it).
func stageAddress(workDir string, c *manifest.Cluster) string {
	if c.Address != "" {
		return c.Address
	}
	if c.Local != nil {
		if lc, err := localcluster.Find(ClusterDir(workDir, c.Name)); err == nil {
			return lc.URL()
		}
	}
	return "http://127.0.0.1:8265"
}
