package workspace

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
	checks, clusters := s.checks(ops)
	s.survey(ctx, cn, clusters, checks)
	return checks
}

// checks prepares the checks of ops' recorded jobs, settling those lost
// with their local head, and lists the clusters the others need.
func (s *Session) checks(ops []string) ([]JobCheck, map[string]*manifest.Cluster) {
	checks := make([]JobCheck, len(ops))
	clusters := map[string]*manifest.Cluster{}
	for i, op := range ops {
		rec := s.State.Operations[op]
		c := s.jobCluster(op, rec)
		checks[i] = JobCheck{Operation: op, Record: rec, Cluster: c.Name}
		if reason, lost := s.lostWithLocalHead(c, rec); lost {
			checks[i].Lost, checks[i].Reason = true, reason
			continue
		}
		clusters[c.Name] = c
	}
	return checks, clusters
}

// survey connects to each cluster, in parallel and bounded by
// refreshTimeout, and asks it about the unsettled checks on it. It
// returns the Ray version of each cluster reached and the error of each
// that was not.
func (s *Session) survey(ctx context.Context, cn *pipeline.Connector, clusters map[string]*manifest.Cluster, checks []JobCheck) (versions map[string]string, errs map[string]error) {
	versions, errs = map[string]string{}, map[string]error{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for name, c := range clusters {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
			defer cancel()
			conn, err := cn.Connect(ctx, c)
			mu.Lock()
			if err != nil {
				errs[name] = err
			} else {
				versions[name] = conn.RayVersion
			}
			mu.Unlock()
			var jobs sync.WaitGroup
			for i := range checks {
				ch := &checks[i]
				if ch.Cluster != name || ch.Lost {
					continue
				}
				if err != nil {
					ch.Err = err
					continue
				}
				jobs.Go(func() { ch.ask(ctx, conn.Client) })
			}
			jobs.Wait()
		})
	}
	wg.Wait()
	return versions, errs
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

// refreshForPlan reaches the clusters of the operations a plan covers:
// it learns their Ray versions and refreshes the recorded jobs on them. A
// cluster that cannot be reached is a warning (once per cluster). A local
// cluster whose head is not running is not started, unless an operation
// on it pins Ray and the connector may start it (apply). With noRefresh
// only local heads are checked (they need no network).
func (s *Session) refreshForPlan(ctx context.Context, o PlanOptions) (map[string]planner.JobRefresh, map[string]string, map[string]error) {
	names := o.Operations
	if len(names) == 0 {
		names = s.Config.OperationNames()
	}
	var planned, recorded []string
	for _, n := range names {
		if s.Config.Operations[n] == nil {
			continue // the planner reports it
		}
		planned = append(planned, n)
		if _, ok := s.State.Operations[n]; ok {
			recorded = append(recorded, n)
		}
	}
	checks, clusters := s.checks(recorded)
	jobs := map[string]planner.JobRefresh{}
	if o.NoRefresh {
		for _, c := range checks {
			if c.Lost {
				jobs[c.Operation] = c.JobRefresh
			}
		}
		return jobs, nil, nil
	}
	// A local head that is not running is not started to plan: the Ray it
	// would run is the one installed beside its ray executable.
	installed := map[string]string{}
	var installedErrs []error
	for _, n := range planned {
		op := s.Config.Operations[n]
		switch {
		case op.Cluster.Local == nil || s.localHeadRuns(op.Cluster):
			clusters[op.Cluster.Name] = op.Cluster
		case op.PinRay:
			v, err := localcluster.InstalledVersion(findRay(s.Config.Build.Python))
			if err != nil {
				installedErrs = append(installedErrs, fmt.Errorf("cluster %s: the Ray version its local head would run: %w", op.Cluster.Name, err))
				continue
			}
			installed[op.Cluster.Name] = v
		}
	}
	cn := o.Connector
	if cn == nil {
		cn = s.Connector(false)
		defer cn.Close()
	}
	versions, errs := s.survey(ctx, cn, clusters, checks)
	for name, v := range installed {
		versions[name] = v
	}
	for _, err := range installedErrs {
		s.warn("%v", err)
	}
	for _, c := range checks {
		if c.Err == nil {
			jobs[c.Operation] = c.JobRefresh
		}
	}
	return jobs, versions, errs
}

// warnUnreached says which clusters the plan could not reach. An apply
// reports a cluster it must submit to itself, with the same cause: a
// warning too would say it twice.
func (s *Session) warnUnreached(plan *planner.Plan, errs map[string]error, applying bool) {
	submits := map[string]bool{}
	for _, j := range plan.Jobs {
		if j.Action == planner.ActionSubmit {
			submits[j.Cluster] = true
		}
	}
	var failed []string
	for name := range errs {
		if !applying || !submits[name] {
			failed = append(failed, name)
		}
	}
	sort.Strings(failed)
	for _, name := range failed {
		s.warn("%v (planning the jobs of cluster %s from the recorded state, without checking their Ray version)", errs[name], name)
	}
}

// localHeadRuns reports whether the local head adopipe runs for c is up.
func (p *Project) localHeadRuns(c *manifest.Cluster) bool {
	_, err := localcluster.Find(p.ClusterDir(c.Name))
	return err == nil
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
