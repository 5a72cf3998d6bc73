package raylab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps its named network namespaces.
const netnsDir = "/run/netns"

// netnsEtcDir holds files `ip netns exec` bind-mounts over /etc inside
// the namespace (hosts, resolv.conf).
const netnsEtcDir = "/etc/netns"

// createNetns adds a network namespace with its loopback up, and the
// /etc/hosts its processes see: the cluster's service names on the
// namespace's loopback, as the cluster's DNS would give them. Its
// resolv.conf names no server, so nothing inside resolves outside names.
func createNetns(name string, hosts []string) error {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		deleteNetns(name)
		return fmt.Errorf("ip -n %s link set lo up: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	etc := filepath.Join(netnsEtcDir, name)
	hostsFile := "127.0.0.1 localhost " + strings.Join(hosts, " ") + "\n::1 localhost\n"
	err := errors.Join(
		os.MkdirAll(etc, 0o755),
		os.WriteFile(filepath.Join(etc, "hosts"), []byte(hostsFile), 0o644),
		os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("# adopipe lab: no name server\n"), 0o644),
	)
	if err != nil {
		deleteNetns(name)
		return err
	}
	return nil
}

// deleteNetns removes the namespace and its /etc/netns files. Processes
// still inside keep it alive until they end; callers stop them first.
func deleteNetns(name string) error {
	var errs []error
	if _, err := os.Stat(filepath.Join(netnsDir, name)); err == nil {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", name, err, strings.TrimSpace(string(out))))
		}
	}
	errs = append(errs, os.RemoveAll(filepath.Join(netnsEtcDir, name)))
	return errors.Join(errs...)
}

// netnsPIDs lists the processes inside the namespace.
func netnsPIDs(name string) ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns pids %s: %v", name, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// dialInNetns opens a TCP connection to addr from inside the network
// namespace at nsPath, as a pod-side port-forward does. The socket is made
// on an OS thread moved into the namespace; that thread is never moved
// back but ends with its goroutine (LockOSThread without Unlock), so no
// other goroutine ever runs in the namespace.
func dialInNetns(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(nsPath)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		if err := setns(int(f.Fd()), syscall.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("entering network namespace %s: %w", nsPath, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.conn, r.err
}

func setns(fd, nstype int) error { return unix.Setns(fd, nstype) }
