package raylab

import (
	"context"
	"fmt"
	"os"
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

// clusterReady is written by the supervisor once every node has joined
// (and, with the head's fields only, once the head answers).
type clusterReady struct {
	// Starts counts the cluster's starts: 1, then one more per restart.
	Starts        int      `json:"starts"`
	RayVersion    string   `json:"ray_version"`
	HeadNodeID    string   `json:"head_node_id"`
	WorkerNodeIDs []string `json:"worker_node_ids"`
}

// RunCluster is the supervisor inside the lab's network namespace (run by
// `ip netns exec NS raylab cluster DIR`, which also gives it a mount
// namespace of its own). It hides the laptop's paths, starts the
// metastore, the Ray head and the workers, writes DIR/run/cluster-ready.json
// once all nodes are alive, on SIGHUP restarts the Ray nodes (see
// restartRay), and on SIGTERM or SIGINT stops them by pid.
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
	restart := make(chan os.Signal, 1)
	signal.Notify(restart, syscall.SIGHUP)
	defer signal.Stop(restart)
	ctx, cancel := context.WithTimeout(stopped, timeout)
	defer cancel()

	c := &supervisor{d: d, cfg: cfg}
	defer c.stopAll()
	if _, err := c.start("metastore", false, d.bin("labmysql"),
		"-addr", "127.0.0.1:"+strconv.Itoa(MySQLPort), "-database", MySQLDatabase,
		"-user", MySQLUser, "-password-file", d.mysqlPassword()); err != nil {
		return err
	}
	if err := c.startRay(ctx, 1); err != nil {
		return err
	}
	// Run until told to stop. A node that dies stays dead, as on a real
	// cluster; the tests see it through the Jobs API. SIGHUP restarts the
	// Ray nodes (Lab.RestartHead).
	for starts := 2; ; starts++ {
		select {
		case <-stopped.Done():
			return nil
		case <-restart:
		}
		fmt.Println("raylab cluster: restarting the head (and with it the workers)")
		ctx, cancel := context.WithTimeout(stopped, timeout)
		err := c.restartRay(ctx, starts)
		cancel()
		if err != nil {
			return err
		}
	}
}

// startRay starts the Ray head, then the workers, and records each step:
// DIR/run/head-ready.json once the head's Jobs API answers, then
// DIR/run/cluster-ready.json once every node is alive. starts counts the
// starts of the cluster, so a reader can tell a restart's records from
// the ones before.
func (c *supervisor) startRay(ctx context.Context, starts int) error {
	var version string
	for attempt := 1; ; attempt++ {
		// Left from an earlier start, the head's address file makes `ray
		// start --head` refuse to start ("already running at
		// 127.0.0.1:6379") while any other Ray head on this machine, another
		// lab's in its own namespace included, uses that port: Ray looks for
		// running GCS servers with ps. A restarted pod has a fresh one.
		os.Remove(filepath.Join(c.d.rayTemp("head"), "ray_current_cluster"))
		head, err := c.start("head", true, headArgs(c.d, c.cfg)...)
		if err != nil {
			return err
		}
		if version, err = waitHead(ctx, c.d, head); err == nil {
			break
		}
		if attempt == startAttempts || ctx.Err() != nil {
			return err
		}
		fmt.Printf("raylab cluster: the head did not start (attempt %d of %d): %v\n", attempt, startAttempts, err)
	}
	if err := writeJSON(c.d.headReady(), clusterReady{Starts: starts, RayVersion: version}, 0o644); err != nil {
		return err
	}
	for i := 1; i <= c.cfg.Workers; i++ {
		if _, err := c.start(workerName(i), true, workerArgs(c.d, c.cfg, i)...); err != nil {
			return err
		}
	}
	ready, err := c.waitNodes(ctx, 1+c.cfg.Workers)
	if err != nil {
		return err
	}
	ready.RayVersion, ready.Starts = version, starts
	if err := writeJSON(c.d.clusterReady(), ready, 0o644); err != nil {
		return err
	}
	fmt.Printf("raylab cluster: ready: head %s, workers %s\n", ready.HeadNodeID, strings.Join(ready.WorkerNodeIDs, ", "))
	return nil
}

// restartRay stops every Ray node and starts them again, as a KubeRay
// head pod that restarts without GCS fault tolerance: the new head knows
// none of the jobs before, and the workers, which lose their GCS, restart
// and join it. The metastore stays.
func (c *supervisor) restartRay(ctx context.Context, starts int) error {
	var ray, rest []*node
	for _, n := range c.nodes {
		if n.name == "head" || strings.HasPrefix(n.name, "worker-") {
			ray = append(ray, n)
			delete(c.starts, n.name)
		} else {
			rest = append(rest, n)
		}
	}
	stopNodes(ray)
	c.nodes = rest
	return c.startRay(ctx, starts)
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
