package localcluster

import (
	"context"
	"syscall"
	"time"
)

// stopOrphans ends the processes of procs that outlived the head: job
// entrypoints run in sessions of their own, so the group kill misses them
// when the head went down before its job supervisor had signalled them.
// They had their SIGTERM from the job stop already; this is the last word.
func (c *Cluster) stopOrphans(ctx context.Context, procs []proc) {
	var left []proc
	for _, p := range procs {
		if p.Running() {
			left = append(left, p)
		}
	}
	if len(left) == 0 {
		return
	}
	c.logf("stopping %d process(es) the Ray head left behind", len(left))
	for _, p := range left {
		_ = signalProcess(p.PID, syscall.SIGTERM)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		alive := left[:0]
		for _, p := range left {
			if p.Running() {
				alive = append(alive, p)
			}
		}
		left = alive
		if len(left) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			for _, p := range left {
				_ = signalProcess(p.PID, syscall.SIGKILL)
			}
			return
		case <-tick.C:
		}
	}
}
