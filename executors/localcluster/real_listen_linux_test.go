package localcluster_test

import (
	"net"
	"testing"

	"github.com/adopipe/adopipe/executors/localcluster"
)

// checkLoopbackOnly fails unless the head at pid, with everything it
// started, listens on loopback addresses only: a local head must not be
// reachable from other machines (Ray picks eth0's address unless told).
func checkLoopbackOnly(t *testing.T, pid int) {
	t.Helper()
	addrs := localcluster.ListeningAddrs(t, pid)
	if len(addrs) < 3 {
		t.Fatalf("the head listens on %v: fewer sockets than Ray's GCS, dashboard and raylet", addrs)
	}
	for _, a := range addrs {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("the local head listens on %s, not on loopback (all: %v)", a, addrs)
		}
	}
}
