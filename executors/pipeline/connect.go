// Package pipeline carries out a plan: it builds the wheels the plan marks,
// stages each job directory, brings up the cluster connection (a local Ray
// head, a kept-alive port-forward, or a plain address), uploads and submits,
// and records every completed step in the state.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/portforward"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/manifest"
)

// Connection is a usable Jobs API client for one cluster, with whatever
// keeps it reachable.
type Connection struct {
	Cluster    *manifest.Cluster
	Client     *rayjobs.Client
	RayVersion string
	// Local is set when adopipe started or reused a local head.
	Local *localcluster.Cluster
	// Forward is set while a port-forward is kept alive.
	Forward *portforward.Keeper
}

// Close stops what the connection started for this run only: the
// port-forward. A local head stays up for the next apply (adopipe down
// stops it).
func (c *Connection) Close() {
	if c.Forward != nil {
		_ = c.Forward.Stop()
	}
}

// Connector opens connections, one per cluster, and remembers them.
type Connector struct {
	// WorkDir is the .adopipe directory; local heads and port-forward logs
	// live under clusters/<name>/.
	WorkDir string
	// RayBin runs local heads.
	RayBin string
	// Events receives progress (progress.EventCluster: "starting a local Ray
	// head ..."); nil drops it.
	Events progress.Func
	// NoStart makes Connect fail instead of starting a local head, for
	// commands that only look (status, logs, stop).
	NoStart bool

	mu    sync.Mutex
	conns map[string]*Connection
}

// ClusterDir is where a cluster's local state lives.
func ClusterDir(workDir, name string) string { return filepath.Join(workDir, "clusters", name) }

// Connect returns a connection to c, starting a local head or a
// port-forward when the manifest asks for one.
func (cn *Connector) Connect(ctx context.Context, c *manifest.Cluster) (*Connection, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if conn, ok := cn.conns[c.Name]; ok {
		return conn, nil
	}
	conn, err := cn.open(ctx, c)
	if err != nil {
		return nil, err
	}
	if cn.conns == nil {
		cn.conns = map[string]*Connection{}
	}
	cn.conns[c.Name] = conn
	return conn, nil
}

// Close closes every connection opened.
func (cn *Connector) Close() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	for _, c := range cn.conns {
		c.Close()
	}
	cn.conns = nil
}

// clusterProgress passes on what keeps cluster c reachable reports.
func (cn *Connector) clusterProgress(c *manifest.Cluster) progress.Func {
	return func(e progress.Event) {
		e.Name = c.Name
		cn.Events.Emit(e)
	}
}

// progress reports a step of bringing up cluster c.
func (cn *Connector) progress(c *manifest.Cluster, format string, args ...any) {
	cn.Events.Emit(progress.Event{Type: progress.EventCluster, Name: c.Name, Message: fmt.Sprintf(format, args...)})
}

func (cn *Connector) open(ctx context.Context, c *manifest.Cluster) (*Connection, error) {
	conn := &Connection{Cluster: c}
	address := c.Address
	dir := ClusterDir(cn.WorkDir, c.Name)
	switch {
	case c.Local != nil:
		lc, err := cn.localHead(ctx, c, dir)
		if err != nil {
			return nil, err
		}
		conn.Local, address = lc, lc.URL()
	case c.PortForward != nil:
		pf := c.PortForward
		var extra []string
		if pf.Context != "" {
			extra = append(extra, "--context", pf.Context)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		cn.progress(c, "starting %s port-forward to svc/%s in %s", pf.Command, pf.Service, pf.Namespace)
		k, err := portforward.Start(ctx, portforward.Spec{
			Command:    pf.Command,
			Namespace:  pf.Namespace,
			Service:    pf.Service,
			LocalPort:  pf.LocalPort,
			RemotePort: pf.Port,
			LogPath:    filepath.Join(dir, "port-forward.log"),
			ExtraArgs:  extra,
			Progress:   cn.clusterProgress(c),
		})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		conn.Forward = k
		if address == "" {
			address = k.Address()
		}
	}
	cfg := rayjobs.Config{
		Address:            address,
		Headers:            c.Headers.Plain(),
		CAFile:             c.CAFile,
		InsecureSkipVerify: c.InsecureSkipTLSVerify,
		Timeout:            c.Timeout,
	}
	if k := conn.Forward; k != nil {
		// A forward that died mid-apply is restarted by its keeper; let
		// the client's retry wait for that instead of failing at once.
		cfg.BeforeRetry = func(ctx context.Context, err error) {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			cn.progress(c, "%v; waiting for the port-forward (%s)", err, k.State())
			_ = k.WaitReady(ctx)
		}
	}
	client, err := rayjobs.New(cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	conn.Client = client
	v, err := client.Version(ctx)
	if err != nil {
		conn.Close()
		if conn.Forward != nil {
			return nil, fmt.Errorf("cluster %s: %w (port-forward: %s)", c.Name, err, conn.Forward.State())
		}
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	conn.RayVersion = v.RayVersion
	// ado-core depends on an unbounded ray: the job must run the cluster's
	// Ray, so say which one it is.
	cn.progress(c, "Ray %s at %s", v.RayVersion, address)
	return conn, nil
}

// localHead reuses the head recorded for this cluster while it runs, and
// starts one otherwise.
func (cn *Connector) localHead(ctx context.Context, c *manifest.Cluster, dir string) (*localcluster.Cluster, error) {
	lc, err := localcluster.Find(dir)
	if err == nil {
		return lc, nil
	}
	if !errors.Is(err, localcluster.ErrNoCluster) {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if cn.NoStart {
		return nil, fmt.Errorf("cluster %s: the local Ray head is not running (adopipe apply starts it)", c.Name)
	}
	if cn.RayBin == "" {
		return nil, fmt.Errorf("cluster %s is local but no ray executable was found: install ray (pip install 'ray[default]') or set ADOPIPE_RAY", c.Name)
	}
	cn.progress(c, "starting a local Ray head (this takes a few seconds)")
	start := time.Now()
	res := map[string]float64{}
	for k, v := range c.Local.Resources {
		res[k] = v
	}
	lc, err = localcluster.Start(ctx, localcluster.Options{
		RayBin:    cn.RayBin,
		StateDir:  dir,
		NumCPUs:   int(c.Local.NumCPUs),
		NumGPUs:   int(c.Local.NumGPUs),
		Resources: res,
		ExtraArgs: c.Local.RayArgs,
		Env:       headEnv(cn.RayBin),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	cn.progress(c, "local Ray head %s up at %s (pid %d, %.1fs)", lc.RayVersion, lc.URL(), lc.PID, time.Since(start).Seconds())
	return lc, nil
}

// headEnv puts the ray executable's directory first on the head's PATH (and
// marks its virtualenv active), as if the user had activated it: jobs
// without a pip environment run their entrypoint (ado) from that PATH.
func headEnv(rayBin string) []string {
	bin, err := filepath.Abs(filepath.Dir(rayBin))
	if err != nil {
		return nil
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	if _, err := os.Stat(filepath.Join(bin, "..", "pyvenv.cfg")); err == nil {
		env = append(env, "VIRTUAL_ENV="+filepath.Dir(bin))
	}
	return env
}
