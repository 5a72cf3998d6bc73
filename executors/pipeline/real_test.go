package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/internal/testgate"
	"github.com/adopipe/adopipe/planner"
)

// A real local Ray head is killed in the middle of an apply: the apply
// fails saying the dashboard cannot be reached; the next apply starts a
// new head and the job exists exactly once.
func TestRealHeadKilledMidApply(t *testing.T) {
	testgate.Real(t, "starts Ray heads")
	rayBin := raytest.RequireRay(t)
	dir, cfg := loadProject(t, map[string]string{
		"ado.hcl": `
cluster "local" {
  local { num_cpus = 1 }
}
operation "op" {
  cluster   = cluster.local
  context   = "c.yaml"
  operation = "o.yaml"
  args      = ["python", "-c", "print('ran once')"]
}`,
		"c.yaml": "project: p\n",
		"o.yaml": "spaces: [s]\n",
	})
	workDir := filepath.Join(dir, ".adopipe")
	statePath := filepath.Join(workDir, "state.json")
	clusterDir := ClusterDir(workDir, "local")
	t.Cleanup(func() {
		if c, err := localcluster.Find(clusterDir); err == nil {
			c.Stop(context.Background())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	apply := func(hook func(context.Context, planner.JobStep, *Connection) error) (*Outcome, error) {
		st, err := state.Load(statePath)
		if err != nil {
			t.Fatal(err)
		}
		p, err := planner.New(workDir, nil).Plan(ctx, planner.Request{Config: cfg, State: st})
		if err != nil {
			t.Fatal(err)
		}
		cn := &Connector{WorkDir: workDir, RayBin: rayBin}
		defer cn.Close()
		return Apply(ctx, Options{
			Config: cfg, Plan: p, State: st, StatePath: statePath, WorkDir: workDir,
			Cache: wheelcache.New(filepath.Join(workDir, "cache")), Connector: cn, BeforeSubmit: hook,
		})
	}

	var killed *localcluster.Record
	_, err := apply(func(_ context.Context, _ planner.JobStep, conn *Connection) error {
		rec := conn.Local.Record
		killed = &rec
		// The whole head, as a crash or an OOM kill would take it.
		syscall.Kill(-rec.PGID, syscall.SIGKILL)
		return nil
	})
	if killed == nil {
		t.Fatal("the apply never reached the submit stage")
	}
	t.Cleanup(func() { os.RemoveAll(killed.TempDir) })
	var unreachable *rayjobs.UnreachableError
	if err == nil || !errors.As(err, &unreachable) || !strings.Contains(err.Error(), killed.Address) {
		t.Fatalf("apply with the head killed: %v", err)
	}

	out, err := apply(nil)
	if err != nil {
		t.Fatalf("apply after the head came back: %v", err)
	}
	if out.Submitted != 1 || len(out.Jobs) != 1 {
		t.Fatalf("outcome = %+v", out)
	}
	c := out.Jobs[0].Client()
	if c.Address() == killed.Address {
		t.Fatalf("the dead head's address %s was reused", killed.Address)
	}
	jobs, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if strings.HasPrefix(j.SubmissionID, "adopipe-op-") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d adopipe jobs on the new head, want exactly 1", n)
	}
	info, err := c.WaitTerminal(ctx, out.Jobs[0].JobID, time.Second)
	if err != nil || info.Status != rayjobs.StatusSucceeded {
		t.Fatalf("job ended %v (%v)", info.Status, err)
	}
}

// The port-forward to a real Ray head dies between connecting and
// uploading: the keeper restarts it, the apply completes, and the job
// exists exactly once on the head.
func TestRealPortForwardKilledMidApply(t *testing.T) {
	testgate.Real(t, "a Ray head")
	head := raytest.Head(t)
	oc := newStandInOC(t, head)
	nonce := strings.ReplaceAll(t.Name()+time.Now().Format("150405.000000"), ".", "")
	dir, cfg := loadProject(t, map[string]string{
		"ado.hcl": `
cluster "dev" {
  port_forward {
    command   = "` + oc.path + `"
    namespace = "ns"
    service   = "ray-head"
    local_port = 0
  }
}
operation "op" {
  cluster   = cluster.dev
  context   = "c.yaml"
  operation = "o.yaml"
  env       = { NONCE = "` + nonce + `" }
  args      = ["python", "-c", "print('through the forward')"]
}`,
		"c.yaml": "project: p\n",
		"o.yaml": "spaces: [s]\n",
	})
	workDir := filepath.Join(dir, ".adopipe")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := planner.New(workDir, nil).Plan(ctx, planner.Request{Config: cfg, State: state.New()})
	if err != nil {
		t.Fatal(err)
	}
	cn := &Connector{WorkDir: workDir}
	defer cn.Close()
	out, err := Apply(ctx, Options{
		Config: cfg, Plan: p, State: state.New(), StatePath: filepath.Join(workDir, "state.json"), WorkDir: workDir,
		Cache: wheelcache.New(filepath.Join(workDir, "cache")), Connector: cn,
		BeforeSubmit: func(context.Context, planner.JobStep, *Connection) error { return oc.kill() },
	})
	if err != nil || out.Submitted != 1 {
		t.Fatalf("apply through a forward that died: %+v, %v", out, err)
	}
	c, err := rayjobs.New(rayjobs.Config{Address: head})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.WaitTerminal(ctx, out.Jobs[0].JobID, time.Second)
	if err != nil || info.Status != rayjobs.StatusSucceeded {
		t.Fatalf("job ended %v (%v)", info.Status, err)
	}
	jobs, _ := c.List(ctx)
	n := 0
	for _, j := range jobs {
		if j.SubmissionID == out.Jobs[0].JobID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d jobs with id %s on the head", n, out.Jobs[0].JobID)
	}
}
