package raylab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// EnvOCIdleTimeout overrides the lab's idle timeout for one stand-in oc
// (a Go duration; "0" never times out). Tests set it in adopipe's
// environment, which the port_forward keeper passes on.
const EnvOCIdleTimeout = "RAYLAB_OC_IDLE_TIMEOUT"

// EnvOCFaults makes a stand-in oc die in the middle of a request, as oc
// does when its stream to the pod breaks: a list of request-line prefixes
// separated by "|" (e.g. "PUT /api/packages/|POST /api/jobs/"). The oc
// forwards a request that starts with one and, as soon as the answer
// starts to come back, kills itself: the cluster did the work, the client
// never hears of it. Each fault fires once among all the oc processes
// that share EnvOCFaultDir, where a fault that fired leaves a file (so
// the oc started again in its place forwards the retry).
const (
	EnvOCFaults   = "RAYLAB_OC_FAULTS"
	EnvOCFaultDir = "RAYLAB_OC_FAULT_DIR"
)

// forwardRequest is a parsed `oc port-forward` command line.
type forwardRequest struct {
	namespace string
	service   string
	ports     [][2]int // local, remote; local 0 picks a free port
}

// parseForward reads `port-forward [flags] svc/NAME [LOCAL:]REMOTE...` as
// oc and kubectl do (flags anywhere; -n/--namespace with a space or =).
func parseForward(args []string) (*forwardRequest, error) {
	if len(args) == 0 || args[0] != "port-forward" {
		return nil, fmt.Errorf("the lab's oc only knows port-forward")
	}
	req := &forwardRequest{}
	var pos []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-n" || a == "--namespace":
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			req.namespace = args[i]
		case strings.HasPrefix(a, "--namespace="):
			req.namespace = strings.TrimPrefix(a, "--namespace=")
		case strings.HasPrefix(a, "-n="):
			req.namespace = strings.TrimPrefix(a, "-n=")
		case strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("unknown flag: %s", a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) < 2 {
		return nil, fmt.Errorf("TYPE/NAME and list of ports are required for port-forward")
	}
	kind, name, ok := strings.Cut(pos[0], "/")
	switch {
	case !ok:
		return nil, fmt.Errorf("the lab's oc forwards services only: svc/NAME, got %q", pos[0])
	case kind != "svc" && kind != "service" && kind != "services":
		return nil, fmt.Errorf("the lab's oc forwards services only: svc/NAME, got %q", pos[0])
	}
	req.service = name
	for _, p := range pos[1:] {
		l, r, found := strings.Cut(p, ":")
		if !found {
			r = l // "8265": the same port on both sides
		}
		remote, err := strconv.Atoi(r)
		if err != nil || remote <= 0 || remote > 65535 {
			return nil, fmt.Errorf("invalid port %q", p)
		}
		local := 0
		if l != "" {
			if local, err = strconv.Atoi(l); err != nil || local < 0 || local > 65535 {
				return nil, fmt.Errorf("invalid port %q", p)
			}
		}
		req.ports = append(req.ports, [2]int{local, remote})
	}
	return req, nil
}

// PortForward is the lab's stand-in for `oc port-forward` and `kubectl
// port-forward`: it listens on 127.0.0.1:LOCAL (and [::1]:LOCAL when this
// machine has IPv6) of this machine and forwards each connection to the
// service's port inside the lab's network namespace. It prints what oc
// prints, and like oc it exits (status 1, "lost connection to pod") when
// no byte has moved for the idle timeout. SIGINT and SIGTERM end it with
// status 0. It returns the exit status.
func PortForward(labDir string, args []string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "error: "+format+"\n", a...)
		return 1
	}
	d := layout(labDir)
	var rec Lab
	if err := readJSON(d.record(), &rec); err != nil {
		return fail("the lab at %s is not running: %v", labDir, err)
	}
	req, err := parseForward(args)
	if err != nil {
		return fail("%v", err)
	}
	if req.namespace == "" {
		req.namespace = rec.Namespace
	}
	served, ok := services(rec.Namespace)[req.namespace+"/"+req.service]
	if !ok {
		fmt.Fprintf(stderr, "Error from server (NotFound): services %q not found\n", req.service)
		return 1
	}
	for _, p := range req.ports {
		if !containsInt(served, p[1]) {
			return fail("Service %s does not have a service port %d", req.service, p[1])
		}
	}
	idle := rec.OCIdleTimeout
	if v := os.Getenv(EnvOCIdleTimeout); v != "" {
		if idle, err = time.ParseDuration(v); err != nil {
			return fail("%s=%q: %v", EnvOCIdleTimeout, v, err)
		}
	}

	fw := &forwarder{nsPath: filepath.Join(netnsDir, rec.Netns), out: stdout, errOut: stderr}
	if v := os.Getenv(EnvOCFaults); v != "" {
		fw.faults, fw.faultDir = strings.Split(v, "|"), os.Getenv(EnvOCFaultDir)
		if fw.faultDir == "" {
			return fail("%s needs %s", EnvOCFaults, EnvOCFaultDir)
		}
	}
	fw.touch()
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, p := range req.ports {
		ls, err := listenLoopback(p[0])
		if err != nil {
			fmt.Fprintf(stderr, "Unable to listen on port %d: %v\n", p[0], err)
			return fail("unable to listen on any of the requested ports: [{%d %d}]", p[0], p[1])
		}
		local := ls[0].Addr().(*net.TCPAddr).Port
		for _, l := range ls {
			host := "127.0.0.1"
			if l.Addr().(*net.TCPAddr).IP.To4() == nil {
				host = "[::1]"
			}
			fmt.Fprintf(stdout, "Forwarding from %s:%d -> %d\n", host, local, p[1])
			listeners = append(listeners, l)
			go fw.serve(l, local, p[1])
		}
	}
	pidFile := d.ocPIDFile(os.Getpid())
	if err := writeJSON(pidFile, map[string]any{"namespace": req.namespace, "service": req.service, "ports": req.ports}, 0o644); err == nil {
		defer os.Remove(pidFile)
		fw.pidFile = pidFile
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
			if idle > 0 && fw.idleFor() >= idle {
				fmt.Fprintf(stderr, "E%s portforward.go: lost connection to pod\n", time.Now().Format("0102 15:04:05.000000"))
				return 1
			}
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// listenLoopback listens on 127.0.0.1:port and, on the same port, on
// [::1] when this machine has IPv6 loopback. Port 0 picks a free one.
func listenLoopback(port int) ([]net.Listener, error) {
	l4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	ls := []net.Listener{l4}
	if l6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(l4.Addr().(*net.TCPAddr).Port))); err == nil {
		ls = append(ls, l6)
	}
	return ls, nil
}

// forwarder copies connections into the namespace and remembers when a
// byte last moved.
type forwarder struct {
	nsPath string
	outMu  sync.Mutex
	out    io.Writer
	errOut io.Writer
	last   atomic.Int64 // unix nanoseconds of the last activity
	// faults and faultDir: see EnvOCFaults.
	faults   []string
	faultDir string
	pidFile  string
}

// claimFault reports whether chunk, read from a client, starts a request
// that a fault not fired yet is for, and marks that fault fired.
func (f *forwarder) claimFault(chunk []byte) (string, bool) {
	for i, prefix := range f.faults {
		if prefix == "" || !bytes.HasPrefix(chunk, []byte(prefix)) {
			continue
		}
		mark, err := os.OpenFile(filepath.Join(f.faultDir, "fault-"+strconv.Itoa(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			continue // fired before, by this oc or an earlier one
		}
		fmt.Fprintf(mark, "pid %d\n", os.Getpid())
		mark.Close()
		return prefix, true
	}
	return "", false
}

// die ends the oc at once, as a broken stream to the pod does.
func (f *forwarder) die(fault string) {
	f.outMu.Lock()
	fmt.Fprintf(f.errOut, "E%s portforward.go: lost connection to pod (raylab fault: %s)\n", time.Now().Format("0102 15:04:05.000000"), fault)
	f.outMu.Unlock()
	if f.pidFile != "" {
		os.Remove(f.pidFile)
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL ends this process
}

func (f *forwarder) touch() { f.last.Store(time.Now().UnixNano()) }

func (f *forwarder) idleFor() time.Duration {
	return time.Since(time.Unix(0, f.last.Load()))
}

func (f *forwarder) serve(l net.Listener, local, remote int) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		f.touch()
		f.outMu.Lock()
		fmt.Fprintf(f.out, "Handling connection for %d\n", local)
		f.outMu.Unlock()
		go f.pipe(c, remote)
	}
}

func (f *forwarder) pipe(c net.Conn, remote int) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := dialInNetns(ctx, f.nsPath, net.JoinHostPort("127.0.0.1", strconv.Itoa(remote)))
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "E%s portforward.go: an error occurred forwarding %d: %v\n", time.Now().Format("0102 15:04:05.000000"), remote, err)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	// fault is the request whose answer ends this oc (EnvOCFaults).
	var fault atomic.Pointer[string]
	cp := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				f.touch()
				if src == c && len(f.faults) > 0 {
					if prefix, ok := f.claimFault(buf[:n]); ok {
						fault.Store(&prefix)
					}
				} else if p := fault.Load(); src == up && p != nil {
					f.die(*p)
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}
