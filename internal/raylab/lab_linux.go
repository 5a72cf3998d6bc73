package raylab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Start builds a lab: a network namespace with the metastore, a Ray head
// and the workers inside (see RunCluster), the stand-in oc and kubectl,
// and the HTTPS route. It returns once the route answers the Jobs API. On
// error nothing is left running.
func Start(ctx context.Context, opts Options) (lab *Lab, err error) {
	opts.setDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	// The nodes run from "/": every path they get is absolute.
	for _, p := range []*string{&opts.Venv, &opts.RaylabBin, &opts.LabMySQLBin} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, err
		}
	}
	dir := opts.Dir
	if dir == "" {
		// Short: Ray's socket paths under it must fit in 107 bytes.
		if dir, err = os.MkdirTemp("/tmp", "rlab-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	d := layout(dir)
	lab = &Lab{
		Dir:               dir,
		Netns:             "adopipe-lab-" + randomHex(4),
		Namespace:         opts.Namespace,
		TokenFile:         d.token(),
		MySQLPasswordFile: d.mysqlPassword(),
		CAFile:            d.tls("ca.pem"),
		OC:                d.bin("oc"),
		Kubectl:           d.bin("kubectl"),
		OCIdleTimeout:     opts.OCIdleTimeout,
		keepDir:           opts.KeepDir,
	}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
			lab.Stop(stopCtx)
			cancel()
			lab = nil
		}
	}()
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "raylab: "+format+"\n", a...)
		}
	}

	for _, sub := range []string{"bin", "logs", "run", "secrets", "tls", "ray"} {
		if err := os.MkdirAll(d.path(sub), 0o755); err != nil {
			return lab, err
		}
	}
	os.Chmod(d.path("secrets"), 0o700)
	if err := writeSecrets(d); err != nil {
		return lab, err
	}
	// The metastore runs where the laptop's files are hidden: it needs a
	// copy inside the lab's directory, which stays visible.
	if err := copyFile(opts.LabMySQLBin, d.bin("labmysql"), 0o755); err != nil {
		return lab, fmt.Errorf("copying labmysql: %w", err)
	}
	for _, name := range []string{"oc", "kubectl"} {
		script := fmt.Sprintf("#!/bin/sh\n# The adopipe lab's stand-in %s (port-forward only).\nexec %s oc -lab %s \"$@\"\n",
			name, shellQuote(opts.RaylabBin), shellQuote(dir))
		if err := os.WriteFile(d.bin(name), []byte(script), 0o755); err != nil {
			return lab, err
		}
	}

	venvBin := filepath.Join(opts.Venv, "bin")
	cfg := clusterConfig{
		Dir:               dir,
		RayBin:            filepath.Join(venvBin, "ray"),
		VenvBin:           venvBin,
		Hide:              opts.hidden(),
		Keep:              append(venvKeep(opts.Venv), dir),
		Workers:           opts.Workers,
		WorkerCPUs:        opts.WorkerCPUs,
		ObjectStoreMemory: opts.ObjectStoreMemory,
		StartTimeout:      opts.StartTimeout.String(),
	}
	if err := writeJSON(d.clusterConfig(), cfg, 0o644); err != nil {
		return lab, err
	}
	var hosts []string
	for key := range services(opts.Namespace) {
		ns, svc, _ := strings.Cut(key, "/")
		hosts = append(hosts, ServiceHost(ns, svc))
	}
	if err := createNetns(lab.Netns, hosts); err != nil {
		return lab, err
	}
	lab.netnsMade = true
	logf("network namespace %s; starting the cluster (logs in %s)", lab.Netns, d.path("logs"))

	cluster, err := startProcess(d.log("cluster"), opts.DieWithParent,
		"ip", "netns", "exec", lab.Netns, opts.RaylabBin, "cluster", dir)
	if err != nil {
		return lab, err
	}
	lab.ClusterPID = cluster.Process.Pid
	exited := make(chan struct{})
	go func() { cluster.Wait(); close(exited) }()
	var ready clusterReady
	err = waitFor(ctx, opts.StartTimeout+10*time.Second, exited, func() error { return readJSON(d.clusterReady(), &ready) })
	if err != nil {
		return lab, fmt.Errorf("the lab's cluster did not start: %v; the end of %s:\n%s", err, d.log("cluster"), tail(d.log("cluster"), 25))
	}
	lab.RayVersion, lab.HeadNodeID, lab.WorkerNodeIDs = ready.RayVersion, ready.HeadNodeID, ready.WorkerNodeIDs
	logf("Ray %s: head node %s, workers %s", ready.RayVersion, ready.HeadNodeID, strings.Join(ready.WorkerNodeIDs, ", "))
	if err := writeJSON(d.record(), lab, 0o644); err != nil {
		return lab, err
	}

	if err := lab.startRoute(ctx, opts); err != nil {
		return lab, err
	}
	logf("route %s (CA %s); oc %s", lab.RouteURL, lab.CAFile, lab.OC)
	return lab, writeJSON(d.record(), lab, 0o644)
}

// startRoute makes the TLS material, starts HAProxy and waits until the
// Jobs API answers through it.
func (l *Lab) startRoute(ctx context.Context, opts Options) error {
	d := layout(l.Dir)
	if err := writeRouteTLS(l.CAFile, d.tls("route.pem"), RouteHost); err != nil {
		return err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	if err := writeHAProxyConfig(d.path("haproxy.cfg"), l.Netns, d.tls("route.pem"), port); err != nil {
		return err
	}
	hap, err := startProcess(d.log("haproxy"), opts.DieWithParent, "haproxy", "-db", "-f", d.path("haproxy.cfg"))
	if err != nil {
		return err
	}
	l.HAProxyPID = hap.Process.Pid
	exited := make(chan struct{})
	go func() { hap.Wait(); close(exited) }()
	l.RouteURL = routeURL(port)
	l.RouteLog = d.log("haproxy")
	err = waitFor(ctx, 30*time.Second, exited, func() error { return l.probeRoute(ctx) })
	if err != nil {
		return fmt.Errorf("the lab's route did not start: %v; the end of %s:\n%s", err, d.log("haproxy"), tail(d.log("haproxy"), 15))
	}
	return nil
}

// probeRoute GETs /api/version through the route with the lab's CA and
// token.
func (l *Lab) probeRoute(ctx context.Context) error {
	hc, err := l.RouteClient()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.RouteURL+"/api/version", nil)
	if err != nil {
		return err
	}
	token, err := l.Token()
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/version: %s", resp.Status)
	}
	return nil
}

// RouteClient returns an HTTP client that trusts the lab's CA (and no
// other).
func (l *Lab) RouteClient() (*http.Client, error) {
	pem, err := os.ReadFile(l.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", l.CAFile)
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}, nil
}

// Token returns the lab's Ray token. Callers must never print it.
func (l *Lab) Token() (string, error) {
	b, err := os.ReadFile(l.TokenFile)
	return strings.TrimSpace(string(b)), err
}

// Attach returns the lab recorded in dir (by Start), to stop it from
// another process.
func Attach(dir string) (*Lab, error) {
	var l Lab
	if err := readJSON(layout(dir).record(), &l); err != nil {
		return nil, err
	}
	l.netnsMade = true
	return &l, nil
}

// Stop stops everything the lab started, by pid: the route, the stand-in
// oc processes still running, the cluster's supervisor (which stops its
// nodes), then whatever is left inside the network namespace, which only
// the lab's processes can be in. It removes the namespace (and with its
// last process the mount namespace and its tmpfs mounts go too) and,
// unless the lab was started with KeepDir, the lab's directory.
func (l *Lab) Stop(ctx context.Context) error {
	var errs []error
	d := layout(l.Dir)
	if l.HAProxyPID > 0 {
		errs = append(errs, stopPID(ctx, l.HAProxyPID, "haproxy"))
	}
	if pids, err := filepath.Glob(d.path("run", "oc.*")); err == nil {
		for _, f := range pids {
			if pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Ext(f), ".")); err == nil {
				errs = append(errs, stopPID(ctx, pid, "raylab"))
			}
		}
	}
	if l.ClusterPID > 0 {
		// The supervisor gives its nodes 10 s before SIGKILL.
		errs = append(errs, stopPID(ctx, l.ClusterPID, "raylab"))
	}
	if l.netnsMade {
		errs = append(errs, l.killNetns(ctx), deleteNetns(l.Netns))
	}
	if errors.Join(errs...) == nil && !l.keepDir && l.Dir != "" {
		errs = append(errs, os.RemoveAll(l.Dir))
	}
	return errors.Join(errs...)
}

// killNetns SIGKILLs every process left in the lab's network namespace
// and waits until none is left.
func (l *Lab) killNetns(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids, err := netnsPIDs(l.Netns)
		if err != nil || len(pids) == 0 {
			return nil // no namespace, or empty
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("processes %v still in network namespace %s", pids, l.Netns)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RestartHead restarts the lab's Ray head as a KubeRay head pod restarts
// without GCS fault tolerance: the supervisor (the lab's own pid) stops
// every Ray node and starts them again, so the cluster forgets every job
// it had, and the workers rejoin the new head. It returns once the new
// head's Jobs API answers inside the namespace, as soon as a user could
// reach it: its job agent and the workers may still be starting
// (WaitReady waits for them).
func (l *Lab) RestartHead(ctx context.Context) error {
	d := layout(l.Dir)
	var before clusterReady
	if err := readJSON(d.clusterReady(), &before); err != nil {
		return fmt.Errorf("the lab's cluster is not ready: %w", err)
	}
	if !runs(l.ClusterPID, "raylab") {
		return fmt.Errorf("the lab's supervisor (pid %d) is not running", l.ClusterPID)
	}
	if err := syscall.Kill(l.ClusterPID, syscall.SIGHUP); err != nil {
		return err
	}
	l.restarting = before.Starts + 1
	var head clusterReady
	return l.waitStarts(ctx, d.headReady(), &head)
}

// WaitReady waits until every node of a restarted cluster is alive and
// records the new node ids.
func (l *Lab) WaitReady(ctx context.Context) error {
	var ready clusterReady
	if err := l.waitStarts(ctx, layout(l.Dir).clusterReady(), &ready); err != nil {
		return err
	}
	l.HeadNodeID, l.WorkerNodeIDs = ready.HeadNodeID, ready.WorkerNodeIDs
	return writeJSON(layout(l.Dir).record(), l, 0o644)
}

// waitStarts waits until the record at path is the restart's, or the
// supervisor exited (a restart that failed).
func (l *Lab) waitStarts(ctx context.Context, path string, v *clusterReady) error {
	d := layout(l.Dir)
	ctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	for {
		if !runs(l.ClusterPID, "raylab") {
			return fmt.Errorf("restarting the lab's head: its supervisor exited; the end of %s:\n%s", d.log("cluster"), tail(d.log("cluster"), 25))
		}
		err := readJSON(path, v)
		if err == nil && v.Starts >= l.restarting {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%s is still from start %d", filepath.Base(path), v.Starts)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restarting the lab's head: %v (%v); the end of %s:\n%s", ctx.Err(), err, d.log("cluster"), tail(d.log("cluster"), 25))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
