package scaffold

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testgate"
)

// remoteJob is one remote context for ado_remote_view.py.
type remoteJob struct {
	name, file, cwd string
	// adoMustAgree: adopipe refuses exactly what ado refuses. Otherwise
	// only "ado refuses, so does adopipe" is required, since adopipe's
	// staging is stricter (files only inside the manifest's directory).
	adoMustAgree bool
}

// TestFromAdoRemoteMatchesAdo runs ado-core's own --remote code on each
// remote context (testdata/ado_remote_view.py) and checks the converted
// manifest builds wheels in the same directories, installs the same
// requirements, stages the same files and sets the same environment,
// runtime_env config and cluster as ado would; and that what ado refuses,
// the conversion refuses.
func TestFromAdoRemoteMatchesAdo(t *testing.T) {
	py := raytest.RequirePython(t)
	if out, err := exec.Command(py, "-c", "import ado.cli.utils.remote.dispatch").CombinedOutput(); err != nil {
		testgate.Missing(t, "ado-core is not importable by %s: %v\n%s", py, err, out)
	}
	ado := adoCheckoutDir(t)

	full := testfiles.Copy(t, filepath.Join("testdata", "adoremote", "full"))
	pinned := testfiles.Write(t, map[string]string{"remote.yaml": "executionType: {type: cluster, clusterUrl: 'https://ray.example.com'}\npackages: {fromPyPI: ['ado-core==2.3.0', ado-trim]}\n"})
	jobs := []remoteJob{
		{"full", filepath.Join(full, "remote_context.yaml"), full, true},
		{"pinned", filepath.Join(pinned, "remote.yaml"), pinned, true},
	}
	for _, ex := range documentedExamples(t, ado) {
		jobs = append(jobs, remoteJob{ex.name, ex.file, ado, true})
	}
	invalid, _ := filepath.Glob(filepath.Join("testdata", "adoremote", "invalid", "*.yaml"))
	for _, f := range invalid {
		abs, _ := filepath.Abs(f)
		jobs = append(jobs, remoteJob{"invalid/" + filepath.Base(f), abs, filepath.Dir(abs), false})
	}

	views := adoViews(t, py, jobs)
	for i, job := range jobs {
		t.Run(job.name, func(t *testing.T) {
			v := views[i]
			c := convert(t, job.file, job.cwd)
			switch {
			case v.Error != "" && !c.diags.HasErrors():
				t.Fatalf("ado refuses it (%s); the conversion does not", v.Error)
			case v.Error == "" && c.diags.HasErrors() && job.adoMustAgree:
				t.Fatalf("ado accepts it; the conversion refuses: %v", c.diags)
			case v.Error == "" && !c.diags.HasErrors():
				sameAsAdo(t, v, c)
			}
		})
	}
}

// adoViews runs ado_remote_view.py once for every job.
func adoViews(t *testing.T, py string, jobs []remoteJob) []adoView {
	t.Helper()
	dir := t.TempDir()
	var spec []map[string]string
	for i, j := range jobs {
		spec = append(spec, map[string]string{"file": j.file, "cwd": j.cwd, "out": filepath.Join(dir, strconv.Itoa(i)+".json")})
	}
	b, _ := json.Marshal(spec)
	jobsFile := filepath.Join(dir, "jobs.json")
	if err := os.WriteFile(jobsFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "ado_remote_view.py"))
	cmd := exec.Command(py, script, jobsFile)
	cmd.Dir = dir // not the ado checkout: import the installed ado-core
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ado_remote_view.py: %v\n%s", err, out)
	}
	views := make([]adoView, len(jobs))
	for i, s := range spec {
		b, err := os.ReadFile(s["out"])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &views[i]); err != nil {
			t.Fatalf("%s: %v", s["out"], err)
		}
	}
	return views
}
