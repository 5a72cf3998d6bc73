package examples_test

// The real tier of the quickstart (issue 7): the adopipe binary, the
// project's .venv (python -m build, ado, ray) and a Ray head that adopipe
// itself starts for the manifest's `local` cluster, on a copy of
// examples/quickstart. Nothing here is faked.
//
//	go test ./examples/ -run Quickstart -v -timeout 20m

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/running"
	"github.com/adopipe/adopipe/internal/testgate"
)

// Deadlines. A job takes 40-90 s on a 2-core machine (the first one on a
// fresh head the longest); these are ceilings, never waits.
const (
	jobDeadline   = 6 * time.Minute // apply --follow, or a job reaching a final state
	cmdDeadline   = 2 * time.Minute // plan, status, stage, down, ado show
	watchDeadline = 3 * time.Minute // watch noticing an edit and submitting
	stopDeadline  = time.Minute     // watch exiting after SIGINT, the head exiting after down
	pollInterval  = 2 * time.Second
)

var (
	adopipeBin string // built once by TestMain
	buildErr   error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root := raytest.RepoRoot()
	dir, err := os.MkdirTemp("", "adopipe-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	adopipeBin = filepath.Join(dir, "adopipe")
	cmd := exec.Command("go", "build", "-o", adopipeBin, "./cmd/adopipe")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/adopipe: %v\n%s", err, out)
	}
	return m.Run()
}

// quickstart is one copy of examples/quickstart and the environment its
// commands run in.
type quickstart struct {
	t    *testing.T
	bin  string   // the adopipe under test: adopipeBin, or one a test installed
	dir  string   // the copy: where ado.hcl is
	home string   // the isolated HOME (ado writes $HOME/.config/ado)
	env  []string // HOME, PATH with the venv first, no RAY_*/ADOPIPE_*
	py   string   // the venv's python
	ado  string   // the venv's ado
}

// TestQuickstart runs the five checks of issue 7 in order on one copy of
// the quickstart: each step builds on the state the previous one left.
func TestQuickstart(t *testing.T) {
	testgate.Real(t, "starts a Ray head and runs four Ray jobs, several minutes")
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	q := newQuickstart(t)

	var firstJob, firstOp string
	if !t.Run("1_apply_follow", func(t *testing.T) {
		out := q.adopipeOK(t, jobDeadline, "apply", "--auto-approve", "--follow")
		if !strings.Contains(out, "job walk: SUCCEEDED") {
			t.Errorf("apply --follow exited 0 without reporting SUCCEEDED:\n%s", tail(out, 30))
		}
		firstJob = submittedJob(t, out)
		firstOp = q.checkResults(t, 2, 1)
		// ado keeps its CLI config under $HOME: it must be the test's.
		if _, err := os.Stat(filepath.Join(q.home, ".config", "ado")); err != nil {
			t.Errorf("ado wrote no config under the test's HOME (%v): is HOME isolated?", err)
		}
	}) {
		return
	}

	if !t.Run("2_plan_no_changes", func(t *testing.T) {
		out := q.adopipeOK(t, cmdDeadline, "plan", "--detailed-exitcode")
		if !strings.Contains(out, "No changes") {
			t.Errorf("plan does not say No changes:\n%s", out)
		}
		p := q.planJSON(t)
		for _, w := range p.Wheels {
			if w.Action != "cached" {
				t.Errorf("wheel %s: action %q, want cached (%s)", w.Name, w.Action, w.Reason)
			}
		}
		for _, j := range p.Jobs {
			if j.Action != "submitted" {
				t.Errorf("job %s: action %q, want submitted (%s)", j.Operation, j.Action, j.Reason)
			}
		}
		if len(p.Wheels) != 1 || len(p.Jobs) != 1 {
			t.Errorf("plan has %d wheels and %d jobs, want 1 and 1", len(p.Wheels), len(p.Jobs))
		}
	}) {
		return
	}

	var secondJob, secondOp string
	if !t.Run("3_edit_plan_apply", func(t *testing.T) {
		q.setFunction(t, "x0 * x0 * x0 + x1")
		out, code := q.adopipe(t, cmdDeadline, "plan", "--detailed-exitcode")
		if code != 2 {
			t.Fatalf("plan --detailed-exitcode after an edit: exit %d, want 2:\n%s", code, out)
		}
		// The edit is synced into the last wheel: no build backend runs.
		wantLine := regexp.MustCompile(`(?m)^\s*~ wheel quickstart\s+sync\s+1 file changed: adopipe_quickstart/experiments\.py; synced into the last wheel \(1 member, no build\)\s*$`)
		if !wantLine.MatchString(out) {
			t.Errorf("plan does not list the edited plugin with its file:\n%s", out)
		}
		if !regexp.MustCompile(`(?m)^\s*\+ job walk\s+submit\s+adopipe-walk-`).MatchString(out) ||
			!strings.Contains(out, "0 wheels to build, 1 to sync") || !strings.Contains(out, "1 job to submit") {
			t.Errorf("plan does not show one wheel to sync and one job to submit:\n%s", out)
		}
		p := q.planJSON(t)
		if len(p.Wheels) != 1 || p.Wheels[0].Name != "quickstart" || p.Wheels[0].Action != "sync" ||
			len(p.Wheels[0].Changed) != 1 || p.Wheels[0].Changed[0] != "adopipe_quickstart/experiments.py" {
			t.Errorf("plan --json wheels = %+v, want only quickstart synced for adopipe_quickstart/experiments.py", p.Wheels)
		}
		if len(p.Jobs) != 1 || p.Jobs[0].Action != "submit" || p.Jobs[0].PreviousJobID != firstJob {
			t.Errorf("plan --json jobs = %+v, want walk to submit, previously %s", p.Jobs, firstJob)
		}

		out = q.adopipeOK(t, jobDeadline, "apply", "--auto-approve", "--follow")
		if !strings.Contains(out, "wheel quickstart: synced ") || strings.Contains(out, "wheel quickstart: building") {
			t.Errorf("apply did not sync the edited plugin:\n%s", head(out, 20))
		}
		secondJob = submittedJob(t, out)
		if secondJob == firstJob {
			t.Errorf("apply after the edit reused job id %s", firstJob)
		}
		if !strings.Contains(out, "job walk: SUCCEEDED") {
			t.Errorf("apply --follow exited 0 without reporting SUCCEEDED:\n%s", tail(out, 30))
		}
		secondOp = q.checkResults(t, 3, 1)
		if secondOp == firstOp {
			t.Errorf("the latest operation is still %s: the new job created none", firstOp)
		}
	}) {
		return
	}

	var watchOp string
	if !t.Run("4_watch", func(t *testing.T) {
		w := q.startWatch(t)
		// Watch applies once at start: everything was applied in step 3.
		w.waitFor(t, cmdDeadline, regexp.MustCompile(`no changes \(1 wheel cached, 1 job already submitted\)`))

		q.setFunction(t, "x0**4 + x1")
		w.waitFor(t, watchDeadline, regexp.MustCompile(`changed plugin/adopipe_quickstart/experiments\.py\s.*plan: 0 wheels to build, 1 to sync, 0 cached, 1 job to submit`))
		m := w.waitFor(t, watchDeadline, regexp.MustCompile(`submitted: (adopipe-walk-[0-9a-f]+)`))
		job := m[1]
		if job == secondJob || job == firstJob {
			t.Errorf("watch submitted %s, an id used before", job)
		}
		q.waitStatus(t, job, "SUCCEEDED")
		out := w.stop(t)
		t.Logf("adopipe watch output:\n%s", out)
		if n := len(regexp.MustCompile(`submitted: adopipe-walk-`).FindAllString(out, -1)); n != 1 {
			t.Errorf("watch submitted %d jobs for one edit, want 1:\n%s", n, out)
		}
		watchOp = q.checkResults(t, 4, 1)
		if watchOp == secondOp {
			t.Errorf("the latest operation is still %s: the watch job created none", secondOp)
		}
	}) {
		return
	}

	t.Run("5_stage_ray_job_submit", func(t *testing.T) {
		staged := filepath.Join(t.TempDir(), "staged")
		q.adopipeOK(t, cmdDeadline, "stage", "-o", staged)
		jobDir := filepath.Join(staged, "walk")
		// The plugin is staged content-addressed: a wheel under
		// wheels/<digest>/ (layout "wheel"), or, under the default layout
		// "modules", the unpacked package under py_modules/<digest>/.
		wheels, _ := filepath.Glob(filepath.Join(jobDir, "wheels", "*", "adopipe_quickstart-*.whl"))
		modules, _ := filepath.Glob(filepath.Join(jobDir, "py_modules", "*", "adopipe_quickstart"))
		if len(wheels)+len(modules) != 1 {
			t.Fatalf("staged wheels %v and modules %v, want the adopipe_quickstart plugin once, under wheels/<digest>/ or py_modules/<digest>/", wheels, modules)
		}
		address := q.headRecord(t).Address
		ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(jobDir, "submit.sh"))
		cmd.Dir = t.TempDir() // submit.sh must cd to its own directory
		cmd.Env = append(q.env, "RAY_ADDRESS="+address)
		outb, err := cmd.CombinedOutput()
		out := string(outb)
		if err != nil {
			t.Fatalf("submit.sh: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`Job '([^']+)' submitted successfully`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no job id in the output of ray job submit:\n%s", out)
		}
		id := m[1]
		t.Logf("ray job submit: %s", id)
		status := pollRayJob(t, address, id)
		if status != "SUCCEEDED" {
			t.Fatalf("job %s submitted by submit.sh ended %s", id, status)
		}
		op := q.checkResults(t, 4, 1)
		if op == watchOp {
			t.Errorf("the latest operation is still %s: the hand-submitted job created none", watchOp)
		}
		// Staging and a hand submission change nothing adopipe would do.
		q.adopipeOK(t, cmdDeadline, "plan", "--detailed-exitcode")
	})
}

func newQuickstart(t *testing.T) *quickstart {
	py := raytest.RequirePython(t)
	raytest.RequireRay(t)
	binDir := filepath.Dir(py)
	ado := filepath.Join(binDir, "ado")
	if _, err := os.Stat(ado); err != nil {
		testgate.Missing(t, "ado not found at %s", ado)
	}
	root := raytest.RepoRoot()
	base := t.TempDir()
	q := &quickstart{
		t:    t,
		bin:  adopipeBin,
		dir:  filepath.Join(base, "quickstart"),
		home: filepath.Join(base, "home"),
		py:   py,
		ado:  ado,
	}
	if err := os.MkdirAll(q.home, 0o755); err != nil {
		t.Fatal(err)
	}
	copyTracked(t, root, "examples/quickstart", q.dir)

	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "HOME", name == "PATH", name == "VIRTUAL_ENV", name == "PYTHONPATH",
			name == "NO_COLOR", name == "XDG_CONFIG_HOME",
			strings.HasPrefix(name, "RAY_"), strings.HasPrefix(name, "ADOPIPE_"):
			continue
		}
		q.env = append(q.env, kv)
	}
	q.env = append(q.env,
		"HOME="+q.home,
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"NO_COLOR=1",
	)

	// Registered first, so it runs last: after watch is stopped.
	t.Cleanup(q.down)
	return q
}

// copyTracked copies the files git tracks under src (relative to root)
// into dst: what a fresh clone holds, without the repository's own
// .adopipe/, results/ or build leftovers.
func copyTracked(t *testing.T, root, src, dst string) {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--", src)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files %s: %v", src, err)
	}
	n := 0
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		inside, err := filepath.Rel(src, rel)
		if err != nil || strings.HasPrefix(inside, "..") {
			t.Fatalf("git ls-files gave %q outside %s", rel, src)
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, inside)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if _, err := os.Stat(filepath.Join(dst, "ado.hcl")); err != nil || n < 5 {
		t.Fatalf("copied %d tracked files of %s, no ado.hcl among them", n, src)
	}
}

// adopipe runs the adopipe binary in the copy and returns its combined
// output and exit code. A timeout fails the test.
func (q *quickstart) adopipe(t *testing.T, deadline time.Duration, args ...string) (string, int) {
	t.Helper()
	return q.run(t, deadline, true, args...)
}

func (q *quickstart) run(t *testing.T, deadline time.Duration, logTime bool, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, q.bin, args...)
	cmd.Dir = q.dir
	cmd.Env = q.env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if logTime {
		t.Logf("adopipe %s: %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	}
	if ctx.Err() != nil {
		t.Fatalf("adopipe %s: no result within %s:\n%s", strings.Join(args, " "), deadline, tail(string(out), 40))
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("adopipe %s: %v", strings.Join(args, " "), err)
		return "", -1
	}
}

// adopipeOK is adopipe and requires exit status 0.
func (q *quickstart) adopipeOK(t *testing.T, deadline time.Duration, args ...string) string {
	t.Helper()
	out, code := q.adopipe(t, deadline, args...)
	if code != 0 {
		t.Fatalf("adopipe %s: exit %d, want 0:\n%s", strings.Join(args, " "), code, tail(out, 60))
	}
	return out
}

// plan is the part of `adopipe plan --json` the test reads.
type plan struct {
	Wheels []struct {
		Name    string   `json:"name"`
		Action  string   `json:"action"`
		Reason  string   `json:"reason"`
		Changed []string `json:"changed"`
	} `json:"wheels"`
	Jobs []struct {
		Operation     string `json:"operation"`
		Action        string `json:"action"`
		Reason        string `json:"reason"`
		SubmissionID  string `json:"submission_id"`
		PreviousJobID string `json:"previous_job_id"`
	} `json:"jobs"`
}

func (q *quickstart) planJSON(t *testing.T) plan {
	t.Helper()
	out, code := q.adopipe(t, cmdDeadline, "plan", "--json")
	if code != 0 {
		t.Fatalf("plan --json: exit %d:\n%s", code, out)
	}
	var p plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan --json: %v:\n%s", err, out)
	}
	return p
}

var submittedRE = regexp.MustCompile(`job walk: submitted as (adopipe-walk-[0-9a-f]+)`)

// submittedJob returns the submission id apply printed for the walk job.
func submittedJob(t *testing.T, out string) string {
	t.Helper()
	all := submittedRE.FindAllStringSubmatch(out, -1)
	if len(all) != 1 {
		t.Fatalf("apply printed %d `job walk: submitted as` lines, want 1:\n%s", len(all), head(out, 30))
	}
	return all[0][1]
}

const experimentsPy = "plugin/adopipe_quickstart/experiments.py"

// setFunction replaces the plugin's measured function (the expression
// returned as "y") in the copy's source.
func (q *quickstart) setFunction(t *testing.T, expr string) {
	t.Helper()
	path := filepath.Join(q.dir, experimentsPy)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`return \{"y": [^}]*\}`)
	if len(re.FindAll(src, -1)) != 1 {
		t.Fatalf("%s: no single `return {\"y\": ...}` to edit:\n%s", experimentsPy, src)
	}
	edited := re.ReplaceAll(src, []byte(`return {"y": `+expr+`}`))
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
}

var usingOpRE = regexp.MustCompile(`Using operation (\S+)\.`)

// checkResults reads the latest operation's measurements from the copy's
// metastore with the stock `ado show measurements`, as the README does,
// checks them with show_results.py and again in Go against
// y = x0**power + scale*x1 for all 12 entities, and returns the operation id.
func (q *quickstart) checkResults(t *testing.T, power, scale int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
	defer cancel()
	show := exec.CommandContext(ctx, q.ado, "-c", "context.yaml", "show", "measurements", "operation", "--use-latest", "-o", "csv")
	show.Dir = q.dir
	show.Env = q.env
	var stdout, stderr bytes.Buffer
	show.Stdout, show.Stderr = &stdout, &stderr
	if err := show.Run(); err != nil {
		t.Fatalf("ado show measurements: %v\n%s%s", err, stdout.String(), tail(stderr.String(), 30))
	}
	m := usingOpRE.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("ado show measurements --use-latest named no operation:\n%s", tail(stderr.String(), 20))
	}
	op := m[1]

	check := exec.CommandContext(ctx, q.py, "show_results.py", strconv.Itoa(power), strconv.Itoa(scale))
	check.Dir = q.dir
	check.Env = q.env
	check.Stdin = bytes.NewReader(stdout.Bytes())
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("show_results.py %d %d on operation %s: %v\n%s", power, scale, op, err, out)
	}

	got := parseMeasurements(t, stdout.Bytes())
	for x0 := 0; x0 < 4; x0++ {
		for x1 := 0; x1 < 3; x1++ {
			want := math.Pow(float64(x0), float64(power)) + float64(scale*x1)
			y, ok := got[[2]int{x0, x1}]
			switch {
			case !ok:
				t.Errorf("operation %s: entity x0=%d x1=%d not measured", op, x0, x1)
			case y != want:
				t.Errorf("operation %s: x0=%d x1=%d: y=%g, want %g (x0**%d + %d*x1)", op, x0, x1, y, want, power, scale)
			}
		}
	}
	if len(got) != 12 {
		t.Errorf("operation %s: %d entities, want 12", op, len(got))
	}
	if !t.Failed() {
		t.Logf("operation %s: all 12 entities have y = x0**%d + %d*x1", op, power, scale)
	}
	return op
}

// parseMeasurements reads ado's CSV, finding x0, x1 and y by name.
func parseMeasurements(t *testing.T, data []byte) map[[2]int]float64 {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("ado show measurements: not CSV (%v):\n%s", err, data)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"x0", "x1", "y"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("ado show measurements: no column %q in %v", name, rows[0])
		}
	}
	got := map[[2]int]float64{}
	for _, r := range rows[1:] {
		x0, err0 := strconv.ParseFloat(r[col["x0"]], 64)
		x1, err1 := strconv.ParseFloat(r[col["x1"]], 64)
		y, err2 := strconv.ParseFloat(r[col["y"]], 64)
		if err := errors.Join(err0, err1, err2); err != nil {
			t.Fatalf("ado show measurements: row %v: %v", r, err)
		}
		key := [2]int{int(x0), int(x1)}
		if _, dup := got[key]; dup {
			t.Errorf("entity x0=%d x1=%d measured twice in one operation", key[0], key[1])
		}
		got[key] = y
	}
	return got
}

// waitStatus polls `adopipe status` until the walk job is id and has
// reached want; a different final state fails at once.
func (q *quickstart) waitStatus(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(jobDeadline)
	var last string
	for {
		out, code := q.run(t, cmdDeadline, false, "status")
		last = fmt.Sprintf("exit %d:\n%s", code, out)
		if code == 0 {
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) < 3 || f[0] != "walk" || f[1] != id {
					continue
				}
				switch f[2] {
				case want:
					return
				case "FAILED", "STOPPED", "SUCCEEDED":
					t.Fatalf("job %s ended %s, want %s:\n%s", id, f[2], want, out)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not %s within %s; last adopipe status: %s", id, want, jobDeadline, last)
		}
		time.Sleep(pollInterval)
	}
}

// pollRayJob polls Ray's Jobs API until the job reaches a final state.
func pollRayJob(t *testing.T, address, id string) string {
	t.Helper()
	deadline := time.Now().Add(jobDeadline)
	client := &http.Client{Timeout: 10 * time.Second}
	var last string
	for {
		resp, err := client.Get(address + "/api/jobs/" + id)
		if err != nil {
			last = err.Error()
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var job struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &job) != nil {
				last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, head(string(body), 5))
			} else {
				last = job.Status + " " + job.Message
				switch job.Status {
				case "SUCCEEDED", "FAILED", "STOPPED":
					if job.Status != "SUCCEEDED" {
						t.Logf("job %s: %s", id, last)
					}
					return job.Status
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: no final state within %s; last: %s", id, jobDeadline, last)
		}
		time.Sleep(pollInterval)
	}
}

// headRecord is the part of .adopipe/clusters/local/local-cluster.json the
// test reads: the local head adopipe started.
type headRecord struct {
	PID     int    `json:"pid"`
	PGID    int    `json:"pgid"`
	Address string `json:"address"`
}

func (q *quickstart) recordPath() string {
	return filepath.Join(q.dir, ".adopipe", "clusters", "local", "local-cluster.json")
}

func (q *quickstart) headRecord(t *testing.T) headRecord {
	t.Helper()
	data, err := os.ReadFile(q.recordPath())
	if err != nil {
		t.Fatalf("the local head's record: %v", err)
	}
	var r headRecord
	if err := json.Unmarshal(data, &r); err != nil || r.PID <= 0 || r.Address == "" {
		t.Fatalf("the local head's record %s: %v:\n%s", q.recordPath(), err, data)
	}
	return r
}

// down runs `adopipe down` and checks the head it recorded is gone. As a
// last resort it kills that head's process group, which this test started
// through adopipe, so a broken down never leaves a Ray head behind.
func (q *quickstart) down() {
	t := q.t
	data, err := os.ReadFile(q.recordPath())
	if errors.Is(err, os.ErrNotExist) {
		return // no head was started
	}
	var r headRecord
	if err != nil || json.Unmarshal(data, &r) != nil || r.PID <= 0 {
		t.Errorf("the local head's record %s is unreadable (%v): cannot check adopipe down", q.recordPath(), err)
	}
	out, code := q.adopipe(t, cmdDeadline, "down")
	if code != 0 {
		t.Errorf("adopipe down: exit %d:\n%s", code, out)
	}
	if r.PID <= 0 {
		return
	}
	if !strings.Contains(out, fmt.Sprintf("pid %d", r.PID)) {
		t.Errorf("adopipe down does not mention the head's pid %d:\n%s", r.PID, out)
	}
	pgid := r.PGID
	if pgid <= 0 {
		pgid = r.PID
	}
	deadline := time.Now().Add(stopDeadline)
	for {
		left, _ := running.Group(pgid)
		if !running.Process(r.PID) && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after adopipe down the head (pid %d) or its group %d still runs: %v; killing the group", r.PID, pgid, left)
			syscall.Kill(-pgid, syscall.SIGKILL)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(q.recordPath()); err == nil {
		t.Errorf("adopipe down left %s behind", q.recordPath())
	}
}

// watcher is a background `adopipe watch` whose output goes to a file.
type watcher struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (q *quickstart) startWatch(t *testing.T) *watcher {
	t.Helper()
	w := &watcher{log: filepath.Join(t.TempDir(), "watch.log"), done: make(chan struct{})}
	f, err := os.Create(w.log)
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command(q.bin, "watch", "--debounce", "200ms")
	w.cmd.Dir = q.dir
	w.cmd.Env = q.env
	w.cmd.Stdout, w.cmd.Stderr = f, f
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		f.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
			return
		default:
		}
		// The test failed before stop: interrupt, then kill watch's group.
		w.cmd.Process.Signal(os.Interrupt)
		select {
		case <-w.done:
		case <-time.After(stopDeadline):
			syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			<-w.done
		}
		data, _ := os.ReadFile(w.log)
		t.Logf("adopipe watch output:\n%s", data)
	})
	return w
}

func (w *watcher) output() string {
	data, _ := os.ReadFile(w.log)
	return string(data)
}

// waitFor polls watch's output until re matches, watch exits, or the
// deadline passes.
func (w *watcher) waitFor(t *testing.T, deadline time.Duration, re *regexp.Regexp) []string {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if m := re.FindStringSubmatch(w.output()); m != nil {
			return m
		}
		select {
		case <-w.done:
			t.Fatalf("adopipe watch exited (%v) before printing %q:\n%s", w.err, re, w.output())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("adopipe watch did not print %q within %s:\n%s", re, deadline, w.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGINT to watch, waits for it to exit cleanly and returns its
// output.
func (w *watcher) stop(t *testing.T) string {
	t.Helper()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupting watch: %v", err)
	}
	select {
	case <-w.done:
	case <-time.After(stopDeadline):
		t.Fatalf("adopipe watch still runs %s after SIGINT:\n%s", stopDeadline, w.output())
	}
	out := w.output()
	if w.err != nil {
		t.Errorf("adopipe watch exited with %v after SIGINT:\n%s", w.err, out)
	}
	if !strings.Contains(out, "Stopped watching.") {
		t.Errorf("adopipe watch did not say \"Stopped watching.\":\n%s", out)
	}
	return out
}

func head(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "")
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
