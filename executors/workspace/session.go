package workspace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/planner"
)

// The lock policy. A command that writes the state (plan, apply, stage,
// stop, each watch cycle) holds the lock for its whole run (Open). A
// command that only looks (status, logs) reads without it (Read), so it
// works beside a running apply or watch, and takes it only for the moment
// it records a status it learnt; if another adopipe holds it then, the
// status is left to that one. With Options.Lock false nothing is locked
// and the state is written all the same.

// briefLockWait is the least a writer waits for the lock: status and logs
// hold it only for the moment they record a status, and must not make an
// apply or a watch cycle fail.
const briefLockWait = 2 * time.Second

// Session is the state of a workspace, loaded for one command.
type Session struct {
	*Project
	State  *state.State
	held   bool // this session holds the lock until Close
	unlock func() error
	mu     sync.Mutex // guards State against concurrent status records
}

// Open locks the state (unless the policy is off) and loads it, for a
// command that writes it. Close releases the lock.
func (p *Project) Open(ctx context.Context) (*Session, error) {
	if err := p.secureDir(); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", p.Dir, err)
	}
	if !p.opts.Lock {
		return p.Read()
	}
	st, unlock, err := state.LoadLocked(ctx, p.StatePath, max(p.opts.LockTimeout, briefLockWait), p.opts.Command)
	if err != nil {
		return nil, err
	}
	// Holding the lock, no other adopipe builds into the cache: what
	// interrupted builds left there can go.
	if _, err := p.Cache.Clean(); err != nil {
		p.warn("cleaning the wheel cache: %v", err)
	}
	return &Session{Project: p, State: st, held: true, unlock: unlock}, nil
}

// Read loads the state without taking the lock, for a command that only
// looks; RecordStatus locks briefly.
func (p *Project) Read() (*Session, error) {
	if err := p.secureDir(); err != nil {
		p.warn("workspace %s: %v", p.Dir, err)
	}
	st, err := state.Load(p.StatePath)
	if err != nil {
		return nil, err
	}
	return &Session{Project: p, State: st, unlock: func() error { return nil }}, nil
}

// Close releases the lock, if held.
func (s *Session) Close() error { return s.unlock() }

// PlanOptions say what to plan.
type PlanOptions struct {
	// Operations selects operations by name; empty means all.
	Operations []string
	// Replace names operations whose job is submitted again although its
	// inputs did not change.
	Replace []string
	// NoRefresh plans from the state without asking the clusters about
	// the recorded jobs (a local head adopipe runs is still checked).
	NoRefresh bool
	// Connector reaches the clusters for the refresh; nil opens one that
	// starts nothing, closed when the plan is made.
	Connector *pipeline.Connector
	// Applying says the plan is applied next: apply reports an unreachable
	// cluster it submits to itself, so the plan does not warn of it.
	Applying bool
}

// Plan refreshes the recorded jobs (see Refresh), plans the selected
// operations against this state, resubmitting jobs lost with their
// cluster, and keeps the planner's caches (a failure to is a warning:
// they are only caches).
func (s *Session) Plan(ctx context.Context, pl *planner.Planner, o PlanOptions) (*planner.Plan, error) {
	refreshed, rays, unreached := s.refreshForPlan(ctx, o)
	plan, err := pl.Plan(ctx, planner.Request{Config: s.Config, State: s.State, Operations: o.Operations, Replace: o.Replace, Refreshed: refreshed, ClusterRay: rays})
	if err != nil {
		s.warnUnreached(&planner.Plan{}, unreached, false) // the error may point at the warning
		return nil, err
	}
	s.warnUnreached(plan, unreached, o.Applying)
	if err := pl.SaveCaches(); err != nil {
		s.warn("could not save the fingerprint caches (the next plan is slower): %v", err)
	}
	return plan, nil
}

// Pipeline returns the options to carry plan out in this session.
func (s *Session) Pipeline(plan *planner.Plan, parallelism int, cn *pipeline.Connector) pipeline.Options {
	return pipeline.Options{
		Config: s.Config, Plan: plan, State: s.State, StatePath: s.StatePath,
		WorkDir: s.Dir, Cache: s.Cache, Parallelism: parallelism, Connector: cn, Events: s.opts.Events,
	}
}

// RecordStatus keeps the last status seen for an operation's job, when
// the job is still the one recorded.
func (s *Session) RecordStatus(ctx context.Context, op, jobID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !setStatus(s.State, op, jobID, status) {
		return nil
	}
	if s.held {
		return state.Save(s.StatePath, s.State, s.Config.SensitiveValues())
	}
	err := s.recordBriefly(ctx, op, jobID, status)
	if errors.Is(err, errBusy) {
		return nil // the state is the lock holder's to write
	}
	return err
}

// errBusy says another adopipe holds the state lock.
var errBusy = errors.New("the state is locked by another adopipe")

// recordBriefly writes a status into the newest state on disk, locking
// it for that moment unless the policy is off; errBusy when another
// adopipe holds the lock.
func (p *Project) recordBriefly(ctx context.Context, op, jobID, status string) error {
	if p.opts.Lock {
		unlock, err := state.Lock(ctx, p.StatePath, p.opts.LockTimeout, p.opts.Command)
		if _, busy := errors.AsType[*state.LockedError](err); busy {
			return errBusy
		}
		if err != nil {
			return err
		}
		defer unlock()
	}
	fresh, err := state.Load(p.StatePath)
	if err != nil {
		return err
	}
	if !setStatus(fresh, op, jobID, status) {
		return nil
	}
	return state.Save(p.StatePath, fresh, p.Config.SensitiveValues())
}

// setStatus reports whether it changed st.
func setStatus(st *state.State, op, jobID, status string) bool {
	rec, ok := st.Operations[op]
	if !ok || rec.JobID != jobID || rec.Status == status {
		return false
	}
	rec.Status = status
	st.Operations[op] = rec
	return true
}

// RecordedJobs returns the operations with a job in the state, or checks
// that each named one has, sorted when none are named.
func (s *Session) RecordedJobs(names []string) ([]string, error) {
	if len(names) == 0 {
		for name := range s.State.Operations {
			names = append(names, name)
		}
		sort.Strings(names)
		return names, nil
	}
	for _, n := range names {
		if _, ok := s.State.Operations[n]; !ok {
			return nil, fmt.Errorf("operation %q has no submitted job in %s; run adopipe apply first", n, s.StatePath)
		}
	}
	return names, nil
}

// JobClient connects to the cluster an operation's job was submitted to
// (see jobCluster) and returns its client and the job id.
func (s *Session) JobClient(ctx context.Context, cn *pipeline.Connector, op string) (*rayjobs.Client, string, error) {
	rec := s.State.Operations[op]
	conn, err := cn.Connect(ctx, s.jobCluster(op, rec))
	if err != nil {
		return nil, "", err
	}
	return conn.Client, rec.JobID, nil
}
