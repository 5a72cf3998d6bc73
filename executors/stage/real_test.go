//go:build unix

package stage

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testgate"
)

func TestMain(m *testing.M) { raytest.Main(m) }

// TestSubmitScriptRealRay is the recipe end to end: a real wheel built by
// pypa/build, staged, and submitted by the generated submit.sh with the
// real `ray job submit` to a real Ray head. The job imports the plugin
// from the content-addressed wheel path (so ${RAY_RUNTIME_ENV_CREATE_
// WORKING_DIR} reached Ray untouched), reads its package data, checks a
// quoted env var and the staged context file.
func TestSubmitScriptRealRay(t *testing.T) {
	py := raytest.RequirePython(t)
	if out, err := exec.Command(py, "-c", "import build").CombinedOutput(); err != nil {
		testgate.Missing(t, "%s cannot import build: %v\n%s", py, err, out)
	}
	rayBin := raytest.RequireRay(t)
	addr := raytest.Head(t)

	src := filepath.Join(t.TempDir(), "hatchplugin")
	testfiles.CopyTo(t, filepath.Join("..", "wheelbuild", "testdata", "plugins", "hatchplugin"), src)
	ctx := context.Background()
	built, err := wheelbuild.Build(ctx, wheelbuild.Request{Name: "hatch", SourceDir: src, Python: py,
		OutDir: t.TempDir(), LogPath: filepath.Join(t.TempDir(), "build.log"), Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer built.Cleanup()

	in := t.TempDir()
	ctxFile := write(t, filepath.Join(in, "context.yaml"), "project: p\n", 0o644)
	opFile := write(t, filepath.Join(in, "operation.yaml"), "spaces: [s]\n", 0o644)
	check := `say "hi" \ x`
	script := "import os, sys, importlib.resources as r, adopipe_hatchtest as m; " +
		"assert m.VALUE == 42; " +
		"assert r.files(m).joinpath('model.json').is_file(); " +
		"assert os.environ['ADOPIPE_CHECK'] == 'say ' + chr(34) + 'hi' + chr(34) + ' ' + chr(92) + ' x', os.environ['ADOPIPE_CHECK']; " +
		"assert os.environ['OMP_NUM_THREADS'] == '1'; " +
		"assert open(sys.argv[1]).read() == 'project: p' + chr(10); " +
		"assert os.path.exists('notes.txt') and not os.path.exists('model.ckpt'), os.listdir('.'); " +
		"print('ADOPIPE-' + 'OK', m.__file__)"
	dir := filepath.Join(t.TempDir(), "job")
	_, err = Stage(dir, Spec{
		Wheels:    []Wheel{{Path: built.WheelPath, SHA256: built.SHA256}},
		Context:   ctxFile,
		Operation: opFile,
		// The runtime_env's excludes keep model.ckpt out of the upload.
		Files:      []File{{Src: write(t, filepath.Join(in, "notes.txt"), "n", 0o644)}, {Src: write(t, filepath.Join(in, "model.ckpt"), "big", 0o644)}},
		Excludes:   []string{"*.ckpt"},
		Env:        MergeEnv(DefaultEnv(), map[string]string{"ADOPIPE_CHECK": check}),
		Entrypoint: []string{"python", "-c", script, "context.yaml"},
		Address:    addr,
	})
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("bash", filepath.Join(dir, SubmitScript))
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(rayBin)+string(os.PathListSeparator)+os.Getenv("PATH"), "RAY_ADDRESS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("submit.sh: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`raysubmit_[A-Za-z0-9]+`).FindString(string(out))
	if id == "" {
		t.Fatalf("no submission id in submit.sh output:\n%s", out)
	}

	var status string
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var job struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		getJSON(t, addr+"/api/jobs/"+id, &job)
		status = job.Status
		if status == "SUCCEEDED" || status == "FAILED" || status == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var logs struct {
		Logs string `json:"logs"`
	}
	getJSON(t, addr+"/api/jobs/"+id+"/logs", &logs)
	if status != "SUCCEEDED" || !strings.Contains(logs.Logs, "ADOPIPE-OK") {
		t.Fatalf("job %s: %s\n%s", id, status, logs.Logs)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
