package main

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
	"github.com/spf13/cobra"
)

// workspace is what commands that plan share: the manifest, the .adopipe
// directory beside it, the state and the wheel cache.
type workspace struct {
	cfg       *manifest.Config
	workDir   string // <manifest dir>/.adopipe
	statePath string
	cache     *wheelcache.Cache
	state     *state.State
	unlock    func() error
	locked    bool       // only a locked workspace may write the state
	mu        sync.Mutex // guards state writes from concurrent followers
}

// stateFlags are the flags of commands that read or write state.
type stateFlags struct {
	statePath   string
	lockTimeout time.Duration
	lock        bool
}

func (s *stateFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.statePath, "state", "", "state file `PATH` (default .adopipe/state.json beside the manifest)")
	f.DurationVar(&s.lockTimeout, "lock-timeout", 0, "how long to wait for another adopipe holding the state lock")
	f.BoolVar(&s.lock, "lock", true, "hold the state lock while running (--lock=false is dangerous)")
}

// openWorkspace loads the manifest, locks and reads the state. Diagnostics
// are printed here; a nil workspace means the command must fail.
func (a *app) openWorkspace(ctx context.Context, sf stateFlags, command string) (*workspace, error) {
	cfg, p, diags := a.loadManifest()
	if diags.HasErrors() {
		a.printDiags(diags, p.Files())
		return nil, exitCodeError{exitError}
	}
	a.printDiags(diags, p.Files()) // warnings
	ws := &workspace{cfg: cfg, workDir: filepath.Join(cfg.Dir, ".adopipe")}
	ws.statePath = sf.statePath
	if ws.statePath == "" {
		ws.statePath = filepath.Join(cfg.Dir, state.DefaultPath)
	}
	ws.cache = newCache(ws.workDir)
	ws.unlock = func() error { return nil }
	if sf.lock {
		unlock, err := state.Lock(ctx, ws.statePath, sf.lockTimeout, command)
		if err != nil {
			return nil, err
		}
		ws.unlock, ws.locked = unlock, true
	}
	st, err := state.Load(ws.statePath)
	if err != nil {
		ws.unlock()
		return nil, err
	}
	ws.state = st
	return ws, nil
}

func (ws *workspace) close() { _ = ws.unlock() }

// planner returns a Planner that consults the wheel cache.
func (ws *workspace) planner() *planner.Planner { return newPlanner(ws.workDir, ws.cache) }

func newCache(workDir string) *wheelcache.Cache {
	return wheelcache.New(filepath.Join(workDir, "cache"))
}

func newPlanner(workDir string, cache *wheelcache.Cache) *planner.Planner {
	// Peek, not Get: plans run often and must not re-hash every cached
	// wheel; apply verifies the digest before it stages a wheel.
	return planner.New(workDir, func(fp string) (string, bool) {
		path, _, ok, _ := cache.Peek(fp)
		if !ok {
			return "", false
		}
		return filepath.Base(path), true
	})
}

// recordStatus keeps the last status seen for an operation's job. The
// state is only touched when the job is still the one recorded.
func (ws *workspace) recordStatus(op, jobID, status string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	st, ok := ws.state.Operations[op]
	if !ws.locked || !ok || st.JobID != jobID || st.Status == status {
		return
	}
	st.Status = status
	ws.state.Operations[op] = st
	_ = state.Save(ws.statePath, ws.state, ws.cfg.SensitiveValues())
}

// localJobLost tells the planner when a recorded job went away with the
// local Ray head it ran on (stopped by adopipe down, or restarted): such a
// job must be submitted again rather than counted as submitted. It only
// reads the head's record and checks its process.
func localJobLost(workDir string) func(*manifest.Operation, state.OperationState) (string, bool) {
	return func(op *manifest.Operation, rec state.OperationState) (string, bool) {
		if op.Cluster.Local == nil {
			return "", false
		}
		dir := pipeline.ClusterDir(workDir, op.Cluster.Name)
		head, err := localcluster.ReadRecord(dir)
		if err != nil {
			return "its local Ray head is not running", true
		}
		c, err := localcluster.Attach(dir, *head)
		if err != nil || !c.Alive() {
			return "its local Ray head stopped", true
		}
		if head.Address != rec.Address {
			return "its local Ray head was restarted since", true
		}
		return "", false
	}
}
