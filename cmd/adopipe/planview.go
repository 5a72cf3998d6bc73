package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/adopipe/adopipe/internal/termview"
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
	a.planWarnings(p)
	if len(p.Wheels)+len(p.Jobs) > 0 {
		fmt.Fprintln(a.stdout)
	}
	fmt.Fprintln(a.stdout, planSummary(p, true))
}

// planWarnings prints what the plan found wrong without stopping.
func (a *app) planWarnings(p *planner.Plan) {
	for _, j := range p.Jobs {
		for _, w := range j.Warnings {
			a.warn("operation %s: %s", j.Operation, w)
		}
	}
}

// planSummary is the plan's one-line summary: a sentence after a plan, or
// a watch cycle's lowercase line.
func planSummary(p *planner.Plan, sentence bool) string {
	s := p.Summary()
	line := fmt.Sprintf("plan: %s to build, %s%d cached, %s to submit", plural(s.Build, "wheel"), termview.When(s.Sync > 0, fmt.Sprintf("%d to sync, ", s.Sync)), s.Cached, plural(s.Submit, "job"))
	if !p.HasChanges() {
		line = fmt.Sprintf("no changes (%s cached, %s already submitted)", plural(s.Cached, "wheel"), plural(s.Submitted, "job"))
	}
	if sentence {
		return strings.ToUpper(line[:1]) + line[1:] + "."
	}
	return line
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
