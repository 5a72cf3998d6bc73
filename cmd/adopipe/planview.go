package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/adopipe/adopipe/planner"
)

// renderPlan prints a plan the way Terraform does: one line per action with
// its symbol and reason, then a summary line.
func (a *app) renderPlan(p *planner.Plan) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, w := range p.Wheels {
		fmt.Fprintf(tw, "  %s wheel %s\t%s\t%s\n", w.Action.Symbol(), w.Name, w.Action, w.Reason)
	}
	for _, j := range p.Jobs {
		what := "submit " + j.SubmissionID
		if j.Action == planner.ActionSubmitted {
			what = "submitted"
		}
		fmt.Fprintf(tw, "  %s job %s\t%s\t%s\n", j.Action.Symbol(), j.Operation, what, j.Reason)
	}
	tw.Flush()
	if len(p.Wheels)+len(p.Jobs) > 0 {
		fmt.Fprintln(a.stdout)
	}
	s := p.Summary()
	if !p.HasChanges() {
		fmt.Fprintf(a.stdout, "No changes: %s cached, %s already submitted.\n", plural(s.Cached, "wheel"), plural(s.Submitted, "job"))
		return
	}
	fmt.Fprintf(a.stdout, "Plan: %s to build, %d cached, %s to submit.\n", plural(s.Build, "wheel"), s.Cached, plural(s.Submit, "job"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
