package labtest

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/raylab"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testwait"
)

// The tests of a user's work loop on the remote workspace: edits, the
// forwarder dying, Ray versions, the head restarting. They edit the
// shared workspace, so they run after remote_test.go's (Go runs a
// package's files in name order), and the head restart, which forgets
// every job, runs last.

// plateau is the value the edited example actuator measures: the
// original draws from [0, 1).
const plateau = 4242.5

// A plugin edit, seen by watch: the edited code is what runs (its marker
// in the job's log, its value in the metastore). The forwarder exits idle
// between the watch's cycles and is started again each time. A YAML-only
// edit then submits the next job, through the restarted forwarder, and
// Ray makes no new runtime environment for it on any node: no wheel
// changed. Each cycle submits exactly one job.
func TestRemoteWatchEdits(t *testing.T) {
	l := needLab(t)
	dir := remoteWorkspace(t)
	// Idle shorter than the keeper's 5 s probe interval: between cycles
	// the forwarder exits again and again, as oc does on a quiet laptop.
	env := append(adopipeEnv(t, l, dir), raylab.EnvOCIdleTimeout+"=3s")
	marker := "labtest-edit-" + nonce()
	actuator := filepath.Join(dir, examplePlugin, "src", "robotic_lab_actuator", "actuator.py")
	editFile(t, actuator, "    rng = np.random.default_rng()\n", "    print("+strconv.Quote(marker)+", flush=True)\n    rng = np.random.default_rng()\n")
	editFile(t, actuator, `"adsorption_plateau_value": rng.random(),`, `"adsorption_plateau_value": `+strconv.FormatFloat(plateau, 'f', -1, 64)+",")
	jobsBefore := opJobs(t, l, "measure")
	envBefore := envDirs(t, l)
	pfLog := filepath.Join(dir, ".adopipe", "clusters", "forward", "port-forward.log")

	w := startBackground(t, dir, env, adopipeBin, "watch", "--follow", "measure")
	submitted := regexp.MustCompile(`\d+ built, (?:\d+ synced, )?\d+ cached, 1 submitted: (adopipe-measure-[\w-]+)`)
	i, m := w.waitLine(t, 0, submitted, applyDeadline)
	first := m[1]
	i, m = w.waitLine(t, i, regexp.MustCompile(`measure: job `+first+` (\w+)`), jobDeadline)
	if m[1] != "SUCCEEDED" {
		t.Fatalf("the job of the plugin edit ended %s:\n%s", m[1], w.output())
	}
	if logs := jobLogs(t, l, first); !strings.Contains(logs, marker) {
		t.Errorf("job %s's log lacks the edited actuator's marker %s:\n%s", first, marker, logs)
	}
	for entity, v := range checkResults(t, l, dir, env) {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f != plateau {
			t.Errorf("entity %s: adsorption_plateau_value %s, want the edited actuator's %v", entity, v, plateau)
		}
	}
	envMid := envDirs(t, l)
	t.Logf("runtime envs the plugin edit added: %v", added(envBefore, envMid))

	// The forwarder exits idle after the job; the keeper starts it again.
	idle := strings.Count(testfiles.Read(t, pfLog), "lost connection to pod")
	testwait.For(t, time.Minute, "the forwarder to exit idle", func() bool {
		return strings.Count(testfiles.Read(t, pfLog), "lost connection to pod") > idle
	})

	appendFile(t, filepath.Join(dir, "measure.yaml"), "# edited by TestRemoteWatchEdits: no wheel changes")
	_, m = w.waitLine(t, i, submitted, applyDeadline)
	second := m[1]
	if second == first {
		t.Fatalf("the YAML edit resubmitted under the same id %s", first)
	}
	if j := waitStarted(t, l, second); terminal(j.Status) && j.Status != "SUCCEEDED" {
		t.Errorf("the job of the YAML edit ended %s: %s", j.Status, j.Message)
	}
	if add := added(envMid, envDirs(t, l)); len(add) > 0 {
		t.Errorf("the YAML-only edit made new runtime envs on the nodes (no wheel changed): %v", add)
	}
	if ids := newJobs(jobsBefore, opJobs(t, l, "measure")); len(ids) != 2 || !slices.Contains(ids, first) || !slices.Contains(ids, second) {
		t.Errorf("the cluster has jobs %v of measure since the watch started, want exactly %s and %s", ids, first, second)
	}
	stopJob(t, l, second)
	if err := w.interrupt(t); err != nil {
		t.Errorf("watch ended with %v:\n%s", err, w.output())
	}
	out := w.output()
	t.Logf("adopipe watch --follow measure:\n%s", out)
	if n := strings.Count(testfiles.Read(t, pfLog), "lost connection to pod"); n <= idle {
		t.Errorf("the forwarder never exited idle (port-forward log):\n%s", testfiles.Read(t, pfLog))
	}
}

// The forwarder dies in the middle of an apply, twice: while the job's
// package uploads and while the job is submitted, each time after the
// cluster did the work and before adopipe heard the answer. adopipe
// starts it again, the apply completes, says it submitted the job, and
// the cluster has exactly one new job, the one the state records.
func TestRemoteForwarderKilledMidApply(t *testing.T) {
	l := needLab(t)
	dir := remoteWorkspace(t)
	faults := t.TempDir()
	env := append(adopipeEnv(t, l, dir),
		raylab.EnvOCFaults+"=PUT /api/packages/|POST /api/jobs/",
		raylab.EnvOCFaultDir+"="+faults)
	appendFile(t, filepath.Join(dir, "measure.yaml"), "# edited by TestRemoteForwarderKilledMidApply "+nonce())
	before := opJobs(t, l, "measure")

	stdout, stderr, err := run(t, applyDeadline, dir, env, adopipeBin, "apply", "--auto-approve", "measure")
	t.Logf("adopipe apply measure:\n%s\nstderr:\n%s", stdout, stderr)
	if err != nil {
		t.Fatalf("adopipe apply measure: %v", err)
	}
	for i, what := range []string{"the upload", "the submit"} {
		if !fileExists(filepath.Join(faults, "fault-"+strconv.Itoa(i))) {
			t.Errorf("the forwarder was not killed during %s", what)
		}
	}
	pfLog := testfiles.Read(t, filepath.Join(dir, ".adopipe", "clusters", "forward", "port-forward.log"))
	if !strings.Contains(pfLog, "raylab fault: POST /api/jobs/") {
		t.Errorf("the port-forward log does not show the forwarder dying during the submit:\n%s", pfLog)
	}
	// The submit's answer was lost, not the job: this apply submitted it.
	m := submittedRE.FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, " 1 submitted, 0 already submitted") {
		t.Fatal("apply does not say it submitted the job")
	}
	ids := newJobs(before, opJobs(t, l, "measure"))
	if len(ids) != 1 || ids[0] != m[1] {
		t.Fatalf("the cluster has new jobs %v of measure, want exactly %s", ids, m[1])
	}
	status, _, err := run(t, cmdDeadline, dir, env, adopipeBin, "status", "measure")
	if err != nil || !strings.Contains(status, m[1]) {
		t.Errorf("adopipe status measure (%v) does not name job %s:\n%s", err, m[1], status)
	}
	stopJob(t, l, m[1])
}

// plan compares the cluster's Ray with the Ray each job would install: a
// pip line that excludes it is a warning naming the pin to add; pin_ray
// pins ray==<the cluster's version> into the job's requirements, and the
// job is submitted with it.
func TestRemoteRayVersion(t *testing.T) {
	l := needLab(t)
	dir := remoteWorkspace(t)
	env := adopipeEnv(t, l, dir)
	pin := "ray==" + l.RayVersion

	stdout, stderr, err := run(t, cmdDeadline, dir, env, adopipeBin, "plan", "ray_mismatch")
	t.Logf("adopipe plan ray_mismatch:\n%s\nstderr:\n%s", stdout, stderr)
	if err != nil {
		t.Fatalf("adopipe plan ray_mismatch: %v", err)
	}
	warning := `pip requires "ray==1.13.0", which excludes Ray ` + l.RayVersion
	if out := stdout + stderr; !strings.Contains(out, warning) || !strings.Contains(out, "Add the pin "+pin) {
		t.Errorf("plan does not warn that the job installs another Ray than the cluster's %s and name the pin %s", l.RayVersion, pin)
	}

	stdout, stderr, err = run(t, cmdDeadline, dir, env, adopipeBin, "plan", "--json", "ray_pinned", "measure")
	if err != nil {
		t.Fatalf("adopipe plan --json: %v\n%s", err, stderr)
	}
	var plan struct {
		Jobs []struct {
			Operation string   `json:"operation"`
			Warnings  []string `json:"warnings"`
			Spec      struct {
				RayPin string `json:"ray_pin"`
			} `json:"spec"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, stdout)
	}
	for _, j := range plan.Jobs {
		want := map[string]string{"ray_pinned": pin, "measure": ""}[j.Operation]
		if j.Spec.RayPin != want {
			t.Errorf("plan: job %s pins %q, want %q", j.Operation, j.Spec.RayPin, want)
		}
		for _, w := range j.Warnings {
			if strings.Contains(w, "Ray") {
				t.Errorf("plan: job %s installs the cluster's Ray, yet: %s", j.Operation, w)
			}
		}
	}

	stdout, stderr, err = run(t, applyDeadline, dir, env, adopipeBin, "apply", "--auto-approve", "ray_pinned")
	if err != nil {
		t.Fatalf("adopipe apply ray_pinned: %v\n%s\n%s", err, stdout, stderr)
	}
	m := submittedRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("apply printed no submission:\n%s", stdout)
	}
	checkPinned(t, l, m[1], pin)
	// The job is left to TestRemoteHeadRestarted, which restarts the
	// cluster under it.
}

// checkPinned checks the job was submitted with pin among its pip
// requirements.
func checkPinned(t *testing.T, l *raylab.Lab, id, pin string) {
	t.Helper()
	var j jobInfo
	if code := api(t, l, http.MethodGet, "/api/jobs/"+id, labToken(t, l), nil, &j); code != http.StatusOK {
		t.Fatalf("GET /api/jobs/%s: HTTP %d", id, code)
	}
	b, _ := json.Marshal(j.RuntimeEnv["pip"])
	if !strings.Contains(string(b), strconv.Quote(pin)) {
		t.Errorf("job %s was submitted without the pin %s: runtime_env pip %s", id, pin, b)
	}
}

// The head restarts and forgets its jobs (a KubeRay head pod restarting
// without GCS fault tolerance): status says the cluster no longer knows
// the job, plan resubmits it for that reason, and apply, right after the
// restart (when the head may still answer "No available agent" to a
// submit), submits it exactly once, through the route. The job is
// TestRemoteRayVersion's (this test submits it when run alone).
func TestRemoteHeadRestarted(t *testing.T) {
	l := needLab(t)
	dir := remoteWorkspace(t)
	env := adopipeEnv(t, l, dir)
	const op = "ray_pinned"

	stdout, stderr, err := run(t, applyDeadline, dir, env, adopipeBin, "apply", "--auto-approve", op)
	if err != nil {
		t.Fatalf("adopipe apply %s: %v\n%s\n%s", op, err, stdout, stderr)
	}
	// "job ray_pinned: submitted as ID", or the plan's "already submitted
	// as ID" after TestRemoteRayVersion.
	m := regexp.MustCompile(`submitted as (adopipe-ray_pinned-[0-9a-f]+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("apply printed no submission:\n%s", stdout)
	}
	old := m[1]
	if _, ok := opJobs(t, l, op)[old]; !ok {
		t.Fatalf("the cluster does not know job %s before the restart", old)
	}

	routeLog := len(testfiles.Read(t, l.RouteLog))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := l.RestartHead(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.WaitReady(ctx); err != nil {
			t.Errorf("the lab's cluster did not come back: %v", err)
		}
	}()

	status, stderr, err := run(t, cmdDeadline, dir, env, adopipeBin, "status", op)
	t.Logf("adopipe status %s:\n%s%s", op, status, stderr)
	if err != nil || !strings.Contains(status, "LOST: cluster route no longer knows it") {
		t.Errorf("adopipe status %s (%v) does not say the cluster no longer knows job %s", op, err, old)
	}
	plan, stderr, err := run(t, cmdDeadline, dir, env, adopipeBin, "plan", op)
	t.Logf("adopipe plan %s:\n%s%s", op, plan, stderr)
	if err != nil || !strings.Contains(plan, "submitted before as "+old+", but cluster route no longer knows it") {
		t.Errorf("adopipe plan %s (%v) does not resubmit the lost job %s for that reason", op, err, old)
	}
	stdout, stderr, err = run(t, applyDeadline, dir, env, adopipeBin, "apply", "--auto-approve", op)
	t.Logf("adopipe apply %s:\n%s%s", op, stdout, stderr)
	if err != nil {
		t.Fatalf("adopipe apply %s after the restart: %v", op, err)
	}
	m = submittedRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatal("apply printed no submission")
	}
	if ids := newJobs(nil, opJobs(t, l, op)); len(ids) != 1 || ids[0] != m[1] {
		t.Errorf("the restarted cluster has jobs %v of %s, want exactly %s", ids, op, m[1])
	}
	checkPinned(t, l, m[1], "ray=="+l.RayVersion)
	// What the route saw of the submits: Ray's "No available agent"
	// answers (500), retried, and one accepted.
	codes := map[string]int{}
	for _, line := range strings.Split(testfiles.Read(t, l.RouteLog)[routeLog:], "\n") {
		if rm := routeLogRE.FindStringSubmatch(line); rm != nil && rm[2] == "POST" && rm[3] == "/api/jobs/" {
			codes[rm[1]]++
		}
	}
	t.Logf("submits through the route after the restart, by status: %v", codes)
	if codes["200"] != 1 {
		t.Errorf("the route accepted %d submits after the restart, want 1", codes["200"])
	}
	stopJob(t, l, m[1])
}
