package localcluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Ports are every TCP port a Ray head opens that `ray start` lets us choose.
// All are picked free on this machine so that several heads (other tests,
// other users) can run side by side.
type Ports struct {
	GCS             int `json:"gcs"`
	Dashboard       int `json:"dashboard"`
	RayClientServer int `json:"ray_client_server"`
	ObjectManager   int `json:"object_manager"`
	NodeManager     int `json:"node_manager"`
	DashboardAgent  int `json:"dashboard_agent_listen"`
	DashboardGRPC   int `json:"dashboard_agent_grpc"`
	RuntimeEnvAgent int `json:"runtime_env_agent"`
	MetricsExport   int `json:"metrics_export"`
	MinWorker       int `json:"min_worker"`
	MaxWorker       int `json:"max_worker"`
}

// workerPortCount is the size of the worker port range. Each Ray worker
// process (drivers, actors, task workers) takes one.
const workerPortCount = 200

// Worker ranges are drawn below the kernel's usual ephemeral range
// (32768-60999) so outgoing connections do not take them after we checked.
const (
	workerRangeLow  = 10000
	workerRangeHigh = 32000
)

var (
	reservedMu sync.Mutex
	// reserved holds every port this process has handed out, so two
	// clusters started by one process (tests) never get the same port even
	// if the kernel hands a just-closed port out again.
	reserved = map[int]bool{}
)

// portFree reports whether port can be bound on all interfaces.
func portFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// freePort asks the kernel for a free port not yet handed out by this process.
func freePort() (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !reserved[port] {
			reserved[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: no unreserved port after 50 tries")
}

// freeRange finds n consecutive free ports in [workerRangeLow, workerRangeHigh).
func freeRange(n int) (int, error) {
	for try := 0; try < 100; try++ {
		base := workerRangeLow + rand.IntN(workerRangeHigh-workerRangeLow-n)
		ok := true
		for p := base; p < base+n; p++ {
			if reserved[p] || !portFree(p) {
				ok = false
				break
			}
		}
		if ok {
			for p := base; p < base+n; p++ {
				reserved[p] = true
			}
			return base, nil
		}
	}
	return 0, fmt.Errorf("finding %d consecutive free ports for Ray workers: none found", n)
}

// allocatePorts picks a fresh set of free ports for one Ray head.
func allocatePorts() (Ports, error) {
	reservedMu.Lock()
	defer reservedMu.Unlock()
	var p Ports
	for _, dst := range []*int{&p.GCS, &p.Dashboard, &p.RayClientServer, &p.ObjectManager,
		&p.NodeManager, &p.DashboardAgent, &p.DashboardGRPC, &p.RuntimeEnvAgent, &p.MetricsExport} {
		port, err := freePort()
		if err != nil {
			return Ports{}, err
		}
		*dst = port
	}
	base, err := freeRange(workerPortCount)
	if err != nil {
		return Ports{}, err
	}
	p.MinWorker, p.MaxWorker = base, base+workerPortCount-1
	return p, nil
}

// args renders the ports as `ray start` flags.
func (p Ports) args() []string {
	f := func(name string, v int) string { return "--" + name + "=" + strconv.Itoa(v) }
	return []string{
		f("port", p.GCS),
		f("dashboard-port", p.Dashboard),
		f("ray-client-server-port", p.RayClientServer),
		f("object-manager-port", p.ObjectManager),
		f("node-manager-port", p.NodeManager),
		f("dashboard-agent-listen-port", p.DashboardAgent),
		f("dashboard-agent-grpc-port", p.DashboardGRPC),
		f("runtime-env-agent-port", p.RuntimeEnvAgent),
		f("metrics-export-port", p.MetricsExport),
		f("min-worker-port", p.MinWorker),
		f("max-worker-port", p.MaxWorker),
	}
}
