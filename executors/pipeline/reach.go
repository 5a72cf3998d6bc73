package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// errClustersUnreachable cancels the builds when no cluster a job is to be
// submitted to could be reached: their wheels would go nowhere.
var errClustersUnreachable = errors.New("no cluster to submit to could be reached")

// reach is one cluster being connected while the wheels build.
type reach struct {
	done chan struct{}
	conn *Connection
	err  error
}

// reachClusters connects, in the background, to every cluster a job of
// the plan is to be submitted to, so a dead route, a forwarder that cannot
// start or a rejected token fails within seconds rather than after the
// builds. When every one of them failed, cancelBuilds is called. wait
// returns once every connection attempt ended.
func (r *runner) reachClusters(ctx context.Context, cancelBuilds context.CancelCauseFunc) (wait func()) {
	var clusters []*manifest.Cluster
	for _, job := range r.Plan.Jobs {
		c := r.Config.Operations[job.Operation].Cluster
		if job.Action != planner.ActionSubmit || r.reaches[c.Name] != nil {
			continue
		}
		r.reaches[c.Name] = &reach{done: make(chan struct{})}
		clusters = append(clusters, c)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for _, c := range clusters {
		rc := r.reaches[c.Name]
		wg.Go(func() {
			defer close(rc.done)
			rc.conn, rc.err = r.Connector.Connect(ctx, c)
			if rc.err == nil {
				return
			}
			if ctx.Err() == nil {
				r.emitLocked(progress.Event{Type: progress.EventClusterFailed, Name: c.Name, Error: rc.err.Error()})
			}
			mu.Lock()
			defer mu.Unlock()
			if failed++; failed == len(clusters) {
				cancelBuilds(errClustersUnreachable)
			}
		})
	}
	return wg.Wait
}

// connection returns the connection to c, waiting for the attempt begun
// while the wheels built (whose error is returned as is, once per
// cluster: see clusterError).
func (r *runner) connection(ctx context.Context, c *manifest.Cluster) (*Connection, error) {
	rc, ok := r.reaches[c.Name]
	if !ok {
		return r.Connector.Connect(ctx, c)
	}
	select {
	case <-rc.done:
		if rc.err != nil {
			return nil, &clusterError{rc.err}
		}
		return rc.conn, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// clusterError is a job's cluster that could not be reached. Apply
// reports it once for the cluster, not once per job.
type clusterError struct{ err error }

func (e *clusterError) Error() string { return e.err.Error() }
func (e *clusterError) Unwrap() error { return e.err }
