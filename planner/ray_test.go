package planner

import (
	"context"
	"strings"
	"testing"
)

func TestRayWarnings(t *testing.T) {
	reqs := []SourcedRequirement{
		{"wheel plug", "ray<2.50"},                       // excludes 2.60.0
		{"wheel plug", "ray[default]>=2.9"},              // allows it
		{"plugin tune", "ray==2.60.*"},                   // allows it
		{"pip", "RAY==2.59.0"},                           // excludes it (names are case-insensitive)
		{"wheel plug", `ray<2; extra == "old"`},          // only for an extra: pip skips it
		{"pip", "ray @ https://example.com/ray.whl"},     // a URL: its version is unknown
		{"pip", "--extra-index-url https://example.com"}, // a pip option
		{"pip", "numpy<2"},                               // not ray
	}
	got := RayWarnings("dev", "2.60.0", false, reqs)
	if len(got) != 2 {
		t.Fatalf("warnings = %q", got)
	}
	for i, from := range []string{`wheel plug requires "ray<2.50"`, `pip requires "RAY==2.59.0"`} {
		if !strings.HasPrefix(got[i], from+", which excludes Ray 2.60.0 that cluster dev runs") || !strings.Contains(got[i], "Add the pin ray==2.60.0 (pin_ray = true") {
			t.Errorf("warning %d = %q", i, got[i])
		}
	}
	if got := RayWarnings("dev", "2.60.0", true, reqs[:1]); len(got) != 1 || !strings.Contains(got[0], "with the pin ray==2.60.0 (pin_ray) pip cannot build the job's environment") {
		t.Errorf("pinned warning = %q", got)
	}
	if got := RayWarnings("dev", "nightly", false, reqs); len(got) != 1 || !strings.Contains(got[0], "not checked") {
		t.Errorf("unparsable cluster version = %q", got)
	}
}

// The plan checks the Ray requirements of the cached wheels, the pip
// plugins and the pip lines against the cluster's Ray, and pin_ray puts
// the cluster's version into the job's identity and requirements.
func TestPlanChecksAndPinsRay(t *testing.T) {
	f := newFixture(t)
	f.write("ado.hcl", `
cluster "dev" {
  address     = "http://ray.example:8265"
  shared_disk = true
}
plugin "alpha" { source = "alpha" }
plugin "tune"  { pip = "ado-ray-tune==2.2.1" }
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  plugins   = [plugin.alpha, plugin.tune]
  pip       = ["ray>=2.61"]
}
operation "pinned" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  pin_ray   = true
}
`)
	cfg := f.config()
	plan := func(rays map[string]string) (*Plan, error) {
		pl := f.planner()
		pl.WheelRequires = func(string) []string { return []string{"ray<2.50", "numpy"} }
		return pl.Plan(context.Background(), Request{Config: cfg, State: f.st, ClusterRay: rays})
	}
	p, err := plan(map[string]string{"dev": "2.60.0"})
	if err != nil {
		t.Fatal(err)
	}
	if op := p.Job("op"); len(op.Warnings) != 1 {
		t.Errorf("a wheel still to build was checked: %q", op.Warnings)
	}
	f.apply(p) // alpha's wheel is now cached: the plan reads its requirements
	p, _ = plan(map[string]string{"dev": "2.60.0"})
	op := p.Job("op")
	if len(op.Warnings) != 2 || !strings.HasPrefix(op.Warnings[0], `wheel alpha requires "ray<2.50"`) || !strings.HasPrefix(op.Warnings[1], `pip requires "ray>=2.61"`) {
		t.Errorf("warnings = %q", op.Warnings)
	}
	pinned := p.Job("pinned")
	if pinned.Spec.RayPin != "ray==2.60.0" || strings.Join(pinned.Spec.PipRequirements(), " ") != "ray==2.60.0" || len(pinned.Warnings) != 0 {
		t.Errorf("pinned job = %+v", pinned)
	}
	if p.Job("op").Spec.RayPin != "" {
		t.Error("an operation without pin_ray was pinned")
	}
	// A cluster upgrade resubmits the pinned job, and only it.
	p, _ = plan(map[string]string{"dev": "2.61.0"})
	if j := p.Job("pinned"); j.Action != ActionSubmit || j.Reason != "inputs changed: ray pin" {
		t.Errorf("after an upgrade pinned = %+v", j)
	}
	if j := p.Job("op"); j.Action != ActionSubmitted || len(j.Warnings) != 1 {
		t.Errorf("after an upgrade op = %+v", j)
	}
	// Unreachable: the pin is the version the last job ran on...
	rec := f.st.Operations["pinned"]
	rec.RayVersion = "2.60.0"
	f.st.Operations["pinned"] = rec
	p, err = plan(nil)
	if err != nil || p.Job("pinned").Action != ActionSubmitted || len(p.Job("op").Warnings) != 0 {
		t.Fatalf("plan without the cluster's version: %v %+v", err, p)
	}
	// ... and without one, the plan says what it needs.
	delete(f.st.Operations, "pinned")
	if _, err := plan(nil); err == nil || !strings.Contains(err.Error(), "operation pinned pins Ray (pin_ray) but the Ray version of cluster dev is not known") {
		t.Errorf("err = %v", err)
	}
}
