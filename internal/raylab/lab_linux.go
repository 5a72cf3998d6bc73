package raylab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
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

// stopPID sends SIGTERM to pid if it still runs the program named want
// (a recycled pid is left alone), waits up to 20 s, then SIGKILLs it.
func stopPID(ctx context.Context, pid int, want string) error {
	if !runs(pid, want) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for runs(pid, want) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			syscall.Kill(pid, syscall.SIGKILL)
			time.Sleep(100 * time.Millisecond)
			if runs(pid, want) {
				return fmt.Errorf("%s (pid %d) still running after SIGKILL", want, pid)
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// runs reports whether pid is a live (non-zombie) process whose command
// line mentions want.
func runs(pid int, want string) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(cmdline), want)
}

// startProcess starts a lab process with its output appended to logPath,
// in its own process group.
func startProcess(logPath string, dieWithParent bool, name string, args ...string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return cmd, nil
}

// waitFor calls f every 200 ms until it succeeds, exited closes, or the
// timeout or ctx ends.
func waitFor(ctx context.Context, timeout time.Duration, exited <-chan struct{}, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

func writeSecrets(d layout) error {
	return errors.Join(
		os.WriteFile(d.token(), []byte(randomHex(32)), 0o600),
		os.WriteFile(d.mysqlPassword(), []byte(randomHex(16)), 0o600),
	)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
