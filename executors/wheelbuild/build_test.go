//go:build unix

package wheelbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/internal/running"
	"github.com/adopipe/adopipe/internal/testfiles"
	"github.com/adopipe/adopipe/internal/testwait"

	"github.com/adopipe/adopipe/executors/wheelcache"
)

// These tests run the real frontend (pypa/build, isolated builds fetching
// setuptools/hatchling from the package index) on the plugins in
// testdata/plugins.

// scmPlugin prepares the setuptools_scm plugin as a tagged git repository,
// with a stale build/ directory, an untracked data file and a user dist/.
func scmPlugin(t *testing.T) string {
	t.Helper()
	dir := copyPlugin(t, "scmplugin")
	gitRepo(t, dir)
	git(t, dir, "tag", "v1.2.3")
	// Untracked package data: must NOT reach the wheel.
	os.WriteFile(filepath.Join(dir, "adopipe_scmtest", "untracked.yaml"), []byte("x: 1\n"), 0o644)
	// A stale build/ from an earlier build holding a deleted module: the
	// recipe's `rm -rf build/` keeps it out of the wheel.
	stale := filepath.Join(dir, "build", "lib", "adopipe_scmtest")
	os.MkdirAll(stale, 0o755)
	os.WriteFile(filepath.Join(stale, "stale.py"), []byte("raise SystemExit('old code')\n"), 0o644)
	// The user's dist/ is never touched.
	os.MkdirAll(filepath.Join(dir, "dist"), 0o755)
	os.WriteFile(filepath.Join(dir, "dist", "mine-0.1-py3-none-any.whl"), []byte("not ours"), 0o644)
	return dir
}

func TestBuildSetuptoolsSCM(t *testing.T) {
	py := pythonForTests(t)
	dir := scmPlugin(t)
	logPath := filepath.Join(t.TempDir(), "logs", "scm.log")
	res, err := Build(context.Background(), Request{
		Name: "scm", SourceDir: dir, Python: py, LogPath: logPath, OutDir: t.TempDir(),
		Timeout: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Cleanup()

	if res.FileName != "adopipe_scmtest-1.2.3-py3-none-any.whl" || res.Distribution != "adopipe-scmtest" || res.Version != "1.2.3" {
		t.Errorf("result = %+v", res)
	}
	if filepath.Base(res.WheelPath) != res.FileName || res.LogPath != logPath {
		t.Errorf("paths = %s, %s", res.WheelPath, res.LogPath)
	}
	sum, _ := digest.FileSHA256(res.WheelPath)
	if sum != res.SHA256 || len(sum) != 64 {
		t.Errorf("SHA256 = %q, file has %q", res.SHA256, sum)
	}
	files := wheelFiles(t, res.WheelPath)
	for _, want := range []string{"adopipe_scmtest/__init__.py", "adopipe_scmtest/space.yaml", "adopipe_scmtest-1.2.3.dist-info/entry_points.txt"} {
		if !contains(files, want) {
			t.Errorf("wheel lacks %s; has %v", want, files)
		}
	}
	for _, unwanted := range []string{"adopipe_scmtest/untracked.yaml", "adopipe_scmtest/stale.py"} {
		if contains(files, unwanted) {
			t.Errorf("wheel contains %s", unwanted)
		}
	}
	if fileExists(filepath.Join(dir, "build", "lib", "adopipe_scmtest", "stale.py")) {
		t.Error("stale build/ was not removed")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "dist"))
	if len(ents) != 1 || ents[0].Name() != "mine-0.1-py3-none-any.whl" {
		t.Errorf("user dist/ changed: %v", ents)
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "Successfully built") {
		t.Errorf("log lacks the frontend output:\n%s", log)
	}
}

func TestBuildSetuptoolsSCMWithoutGitLacksData(t *testing.T) {
	// The control for the test above: the same source without .git does not
	// ship space.yaml (and needs a pretend version), so its presence there
	// really comes from git tracking.
	py := pythonForTests(t)
	dir := copyPlugin(t, "scmplugin")
	res, err := Build(context.Background(), Request{
		Name: "scm-nogit", SourceDir: dir, Python: py, OutDir: t.TempDir(),
		LogPath: filepath.Join(t.TempDir(), "b.log"),
		Env:     []string{"SETUPTOOLS_SCM_PRETEND_VERSION=0.0.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Cleanup()
	if files := wheelFiles(t, res.WheelPath); contains(files, "adopipe_scmtest/space.yaml") {
		t.Errorf("without git the wheel still has space.yaml: %v", files)
	}
}

func TestBuildHatchling(t *testing.T) {
	py := pythonForTests(t)
	dir := copyPlugin(t, "hatchplugin")
	res, err := Build(context.Background(), Request{
		Name: "hatch", SourceDir: dir, Python: py, OutDir: t.TempDir(),
		LogPath: filepath.Join(t.TempDir(), "hatch.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Cleanup()
	if res.FileName != "adopipe_hatch_test-0.2.0-py3-none-any.whl" || res.Distribution != "adopipe-hatch-test" || res.Version != "0.2.0" {
		t.Errorf("result = %+v", res)
	}
	files := wheelFiles(t, res.WheelPath)
	for _, want := range []string{"adopipe_hatchtest/__init__.py", "adopipe_hatchtest/model.json"} {
		if !contains(files, want) {
			t.Errorf("wheel lacks %s; has %v", want, files)
		}
	}
	if fileExists(filepath.Join(dir, "dist")) {
		t.Error("build created dist/ in the checkout")
	}
}

func TestBuildUV(t *testing.T) {
	py := pythonForTests(t)
	uv := uvForTests(t, py)
	dir := copyPlugin(t, "hatchplugin")
	res, err := Build(context.Background(), Request{
		Name: "hatch-uv", SourceDir: dir, Python: py, Frontend: FrontendUV, UV: uv,
		OutDir: t.TempDir(), LogPath: filepath.Join(t.TempDir(), "uv.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Cleanup()
	if res.FileName != "adopipe_hatch_test-0.2.0-py3-none-any.whl" {
		t.Errorf("result = %+v", res)
	}
}

func TestBuildFailureShowsLogTail(t *testing.T) {
	py := pythonForTests(t)
	dir := copyPlugin(t, "hatchplugin")
	// Invalid project metadata: hatchling rejects it.
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(
		"[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[project]\nname = \"adopipe-broken\"\nversion = \"not a version!\"\n"), 0o644)
	logPath := filepath.Join(t.TempDir(), "broken.log")
	out := t.TempDir()
	_, err := Build(context.Background(), Request{Name: "broken", SourceDir: dir, Python: py, LogPath: logPath, OutDir: out})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("error = %v, want *BuildError", err)
	}
	if be.LogPath != logPath || !strings.Contains(err.Error(), logPath) {
		t.Errorf("error does not name the log %s:\n%v", logPath, err)
	}
	if len(be.Tail) == 0 || len(be.Tail) > TailLines {
		t.Errorf("tail has %d lines", len(be.Tail))
	}
	if !strings.Contains(err.Error(), "not a version") {
		t.Errorf("error tail lacks the backend's complaint:\n%v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("failed build left %d entries in the output directory", len(ents))
	}
}

// TestBuildAllWithCache: three plugins built in parallel and cached; then
// one is broken: the other two rebuild, the broken one fails naming its
// log, and its previously cached wheel is untouched.
func TestBuildAllWithCache(t *testing.T) {
	py := pythonForTests(t)
	root := t.TempDir()
	cache := wheelcache.New(filepath.Join(root, "cache"))
	logs := filepath.Join(root, "logs")
	scm := scmPlugin(t)
	hatch := copyPlugin(t, "hatchplugin")
	third := copyPlugin(t, "hatchplugin")
	os.WriteFile(filepath.Join(third, "pyproject.toml"), []byte(strings.Replace(testfiles.Read(t, filepath.Join(third, "pyproject.toml")), `name = "adopipe_hatch.test"`, `name = "adopipe-third"`, 1)), 0o644)

	reqs := func() []Request {
		var rs []Request
		for _, p := range []struct{ name, dir string }{{"scm", scm}, {"hatch", hatch}, {"third", third}} {
			rs = append(rs, Request{Name: p.name, SourceDir: p.dir, Python: py, OutDir: root,
				LogPath: filepath.Join(logs, p.name+".log"), Timeout: 5 * time.Minute})
		}
		return rs
	}

	var mu sync.Mutex
	var events []Event
	record := func(ev Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }

	round1 := BuildAll(context.Background(), reqs(), 2, record)
	cached := map[string]string{}
	for i, o := range round1 {
		if o.Err != nil {
			t.Fatalf("round 1 build %s: %v", o.Request.Name, o.Err)
		}
		fp := fmt.Sprintf("fp-%s-1", o.Request.Name)
		path, sum, err := cache.Put(fp, o.Result.WheelPath)
		if err != nil {
			t.Fatal(err)
		}
		if sum != o.Result.SHA256 {
			t.Errorf("cache digest %s != build digest %s", sum, o.Result.SHA256)
		}
		o.Result.Cleanup()
		cached[o.Request.Name] = path
		checkEvents(t, events, i, EventDone)
	}
	thirdWheel := testfiles.Read(t, cached["third"])

	// Break the third plugin and rebuild everything.
	os.WriteFile(filepath.Join(third, "pyproject.toml"), []byte("[build-system\nthis is not toml\n"), 0o644)
	events = nil
	round2 := BuildAll(context.Background(), reqs(), 3, record)
	for i, o := range round2 {
		if o.Request.Name == "third" {
			var be *BuildError
			if !errors.As(o.Err, &be) || !strings.Contains(o.Err.Error(), filepath.Join(logs, "third.log")) {
				t.Errorf("third: error = %v, want a BuildError naming its log", o.Err)
			}
			checkEvents(t, events, i, EventFailed)
			continue
		}
		if o.Err != nil {
			t.Errorf("round 2 build %s: %v", o.Request.Name, o.Err)
			continue
		}
		if !fileExists(o.Result.WheelPath) {
			t.Errorf("%s: wheel %s missing", o.Request.Name, o.Result.WheelPath)
		}
		o.Result.Cleanup()
		checkEvents(t, events, i, EventDone)
	}
	path, _, ok, err := cache.Get("fp-third-1")
	if !ok || err != nil || path != cached["third"] {
		t.Fatalf("cached third wheel: ok=%v err=%v path=%s", ok, err, path)
	}
	if testfiles.Read(t, path) != thirdWheel {
		t.Error("cached wheel of the failed plugin changed")
	}
}

// checkEvents asserts that build i got a start event and then one final
// event of the wanted kind.
func checkEvents(t *testing.T, events []Event, i int, final EventKind) {
	t.Helper()
	var kinds []EventKind
	for _, ev := range events {
		if ev.Index == i {
			kinds = append(kinds, ev.Kind)
			if ev.Kind == final && final == EventDone && ev.Result.WheelPath == "" {
				t.Errorf("build %d: done event without a result", i)
			}
			if ev.Kind == EventFailed && ev.Err == nil {
				t.Errorf("build %d: failed event without an error", i)
			}
		}
	}
	if len(kinds) != 2 || kinds[0] != EventStart || kinds[1] != final {
		t.Errorf("build %d: events %v, want [start %s]", i, kinds, final)
	}
}

// TestBuildCancelKillsProcessGroup runs a real frontend against an in-tree
// PEP 517 backend that starts a child process and hangs; cancelling the
// build must kill the backend and its child, not just the frontend.
func TestBuildCancelKillsProcessGroup(t *testing.T) {
	py := pythonForTests(t)
	for _, mode := range []string{"cancel", "timeout"} {
		t.Run(mode, func(t *testing.T) {
			// A timeout that fires before the backend has started proves
			// nothing about killing it: try again with a longer one.
			timeout := 3 * time.Second
			for attempt := 1; ; attempt++ {
				if buildKilled(t, py, mode, timeout) {
					return
				}
				if attempt == 5 {
					t.Fatalf("the backend did not start within a %s timeout", timeout)
				}
				t.Logf("the %s timeout fired before the backend started; trying %s", timeout, 2*timeout)
				timeout *= 2
			}
		})
	}
}

// buildKilled runs the slow backend until it has started its two
// processes, then cancels the build (mode "cancel") or lets the build's
// timeout fire ("timeout"), and checks the error and that both processes
// die. It returns false when the timeout fired before both had started.
func buildKilled(t *testing.T, py, mode string, timeout time.Duration) bool {
	t.Helper()
	dir := copyPlugin(t, "slowbackend")
	pidFile := filepath.Join(t.TempDir(), "pids")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := Request{Name: "slow", SourceDir: dir, Python: py, NoIsolation: true,
		OutDir: t.TempDir(), LogPath: filepath.Join(t.TempDir(), "slow.log"),
		Env: []string{"ADOPIPE_TEST_PIDFILE=" + pidFile}}
	if mode == "timeout" {
		req.Timeout = timeout
	}
	done := make(chan error, 1)
	go func() { _, err := Build(ctx, req); done <- err }()

	var pids []int
	started := func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pids = nil
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			pids = append(pids, n)
		}
		return len(pids) == 2
	}
	var err error
	finished := false
	testwait.For(t, 2*time.Minute, "backend pid file", func() bool {
		select {
		case err = <-done:
			finished = true
			return true
		default:
			return started()
		}
	})
	if finished && !started() {
		if mode == "timeout" && errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		t.Fatalf("Build returned before its backend started: %v", err)
	}
	if mode == "cancel" {
		cancel()
	}
	if !finished {
		select {
		case err = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("Build did not return after cancellation")
		}
	}
	want := context.Canceled
	if mode == "timeout" {
		want = context.DeadlineExceeded
	}
	if !errors.Is(err, want) {
		t.Errorf("error = %v, want %v", err, want)
	}
	for _, pid := range pids {
		testwait.For(t, 30*time.Second, fmt.Sprintf("process %d to die", pid), func() bool { return !running.Process(pid) })
	}
	return true
}

// TestBuildAllSerialisesOneCheckout: two builds of the same checkout must
// not run at once (they share build/); builds of different checkouts may.
func TestBuildAllSerialisesOneCheckout(t *testing.T) {
	py := pythonForTests(t)
	dir := copyPlugin(t, "hatchplugin")
	var reqs []Request
	for _, n := range []string{"a", "b"} {
		reqs = append(reqs, Request{Name: n, SourceDir: dir, Python: py, OutDir: t.TempDir(),
			LogPath: filepath.Join(t.TempDir(), n+".log")})
	}
	var events []Event
	outs := BuildAll(context.Background(), reqs, 2, func(ev Event) { events = append(events, ev) })
	for _, o := range outs {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		o.Result.Cleanup()
	}
	if len(events) != 4 || events[0].Kind != EventStart || events[1].Kind != EventDone ||
		events[1].Index != events[0].Index || events[2].Kind != EventStart || events[3].Kind != EventDone {
		var s []string
		for _, ev := range events {
			s = append(s, fmt.Sprintf("%d:%s", ev.Index, ev.Kind))
		}
		t.Errorf("events %v: builds of one checkout overlapped", s)
	}
}
