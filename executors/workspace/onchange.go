package workspace

import (
	"context"
	"fmt"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// jobControl is what the on_change policy needs of a Jobs API client.
type jobControl interface {
	Job(ctx context.Context, id string) (rayjobs.JobInfo, error)
	Stop(ctx context.Context, id string) (bool, error)
	WaitTerminal(ctx context.Context, id string, poll time.Duration) (rayjobs.JobInfo, error)
}

// onChangePoll is how often the previous job is polled while a restart or
// a queue waits for it to end.
const onChangePoll = time.Second

// applyOnChange runs just before watch submits job: when the operation's
// previous job is still running, policy decides. restart stops it and
// waits for it to end, queue waits for it to end, parallel leaves it
// (ignore never gets here: see dropIgnored).
func applyOnChange(ctx context.Context, policy string, job planner.JobStep, c jobControl, report progress.Func) error {
	prev := job.PreviousJobID
	if prev == "" {
		return nil
	}
	info, err := c.Job(ctx, prev)
	if err != nil || info.Status.IsTerminal() {
		return nil // gone or finished: nothing to decide
	}
	say := func(format string) {
		report.Emit(progress.Event{Type: progress.EventOnChange, Name: job.Operation, JobID: prev,
			Message: fmt.Sprintf(format+" (on_change = %q)", prev, policy)})
	}
	switch policy {
	case manifest.OnChangeRestart:
		say("stopping %s")
		if _, err := c.Stop(ctx, prev); err != nil {
			return fmt.Errorf("stopping the previous job %s: %w", prev, err)
		}
		_, err := c.WaitTerminal(ctx, prev, onChangePoll)
		return err
	case manifest.OnChangeQueue:
		say("waiting for %s to end")
		_, err := c.WaitTerminal(ctx, prev, onChangePoll)
		return err
	default:
		return nil
	}
}

// dropIgnored removes from a plan made for a change the jobs of
// operations whose on_change is "ignore": watch never resubmits them. Their
// wheels stay in the plan, so they are still built.
func dropIgnored(cfg *manifest.Config, plan *planner.Plan, report progress.Func) *planner.Plan {
	out := *plan
	out.Jobs = nil
	for _, j := range plan.Jobs {
		if op := cfg.Operations[j.Operation]; op != nil && op.OnChange == manifest.OnChangeIgnore && j.Action == planner.ActionSubmit {
			report.Emit(progress.Event{Type: progress.EventOnChange, Name: j.Operation,
				Message: fmt.Sprintf("not resubmitted (on_change = %q): %s", manifest.OnChangeIgnore, j.Reason)})
			continue
		}
		out.Jobs = append(out.Jobs, j)
	}
	return &out
}
