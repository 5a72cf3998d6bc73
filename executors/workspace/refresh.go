package workspace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// refreshTimeout bounds asking one cluster about its jobs: a cluster that
// does not answer in time is a warning, and the recorded state stands.
const refreshTimeout = 20 * time.Second

// JobCheck is what a refresh learnt of one operation's recorded job.
type JobCheck struct {
	Operation string
	Record    state.OperationState
	// Cluster is where the job was submitted.
	Cluster string
	planner.JobRefresh
	// Err says why the cluster could not be asked; the record stands.
	Err error
}

// Refresh asks the clusters about the recorded jobs of the named
// operations, as Terraform's refresh does: only reads (GET of each job). A
// job whose local Ray head stopped or restarted is lost without asking; a
// job its cluster answers 404 for is lost too. The checks are in the
// order of ops.
func (s *Session) Refresh(ctx context.Context, cn *pipeline.Connector, ops []string) []JobCheck {
	checks := make([]JobCheck, len(ops))
	byCluster := map[string][]int{}
	clusters := map[string]*manifest.Cluster{}
	for i, op := range ops {
		rec := s.State.Operations[op]
		c := s.jobCluster(op, rec)
		checks[i] = JobCheck{Operation: op, Record: rec, Cluster: c.Name}
		if reason, lost := s.lostWithLocalHead(c, rec); lost {
			checks[i].Lost, checks[i].Reason = true, reason
			continue
		}
		byCluster[c.Name] = append(byCluster[c.Name], i)
		clusters[c.Name] = c
	}
	var wg sync.WaitGroup
	for name, idx := range byCluster {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
			defer cancel()
			conn, err := cn.Connect(ctx, clusters[name])
			var jobs sync.WaitGroup
			for _, i := range idx {
				if err != nil {
					checks[i].Err = err
					continue
				}
				jobs.Go(func() { checks[i].ask(ctx, conn.Client) })
			}
			jobs.Wait()
		})
	}
	wg.Wait()
	return checks
}

// Describe says what is known of the job's status: the cluster's answer,
// or that the job is lost, or the recorded status and why the cluster
// could not be asked.
func (c JobCheck) Describe() string {
	last := ""
	if c.Record.Status != "" {
		last = " (last seen " + c.Record.Status + ")"
	}
	switch {
	case c.Lost:
		return "LOST: " + c.Reason + last
	case c.Err != nil:
		return c.Record.Status + " (recorded); " + c.Err.Error()
	default:
		return c.Status
	}
}

// ask reads the job from its cluster.
func (c *JobCheck) ask(ctx context.Context, client *rayjobs.Client) {
	info, err := client.Job(ctx, c.Record.JobID)
	switch {
	case errors.Is(err, rayjobs.ErrNotFound):
		c.Lost, c.Reason = true, "cluster "+c.Cluster+" no longer knows it"
	case err != nil:
		c.Err = err
	default:
		c.Status = string(info.Status)
	}
}

// refreshForPlan refreshes the recorded jobs of the operations a plan
// covers and warns, once per cluster, about the clusters it could not
// ask. With noRefresh only local heads are checked (they need no
// network).
func (s *Session) refreshForPlan(ctx context.Context, o PlanOptions) map[string]planner.JobRefresh {
	names := o.Operations
	if len(names) == 0 {
		names = s.Config.OperationNames()
	}
	var ops []string
	for _, n := range names {
		if _, ok := s.State.Operations[n]; ok && s.Config.Operations[n] != nil {
			ops = append(ops, n)
		}
	}
	out := map[string]planner.JobRefresh{}
	if o.NoRefresh {
		for _, op := range ops {
			rec := s.State.Operations[op]
			if reason, lost := s.lostWithLocalHead(s.Config.Operations[op].Cluster, rec); lost {
				out[op] = planner.JobRefresh{Lost: true, Reason: reason}
			}
		}
		return out
	}
	cn := o.Connector
	if cn == nil {
		cn = s.Connector(false)
		defer cn.Close()
	}
	unasked := map[string][]string{}
	var firstErr = map[string]error{}
	for _, c := range s.Refresh(ctx, cn, ops) {
		if c.Err != nil {
			unasked[c.Cluster] = append(unasked[c.Cluster], c.Operation)
			if firstErr[c.Cluster] == nil {
				firstErr[c.Cluster] = c.Err
			}
			continue
		}
		out[c.Operation] = c.JobRefresh
	}
	names = names[:0]
	for name := range unasked {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s.warn("could not refresh the jobs of %s (planning from the recorded state): %v", strings.Join(unasked[name], ", "), firstErr[name])
	}
	return out
}

// lostWithLocalHead reports whether a recorded job went away with the
// local Ray head adopipe ran it on (stopped by adopipe down, or
// restarted). It only reads the head's record and checks its process.
func (p *Project) lostWithLocalHead(c *manifest.Cluster, rec state.OperationState) (string, bool) {
	if c.Local == nil {
		return "", false
	}
	dir := p.ClusterDir(c.Name)
	head, err := localcluster.ReadRecord(dir)
	if err != nil {
		return "its local Ray head is not running", true
	}
	lc, err := localcluster.Attach(dir, *head)
	if err != nil || !lc.Alive() {
		return "its local Ray head stopped", true
	}
	if head.Address != rec.Address {
		return "its local Ray head was restarted since", true
	}
	return "", false
}

// jobCluster is the cluster an operation's recorded job was submitted
// to: the operation's, or, for an operation no longer in the manifest, the
// cluster of the recorded name when the manifest still declares it, and
// otherwise only the recorded address (then a warning says what is
// missing).
func (s *Session) jobCluster(op string, rec state.OperationState) *manifest.Cluster {
	if o, ok := s.Config.Operations[op]; ok {
		return o.Cluster
	}
	if c, ok := s.Config.Clusters[rec.Cluster]; ok {
		return c
	}
	s.warn("operation %s and its cluster %s are no longer in %s: using the recorded address %s without any headers, CA file or TLS settings", op, rec.Cluster, s.Config.File, rec.Address)
	return &manifest.Cluster{Name: fmt.Sprintf("%s (recorded address)", rec.Cluster), Address: rec.Address, Timeout: manifest.DefaultClusterTimeout}
}
