package localcluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A process that the head started in a session of its own (as Ray starts
// job entrypoints) survives the group kill; Stop's snapshot of the head's
// descendants still reaches it once the head is gone.
func TestStopOrphansEndsProcessesInOtherSessions(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "orphan.pid")
	parent := exec.Command("bash", "-c", `setsid sleep 300 & echo $! > `+pidFile+`; wait`)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var orphan int
	deadline := time.Now().Add(10 * time.Second)
	for orphan == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			orphan, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		} else if time.Now().After(deadline) {
			t.Fatal("the child did not start")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	below := descendants(parent.Process.Pid)
	found := false
	for _, p := range below {
		found = found || p.PID == orphan
	}
	if !found {
		t.Fatalf("descendants(%d) = %v, want it to hold %d", parent.Process.Pid, below, orphan)
	}
	_ = parent.Process.Kill()
	_ = parent.Wait()
	if !processAlive(orphan) {
		t.Fatalf("pid %d ended with its parent: the test proves nothing", orphan)
	}
	c := &Cluster{}
	c.stopOrphans(context.Background(), below)
	if processAlive(orphan) {
		t.Fatalf("pid %d still alive after stopOrphans", orphan)
	}
	// A process that is no longer the one recorded is left alone.
	if (proc{PID: os.Getpid(), StartTime: 1}).Running() {
		t.Fatal("a pid with another start time counts as the recorded process")
	}
}
