package raylab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// node is one `ray start --block` (or the metastore) the supervisor runs.
type node struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
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
