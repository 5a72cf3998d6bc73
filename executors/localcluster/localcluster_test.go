package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests in this file that need a real Ray use rayBin(t); the real tier
// lives in real_test.go.

func TestAllocatePortsDisjoint(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 5; i++ {
		p, err := allocatePorts()
		if err != nil {
			t.Fatal(err)
		}
		if p.MaxWorker-p.MinWorker+1 != workerPortCount {
			t.Fatalf("worker range %d-%d is not %d ports", p.MinWorker, p.MaxWorker, workerPortCount)
		}
		all := p.list()
		for w := p.MinWorker; w <= p.MaxWorker; w++ {
			all = append(all, w)
		}
		for _, port := range all {
			if port <= 0 {
				t.Fatalf("port %d in %+v", port, p)
			}
			if seen[port] {
				t.Fatalf("port %d handed out twice", port)
			}
			seen[port] = true
		}
		args := strings.Join(p.args(), " ")
		for _, flag := range []string{"--port=", "--dashboard-port=", "--ray-client-server-port=",
			"--object-manager-port=", "--node-manager-port=", "--dashboard-agent-listen-port=",
			"--dashboard-agent-grpc-port=", "--runtime-env-agent-port=", "--metrics-export-port=",
			"--min-worker-port=", "--max-worker-port="} {
			if !strings.Contains(args, flag) {
				t.Errorf("args %q lack %s", args, flag)
			}
		}
	}
}

// fakeRay writes an executable script standing in for `ray`.
func fakeRay(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ray")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartFailsFastWhenRayExits(t *testing.T) {
	bin := fakeRay(t, `echo "boom: port already in use" >&2; exit 3`)
	dir := t.TempDir()
	_, err := Start(context.Background(), Options{RayBin: bin, StateDir: dir, StartTimeout: time.Minute})
	if err == nil {
		t.Fatal("Start succeeded with a ray that exits")
	}
	if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom: port already in use") {
		t.Fatalf("error lacks cause or log tail: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RecordFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("record written for a failed start: %v", err)
	}
}

func TestStartTimesOutAndKillsGroup(t *testing.T) {
	// A "ray" that never serves HTTP, ignores SIGTERM and has a child in
	// its process group: Start must give up and kill the whole group.
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	bin := fakeRay(t, `trap '' TERM; sleep 300 & echo $! > `+pidFile+`; while :; do sleep 1; done`)
	dir := t.TempDir()
	_, err := Start(context.Background(), Options{RayBin: bin, StateDir: dir, StartTimeout: 1500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Fatalf("want a readiness timeout, got %v", err)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatalf("fake ray did not record its child: %v", rerr)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if processAlive(child) {
		t.Fatalf("child %d of the fake head still alive after failed Start", child)
	}
}

func TestFindStaleRecord(t *testing.T) {
	dir := t.TempDir()
	// A pid that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	r := Record{PID: cmd.Process.Pid, PGID: cmd.Process.Pid, Address: "http://127.0.0.1:1"}
	if err := writeRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("Find on a dead pid: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RecordFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("stale record not removed")
	}
	// Corrupt record.
	os.WriteFile(filepath.Join(dir, RecordFile), []byte("{not json"), 0o644)
	if _, err := Find(dir); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("Find on a corrupt record: %v", err)
	}
	// Missing dir.
	if _, err := Find(filepath.Join(dir, "nope")); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("Find on a missing dir: %v", err)
	}
}

func TestFindRejectsLiveNonRayPid(t *testing.T) {
	// Our own pid is alive but is not a `ray start` process.
	dir := t.TempDir()
	r := Record{PID: os.Getpid(), PGID: os.Getpid(), Address: "http://127.0.0.1:1"}
	if err := writeRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("Find accepted a non-ray pid: %v", err)
	}
}

func TestWriteRecordAtomic(t *testing.T) {
	dir := t.TempDir()
	want := Record{PID: 42, PGID: 42, Address: "http://127.0.0.1:9", TempDir: "/tmp/adoray-x",
		StartedAt: time.Unix(1700000000, 0).UTC(), RayVersion: "2.60.0"}
	if err := writeRecord(dir, want); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != RecordFile {
		t.Fatalf("state dir holds %v, want only %s", ents, RecordFile)
	}
	b, _ := os.ReadFile(filepath.Join(dir, RecordFile))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pid", "pgid", "address", "temp_dir", "started_at", "ray_version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("record lacks %q: %s", k, b)
		}
	}
	got, err := ReadRecord(dir)
	if err != nil || got.PID != 42 || !got.StartedAt.Equal(want.StartedAt) {
		t.Fatalf("ReadRecord = %+v, %v", got, err)
	}
}

// recordHungHead starts a fake `ray start --head --block` that runs but
// serves nothing (its group is killed at cleanup) and records it in dir as
// the head at address; the channel is closed when it has exited.
func recordHungHead(t *testing.T, dir, address, tempDir string) <-chan struct{} {
	t.Helper()
	hung := fakeRay(t, `while :; do sleep 1; done`)
	cmd := exec.Command(hung, "start", "--head", "--block")
	cmd.SysProcAttr = sysProcAttr(false)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { signalGroup(cmd.Process.Pid, syscall.SIGKILL) })
	r := Record{PID: cmd.Process.Pid, PGID: cmd.Process.Pid, Address: address, TempDir: tempDir}
	if err := writeRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	return exited
}

func TestStartStopsUnresponsiveRecordedHead(t *testing.T) {
	dir := t.TempDir()
	exited := recordHungHead(t, dir, "http://127.0.0.1:1", "/tmp/not-ours")
	if _, err := Find(dir); !errors.Is(err, ErrNoCluster) || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Find on a hung head: %v", err)
	}
	if _, err := ReadRecord(dir); err != nil {
		t.Fatalf("Find dropped the record of a live head: %v", err)
	}
	// Start (with a ray that fails at once) must first stop the hung head.
	failing := fakeRay(t, `echo "cannot start" >&2; exit 1`)
	if _, err := Start(context.Background(), Options{RayBin: failing, StateDir: dir}); err == nil {
		t.Fatal("Start with a failing ray succeeded")
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the unresponsive recorded head was not stopped")
	}
	if _, err := ReadRecord(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("record of the stopped head remains: %v", err)
	}
}

// probe checks the head at address as Find does, with a fresh client (so
// with the token settings of the moment).
func probe(address string) (string, error) {
	rc, err := client(address)
	if err != nil {
		return "", err
	}
	return serving(context.Background(), rc, "") // the fake names no session
}

func TestProbeSendsRayToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/api/version" {
			io.WriteString(w, `{"version":"4","ray_version":"9.9.9"}`)
			return
		}
		io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	t.Setenv("RAY_AUTH_TOKEN", "")
	t.Setenv("RAY_AUTH_TOKEN_PATH", filepath.Join(t.TempDir(), "none"))
	if _, err := probe(srv.URL); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("probe without a token: %v", err)
	}
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	t.Setenv("RAY_AUTH_TOKEN_PATH", tok)
	if v, err := probe(srv.URL); err != nil || v != "9.9.9" {
		t.Fatalf("probe with RAY_AUTH_TOKEN_PATH: %q %v", v, err)
	}
	t.Setenv("RAY_AUTH_TOKEN_PATH", "")
	t.Setenv("RAY_AUTH_TOKEN", "s3cret")
	if _, err := probe(srv.URL); err != nil {
		t.Fatalf("probe with RAY_AUTH_TOKEN: %v", err)
	}
}

// TestUnreadableTokenPathStopsStart: the head's probe finds Ray's token
// as rayjobs does, so an unreadable RAY_AUTH_TOKEN_PATH is a clear error
// naming it, found before any head is started.
func TestUnreadableTokenPathStopsStart(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	bin := fakeRay(t, `touch `+marker+`; exec sleep 60`)
	missing := filepath.Join(t.TempDir(), "no-token")
	t.Setenv("RAY_AUTH_TOKEN", "")
	t.Setenv("RAY_AUTH_TOKEN_PATH", missing)
	_, err := Start(context.Background(), Options{RayBin: bin, StateDir: t.TempDir(), StartTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "RAY_AUTH_TOKEN_PATH") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Start = %v; want an error naming RAY_AUTH_TOKEN_PATH and %s", err, missing)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Error("ray was started although the token setting was unusable")
	}
}

// TestStopJobsStopsEveryUnfinishedJob: before a head goes, every job Ray
// does not call terminal is stopped (not only PENDING and RUNNING), and
// finished jobs are left alone.
func TestStopJobsStopsEveryUnfinishedJob(t *testing.T) {
	var mu sync.Mutex
	status := map[string]string{"pending": "PENDING", "running": "RUNNING", "done": "SUCCEEDED", "failed": "FAILED", "future": "SOME_NEW_STATE"}
	var stopped []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/api/jobs/"), "/stop"); ok && r.Method == http.MethodPost {
			stopped = append(stopped, id)
			status[id] = "STOPPED"
			io.WriteString(w, `{"stopped":true}`)
			return
		}
		var jobs []string
		for id, s := range status {
			jobs = append(jobs, fmt.Sprintf(`{"submission_id":%q,"status":%q}`, id, s))
		}
		jobs = append(jobs, `{"submission_id":null,"status":"RUNNING"}`) // a driver not submitted as a job
		io.WriteString(w, "["+strings.Join(jobs, ",")+"]")
	}))
	defer srv.Close()
	t.Setenv("RAY_AUTH_TOKEN", "")
	t.Setenv("RAY_AUTH_TOKEN_PATH", "")
	c := &Cluster{Record: Record{Address: srv.URL}}
	c.stopJobs(context.Background())
	mu.Lock()
	defer mu.Unlock()
	sort.Strings(stopped)
	if want := []string{"future", "pending", "running"}; !reflect.DeepEqual(stopped, want) {
		t.Errorf("stopped %v, want %v", stopped, want)
	}
}

// list returns every single port (not the worker range).
func (p Ports) list() []int {
	return []int{p.GCS, p.Dashboard, p.RayClientServer, p.ObjectManager, p.NodeManager,
		p.DashboardAgent, p.DashboardGRPC, p.RuntimeEnvAgent, p.MetricsExport}
}

// TestAnotherRaysDashboardIsNotOurs: when another Ray answers at the
// recorded address (it took the port first), Find reports no usable
// cluster rather than hand out someone else's head, and keeps the record
// so the live process can still be stopped.
func TestAnotherRaysDashboardIsNotOurs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/version" {
			io.WriteString(w, `{"version":"4","ray_version":"2.60.0","session_name":"session_2026-01-01_00-00-00_000000_1"}`)
			return
		}
		io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	t.Setenv("RAY_AUTH_TOKEN", "")
	t.Setenv("RAY_AUTH_TOKEN_PATH", "")
	rc, err := client(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ours := t.TempDir()
	if _, err := serving(context.Background(), rc, ours); err == nil || !strings.Contains(err.Error(), "another Ray") {
		t.Fatalf("serving with another session = %v", err)
	}
	if err := os.Mkdir(filepath.Join(ours, "session_2026-01-01_00-00-00_000000_1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := serving(context.Background(), rc, ours); err != nil || v != "2.60.0" {
		t.Fatalf("serving with our session = %q, %v", v, err)
	}

	dir := t.TempDir()
	recordHungHead(t, dir, srv.URL, t.TempDir())
	if _, err := Find(dir); !errors.Is(err, ErrNoCluster) || !strings.Contains(err.Error(), "another Ray") {
		t.Fatalf("Find with another Ray at the address: %v", err)
	}
	if _, err := ReadRecord(dir); err != nil {
		t.Fatalf("Find dropped the record of a live head: %v", err)
	}
}
