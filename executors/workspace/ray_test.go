package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// pin_ray on the cluster pins the Ray the refresh found into the job's
// pip requirements; a cluster upgrade resubmits the job; a pip line that
// excludes the cluster's Ray is a warning of the plan.
func TestPinRayFollowsTheCluster(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	hcl := fmt.Sprintf(`
cluster "dev" {
  address     = %q
  shared_disk = true
  pin_ray     = true
}
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  pip       = ["ray[default]<2.50"]
}`, p.fake.URL)
	if err := os.WriteFile(filepath.Join(p.dir, "ado.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	j := p.plan(PlanOptions{})
	if j.Spec.RayPin != "ray==2.60.0" || len(j.Warnings) != 1 || !strings.HasPrefix(j.Warnings[0], `pip requires "ray[default]<2.50", which excludes Ray 2.60.0 that cluster dev runs: with the pin ray==2.60.0 (pin_ray)`) {
		t.Fatalf("plan = %+v", j)
	}
	p.apply()
	p.fake.Lock()
	pip := fmt.Sprint(p.fake.Submitted[0]["runtime_env"].(map[string]any)["pip"])
	p.fake.RayVersion = "2.61.0"
	p.fake.Unlock()
	if !strings.Contains(pip, "ray==2.60.0") {
		t.Errorf("the submitted pip requirements lack the pin: %s", pip)
	}
	if j := p.plan(PlanOptions{}); j.Action != planner.ActionSubmit || j.Reason != "inputs changed: ray pin" || j.Spec.RayPin != "ray==2.61.0" {
		t.Errorf("plan after the cluster's upgrade = %+v", j)
	}
}

// pin_ray on a local cluster whose head is not running: plan takes the
// version from the Ray installed beside the ray executable and starts no
// head (a plan never acts; apply would otherwise start it before asking).
func TestPinRayLocalHeadNotRunning(t *testing.T) {
	p := newProject(t, manifest.OnChangeRestart)
	venv := filepath.Join(t.TempDir(), "venv")
	ray := filepath.Join(venv, "bin", "ray")
	for _, d := range []string{filepath.Dir(ray), filepath.Join(venv, "lib", "python3.11", "site-packages", "ray-2.58.1.dist-info")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	started := filepath.Join(t.TempDir(), "started")
	if err := os.WriteFile(ray, []byte("#!/bin/sh\ntouch "+started+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ADOPIPE_RAY", ray)
	hcl := `
cluster "dev" {
  local {}
  pin_ray = true
}
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
}`
	if err := os.WriteFile(filepath.Join(p.dir, "ado.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	j := p.plan(PlanOptions{})
	if j.Spec.RayPin != "ray==2.58.1" || j.Action != planner.ActionSubmit {
		t.Fatalf("plan = %+v", j)
	}
	if _, err := os.Stat(started); err == nil {
		t.Fatal("plan ran the ray executable")
	}
}
