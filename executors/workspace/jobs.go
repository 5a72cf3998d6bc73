package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
)

// Statuses refreshes the recorded jobs of ops (see Refresh) and records
// each status learnt.
func (s *Session) Statuses(ctx context.Context, cn *pipeline.Connector, ops []string) []JobCheck {
	checks := s.Refresh(ctx, cn, ops)
	for _, c := range checks {
		if c.Status != "" {
			s.recordOrWarn(ctx, c.Operation, c.Record.JobID, rayjobs.Status(c.Status))
		}
	}
	return checks
}

// OpenJobs opens the state for a command about recorded jobs and checks
// the named operations have one (all recorded when none are named). A
// command that changes a job (stop) holds the lock (Open); the others only
// read (Read), so status and logs work while an apply or watch runs.
func (p *Project) OpenJobs(ctx context.Context, changes bool, ops []string) (*Session, []string, error) {
	open := func(context.Context) (*Session, error) { return p.Read() }
	if changes {
		open = p.Open
	}
	s, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	names, err := s.RecordedJobs(ops)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, names, nil
}

// Logs writes an operation's job log, as far as it goes, to w.
func (s *Session) Logs(ctx context.Context, cn *pipeline.Connector, op string, w io.Writer) error {
	c, id, err := s.JobClient(ctx, cn, op)
	if err != nil {
		return err
	}
	logs, err := c.Logs(ctx, id)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, logs)
	return err
}

// FollowLogs streams an operation's job log to w until the job ends, and
// records the status it ended with.
func (s *Session) FollowLogs(ctx context.Context, cn *pipeline.Connector, op string, w io.Writer) error {
	c, id, err := s.JobClient(ctx, cn, op)
	if err != nil {
		return err
	}
	if err := c.TailLogs(ctx, id, w); err != nil {
		return err
	}
	if info, err := c.Job(ctx, id); err == nil {
		s.recordOrWarn(ctx, op, id, info.Status)
	}
	return nil
}

// recordOrWarn records a status a command learnt; failing to is a
// warning: the status shown is right all the same.
func (s *Session) recordOrWarn(ctx context.Context, op, id string, status rayjobs.Status) {
	if err := s.RecordStatus(ctx, op, id, string(status)); err != nil {
		s.warn("job %s: could not record its status %s in %s: %v", op, status, s.StatePath, err)
	}
}

// Stop asks an operation's cluster to stop its job; stopped is false when
// the job was not running.
func (s *Session) Stop(ctx context.Context, cn *pipeline.Connector, op string) (jobID string, stopped bool, err error) {
	c, id, err := s.JobClient(ctx, cn, op)
	if err != nil {
		return id, false, err
	}
	stopped, err = c.Stop(ctx, id)
	return id, stopped, err
}

// LocalClusters returns the local clusters named (all of the manifest's
// when none are), refusing a name that is not one.
func (p *Project) LocalClusters(names []string) ([]string, error) {
	if len(names) == 0 {
		for _, n := range p.Config.ClusterNames() {
			if p.Config.Clusters[n].Local != nil {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		if c, ok := p.Config.Clusters[n]; !ok || c.Local == nil {
			return nil, fmt.Errorf("%q is not a local cluster of %s", n, p.Config.File)
		}
	}
	return names, nil
}

// StopLocalHead stops the Ray head adopipe started for a local cluster,
// by its process group, and returns its pid; localcluster.ErrNoCluster
// when none runs.
func (p *Project) StopLocalHead(ctx context.Context, name string) (int, error) {
	dir := p.ClusterDir(name)
	lc, err := localcluster.Find(dir)
	if err != nil && !errors.Is(err, localcluster.ErrNoCluster) {
		// It runs but does not answer this adopipe (a token it refuses):
		// stop it all the same, by its recorded process group.
		if r, rerr := localcluster.ReadRecord(dir); rerr == nil {
			if a, aerr := localcluster.Attach(dir, *r); aerr == nil {
				lc, err = a, nil
			}
		}
	}
	if err != nil {
		return 0, err
	}
	if err := lc.Stop(ctx); err != nil {
		return 0, fmt.Errorf("cluster %s: %w", name, err)
	}
	return lc.PID, nil
}
