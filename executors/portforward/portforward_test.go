package portforward

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/running"
	"github.com/adopipe/adopipe/internal/testwait"
)

// TestMain doubles as the stand-in forwarder's HTTP server: testdata/oc
// execs this test binary with PORTFORWARD_FAKE_SERVER=1 and the port.
func TestMain(m *testing.M) {
	if os.Getenv("PORTFORWARD_FAKE_SERVER") == "1" {
		serve(os.Args[len(os.Args)-1])
		return
	}
	os.Exit(m.Run())
}

func serve(port string) {
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: unable to listen on port %s: %v\n", port, err)
		os.Exit(1)
	}
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"version":"4","ray_version":"fake","pid":%d}`, os.Getpid())
	}))
}

// fake sets up the stand-in `oc` and returns its state directory.
type fake struct {
	t   *testing.T
	dir string
	oc  string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	oc, err := filepath.Abs("testdata/oc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("FAKE_OC_DIR", dir)
	t.Setenv("FAKE_OC_SERVER", self)
	return &fake{t: t, dir: dir, oc: oc}
}

func (f *fake) setMode(mode string) {
	if err := os.WriteFile(filepath.Join(f.dir, "mode"), []byte(mode), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) pid() int {
	b, _ := os.ReadFile(filepath.Join(f.dir, "pid"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (f *fake) starts() int {
	b, _ := os.ReadFile(filepath.Join(f.dir, "starts"))
	return strings.Count(string(b), "start")
}

func (f *fake) spec() Spec {
	return Spec{
		Command: f.oc, Namespace: "discovery-dev", Service: "ray-head-svc", RemotePort: 8265,
		LogPath:       filepath.Join(f.dir, "logs", "pf.log"),
		ReadyTimeout:  10 * time.Second,
		ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout:  2 * time.Second,
		ProbeFailures: 3, MaxRestarts: 3,
		BackoffInitial: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// add keeps an event's message as a line.
func (s *syncBuf) add(e progress.Event) { s.Write([]byte(e.Message + "\n")) }

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servedBy returns the pid of the server answering on port, or 0.
func servedBy(port int) int {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/api/version")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	s := buf.String()
	i := strings.Index(s, `"pid":`)
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimRight(s[i+6:], "}"))
	return n
}

func TestKeeperRestartsKilledForwarder(t *testing.T) {
	f := newFake(t)
	var events syncBuf
	spec := f.spec()
	spec.Progress = events.add
	k, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	port := k.LocalPort()
	if port == 0 || k.Address() != "http://127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("LocalPort %d Address %s", port, k.Address())
	}
	args, _ := os.ReadFile(filepath.Join(f.dir, "args"))
	if want := fmt.Sprintf("port-forward --namespace discovery-dev svc/ray-head-svc %d:8265\n", port); string(args) != want {
		t.Fatalf("forwarder args %q, want %q", args, want)
	}
	first := f.pid()
	if !strings.HasPrefix(k.State(), fmt.Sprintf("running pid %d since ", first)) {
		t.Fatalf("State = %q, want running pid %d", k.State(), first)
	}
	if got := servedBy(port); got != first {
		t.Fatalf("port %d served by pid %d, want %d", port, got, first)
	}

	// The forward dies (as `oc port-forward` does when idle).
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 20*time.Second, "a restarted forwarder serving the port", func() bool {
		p := f.pid()
		return p != first && servedBy(port) == p && strings.HasPrefix(k.State(), fmt.Sprintf("running pid %d", p))
	})
	if err := k.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.starts(); n != 2 {
		t.Errorf("forwarder started %d times, want 2", n)
	}
	if !strings.Contains(events.String(), "restarting (attempt 1)") || !strings.Contains(events.String(), "signal: killed") {
		t.Errorf("events lack the restart and its cause:\n%s", events.String())
	}
	log, _ := os.ReadFile(spec.LogPath)
	if strings.Count(string(log), "Forwarding from 127.0.0.1:"+strconv.Itoa(port)) != 2 {
		t.Errorf("log %s lacks both runs' output:\n%s", spec.LogPath, log)
	}
}

// flakyProbe gives spec a free local port and an HTTP probe of it that
// fails while failNext is above zero (counting it down); calls counts the
// probes.
func flakyProbe(t *testing.T, spec *Spec) (failNext, calls *atomic.Int32) {
	t.Helper()
	failNext, calls = new(atomic.Int32), new(atomic.Int32)
	spec.LocalPort = freePortT(t)
	base := HTTPProbe("http://127.0.0.1:" + strconv.Itoa(spec.LocalPort) + "/")
	spec.Probe = func(ctx context.Context) error {
		calls.Add(1)
		if failNext.Load() > 0 {
			failNext.Add(-1)
			return fmt.Errorf("injected probe failure")
		}
		return base(ctx)
	}
	return failNext, calls
}

func TestKeeperRestartsWhenProbeKeepsFailing(t *testing.T) {
	f := newFake(t)
	spec := f.spec()
	failNext, _ := flakyProbe(t, &spec)
	k, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	if k.LocalPort() != spec.LocalPort {
		t.Fatalf("LocalPort %d, want the requested %d", k.LocalPort(), spec.LocalPort)
	}
	first := f.pid()
	// Alive but not forwarding: N failed probes in a row restart it.
	failNext.Store(int32(spec.ProbeFailures))
	testwait.For(t, 20*time.Second, "a restart after failed probes", func() bool {
		p := f.pid()
		return p != first && strings.HasPrefix(k.State(), fmt.Sprintf("running pid %d", p))
	})
	if running.Process(first) {
		t.Fatalf("old forwarder pid %d still alive after restart", first)
	}
	if servedBy(spec.LocalPort) != f.pid() {
		t.Fatal("restarted forwarder does not serve the port")
	}
}

func TestKeeperProbeBlipsDoNotRestart(t *testing.T) {
	f := newFake(t)
	spec := f.spec()
	failNext, calls := flakyProbe(t, &spec)
	k, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	failNext.Store(int32(spec.ProbeFailures - 1))
	after := calls.Load()
	// Wait for the blips and several good probes after them.
	testwait.For(t, 20*time.Second, "probes after the blips", func() bool { return calls.Load() >= after+int32(spec.ProbeFailures)+3 })
	if n := f.starts(); n != 1 {
		t.Fatalf("%d failed probes (< N) restarted the forwarder: %d starts", spec.ProbeFailures-1, n)
	}
}

func TestKeeperGivesUpWithLastMessage(t *testing.T) {
	f := newFake(t)
	f.setMode("fail")
	spec := f.spec()
	spec.MaxRestarts = 2
	k, err := Start(context.Background(), spec)
	if err == nil {
		k.Stop()
		t.Fatal("Start succeeded with a forwarder that always fails")
	}
	msg := err.Error()
	for _, want := range []string{"gave up after 2 failed restarts",
		"error: unable to forward port because pod is not running. Current status=Pending", "exit status 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if n := f.starts(); n != 3 {
		t.Errorf("forwarder started %d times, want 1 + 2 restarts", n)
	}
}

func TestKeeperGivesUpAfterRunning(t *testing.T) {
	f := newFake(t)
	spec := f.spec()
	spec.MaxRestarts = 2
	var events syncBuf
	spec.Progress = events.add
	k, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	// The cluster goes away: the forward dies and cannot come back.
	f.setMode("fail")
	syscall.Kill(f.pid(), syscall.SIGKILL)
	select {
	case <-k.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("keeper did not give up; state %q", k.State())
	}
	if k.Err() == nil || !strings.Contains(k.Err().Error(), "pod is not running") {
		t.Fatalf("Err() = %v", k.Err())
	}
	if err := k.WaitReady(context.Background()); err == nil || err.Error() != k.Err().Error() {
		t.Fatalf("WaitReady after giving up = %v", err)
	}
	if st := k.State(); !strings.HasPrefix(st, "gave up after 2 failed restarts: exit status 1: error: unable to forward") {
		t.Fatalf("State = %q", st)
	}
	ev := events.String()
	for _, want := range []string{"restarting (attempt 1)", "restarting (attempt 2)", "gave up"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	if strings.Contains(ev, "restarting (attempt 3)") {
		t.Errorf("more restarts than MaxRestarts:\n%s", ev)
	}
	// The first run plus M restarts, none of which got ready.
	if n := f.starts(); n != 1+spec.MaxRestarts {
		t.Errorf("forwarder started %d times, want %d", n, 1+spec.MaxRestarts)
	}
}

func TestKeeperStopKillsForwarder(t *testing.T) {
	f := newFake(t)
	k, err := Start(context.Background(), f.spec())
	if err != nil {
		t.Fatal(err)
	}
	pid := f.pid()
	if err := k.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if running.Process(pid) {
		t.Fatalf("forwarder pid %d alive after Stop", pid)
	}
	if servedBy(k.LocalPort()) != 0 {
		t.Fatal("port still served after Stop")
	}
	if k.Err() != nil || k.State() != "stopped" {
		t.Fatalf("after Stop: Err %v State %q", k.Err(), k.State())
	}
	if n := f.starts(); n != 1 {
		t.Fatalf("Stop restarted the forwarder (%d starts)", n)
	}
	k.Stop() // idempotent
}

func TestStartContextCancelled(t *testing.T) {
	f := newFake(t)
	spec := f.spec()
	spec.Probe = func(ctx context.Context) error { return fmt.Errorf("never ready") }
	spec.ReadyTimeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.starts() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	_, err := Start(ctx, spec)
	if err == nil || !strings.Contains(err.Error(), "context canceled") || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("Start with a cancelled ctx: %v", err)
	}
	pid := f.pid()
	testwait.For(t, 20*time.Second, "the forwarder to be killed", func() bool { return !running.Process(pid) })
}

func TestSpecValidation(t *testing.T) {
	if _, err := Start(context.Background(), Spec{Command: "oc"}); err == nil {
		t.Fatal("empty spec accepted")
	}
	_, err := Start(context.Background(), Spec{Command: "no-such-oc-binary", Namespace: "n", Service: "s", RemotePort: 1})
	if err == nil || !strings.Contains(err.Error(), "no-such-oc-binary") {
		t.Fatalf("missing command: %v", err)
	}
}

func TestBackoffCapped(t *testing.T) {
	k := &Keeper{spec: Spec{BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second}}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := k.backoff(i + 1); got != w*time.Millisecond && !(w == 1000 && got == time.Second) {
			t.Errorf("backoff(%d) = %s, want %dms", i+1, got, w)
		}
	}
}

func freePortT(t *testing.T) int {
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
