// Package localcluster runs a Ray head on the loopback interface of this
// machine: `ray start --head --block` in its own process group, every port
// chosen free, its own temp dir, recorded in a state directory so later
// invocations can find and reuse it, and stopped only through its own pid.
// It never runs `ray stop` and never touches another Ray.
package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/internal/progress"
)

// File names inside Options.StateDir.
const (
	RecordFile = "local-cluster.json"
	LogFile    = "local-cluster.log"
	lockName   = "local-cluster.lock"
)

// Default timeouts.
const (
	DefaultStartTimeout = 120 * time.Second
	DefaultStopTimeout  = 45 * time.Second // Ray drains for up to 30 s on SIGTERM
)

// ErrNoCluster is returned by Find when no live cluster is recorded.
var ErrNoCluster = errors.New("no running local Ray cluster recorded")

// Options configure Start.
type Options struct {
	// RayBin is the `ray` executable (required).
	RayBin string
	// StateDir holds the record, the lock and the head's log (required).
	StateDir string
	// NumCPUs and NumGPUs are passed to Ray when > 0; 0 lets Ray detect.
	NumCPUs int
	NumGPUs int
	// Resources are custom resources (--resources JSON).
	Resources map[string]float64
	// ObjectStoreMemory in bytes when > 0 (Ray's minimum is 75 MiB).
	ObjectStoreMemory int64
	// ExtraArgs are appended last to `ray start`.
	ExtraArgs []string
	// Env is added to this process's environment for the head.
	Env []string
	// Progress receives progress as EventCluster (not Ray's own output,
	// which goes to StateDir/local-cluster.log). May be nil.
	Progress progress.Func
	// StartTimeout bounds the wait for the head to serve the Jobs API.
	StartTimeout time.Duration
	// DieWithParent makes the head receive SIGTERM when this process dies
	// (Linux only). Test harnesses want it; a reusable cluster does not.
	DieWithParent bool
	// KeepTempDir keeps Ray's temp dir (logs) after Stop.
	KeepTempDir bool
}

// Record is what is stored in StateDir/local-cluster.json.
type Record struct {
	PID         int       `json:"pid"`
	PGID        int       `json:"pgid"`
	Address     string    `json:"address"`
	TempDir     string    `json:"temp_dir"`
	StartedAt   time.Time `json:"started_at"`
	RayVersion  string    `json:"ray_version"`
	LogPath     string    `json:"log_path"`
	Ports       Ports     `json:"ports"`
	KeepTempDir bool      `json:"keep_temp_dir,omitempty"`
}

// Cluster is a running local Ray head.
type Cluster struct {
	Record
	stateDir string
	progress progress.Func

	// Set only when this process started the head.
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd.Wait returns
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// URL returns the dashboard / Jobs API base URL, e.g. http://127.0.0.1:41234.
func (c *Cluster) URL() string { return c.Address }

func (o *Options) logf(format string, a ...any) {
	o.Progress.Emit(progress.Event{Type: progress.EventCluster, Message: fmt.Sprintf(format, a...)})
}

// Start launches a Ray head and waits until its Jobs API answers.
// It refuses if StateDir already records a live cluster (use Find first).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if !supported {
		return nil, errors.New("local Ray clusters are only supported on Unix")
	}
	if opts.RayBin == "" {
		return nil, errors.New("localcluster: RayBin is required")
	}
	if opts.StateDir == "" {
		return nil, errors.New("localcluster: StateDir is required")
	}
	if _, err := exec.LookPath(opts.RayBin); err != nil {
		return nil, fmt.Errorf("ray executable %q not usable: %w", opts.RayBin, err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(opts.StateDir, lockName))
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", opts.StateDir, err)
	}
	defer unlock()

	if c, err := find(ctx, opts.StateDir); err == nil {
		return nil, fmt.Errorf("a local Ray cluster is already running at %s (pid %d); reuse it with Find or stop it first", c.Address, c.PID)
	} else if !errors.Is(err, ErrNoCluster) {
		return nil, err // the recorded head cannot be checked: leave it alone
	}
	// A recorded head that still runs but no longer answers is ours and
	// useless: stop it rather than leak it behind a new record.
	if r, err := ReadRecord(opts.StateDir); err == nil {
		if old, err := Attach(opts.StateDir, *r); err == nil {
			opts.logf("the recorded Ray head (pid %d) does not answer at %s; stopping it", old.PID, old.Address)
			old.progress = opts.Progress
			if err := old.kill(ctx); err != nil {
				return nil, fmt.Errorf("stopping the unresponsive recorded Ray head: %w", err)
			}
			if !old.KeepTempDir && strings.HasPrefix(old.TempDir, "/tmp/adoray-") {
				os.RemoveAll(old.TempDir)
			}
		}
		os.Remove(filepath.Join(opts.StateDir, RecordFile))
	}

	// A port picked free can be taken by someone else before Ray binds
	// it; if the head dies early, or another Ray answers at its dashboard
	// port, try again with fresh ports.
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		c, early, err := startOnce(ctx, opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !early || ctx.Err() != nil {
			break
		}
		why, _, _ := strings.Cut(err.Error(), "\n") // not the log tail
		opts.logf("Ray head failed during start-up (attempt %d: %s), retrying with fresh ports", attempt, why)
	}
	return nil, lastErr
}

// startOnce starts one head. early reports that the process exited before
// becoming ready (worth retrying with other ports).
func startOnce(ctx context.Context, opts Options) (c *Cluster, early bool, err error) {
	ports, err := allocatePorts()
	if err != nil {
		return nil, false, err
	}
	// Short path: Ray's unix socket paths must stay under 107 bytes.
	tempDir, err := os.MkdirTemp("/tmp", "adoray-")
	if err != nil {
		return nil, false, err
	}
	logPath := filepath.Join(opts.StateDir, LogFile)
	logF, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		os.RemoveAll(tempDir)
		return nil, false, err
	}
	defer logF.Close() // the child keeps its own descriptor

	args := []string{"start", "--head", "--block",
		"--node-ip-address=127.0.0.1",
		"--dashboard-host=127.0.0.1",
		"--include-dashboard=true",
		"--temp-dir=" + tempDir,
		"--disable-usage-stats",
	}
	args = append(args, ports.args()...)
	if opts.NumCPUs > 0 {
		args = append(args, "--num-cpus="+strconv.Itoa(opts.NumCPUs))
	}
	if opts.NumGPUs > 0 {
		args = append(args, "--num-gpus="+strconv.Itoa(opts.NumGPUs))
	}
	if opts.ObjectStoreMemory > 0 {
		args = append(args, "--object-store-memory="+strconv.FormatInt(opts.ObjectStoreMemory, 10))
	}
	if len(opts.Resources) > 0 {
		b, err := json.Marshal(opts.Resources)
		if err != nil {
			return nil, false, err
		}
		args = append(args, "--resources="+string(b))
	}
	args = append(args, opts.ExtraArgs...)

	cmd := exec.Command(opts.RayBin, args...)
	cmd.Stdout = logF
	cmd.Stderr = logF
	cmd.Dir = opts.StateDir
	cmd.Env = append(os.Environ(),
		"RAY_USAGE_STATS_ENABLED=0",
		// Ray replaces --node-ip-address=127.0.0.1 with this machine's
		// "remotely reachable" address (resolve_ip_for_localhost) and binds
		// its GCS and client server there. A local head must stay on
		// loopback: this is Ray's own switch for single-machine clusters.
		"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0",
		// On SIGTERM Ray marks the node draining and waits up to 30 s for
		// running work (Serve's use case). Stop ends jobs itself first.
		"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0",
	)
	// The ray CLI's directory first on PATH, as in an activated virtualenv
	// or a cluster image: a job without a pip or uv env of its own (plugins
	// shipped as py_modules) runs `ado` and `python` from the environment
	// Ray runs in.
	if filepath.IsAbs(opts.RayBin) {
		cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(opts.RayBin)+string(filepath.ListSeparator)+os.Getenv("PATH"))
	}
	cmd.Env = append(cmd.Env, opts.Env...)
	cmd.SysProcAttr = sysProcAttr(opts.DieWithParent)
	address := "http://127.0.0.1:" + strconv.Itoa(ports.Dashboard)
	rc, err := client(address) // before starting: a bad token setting fails here
	if err != nil {
		os.RemoveAll(tempDir)
		return nil, false, err
	}
	opts.logf("starting Ray head at %s (log %s)", address, logPath)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tempDir)
		return nil, false, fmt.Errorf("starting %s: %w", opts.RayBin, err)
	}
	c = &Cluster{
		Record: Record{
			PID:         cmd.Process.Pid,
			PGID:        cmd.Process.Pid, // Setpgid: the leader's pid is the group id
			Address:     address,
			TempDir:     tempDir,
			StartedAt:   time.Now().UTC(),
			LogPath:     logPath,
			Ports:       ports,
			KeepTempDir: opts.KeepTempDir,
		},
		stateDir: opts.StateDir,
		progress: opts.Progress,
		cmd:      cmd,
		exited:   make(chan struct{}),
	}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	version, err := c.waitReady(ctx, rc, opts.StartTimeout)
	if err != nil {
		// Worth another try with fresh ports: the head exited early, or
		// another Ray took its dashboard port.
		var foreign *foreignHeadError
		exitedEarly := errors.As(err, &foreign)
		select {
		case <-c.exited:
			exitedEarly = true
		default:
		}
		kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.kill(kctx)
		cancel()
		if !opts.KeepTempDir {
			os.RemoveAll(tempDir)
		}
		return nil, exitedEarly, fmt.Errorf("%w\n%s", err, tailFile(logPath, 20))
	}
	c.RayVersion = version
	if err := writeRecord(opts.StateDir, c.Record); err != nil {
		c.kill(context.Background())
		return nil, false, err
	}
	opts.logf("Ray %s ready at %s (pid %d)", version, address, c.PID)
	return c, false, nil
}

// waitReady polls until /api/version and /api/jobs/ answer for this head,
// the process exits, another Ray answers at its address, ctx ends or the
// timeout passes.
func (c *Cluster) waitReady(ctx context.Context, rc *rayjobs.Client, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		version, err := serving(ctx, rc, c.TempDir)
		if err == nil && !c.nodeStarted() {
			err = errors.New("`ray start` has not finished starting the node")
		}
		var foreign *foreignHeadError
		if err == nil || errors.As(err, &foreign) {
			return version, err
		}
		last = err
		select {
		case <-c.exited:
			return "", fmt.Errorf("ray head exited before it was ready (%v)", c.waitErr)
		case <-ctx.Done():
			return "", fmt.Errorf("ray head at %s not ready after %s: %v", c.Address, timeout, last)
		case <-tick.C:
		}
	}
}

// nodeStarted reports whether `ray start --block` has finished starting
// the node: it prints blockingLine then. The dashboard answers earlier,
// and on a loaded machine Ray may still give up on its node after that
// ("The current node timed out during startup") and exit, so a head that
// only answers is not yet one jobs can rely on.
func (c *Cluster) nodeStarted() bool {
	b, err := os.ReadFile(c.LogPath)
	return err == nil && bytes.Contains(b, []byte(blockingLine))
}

// blockingLine is what Ray 2.x's `ray start --block` prints once the node
// is up.
const blockingLine = "This command will now block forever until terminated by a signal"

// client is a Jobs API client of the head at address, through rayjobs
// like every other Ray request adopipe makes (same token discovery, same
// errors). One attempt per request, bounded short: callers poll.
func client(address string) (*rayjobs.Client, error) {
	return rayjobs.New(rayjobs.Config{Address: address, Timeout: 5 * time.Second, Retries: -1})
}

// serving checks that the head whose temp dir is tempDir serves
// /api/version and the Jobs API at c's address, and returns its Ray
// version. A port picked free can be bound by another Ray before ours
// binds it (several heads start at once on a shared machine); the
// session the dashboard names then is not in tempDir, and serving
// returns a *foreignHeadError rather than take that Ray for ours.
func serving(ctx context.Context, c *rayjobs.Client, tempDir string) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	if !ownSession(tempDir, v.SessionName) {
		return "", &foreignHeadError{Address: c.Address(), Session: v.SessionName}
	}
	if _, err := c.List(ctx); err != nil {
		return "", err
	}
	return v.RayVersion, nil
}

// ownSession reports whether session, as a dashboard names it, is the
// session directory Ray made in tempDir. A Ray that names no session
// cannot be told apart and is taken as ours.
func ownSession(tempDir, session string) bool {
	if session == "" {
		return true
	}
	if session != filepath.Base(session) || session == "." || session == ".." {
		return false
	}
	fi, err := os.Stat(filepath.Join(tempDir, session))
	return err == nil && fi.IsDir()
}

// foreignHeadError: the address answers, but for another Ray session.
type foreignHeadError struct{ Address, Session string }

func (e *foreignHeadError) Error() string {
	return fmt.Sprintf("%s answers for another Ray (session %s): its dashboard port was taken before this head bound it", e.Address, e.Session)
}

// Find returns the cluster recorded in stateDir if its process is alive and
// its address answers; otherwise ErrNoCluster (a stale record is removed).
func Find(stateDir string) (*Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !supported {
		return nil, ErrNoCluster
	}
	unlock, err := lockFile(filepath.Join(stateDir, lockName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNoCluster
		}
		return nil, err
	}
	defer unlock()
	return find(ctx, stateDir)
}

// find is Find with the lock held.
func find(ctx context.Context, stateDir string) (*Cluster, error) {
	path := filepath.Join(stateDir, RecordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoCluster
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil || r.PID <= 1 || r.Address == "" {
		os.Remove(path)
		return nil, ErrNoCluster
	}
	stale := func(why string) (*Cluster, error) {
		os.Remove(path)
		return nil, fmt.Errorf("%w (recorded head pid %d %s)", ErrNoCluster, r.PID, why)
	}
	if !processAlive(r.PID) || !looksLikeRay(r.PID) {
		return stale("is gone")
	}
	if pg, err := getpgid(r.PID); err != nil || pg != r.PGID {
		return stale("is another process now")
	}
	rc, err := client(r.Address)
	if err != nil {
		return nil, err // e.g. an unreadable RAY_AUTH_TOKEN_PATH: not the head's fault
	}
	v, err := serving(ctx, rc, r.TempDir)
	if _, denied := errors.AsType[*rayjobs.AuthError](err); denied {
		// It runs and answers, but not to this token: say that, rather
		// than "not running" (and another head started beside it).
		return nil, fmt.Errorf("the local Ray head at %s runs but refuses this request: %w", r.Address, err)
	}
	if err != nil {
		// Alive but not answering: leave the record so Stop can still
		// reach the process; report no usable cluster.
		var foreign *foreignHeadError
		if errors.As(err, &foreign) {
			return nil, fmt.Errorf("%w (pid %d alive but %v)", ErrNoCluster, r.PID, err)
		}
		return nil, fmt.Errorf("%w (pid %d alive but %s does not answer: %v)", ErrNoCluster, r.PID, r.Address, err)
	}
	r.RayVersion = v
	return &Cluster{Record: r, stateDir: stateDir}, nil
}

// ReadRecord returns the stored record without checking it (for `status`
// output and for stopping a head that no longer answers).
func ReadRecord(stateDir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, RecordFile))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Attach returns a Cluster for a record (from ReadRecord) so it can be
// stopped even if it does not answer. It checks that the pid is still a
// Ray process in the recorded group.
func Attach(stateDir string, r Record) (*Cluster, error) {
	if r.PID <= 1 || !processAlive(r.PID) || !looksLikeRay(r.PID) {
		return nil, ErrNoCluster
	}
	if pg, err := getpgid(r.PID); err != nil || pg != r.PGID {
		return nil, ErrNoCluster
	}
	return &Cluster{Record: r, stateDir: stateDir}, nil
}

func writeRecord(stateDir string, r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return atomicfile.Write(filepath.Join(stateDir, RecordFile), b, atomicfile.Options{})
}

// Alive reports whether the head process still runs.
func (c *Cluster) Alive() bool {
	if c.exited != nil {
		select {
		case <-c.exited:
			return false
		default:
			return true
		}
	}
	return processAlive(c.PID) && looksLikeRay(c.PID)
}

// Stop asks the head to shut down (SIGTERM to the `ray start` process,
// which drains and stops its children), waits for the whole process group
// to go until ctx's deadline or DefaultStopTimeout, then SIGKILLs the
// group. It removes the record and, unless kept, Ray's temp dir.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		var unlock func()
		if c.stateDir != "" {
			if u, err := lockFile(filepath.Join(c.stateDir, lockName)); err == nil {
				unlock = u
			}
		}
		c.stopJobs(ctx)
		// Taken before the kill: once the head is gone its job
		// processes are orphans, and nothing ties them to it any more.
		below := descendants(c.PID)
		c.stopErr = c.kill(ctx)
		// An entrypoint shell may have forked its command after the
		// snapshot; the session it leads still holds that command.
		c.stopOrphans(context.WithoutCancel(ctx), append(below, sessionsLedBy(below)...))
		if c.stateDir != "" {
			if r, err := ReadRecord(c.stateDir); err == nil && r.PID == c.PID {
				os.Remove(filepath.Join(c.stateDir, RecordFile))
			}
		}
		if unlock != nil {
			unlock()
		}
		if c.stopErr == nil && !c.KeepTempDir && strings.HasPrefix(c.TempDir, "/tmp/adoray-") {
			os.RemoveAll(c.TempDir)
		}
	})
	return c.stopErr
}

// stopJobs asks the head to stop its jobs that have not ended and waits
// (at most 15 s) until they end, so their entrypoints get SIGTERM and a
// chance to record an interrupted operation before the head goes away.
func (c *Cluster) stopJobs(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	rc, err := client(c.Address)
	if err != nil {
		c.logf("not stopping the head's jobs first: %v", err)
		return
	}
	// A loaded head may fail a request or two: an error is "not known
	// yet", never "no jobs", so it is asked again; a head that fails
	// three times running is taken as not answering at all.
	active := func() ([]string, error) {
		jobs, err := rc.List(ctx)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, j := range jobs {
			if j.SubmissionID != "" && !j.Status.IsTerminal() {
				ids = append(ids, j.SubmissionID)
			}
		}
		return ids, nil
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	stopped := map[string]bool{}
	for failures := 0; failures < 3; {
		ids, err := active()
		switch {
		case err != nil:
			failures++
		case len(ids) == 0:
			return
		default:
			failures = 0
		}
		var fresh []string
		for _, id := range ids {
			if !stopped[id] {
				fresh = append(fresh, id)
			}
		}
		if len(fresh) > 0 {
			c.logf("stopping %d job(s) on the local Ray head before shutting it down", len(fresh))
		}
		for _, id := range fresh {
			// Best effort: the head is stopped next anyway.
			if _, err := rc.Stop(ctx, id); err == nil {
				stopped[id] = true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Cluster) logf(format string, a ...any) {
	c.progress.Emit(progress.Event{Type: progress.EventCluster, Message: fmt.Sprintf(format, a...)})
}

// kill terminates the head's process group: SIGTERM to the leader, wait,
// SIGTERM to the group, then SIGKILL to the group.
func (c *Cluster) kill(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStopTimeout)
		defer cancel()
	}
	gone := func() bool {
		if c.exited != nil {
			select {
			case <-c.exited:
			default:
				return false
			}
		} else if processAlive(c.PID) {
			return false
		}
		return !groupAlive(c.PGID)
	}
	waitGone := func(ctx context.Context) bool {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if gone() {
				return true
			}
			select {
			case <-ctx.Done():
				return gone()
			case <-tick.C:
			}
		}
	}
	if gone() {
		return nil
	}
	// Leader first: `ray start --block` drains the node and stops its
	// children itself. Signalling the whole group at once makes it wait
	// 30 s for a raylet that is already dead.
	signalProcess(c.PID, syscall.SIGTERM)
	if waitGone(ctx) {
		return nil
	}
	// Leader is gone but children linger, or the leader ignores us.
	signalGroup(c.PGID, syscall.SIGTERM)
	grace, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if waitGone(grace) {
		return nil
	}
	c.logf("Ray head pid %d did not stop in time; killing its process group", c.PID)
	signalGroup(c.PGID, syscall.SIGKILL)
	final, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if !waitGone(final) {
		return fmt.Errorf("ray head process group %d still alive after SIGKILL", c.PGID)
	}
	return nil
}

// tailFile returns the last n lines of path, indented, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "last lines of %s:\n", path)
	for _, l := range lines {
		buf.WriteString("  " + l + "\n")
	}
	return buf.String()
}
