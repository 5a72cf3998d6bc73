package pipeline

import (
	"reflect"
	"testing"

	"github.com/adopipe/adopipe/executors/stage"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// TestSubmitRequestFields: the request carries the operation and input
// digest as metadata (so ado's record of the Ray submission joins back to
// adopipe's state), the entrypoint resources and label selector, and the
// staged runtime env's installer, py_modules and Ray config.
func TestSubmitRequestFields(t *testing.T) {
	cfg := &manifest.Config{Operations: map[string]*manifest.Operation{}}
	job := planner.JobStep{
		Operation:    "sweep",
		InputDigest:  "d1g35t",
		SubmissionID: "adopipe-sweep-0123456789ab",
		Spec: planner.JobSpec{
			Operation: "sweep",
			Env:       map[string]string{"A": "1"},
			Resources: planner.Resources{NumCPUs: 2, Custom: map[string]float64{"x": 1}, LabelSelector: map[string]string{"zone": "a"}},
		},
	}
	staged := stage.Result{Entrypoint: "true", RuntimeEnv: stage.RuntimeEnvSpec{
		Installer: "uv", Packages: []string{"pyyaml"}, Config: map[string]any{"eager_install": false},
	}}
	req := submitRequest(cfg, job, staged, "gcs://_ray_pkg_w.zip", []string{"gcs://_ray_pkg_m.zip"})
	if want := map[string]string{"adopipe_operation": "sweep", "adopipe_input_digest": "d1g35t"}; !reflect.DeepEqual(req.Metadata, want) {
		t.Errorf("metadata = %v, want %v", req.Metadata, want)
	}
	if req.Installer != "uv" || !reflect.DeepEqual(req.PipPackages, []string{"pyyaml"}) || !reflect.DeepEqual(req.PyModules, []string{"gcs://_ray_pkg_m.zip"}) {
		t.Errorf("runtime env: installer %q, packages %v, py_modules %v", req.Installer, req.PipPackages, req.PyModules)
	}
	if req.Config["eager_install"] != false || req.WorkingDir != "gcs://_ray_pkg_w.zip" {
		t.Errorf("config %v, working dir %q", req.Config, req.WorkingDir)
	}
	if req.EntrypointNumCPUs == nil || *req.EntrypointNumCPUs != 2 || req.EntrypointResources["x"] != 1 || req.EntrypointLabelSelector["zone"] != "a" {
		t.Errorf("resources: cpus %v, custom %v, label selector %v", req.EntrypointNumCPUs, req.EntrypointResources, req.EntrypointLabelSelector)
	}
}
