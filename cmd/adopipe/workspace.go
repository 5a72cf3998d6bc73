package main

import (
	"context"
	"time"

	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/spf13/cobra"
)

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
	f.BoolVar(&s.lock, "lock", true, "lock the state while writing it (--lock=false is dangerous)")
}

// planFlags are the flags of commands that plan (plan, apply).
type planFlags struct {
	replace []string
	refresh bool
}

func (p *planFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&p.replace, "replace", nil, "submit `OPERATION` again under a new job id although its inputs did not change (repeatable)")
	f.BoolVar(&p.refresh, "refresh", true, "ask the clusters about the recorded jobs first (--refresh=false plans from the state)")
}

func (p planFlags) options(ops []string) workspace.PlanOptions {
	return workspace.PlanOptions{Operations: ops, Replace: p.replace, NoRefresh: !p.refresh}
}

// project loads the manifest, printing its diagnostics, and returns its
// workspace; events receives the workspace's progress and warnings.
func (a *app) project(sf stateFlags, command string, events progress.Func) (*workspace.Project, error) {
	cfg, p, diags := a.loadManifest()
	a.printDiags(diags, p.Files())
	if diags.HasErrors() {
		return nil, exitCodeError{exitError}
	}
	return workspace.New(cfg, workspace.Options{
		StatePath: sf.statePath, Lock: sf.lock, LockTimeout: sf.lockTimeout, Command: command, Events: events,
	}), nil
}

// open loads the manifest and opens its state for a command that writes
// it (see workspace.Project.Open).
func (a *app) open(ctx context.Context, sf stateFlags, command string, events progress.Func) (*workspace.Project, *workspace.Session, error) {
	p, err := a.project(sf, command, events)
	if err != nil {
		return nil, nil, err
	}
	s, err := p.Open(ctx)
	return p, s, err
}
