package localcluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/running"
	"github.com/adopipe/adopipe/internal/testwait"
)

// These tests start real Ray heads with the project's ray CLI.

func getVersion(t *testing.T, address string) (string, bool) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(address + "/api/version")
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode == 200
}

// gone reports whether no process with pid exists (or it is a zombie).
func gone(pid int) bool { return !running.Process(pid) }

func start(t *testing.T, bin, dir string) *localcluster.Cluster {
	t.Helper()
	c, err := localcluster.Start(context.Background(), localcluster.Options{
		RayBin: bin, StateDir: dir, NumCPUs: 1, ObjectStoreMemory: 128 << 20,
		DieWithParent: true, Progress: func(e progress.Event) { t.Log(e.Message) },
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Stop(ctx)
	})
	return c
}

func TestRealStartFindStop(t *testing.T) {
	bin := raytest.RequireRay(t)
	dir := t.TempDir()
	c := start(t, bin, dir)

	body, ok := getVersion(t, c.Address)
	if !ok || !strings.Contains(body, `"ray_version"`) || c.RayVersion == "" || !strings.Contains(body, c.RayVersion) {
		t.Fatalf("GET /api/version = %q ok=%v, recorded version %q", body, ok, c.RayVersion)
	}
	if !strings.HasPrefix(c.Address, "http://127.0.0.1:") {
		t.Fatalf("address %q not on loopback", c.Address)
	}
	checkLoopbackOnly(t, c.PID)
	if len(c.TempDir) > 40 {
		t.Errorf("temp dir %q is long; Ray's socket paths are limited to 107 bytes", c.TempDir)
	}
	rec, err := localcluster.ReadRecord(dir)
	if err != nil || rec.PID != c.PID || rec.Address != c.Address || rec.RayVersion != c.RayVersion {
		t.Fatalf("record %+v, %v; cluster %+v", rec, err, c.Record)
	}

	// Find reuses it.
	f, err := localcluster.Find(dir)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if f.PID != c.PID || f.Address != c.Address {
		t.Fatalf("Find = pid %d %s, want pid %d %s", f.PID, f.Address, c.PID, c.Address)
	}
	// A second Start on the same state dir refuses.
	if _, err := localcluster.Start(context.Background(), localcluster.Options{RayBin: bin, StateDir: dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Start on a live state dir: %v", err)
	}

	// A running job must not outlive the head.
	// A unique duration makes the job's sleep process easy to find.
	marker := fmt.Sprintf("600.%09d", time.Now().UnixNano()%1e9)
	// Submitted as adopipe does (rayjobs retries while a loaded head's
	// job agent is not up yet).
	rc, err := rayjobs.New(rayjobs.Config{Address: c.Address, Retries: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rc.Submit(context.Background(), rayjobs.SubmitRequest{Entrypoint: "sleep " + marker, SubmissionID: "localcluster-realtest-" + marker}); err != nil {
		t.Fatalf("submitting a job: %v", err)
	}
	testwait.For(t, time.Minute, "the job's process", func() bool { return len(procsWith(marker)) > 0 })

	// Stop through the found handle (as a later adopipe invocation would).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := f.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stop took %s", time.Since(t0))
	if !gone(c.PID) {
		t.Fatalf("pid %d still alive after Stop", c.PID)
	}
	if _, ok := getVersion(t, c.Address); ok {
		t.Fatalf("%s still answers after Stop", c.Address)
	}
	logged := map[int]bool{}
	testwait.For(t, time.Minute, "the job's process to end", func() bool {
		left := procsWith(marker)
		for _, pid := range left {
			if !logged[pid] { // what CI shows if this times out
				logged[pid] = true
				stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				t.Logf("left after Stop: %s", stat)
			}
		}
		return len(left) == 0
	})
	if _, err := os.Stat(filepath.Join(dir, localcluster.RecordFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("record still present after Stop: %v", err)
	}
	if _, err := os.Stat(c.TempDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp dir %s still present after Stop: %v", c.TempDir, err)
	}
	if _, err := localcluster.Find(dir); !errors.Is(err, localcluster.ErrNoCluster) {
		t.Fatalf("Find after Stop: %v", err)
	}
	if c.Alive() {
		t.Fatal("original handle reports the head alive")
	}
}

func TestRealTwoClustersDoNotCollide(t *testing.T) {
	bin := raytest.RequireRay(t)
	var (
		wg sync.WaitGroup
		cs [2]*localcluster.Cluster
		es [2]error
	)
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs[i], es[i] = localcluster.Start(context.Background(), localcluster.Options{
				RayBin: bin, StateDir: t.TempDir(), NumCPUs: 1, ObjectStoreMemory: 128 << 20, DieWithParent: true,
			})
		}()
	}
	wg.Wait()
	for i, c := range cs {
		if c != nil {
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				c.Stop(ctx)
			})
		}
		if es[i] != nil {
			t.Fatalf("cluster %d: %v", i, es[i])
		}
	}
	a, b := cs[0], cs[1]
	if a.Address == b.Address || a.TempDir == b.TempDir || a.PGID == b.PGID {
		t.Fatalf("clusters share address/temp dir/group: %+v %+v", a.Record, b.Record)
	}
	used := map[int]bool{}
	for _, c := range cs {
		p := c.Ports
		for _, port := range []int{p.GCS, p.Dashboard, p.RayClientServer, p.ObjectManager, p.NodeManager,
			p.DashboardAgent, p.DashboardGRPC, p.RuntimeEnvAgent, p.MetricsExport} {
			if used[port] {
				t.Fatalf("port %d used by both clusters", port)
			}
			used[port] = true
		}
	}
	if a.Ports.MinWorker <= b.Ports.MaxWorker && b.Ports.MinWorker <= a.Ports.MaxWorker {
		t.Fatalf("worker port ranges overlap: %+v %+v", a.Ports, b.Ports)
	}
	for _, c := range cs {
		if _, ok := getVersion(t, c.Address); !ok {
			t.Fatalf("%s does not answer", c.Address)
		}
	}
	// Stopping one leaves the other running.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := getVersion(t, b.Address); !ok {
		t.Fatalf("stopping %s took %s down", a.Address, b.Address)
	}
	if !b.Alive() {
		t.Fatal("second head died")
	}
}

// procsWith returns the pids whose command line contains s.
func procsWith(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), s) && !gone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
