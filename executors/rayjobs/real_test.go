package rayjobs_test

// The real tier: a real Ray head (internal/raytest) and Ray's own Python
// packaging code as the reference for package names.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/raytest"
)

func TestMain(m *testing.M) { raytest.Main(m) }

// rayPackageName asks Ray's Python code for the package URI of dir.
func rayPackageName(t *testing.T, dir string, excludes []string) string {
	t.Helper()
	py := raytest.RequirePython(t)
	ex, _ := json.Marshal(excludes)
	const script = `import sys, json
from ray._private.runtime_env.packaging import get_uri_for_directory
print(get_uri_for_directory(sys.argv[1], include_gitignore=True, excludes=json.loads(sys.argv[2])))`
	cmd := exec.Command(py, "-c", script, dir, string(ex))
	cmd.Env = append(os.Environ(), "RAY_RUNTIME_ENV_IGNORE_GITIGNORE=0")
	out := rayPythonOutput(t, py, cmd)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimPrefix(lines[len(lines)-1], "gcs://")
}

func TestRealPackageNameMatchesRay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		excludes []string
		extra    func(t *testing.T, root string)
	}{
		{
			name: "nested gitignores with negations",
			files: map[string]string{
				".gitignore":          "*.log\n!important.log\nbuild/\n/top.txt\n",
				"main.py":             "print(1)\n",
				"x.log":               "x",
				"important.log":       "i",
				"top.txt":             "t",
				"build/out.bin":       "b",
				"sub/.gitignore":      "secret*\n!secret_ok\n# comment\n\n",
				"sub/secret1":         "s",
				"sub/secret_ok":       "s",
				"sub/top.txt":         "kept: /top.txt is anchored to the root",
				"sub/deep/x.log":      "d",
				"sub/deep/deeper/":    "",
				"run.sh":              "#!/bin/sh\necho run\n",
				"sub/keep/a":          "k",
				"sub/keep/.rayignore": ".*\n",
				"empty/":              "",
			},
		},
		{
			name: "rayignore, excludes and odd patterns",
			files: map[string]string{
				".rayignore":          "data/\n**/tmp\n",
				".gitignore":          "a/**/b\r\n*.[oa]\r\n\\#literal\r\nname with space  \r\n",
				"data/big.bin":        "big",
				"x/tmp/junk":          "j",
				"a/q/r/b":             "ab",
				"a/b":                 "ab",
				"lib.o":               "o",
				"lib.c":               "c",
				"#literal":            "#",
				"name with space":     "s",
				"ünïcode file.txt":    "u",
				"models/weights.bin":  "w",
				"models/readme.md":    "r",
				"nested/empty/inner/": "",
				"tool.sh":             "#!/bin/sh\n",
			},
			excludes: []string{"*.bin", "nested/"},
		},
		{
			name: "empty dirs, symlinks and the default excludes",
			files: map[string]string{
				"e1/":                   "",
				"e2/e3/":                "",
				".git/HEAD":             "ref: refs/heads/main\n",
				".venv/bin/python":      "",
				"__pycache__/m.pyc":     "c",
				"pkg/__pycache__/n.pyc": "c",
				"pkg/mod.py":            "x = 1\n",
				"bin/run.sh":            "#!/bin/sh\n",
			},
			excludes: rayjobs.WorkingDirExcludes(nil),
			extra: func(t *testing.T, root string) {
				if err := os.Symlink("pkg/mod.py", filepath.Join(root, "link.py")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("pkg", filepath.Join(root, "linkdir")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("does-not-exist", filepath.Join(root, "dangling")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{name: "empty root", files: map[string]string{}},
		{
			name:  "root skipped by its own .gitignore",
			files: map[string]string{".gitignore": ".*\n", "a.py": "a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := rayjobs.WriteTree(t, tc.files)
			if tc.extra != nil {
				tc.extra(t, root)
			}
			got, err := rayjobs.PackageName(root, tc.excludes)
			if err != nil {
				t.Fatal(err)
			}
			want := rayPackageName(t, root, tc.excludes)
			if got != want {
				t.Errorf("PackageName = %s, Ray computes %s", got, want)
			}
		})
	}
}

// realClient is a client of the test's real Ray head, configured by cfg
// (whose Address and PollInterval it sets).
func realClient(t *testing.T, cfg rayjobs.Config) *rayjobs.Client {
	t.Helper()
	cfg.Address = raytest.Head(t)
	cfg.PollInterval = 200 * time.Millisecond
	c, err := rayjobs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uniqueDigest(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// waitStatus polls until the job has one of the statuses, within a deadline.
func waitStatus(t *testing.T, c *rayjobs.Client, id string, want ...rayjobs.Status) rayjobs.JobInfo {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		j, err := c.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if j.Status == w {
				return j
			}
		}
		if j.Status.IsTerminal() || time.Now().After(deadline) {
			logs, _ := c.Logs(context.Background(), id)
			t.Fatalf("job %s is %s (%s), want %v; logs:\n%s", id, j.Status, j.Message, want, logs)
		}
		time.Sleep(100 * time.Millisecond) // polling a real cluster, not waiting for luck
	}
}

// checkScript runs inside the job: it checks that Ray unpacked exactly the
// files our zip holds, with their modes, at the root of the working dir.
const checkScript = `import os, stat, sys
ok = True
def expect(cond, what):
    global ok
    if not cond:
        print("CHECK FAILED:", what); ok = False
expect(open("data/hello.txt").read() == "hello from adopipe\n", "data/hello.txt content")
expect(os.stat("run.sh").st_mode & stat.S_IXUSR, "run.sh is executable")
expect(os.path.isdir("empty"), "empty dir exists")
expect(not os.path.exists("dist"), "dist/ was ignored")
expect(not os.path.exists("notes.log"), "*.log was ignored")
expect(os.environ.get("ADOPIPE_TEST") == "yes", "env var")
print("ADOPIPE-OK" if ok else "ADOPIPE-FAILED", flush=True)
sys.exit(0 if ok else 3)
`

func TestRealUploadSubmitLogs(t *testing.T) {
	c := realClient(t, rayjobs.Config{})
	ctx := context.Background()
	v, err := c.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster runs Ray %s (API %s)", v.RayVersion, v.Version)

	root := rayjobs.WriteTree(t, map[string]string{
		".gitignore":     "dist/\n*.log\n",
		"check.py":       checkScript,
		"data/hello.txt": "hello from adopipe\n",
		"run.sh":         "#!/bin/sh\necho run\n",
		"dist/x.whl":     "ignored",
		"notes.log":      "ignored",
		"empty/":         "",
		"nonce.txt":      uniqueDigest(t), // a fresh package every run
	})
	uri, uploaded, err := c.UploadPackage(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !uploaded {
		t.Fatalf("a fresh directory was not uploaded (%s)", uri)
	}
	if _, again, err := c.UploadPackage(ctx, root, nil); err != nil || again {
		t.Fatalf("second upload of the same directory: uploaded=%v err=%v", again, err)
	}

	id := "adopipe-realtest-" + uniqueDigest(t)[:12]
	req := rayjobs.SubmitRequest{
		Entrypoint:   "python check.py",
		SubmissionID: id,
		WorkingDir:   uri,
		EnvVars:      map[string]string{"ADOPIPE_TEST": "yes", "PYTHONUNBUFFERED": "x"},
		Metadata:     map[string]string{"adopipe.test": t.Name()},
	}
	got, dup, err := c.Submit(ctx, req)
	if err != nil || dup || got != id {
		t.Fatalf("Submit = %q, %v, %v", got, dup, err)
	}
	got, dup, err = c.Submit(ctx, req)
	if err != nil || !dup || got != id {
		t.Fatalf("second Submit = %q, %v, %v; want already submitted", got, dup, err)
	}

	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	j, err := c.WaitTerminal(wctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := c.Logs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != rayjobs.StatusSucceeded || !strings.Contains(logs, "ADOPIPE-OK") {
		t.Fatalf("job %s: %s (%s); logs:\n%s", id, j.Status, j.Message, logs)
	}
	if j.Metadata["adopipe.test"] != t.Name() || j.RuntimeEnv["working_dir"] != uri {
		t.Errorf("job details lost the request: %+v", j)
	}
	jobs, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range jobs {
		found = found || x.SubmissionID == id
	}
	if !found {
		t.Errorf("List does not show %s", id)
	}
	if ok, err := c.Delete(ctx, id); err != nil || !ok {
		t.Errorf("Delete = %v, %v", ok, err)
	}
}

func TestRealTailLogs(t *testing.T) {
	var fallback error
	c := realClient(t, rayjobs.Config{OnTailFallback: func(err error) { fallback = err }})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id := "adopipe-realtail-" + uniqueDigest(t)[:12]
	// The job prints over a few seconds, so the tail sees it live.
	entry := `python -c "import time
for i in range(6):
    print('tick', i, flush=True)
    time.sleep(0.5)"`
	if _, _, err := c.Submit(ctx, rayjobs.SubmitRequest{Entrypoint: entry, SubmissionID: id}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.TailLogs(ctx, id, &out); err != nil {
		t.Fatal(err)
	}
	if fallback != nil {
		t.Errorf("the websocket tail fell back to polling: %v", fallback)
	}
	want := ""
	for i := 0; i < 6; i++ {
		want += "tick " + string(rune('0'+i)) + "\n"
	}
	if !strings.Contains(out.String(), want) || strings.Count(out.String(), "tick 0") != 1 {
		t.Errorf("tailed:\n%s\nwant each tick once, in order", out.String())
	}
	j, err := c.Job(ctx, id)
	if err != nil || j.Status != rayjobs.StatusSucceeded {
		t.Fatalf("after tail: %+v, %v", j, err)
	}
}

func TestRealStop(t *testing.T) {
	c := realClient(t, rayjobs.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id := "adopipe-realstop-" + uniqueDigest(t)[:12]
	if _, _, err := c.Submit(ctx, rayjobs.SubmitRequest{Entrypoint: "sleep 300", SubmissionID: id}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, id, rayjobs.StatusRunning)
	stopped, err := c.Stop(ctx, id)
	if err != nil || !stopped {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	j, err := c.WaitTerminal(ctx, id, 200*time.Millisecond)
	if err != nil || j.Status != rayjobs.StatusStopped {
		t.Fatalf("after Stop: %s, %v", j.Status, err)
	}
}
