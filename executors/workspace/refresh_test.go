package workspace

import (
	"context"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// plan plans the project as adopipe plan does, with o.
func (p *project) plan(o PlanOptions) *planner.JobStep {
	p.t.Helper()
	ws := p.open(true)
	s, err := ws.Open(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	defer s.Close()
	plan, err := s.Plan(context.Background(), ws.NewPlanner(), o)
	if err != nil {
		p.t.Fatalf("plan: %v", err)
	}
	return &plan.Jobs[0]
}

func (p *project) requests(what string) int {
	p.fake.Lock()
	defer p.fake.Unlock()
	return p.fake.Requests[what]
}

// A remote head restarted since the job was submitted no longer knows it:
// status says so, plan plans a resubmit with that reason, and apply
// submits once.
func TestRestartedClusterLostTheJob(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	first := p.apply()
	p.fake.Restart()

	r, err := p.open(true).Read()
	if err != nil {
		t.Fatal(err)
	}
	cn := r.Connector(false)
	defer cn.Close()
	checks := r.Refresh(context.Background(), cn, []string{"op"})
	if got, want := checks[0].Describe(), "LOST: cluster dev no longer knows it (last seen PENDING)"; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}

	j := p.plan(PlanOptions{})
	if j.Action != planner.ActionSubmit || j.Reason != "submitted before as "+first+", but cluster dev no longer knows it" || j.SubmissionID == first {
		t.Fatalf("plan after the restart = %+v", j)
	}
	second := p.apply()
	if second != j.SubmissionID || p.submitted() != 1 {
		t.Fatalf("apply recorded %s (planned %s) with %d submissions", second, j.SubmissionID, p.submitted())
	}
	if j := p.plan(PlanOptions{}); j.Action != planner.ActionSubmitted {
		t.Fatalf("plan once resubmitted = %+v", j)
	}
	p.apply()
	if p.submitted() != 1 {
		t.Errorf("submitted %d times after the restart", p.submitted())
	}
}

// The refresh gives the plan the status on the cluster; --refresh=false
// asks the cluster nothing and plans from the recorded status.
func TestPlanRefreshesStatuses(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	id := p.apply()
	p.fake.SetStatus(id, "FAILED")
	if j := p.plan(PlanOptions{}); j.LastStatus != "FAILED" || !strings.Contains(j.Reason, "last seen FAILED; --replace op submits it again") {
		t.Errorf("refreshed plan = %+v", j)
	}
	before := p.requests("GET /api/jobs/" + id)
	if j := p.plan(PlanOptions{NoRefresh: true}); j.LastStatus != "PENDING" || j.Action != planner.ActionSubmitted {
		t.Errorf("plan without refresh = %+v", j)
	}
	if after := p.requests("GET /api/jobs/" + id); after != before {
		t.Errorf("--refresh=false asked the cluster about the job (%d GETs)", after-before)
	}
	// The plan only looked: the state still records what apply saw.
	if got := p.record().Status; got != "PENDING" {
		t.Errorf("plan wrote the refreshed status into the state: %s", got)
	}
}

// A cluster that cannot be reached is a warning: the plan is made from
// the state.
func TestPlanWithAnUnreachableCluster(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	p.apply()
	p.fake.Close()
	if j := p.plan(PlanOptions{}); j.Action != planner.ActionSubmitted {
		t.Fatalf("plan = %+v", j)
	}
	if !p.saw(progress.EventWarning, "cluster dev: cannot reach the Ray dashboard") || !p.saw(progress.EventWarning, "(planning the jobs of cluster dev from the recorded state, without checking their Ray version)") {
		t.Errorf("no warning; events: %+v", p.seen)
	}
}

// A plan that apply carries out next does not warn of a cluster it
// submits to: apply reports that cluster's error itself, once. A cluster
// it does not submit to is still a warning.
func TestApplyPlanLeavesTheUnreachableClusterToApply(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	p.fake.Close()
	if j := p.plan(PlanOptions{Applying: true}); j.Action != planner.ActionSubmit {
		t.Fatalf("plan = %+v", j)
	}
	if p.saw(progress.EventWarning, "cannot reach") {
		t.Errorf("a plan for apply warned of the cluster apply submits to; events: %+v", p.seen)
	}
	p = newProject(t, manifest.OnChangeRestart)
	p.apply()
	p.fake.Close()
	if j := p.plan(PlanOptions{Applying: true}); j.Action != planner.ActionSubmitted {
		t.Fatalf("plan = %+v", j)
	}
	if !p.saw(progress.EventWarning, "cannot reach") {
		t.Errorf("no warning for a cluster apply does not submit to; events: %+v", p.seen)
	}
}
