// Package portforward keeps an `oc`/`kubectl port-forward` alive.
//
// Start runs `COMMAND port-forward --namespace NS svc/SERVICE LOCAL:REMOTE`
// in its own process group, appends its output to a log file, waits until
// a probe through the forwarded port succeeds, then watches it: when the
// process exits, or the probe fails several times in a row, it is killed
// and started again with capped exponential backoff. After too many
// consecutive restarts that never became ready the keeper gives up with an
// error naming the forwarder's last stderr line.
package portforward

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/internal/progress"
)

// Defaults for the Spec's tuning fields.
const (
	DefaultReadyTimeout   = 30 * time.Second
	DefaultProbeInterval  = 5 * time.Second
	DefaultProbeTimeout   = 5 * time.Second
	DefaultProbeFailures  = 3
	DefaultMaxRestarts    = 5
	DefaultBackoffInitial = 500 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
)

// Spec describes one port-forward.
type Spec struct {
	// Command is "oc", "kubectl" or a path to either (required).
	Command    string
	Namespace  string // required
	Service    string // required, without the "svc/" prefix
	LocalPort  int    // 0: a free port is chosen; see Keeper.LocalPort
	RemotePort int    // required
	// Probe checks the forward works; nil means an HTTP GET of
	// http://127.0.0.1:LOCAL/api/version that gets any HTTP answer.
	Probe func(ctx context.Context) error
	// LogPath receives the forwarder's stdout and stderr (appended).
	// Empty discards them (the last stderr line is still kept).
	LogPath string
	// ExtraArgs are passed after "port-forward" (e.g. "--context=x").
	ExtraArgs []string
	// Env is added to this process's environment for the forwarder.
	Env []string
	// Progress receives one EventCluster per lifecycle event. May be nil.
	Progress progress.Func

	// Tuning; zero means the default.
	ReadyTimeout   time.Duration // per start, until the probe first passes
	ProbeInterval  time.Duration // between probes while running
	ProbeTimeout   time.Duration // per probe call
	ProbeFailures  int           // N: consecutive failed probes that trigger a restart
	MaxRestarts    int           // M: consecutive restarts that never got ready before giving up
	BackoffInitial time.Duration
	BackoffMax     time.Duration
}

// Keeper supervises one port-forward process.
type Keeper struct {
	spec Spec
	args []string

	mu        sync.Mutex
	state     string
	lastErr   string // last stderr line of the forwarder
	ready     bool
	readyCh   chan struct{} // closed and replaced on every transition to running
	gaveUpErr error

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed when the supervise loop returns
	logMu    sync.Mutex
	logF     *os.File
}

// Start launches the forwarder and returns once the probe passes. It
// returns an error (and leaves nothing running) if the forwarder never
// becomes ready within the restart budget or ctx ends first.
func Start(ctx context.Context, spec Spec) (*Keeper, error) {
	if spec.Command == "" || spec.Namespace == "" || spec.Service == "" || spec.RemotePort <= 0 {
		return nil, errors.New("portforward: Command, Namespace, Service and RemotePort are required")
	}
	bin, err := exec.LookPath(spec.Command)
	if err != nil {
		return nil, fmt.Errorf("port-forward command %q not found: %w", spec.Command, err)
	}
	spec.Command = bin
	setDefaults(&spec)
	if spec.LocalPort == 0 {
		if spec.LocalPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if spec.Probe == nil {
		spec.Probe = HTTPProbe("http://127.0.0.1:" + strconv.Itoa(spec.LocalPort) + "/api/version")
	}
	k := &Keeper{
		spec:    spec,
		state:   "starting",
		readyCh: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	k.args = append([]string{"port-forward"}, spec.ExtraArgs...)
	k.args = append(k.args, "--namespace", spec.Namespace, "svc/"+spec.Service,
		fmt.Sprintf("%d:%d", spec.LocalPort, spec.RemotePort))
	if spec.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		k.logF = f
	}
	go k.supervise()
	if err := k.WaitReady(ctx); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}

func setDefaults(s *Spec) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.ReadyTimeout, DefaultReadyTimeout)
	def(&s.ProbeInterval, DefaultProbeInterval)
	def(&s.ProbeTimeout, DefaultProbeTimeout)
	def(&s.BackoffInitial, DefaultBackoffInitial)
	def(&s.BackoffMax, DefaultBackoffMax)
	if s.ProbeFailures <= 0 {
		s.ProbeFailures = DefaultProbeFailures
	}
	if s.MaxRestarts <= 0 {
		s.MaxRestarts = DefaultMaxRestarts
	}
}

// HTTPProbe returns a probe that passes when url answers with any HTTP
// status: the forward carries traffic (auth errors are not its business).
func HTTPProbe(url string) func(ctx context.Context) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free local port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Address is http://127.0.0.1:LOCAL, the address to give the Ray client.
func (k *Keeper) Address() string { return "http://127.0.0.1:" + strconv.Itoa(k.spec.LocalPort) }

// Command is the forwarder command line, for messages.
func (k *Keeper) Command() string {
	return filepath.Base(k.spec.Command) + " " + strings.Join(k.args, " ")
}

// State describes the keeper for humans, e.g. "running pid 123 since
// 10:04:05" or "restarting (attempt 3): exited: error: ... ".
func (k *Keeper) State() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state
}

// Err is the reason the keeper gave up, nil while it keeps going or after
// a plain Stop.
func (k *Keeper) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gaveUpErr
}

// WaitReady blocks until the forward is running and its probe passed, the
// keeper gives up, or ctx ends. Call it before using the forward after a
// failure to ride out a restart.
func (k *Keeper) WaitReady(ctx context.Context) error {
	for {
		k.mu.Lock()
		ready, ch, gave := k.ready, k.readyCh, k.gaveUpErr
		k.mu.Unlock()
		if ready {
			return nil
		}
		if gave != nil {
			return gave
		}
		select {
		case <-ch:
		case <-k.done:
			if err := k.Err(); err != nil {
				return err
			}
			return errors.New("port-forward stopped")
		case <-ctx.Done():
			return fmt.Errorf("port-forward %s not ready: %w (%s)", k.Command(), ctx.Err(), k.State())
		}
	}
}

// Stop ends supervision and kills the forwarder's process group.
func (k *Keeper) Stop() error {
	k.stopOnce.Do(func() { close(k.stop) })
	<-k.done
	return nil
}

func (k *Keeper) logf(format string, a ...any) {
	k.spec.Progress.Emit(progress.Event{Type: progress.EventCluster,
		Message: fmt.Sprintf("port-forward svc/%s: "+format, append([]any{k.spec.Service}, a...)...)})
}

func (k *Keeper) setState(ready bool, format string, a ...any) {
	k.mu.Lock()
	k.state = fmt.Sprintf(format, a...)
	if ready && !k.ready {
		close(k.readyCh)
	} else if !ready && k.ready {
		k.readyCh = make(chan struct{})
	}
	k.ready = ready
	k.mu.Unlock()
}

func (k *Keeper) lastLine() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastErr
}

// proc is one run of the forwarder.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // from Wait, valid after exited is closed
	copied sync.WaitGroup
	// printed is signalled when the forwarder prints a line: oc and
	// kubectl print "Forwarding from …" once they listen, the moment to
	// probe.
	printed chan struct{}
}

func (k *Keeper) spawn() (*proc, error) {
	cmd := exec.Command(k.spec.Command, k.args...)
	cmd.Env = append(os.Environ(), k.spec.Env...)
	cmd.SysProcAttr = sysProcAttr()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), printed: make(chan struct{}, 1)}
	p.copied.Add(2)
	go k.copyLines(outR, false, p)
	go k.copyLines(errR, true, p)
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// copyLines appends r to the log file, remembers the last non-empty
// stderr line and signals p.printed.
func (k *Keeper) copyLines(r *os.File, isStderr bool, p *proc) {
	defer p.copied.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k.logMu.Lock()
		if k.logF != nil {
			k.logF.WriteString(line + "\n")
		}
		k.logMu.Unlock()
		if isStderr && strings.TrimSpace(line) != "" {
			k.mu.Lock()
			k.lastErr = strings.TrimSpace(line)
			k.mu.Unlock()
		}
		select {
		case p.printed <- struct{}{}:
		default: // a probe is due already
		}
	}
}

// kill ends p's process group and waits for it.
func (k *Keeper) kill(p *proc) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		signalGroup(pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(2 * time.Second):
			signalGroup(pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	// The leader is gone; make sure nothing it started lingers.
	signalGroup(pgid, syscall.SIGKILL)
	p.copied.Wait()
}

func (p *proc) exitReason(last string) string {
	s := "exited"
	if p.err != nil {
		s = p.err.Error() // "exit status 1" / "signal: killed"
	}
	if last != "" {
		s += ": " + last
	}
	return s
}

// probe runs the probe once with its timeout.
func (k *Keeper) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), k.spec.ProbeTimeout)
	defer cancel()
	return k.spec.Probe(ctx)
}

func (k *Keeper) backoff(attempt int) time.Duration {
	d := k.spec.BackoffInitial
	for i := 1; i < attempt && d < k.spec.BackoffMax; i++ {
		d *= 2
	}
	if d > k.spec.BackoffMax {
		d = k.spec.BackoffMax
	}
	return d
}

func (k *Keeper) supervise() {
	defer close(k.done)
	defer func() {
		if k.logF != nil {
			k.logMu.Lock()
			k.logF.Close()
			k.logF = nil
			k.logMu.Unlock()
		}
	}()
	failed := 0 // consecutive starts that never became ready
	for {
		reason, wasReady, stopped := k.runOnce()
		if stopped {
			k.setState(false, "stopped")
			return
		}
		if wasReady {
			failed = 0
		}
		failed++
		if failed > k.spec.MaxRestarts {
			err := fmt.Errorf("port-forward %s gave up after %d failed restarts; last message: %s",
				k.Command(), k.spec.MaxRestarts, reason)
			k.mu.Lock()
			k.gaveUpErr = err
			k.mu.Unlock()
			k.setState(false, "gave up after %d failed restarts: %s", k.spec.MaxRestarts, reason)
			k.logf("%v", err)
			return
		}
		wait := k.backoff(failed)
		k.setState(false, "restarting (attempt %d): %s", failed, reason)
		k.logf("restarting (attempt %d) in %s: %s", failed, wait.Round(time.Millisecond), reason)
		select {
		case <-k.stop:
			k.setState(false, "stopped")
			return
		case <-time.After(wait):
		}
	}
}

// runOnce starts the forwarder, waits for it to get ready, then watches
// it until it must be restarted. It returns why it ended.
func (k *Keeper) runOnce() (reason string, wasReady, stopped bool) {
	p, err := k.spawn()
	if err != nil {
		return "cannot start: " + err.Error(), false, false
	}
	defer k.kill(p)
	pid := p.cmd.Process.Pid

	// Phase 1: until the probe first passes. Every apply through a
	// forward waits here, so the probe runs as soon as the forwarder
	// prints (it listens then), else after 10 ms, 20 ms, … up to the
	// ready poll interval, not a whole interval after the start.
	deadline := time.NewTimer(k.spec.ReadyTimeout)
	defer deadline.Stop()
	delay := 10 * time.Millisecond
	next := time.NewTimer(delay)
	defer next.Stop()
	var probeErr error
	for ready := false; !ready; {
		select {
		case <-k.stop:
			return "", false, true
		case <-p.exited:
			p.copied.Wait() // the last stderr line is the explanation
			return p.exitReason(k.lastLine()), false, false
		case <-deadline.C:
			msg := fmt.Sprintf("not ready after %s: probe: %v", k.spec.ReadyTimeout, probeErr)
			if l := k.lastLine(); l != "" {
				msg += "; last message: " + l
			}
			return msg, false, false
		case <-p.printed:
		case <-next.C:
			delay = min(2*delay, k.readyPoll())
		}
		if probeErr = k.probe(); probeErr == nil {
			ready = true
		}
		next.Reset(delay)
	}
	since := time.Now()
	k.setState(true, "running pid %d since %s", pid, since.Format("15:04:05"))
	k.logf("running pid %d on 127.0.0.1:%d", pid, k.spec.LocalPort)

	// Phase 2: watch.
	tick := time.NewTicker(k.spec.ProbeInterval)
	defer tick.Stop()
	fails := 0
	for {
		select {
		case <-k.stop:
			return "", true, true
		case <-p.exited:
			p.copied.Wait()
			return p.exitReason(k.lastLine()), true, false
		case <-tick.C:
			if err := k.probe(); err != nil {
				fails++
				if fails >= k.spec.ProbeFailures {
					return fmt.Sprintf("probe failed %d times in a row: %v", fails, err), true, false
				}
			} else {
				fails = 0
			}
		}
	}
}

// readyPoll is how often the probe is tried while waiting for readiness.
func (k *Keeper) readyPoll() time.Duration {
	d := k.spec.ProbeInterval / 10
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	if d > 500*time.Millisecond {
		d = 500 * time.Millisecond
	}
	return d
}
