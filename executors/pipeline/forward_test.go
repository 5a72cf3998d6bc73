package pipeline

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

func TestMain(m *testing.M) {
	if os.Getenv("PIPELINE_FAKE_OC") == "1" {
		fakeForward(os.Args[1], os.Getenv("FAKE_OC_TARGET"))
		return
	}
	code := m.Run()
	raytest.StopHead() // the shared head, if this binary started one
	os.Exit(code)
}

// fakeForward relays 127.0.0.1:port to target, as a port-forward does.
func fakeForward(port, target string) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer u.Close()
			go io.Copy(u, c)
			io.Copy(c, u)
		}()
	}
}

// standInOC sets up testdata/oc to relay to target (a host:port) and
// records where it keeps its pid, so a test can kill it like a dying
// port-forward.
type standInOC struct {
	t    *testing.T
	dir  string
	path string // absolute path of testdata/oc
}

func newStandInOC(t *testing.T, target string) *standInOC {
	dir := t.TempDir()
	exe, _ := os.Executable()
	t.Setenv("FAKE_OC_DIR", dir)
	t.Setenv("FAKE_OC_BINARY", exe)
	t.Setenv("FAKE_OC_TARGET", strings.TrimPrefix(target, "http://"))
	path, err := filepath.Abs("testdata/oc")
	if err != nil {
		t.Fatal(err)
	}
	return &standInOC{t: t, dir: dir, path: path}
}

// portForward points cluster at the stand-in on a free local port.
func (o *standInOC) portForward(c *manifest.Cluster) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		o.t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.Address = ""
	c.PortForward = &manifest.PortForward{Command: o.path, Namespace: "ns", Service: "ray-head", Port: 8265, LocalPort: port}
}

// kill SIGKILLs the running forward.
func (o *standInOC) kill() error {
	b, err := os.ReadFile(filepath.Join(o.dir, "pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// starts counts how often the forward was started.
func (o *standInOC) starts() int {
	b, _ := os.ReadFile(filepath.Join(o.dir, "starts"))
	return strings.Count(string(b), "start")
}

// The port-forward dies between connecting and uploading: its keeper
// restarts it, the client's retry waits for that, and the job is
// submitted once.
func TestPortForwardKilledMidApply(t *testing.T) {
	e := newEnv(t)
	oc := newStandInOC(t, e.address)
	oc.portForward(e.cfg.Clusters["dev"])

	p := e.plan()
	workDir := filepath.Join(e.dir, ".adopipe")
	cn := &Connector{WorkDir: workDir}
	defer cn.Close()
	killed := false
	out, err := Apply(context.Background(), Options{
		Config: e.cfg, Plan: p, State: e.st, StatePath: filepath.Join(workDir, "state.json"),
		WorkDir: workDir, Cache: e.cache, Connector: cn,
		BeforeSubmit: func(ctx context.Context, job planner.JobStep, conn *Connection) error {
			killed = oc.kill() == nil
			return nil
		},
	})
	if err != nil {
		t.Fatalf("apply after the forward died: %v", err)
	}
	if !killed || out.Submitted != 1 || len(e.fake.Submitted) != 1 {
		t.Fatalf("killed=%v outcome=%+v submitted=%d", killed, out, len(e.fake.Submitted))
	}
	if n := oc.starts(); n < 2 {
		t.Errorf("the forward was started %d times, want a restart", n)
	}
}

// Under watch, one Connector (and its kept-alive forward) serves every
// cycle: a forward that dies between two cycles is restarted by its keeper
// and the next cycle's job goes through.
func TestPortForwardKilledBetweenWatchCycles(t *testing.T) {
	e := newEnv(t)
	oc := newStandInOC(t, e.address)
	oc.portForward(e.cfg.Clusters["dev"])

	workDir := filepath.Join(e.dir, ".adopipe")
	cn := &Connector{WorkDir: workDir}
	defer cn.Close()
	cycle := func() (*Outcome, error) {
		return Apply(context.Background(), Options{
			Config: e.cfg, Plan: e.plan(), State: e.st, StatePath: filepath.Join(workDir, "state.json"),
			WorkDir: workDir, Cache: e.cache, Connector: cn,
		})
	}
	if out, err := cycle(); err != nil || out.Submitted != 1 {
		t.Fatalf("first cycle: %+v, %v", out, err)
	}
	if err := oc.kill(); err != nil {
		t.Fatal(err)
	}
	// An edit between cycles: the operation's YAML changes.
	os.WriteFile(e.cfg.Operations["op"].Operation.Src, []byte("spaces: [t]\n"), 0o644)
	out, err := cycle()
	if err != nil || out.Submitted != 1 || len(e.fake.Submitted) != 2 {
		t.Fatalf("cycle after the forward died: %+v, %v (submitted %d)", out, err, len(e.fake.Submitted))
	}
}
