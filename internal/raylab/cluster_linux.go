package raylab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clusterConfig is what Start hands the in-namespace supervisor
// (`raylab cluster DIR`), in DIR/cluster.json.
type clusterConfig struct {
	Dir               string   `json:"dir"`
	RayBin            string   `json:"ray_bin"`
	VenvBin           string   `json:"venv_bin"`
	Hide              []string `json:"hide"`
	Keep              []string `json:"keep"`
	Workers           int      `json:"workers"`
	WorkerCPUs        int      `json:"worker_cpus"`
	ObjectStoreMemory int64    `json:"object_store_memory"`
	StartTimeout      string   `json:"start_timeout"`
}

// clusterReady is written by the supervisor once every node has joined.
type clusterReady struct {
	RayVersion    string   `json:"ray_version"`
	HeadNodeID    string   `json:"head_node_id"`
	WorkerNodeIDs []string `json:"worker_node_ids"`
}

// node is one `ray start --block` (or the metastore) the supervisor runs.
type node struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// RunCluster is the supervisor inside the lab's network namespace (run by
// `ip netns exec NS raylab cluster DIR`, which also gives it a mount
// namespace of its own). It hides the laptop's paths, starts the
// metastore, the Ray head and the workers, writes DIR/run/cluster-ready.json
// once all nodes are alive, and on SIGTERM or SIGINT stops them by pid.
func RunCluster(dir string) error {
	d := layout(dir)
	var cfg clusterConfig
	if err := readJSON(d.clusterConfig(), &cfg); err != nil {
		return err
	}
	timeout, err := time.ParseDuration(cfg.StartTimeout)
	if err != nil {
		return fmt.Errorf("start_timeout: %w", err)
	}
	if err := hideAndKeep(cfg.Hide, cfg.Keep); err != nil {
		return err
	}
	stopped, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(stopped, timeout)
	defer cancel()

	c := &supervisor{d: d, cfg: cfg}
	defer c.stopAll()
	if _, err := c.start("metastore", false, d.bin("labmysql"),
		"-addr", "127.0.0.1:"+strconv.Itoa(MySQLPort), "-database", MySQLDatabase,
		"-user", MySQLUser, "-password-file", d.mysqlPassword()); err != nil {
		return err
	}
	var version string
	for attempt := 1; ; attempt++ {
		head, err := c.start("head", true, headArgs(d, cfg)...)
		if err != nil {
			return err
		}
		if version, err = waitHead(ctx, d, head); err == nil {
			break
		}
		if attempt == startAttempts || ctx.Err() != nil {
			return err
		}
		fmt.Printf("raylab cluster: the head did not start (attempt %d of %d): %v\n", attempt, startAttempts, err)
	}
	for i := 1; i <= cfg.Workers; i++ {
		if _, err := c.start(workerName(i), true, workerArgs(d, cfg, i)...); err != nil {
			return err
		}
	}
	ready, err := c.waitNodes(ctx, 1+cfg.Workers)
	if err != nil {
		return err
	}
	ready.RayVersion = version
	if err := writeJSON(d.clusterReady(), ready, 0o644); err != nil {
		return err
	}
	fmt.Printf("raylab cluster: ready: head %s, workers %s\n", ready.HeadNodeID, strings.Join(ready.WorkerNodeIDs, ", "))
	// Run until told to stop. A node that dies stays dead, as on a real
	// cluster; the tests see it through the Jobs API.
	<-stopped.Done()
	return nil
}

func workerName(i int) string { return "worker-" + strconv.Itoa(i) }

// Ports inside the namespace. Each node gets its own, since all of them
// share the namespace's loopback.
func nodePorts(i int) (agentHTTP, agentGRPC, runtimeEnv, metrics, minWorker, maxWorker int) {
	base := 30000 + 1000*i
	return 52365 + i, base + 1, base + 2, base + 3, base + 100, base + 999
}

func commonArgs(d layout, cfg clusterConfig, i int, name string) []string {
	agentHTTP, agentGRPC, runtimeEnv, metrics, minW, maxW := nodePorts(i)
	itoa := strconv.Itoa
	args := []string{
		"--block", "--disable-usage-stats",
		"--node-ip-address", "127.0.0.1",
		"--temp-dir", nodeTempDir,
		"--dashboard-agent-listen-port", itoa(agentHTTP),
		"--dashboard-agent-grpc-port", itoa(agentGRPC),
		"--runtime-env-agent-port", itoa(runtimeEnv),
		"--metrics-export-port", itoa(metrics),
		"--min-worker-port", itoa(minW),
		"--max-worker-port", itoa(maxW),
	}
	if cfg.ObjectStoreMemory > 0 {
		args = append(args, "--object-store-memory", strconv.FormatInt(cfg.ObjectStoreMemory, 10))
	}
	return args
}

// headArgs: the head runs the GCS, the dashboard and the Jobs API but has
// no CPUs, so every task and actor (ado's measurements) lands on a worker.
func headArgs(d layout, cfg clusterConfig) []string {
	args := append([]string{cfg.RayBin, "start", "--head",
		"--port", strconv.Itoa(gcsPort),
		"--dashboard-host", "127.0.0.1", "--dashboard-port", strconv.Itoa(DashboardPort),
		"--ray-client-server-port", strconv.Itoa(clientPort),
		"--num-cpus", "0", "--num-gpus", "0",
	}, commonArgs(d, cfg, 0, "head")...)
	return args
}

func workerArgs(d layout, cfg clusterConfig, i int) []string {
	return append([]string{cfg.RayBin, "start",
		"--address", "127.0.0.1:" + strconv.Itoa(gcsPort),
		"--num-cpus", strconv.Itoa(cfg.WorkerCPUs), "--num-gpus", "0",
	}, commonArgs(d, cfg, i, workerName(i))...)
}

// clusterEnv is the environment of every node: nothing of the laptop's,
// only what a cluster image would set, token authentication on.
func clusterEnv(d layout, cfg clusterConfig) []string {
	return []string{
		"PATH=" + cfg.VenvBin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
		"RAY_AUTH_MODE=token",
		"RAY_AUTH_TOKEN_PATH=" + d.token(),
		"RAY_USAGE_STATS_ENABLED=0",
		// A raylet waits this long for its agents to report their ports
		// (default 15 s?) and then dies; on a busy 2-core CI machine the
		// dashboard agent takes longer to start.
		"RAY_agent_register_timeout_ms=120000",
		"RAY_worker_register_timeout_seconds=120",
	}
}

// nodeTempDir is every node's Ray temp dir, the same path on each as on
// separate machines (Ray assumes it: a worker's agent finds a job's log
// under the head's session path). Each node sees its own directory there
// (RunNode).
const nodeTempDir = "/tmp/ray"

// RunNode runs inside a node's own mount namespace (started by the
// supervisor): it gives the node a /tmp of its own, with the lab's
// directory kept and the node's directory DIR/ray/NAME at /tmp/ray, and
// then becomes args (`ray start ... --block`).
func RunNode(dir, name string, args []string) error {
	d := layout(dir)
	if len(args) == 0 {
		return fmt.Errorf("no command for node %s", name)
	}
	if err := os.MkdirAll(d.rayTemp(name), 0o755); err != nil {
		return err
	}
	if err := hideAndKeep([]string{"/tmp"}, []string{dir}); err != nil {
		return err
	}
	if err := os.MkdirAll(nodeTempDir, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount(d.rayTemp(name), nodeTempDir, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding %s at %s: %w", d.rayTemp(name), nodeTempDir, err)
	}
	bin, err := exec.LookPath(args[0])
	if err != nil {
		return err
	}
	return syscall.Exec(bin, args, os.Environ())
}

func startNode(d layout, cfg clusterConfig, name string, ownMounts bool, args []string) (*node, error) {
	if err := os.MkdirAll(filepath.Dir(d.log(name)), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(d.log(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	// Its own process group, so stopping it reaches Ray's children; and
	// it dies with the supervisor.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if ownMounts {
		// A Ray node: its own mount namespace, set up by RunNode (this
		// binary, by /proc/self/exe: its path may be hidden now).
		cmd = exec.Command("/proc/self/exe", append([]string{"node", string(d), name, "--"}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM, Unshareflags: syscall.CLONE_NEWNS}
	}
	cmd.Env = clusterEnv(d, cfg)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	n := &node{name: name, log: d.log(name), cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logf.Close()
		close(n.done)
	}()
	fmt.Printf("raylab cluster: %s started (pid %d): %s\n", name, cmd.Process.Pid, strings.Join(args, " "))
	return n, nil
}

func (n *node) exitedErr() error {
	return fmt.Errorf("%s exited before the cluster was ready (%v); the end of %s:\n%s",
		n.name, n.cmd.ProcessState, n.log, tail(n.log, 20))
}

// stopNodes stops the nodes in reverse order: SIGTERM to each process
// group, then SIGKILL to those still there after a grace period. Ray
// drains for up to 30 s on SIGTERM; a lab has nothing worth draining for.
func stopNodes(nodes []*node) {
	for i := len(nodes) - 1; i >= 0; i-- {
		syscall.Kill(-nodes[i].cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for i := len(nodes) - 1; i >= 0; i-- {
		select {
		case <-nodes[i].done:
		case <-deadline:
		}
	}
	for _, n := range nodes {
		// The group may outlive its leader (Ray's raylet, workers).
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// waitHead waits until the head's Jobs API answers and the head node is
// alive (its raylet up: the dashboard answers before it is), and returns
// its Ray version.
func waitHead(ctx context.Context, d layout, head *node) (string, error) {
	var v struct {
		RayVersion string `json:"ray_version"`
	}
	err := poll(ctx, head, func() error {
		if err := getJSON(ctx, d, "/api/version", &v); err != nil {
			return err
		}
		var jobs []json.RawMessage
		if err := getJSON(ctx, d, "/api/jobs/", &jobs); err != nil {
			return err
		}
		alive, err := listNodes(ctx, d)
		if err != nil {
			return err
		}
		for _, n := range alive {
			if n.IsHeadNode {
				return nil
			}
		}
		return errors.New("the head node is not alive yet")
	})
	return v.RayVersion, err
}

// stateNode is one entry of the state API's node list.
type stateNode struct {
	NodeID     string `json:"node_id"`
	State      string `json:"state"`
	IsHeadNode bool   `json:"is_head_node"`
}

// startAttempts bounds the starts of one node. Under load a raylet can
// give up on its dashboard agent (Ray 2.60 waits 15 s for the agent's
// port file, not configurable) and exit; the supervisor starts it again,
// as Kubernetes restarts a crashed pod.
const startAttempts = 5

// supervisor holds the processes RunCluster started, by name.
type supervisor struct {
	d      layout
	cfg    clusterConfig
	nodes  []*node
	starts map[string]int
}

// start starts a process (a node in its own mount namespace when
// ownMounts), replacing and stopping an earlier one of the same name.
func (c *supervisor) start(name string, ownMounts bool, args ...string) (*node, error) {
	for i, n := range c.nodes {
		if n.name == name {
			stopNodes([]*node{n})
			c.nodes = append(c.nodes[:i], c.nodes[i+1:]...)
			break
		}
	}
	n, err := startNode(c.d, c.cfg, name, ownMounts, args)
	if err != nil {
		return nil, err
	}
	if c.starts == nil {
		c.starts = map[string]int{}
	}
	c.starts[name]++
	c.nodes = append(c.nodes, n)
	return n, nil
}

func (c *supervisor) stopAll() { stopNodes(c.nodes) }

// waitNodes waits until want nodes are alive, starting a worker again
// that exited (up to startAttempts starts), and returns their ids.
func (c *supervisor) waitNodes(ctx context.Context, want int) (*clusterReady, error) {
	var ready *clusterReady
	err := poll(ctx, nil, func() error {
		for _, n := range c.nodes {
			select {
			case <-n.done:
			default:
				continue
			}
			i, isWorker := workerIndex(n.name)
			if !isWorker || c.starts[n.name] >= startAttempts {
				return fatalErr{n.exitedErr()}
			}
			fmt.Printf("raylab cluster: %s exited (attempt %d of %d); starting it again\n", n.name, c.starts[n.name], startAttempts)
			if _, err := c.start(n.name, true, workerArgs(c.d, c.cfg, i)...); err != nil {
				return fatalErr{err}
			}
			return fmt.Errorf("%s restarted", n.name)
		}
		alive, err := listNodes(ctx, c.d)
		if err != nil {
			return err
		}
		r := &clusterReady{}
		for _, n := range alive {
			if n.IsHeadNode {
				r.HeadNodeID = n.NodeID
			} else {
				r.WorkerNodeIDs = append(r.WorkerNodeIDs, n.NodeID)
			}
		}
		if len(alive) < want || r.HeadNodeID == "" {
			return fmt.Errorf("%d of %d nodes alive", len(alive), want)
		}
		ready = r
		return nil
	})
	return ready, err
}

func workerIndex(name string) (int, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "worker-"))
	return i, err == nil && strings.HasPrefix(name, "worker-")
}

// listNodes asks the head's state API for the alive nodes.
func listNodes(ctx context.Context, d layout) ([]stateNode, error) {
	var resp struct {
		Data struct {
			Result struct {
				Result []stateNode `json:"result"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(ctx, d, "/api/v0/nodes?limit=100", &resp); err != nil {
		return nil, err
	}
	var alive []stateNode
	for _, n := range resp.Data.Result.Result {
		if n.State == "ALIVE" {
			alive = append(alive, n)
		}
	}
	return alive, nil
}

// getJSON GETs path from the head's dashboard inside the namespace, with
// the lab's token.
func getJSON(ctx context.Context, d layout, path string, v any) error {
	token, err := os.ReadFile(d.token())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(DashboardPort)+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(b, v)
}

// fatalErr ends a poll at once.
type fatalErr struct{ error }

// poll calls f every 250 ms until it succeeds, fails with a fatalErr, the
// process n (when given) exits, or ctx ends.
func poll(ctx context.Context, n *node, f func() error) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = f()
		if last == nil {
			return nil
		}
		var fatal fatalErr
		if errors.As(last, &fatal) {
			return fatal.error
		}
		var exited <-chan struct{}
		if n != nil {
			exited = n.done
		}
		select {
		case <-exited:
			return n.exitedErr()
		case <-ctx.Done():
			return fmt.Errorf("%v (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
