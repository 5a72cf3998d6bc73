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

// The port-forward dies between connecting and uploading: its keeper
// restarts it, the client's retry waits for that, and the job is
// submitted once.
func TestPortForwardKilledMidApply(t *testing.T) {
	e := newEnv(t)
	ocDir := t.TempDir()
	exe, _ := os.Executable()
	t.Setenv("FAKE_OC_DIR", ocDir)
	t.Setenv("FAKE_OC_BINARY", exe)
	t.Setenv("FAKE_OC_TARGET", strings.TrimPrefix(e.address, "http://"))
	oc, _ := filepath.Abs("testdata/oc")

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	e.cfg.Clusters["dev"].Address = ""
	e.cfg.Clusters["dev"].PortForward = &manifest.PortForward{Command: oc, Namespace: "ns", Service: "ray-head", Port: 8265, LocalPort: port}

	p := e.plan()
	workDir := filepath.Join(e.dir, ".adopipe")
	cn := &Connector{WorkDir: workDir}
	defer cn.Close()
	killed := false
	out, err := Apply(context.Background(), Options{
		Config: e.cfg, Plan: p, State: e.st, StatePath: filepath.Join(workDir, "state.json"),
		WorkDir: workDir, Cache: e.cache, Connector: cn,
		BeforeSubmit: func(ctx context.Context, job planner.JobStep, conn *Connection) error {
			b, err := os.ReadFile(filepath.Join(ocDir, "pid"))
			if err != nil {
				return err
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			killed = syscall.Kill(pid, syscall.SIGKILL) == nil
			return nil
		},
	})
	if err != nil {
		t.Fatalf("apply after the forward died: %v", err)
	}
	if !killed || out.Submitted != 1 || len(e.fake.submitted) != 1 {
		t.Fatalf("killed=%v outcome=%+v submitted=%d", killed, out, len(e.fake.submitted))
	}
	starts, _ := os.ReadFile(filepath.Join(ocDir, "starts"))
	if n := strings.Count(string(starts), "start"); n < 2 {
		t.Errorf("the forward was started %d times, want a restart", n)
	}
}

// Under watch, one Connector (and its kept-alive forward) serves every
// cycle: a forward that dies between two cycles is restarted by its keeper
// and the next cycle's job goes through.
func TestPortForwardKilledBetweenWatchCycles(t *testing.T) {
	e := newEnv(t)
	ocDir := t.TempDir()
	exe, _ := os.Executable()
	t.Setenv("FAKE_OC_DIR", ocDir)
	t.Setenv("FAKE_OC_BINARY", exe)
	t.Setenv("FAKE_OC_TARGET", strings.TrimPrefix(e.address, "http://"))
	oc, _ := filepath.Abs("testdata/oc")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	e.cfg.Clusters["dev"].Address = ""
	e.cfg.Clusters["dev"].PortForward = &manifest.PortForward{Command: oc, Namespace: "ns", Service: "ray-head", Port: 8265, LocalPort: port}

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
	b, _ := os.ReadFile(filepath.Join(ocDir, "pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// An edit between cycles: the operation's YAML changes.
	os.WriteFile(e.cfg.Operations["op"].Operation.Src, []byte("spaces: [t]\n"), 0o644)
	out, err := cycle()
	if err != nil || out.Submitted != 1 || len(e.fake.submitted) != 2 {
		t.Fatalf("cycle after the forward died: %+v, %v (submitted %d)", out, err, len(e.fake.submitted))
	}
}
