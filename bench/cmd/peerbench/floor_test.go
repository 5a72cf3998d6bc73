package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
)

// The floor target compares A's median time to entrypoint with the median
// of its jobs resubmitted unchanged; warm-up runs and B never count.
func TestFloorTarget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		floor []float64
		met   bool
	}{
		{"within", []float64{1.9, 1.8, 1.85}, true},
		{"over", []float64{1.5, 1.4, 1.6}, false},
		{"never measured", []float64{0, 0, 0}, false},
	} {
		a := &side{name: "adopipe", runs: []runResult{{Warmup: true, Jobs: 1, Entry: 9, Floor: 9}}}
		for i, f := range tc.floor {
			a.runs = append(a.runs, runResult{Round: i + 1, Jobs: 1, Entry: 2.0 + float64(i)*0.05, Floor: f})
		}
		b := &side{name: "ado --remote", runs: []runResult{{Jobs: 1, Entry: 10}}}
		rec := summarise("peer.yaml", "(b)", 3, 1, a, b, targets{builds: -1, floor: 0.3})
		if len(rec.Targets) != 1 || !strings.Contains(rec.Targets[0], "within 0.3s of Ray's floor") {
			t.Fatalf("%s: targets %q", tc.name, rec.Targets)
		}
		if rec.Met != tc.met {
			t.Errorf("%s: met = %v, want %v (%s)", tc.name, rec.Met, tc.met, rec.Targets[0])
		}
	}
}

// -floor-stage: the floor job gets the staged directory, with a nonce, as
// a working directory uploaded before the clock starts; the job's own
// runtime env is left as it was.
func TestFreshWorkingDir(t *testing.T) {
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			http.NotFound(w, r)
		case http.MethodPut:
			puts = append(puts, r.URL.Path)
		}
	}))
	defer srv.Close()
	rc, err := rayjobs.New(rayjobs.Config{Address: srv.URL, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{ray: rc, floorStage: `mkdir "$BENCH_FLOOR_DIR/walk" && echo x >"$BENCH_FLOOR_DIR/walk/run.sh"`}
	orig := map[string]any{"working_dir": "gcs://_ray_pkg_old.zip", "py_modules": []any{"gcs://_ray_pkg_m.zip"}}
	env, err := b.freshWorkingDir(context.Background(), orig, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := env["working_dir"].(string)
	if !strings.HasPrefix(wd, "gcs://_ray_pkg_") || wd == "gcs://_ray_pkg_old.zip" || len(puts) != 1 || !strings.HasSuffix(puts[0], strings.TrimPrefix(wd, "gcs://")) {
		t.Fatalf("working_dir %q, uploads %q: want a new package, uploaded once", wd, puts)
	}
	if orig["working_dir"] != "gcs://_ray_pkg_old.zip" || env["py_modules"] == nil {
		t.Errorf("the job's env changed or lost its py_modules: %v -> %v", orig, env)
	}
	again, err := b.freshWorkingDir(context.Background(), orig, "nonce-2")
	if err != nil || again["working_dir"] == wd {
		t.Errorf("a second floor run reused the package %v (%v): the nonce must make it new", again["working_dir"], err)
	}
}

// fakeJobs is a Jobs API holding one finished job ("sid") whose
// resubmissions start their entrypoint at once (noted in the entry
// watch, as the supervisor's log line would be) unless failEnv is set,
// and end only when stopped.
type fakeJobs struct {
	mu      sync.Mutex
	watch   *entryWatch
	failEnv bool
	status  map[string]string
	body    map[string]any
	stopped []string
}

func (f *fakeJobs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/jobs/"), "/")
	switch {
	case r.Method == http.MethodPost && id == "":
		json.NewDecoder(r.Body).Decode(&f.body)
		sid, _ := f.body["submission_id"].(string)
		if f.failEnv {
			f.status[sid] = "FAILED"
		} else {
			f.status[sid] = "RUNNING"
			f.watch.mu.Lock()
			f.watch.seen[sid] = time.Now()
			f.watch.mu.Unlock()
		}
		fmt.Fprintf(w, `{"job_id":"x","submission_id":%q}`, sid)
	case r.Method == http.MethodPost && strings.HasSuffix(id, "/stop"):
		sid := strings.TrimSuffix(id, "/stop")
		f.stopped = append(f.stopped, sid)
		f.status[sid] = "STOPPED"
		fmt.Fprint(w, `{"stopped":true}`)
	case r.Method == http.MethodGet && id == "sid":
		fmt.Fprint(w, `{"submission_id":"sid","status":"SUCCEEDED","entrypoint":"ado create operation -f op.yaml","runtime_env":{"working_dir":"gcs://_ray_pkg_a.zip"}}`)
	case r.Method == http.MethodGet && f.status[id] != "":
		fmt.Fprintf(w, `{"submission_id":%q,"status":%q}`, id, f.status[id])
	default:
		http.NotFound(w, r)
	}
}

// floorBench is a bench whose Jobs API is a fakeJobs.
func floorBench(t *testing.T, failEnv bool) (*bench, *fakeJobs) {
	f := &fakeJobs{watch: &entryWatch{seen: map[string]time.Time{}}, status: map[string]string{}, failEnv: failEnv}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	rc, err := rayjobs.New(rayjobs.Config{Address: srv.URL, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &bench{ray: rc, watch: f.watch, jobTimeout: time.Minute}, f
}

// The floor job is A's job resubmitted unchanged, timed to its entrypoint
// and then stopped: its figure ends there, and run on it would execute the
// operation again on the shared sample store.
func TestFloorStopsTheJobOnceItsEntrypointRuns(t *testing.T) {
	b, f := floorBench(t, false)
	called := time.Now()
	secs, err := b.floor("sid", 2)
	took := time.Since(called).Seconds()
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.body["entrypoint"] != "ado create operation -f op.yaml" || f.body["submission_id"] != "sid-floor-2" {
		t.Errorf("floor job submitted as %v: want A's entrypoint under a new id", f.body)
	}
	if len(f.stopped) != 1 || f.stopped[0] != "sid-floor-2" {
		t.Errorf("stopped %q: the floor job must be stopped once its entrypoint runs", f.stopped)
	}
	if secs < 0 || secs > took {
		t.Errorf("floor %.3fs: want the time from the POST to the entrypoint", secs)
	}
}

// A floor job whose env set-up fails never starts its entrypoint: an
// error that says so, not a wait for the job timeout.
func TestFloorJobThatFailsBeforeItsEntrypoint(t *testing.T) {
	b, _ := floorBench(t, true)
	if _, err := b.floor("sid", 1); err == nil || !strings.Contains(err.Error(), "FAILED before its entrypoint ran") {
		t.Fatalf("err = %v, want the job's failure before its entrypoint", err)
	}
}
