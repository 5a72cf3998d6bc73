package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/adopipe/adopipe/internal/interrupt"
	"github.com/adopipe/adopipe/internal/termview"
	"github.com/spf13/cobra"
)

// exitStopped is apply --follow's status when a job was stopped.
const exitStopped = 4

type applyFlags struct {
	sf          stateFlags
	pf          planFlags
	autoApprove bool
	follow      bool
	asJSON      bool
	parallelism int
	keepStaged  bool
}

func (a *app) applyCommand() *cobra.Command {
	var af applyFlags
	cmd := &cobra.Command{
		Use:   "apply [OPERATION...] [PLANFILE]",
		Short: "Build changed wheels, stage, upload and submit the jobs",
		Long: `Apply plans (or takes a plan saved by "adopipe plan --out"), asks for
confirmation, brings up the cluster connection (a local Ray head or a
kept-alive port-forward), builds the changed wheels in parallel, stages each
job directory, uploads it and submits the job through Ray's Jobs API.
--replace OPERATION submits an operation's job again under a new id although
its inputs did not change (to rerun a FAILED or STOPPED job). Every
completed step is recorded in the state, so an interrupted apply resumes
without submitting anything twice.

With --follow it streams the jobs' logs and exits with their result:
0 SUCCEEDED, 1 FAILED, 4 STOPPED.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runApply(cmd.Context(), args, af)
		},
	}
	af.sf.register(cmd)
	af.pf.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&af.autoApprove, "auto-approve", false, "apply without asking for confirmation")
	f.BoolVar(&af.follow, "follow", false, "stream the jobs' logs until they end and exit with their result")
	f.BoolVar(&af.asJSON, "json", false, "print one JSON event per line (requires --auto-approve)")
	f.IntVar(&af.parallelism, "parallelism", wheelbuild.DefaultParallelism(), "how many wheels to build at once")
	f.BoolVar(&af.keepStaged, "keep-staged", false, "keep each staged job directory in .adopipe/jobs after its upload (it holds the context YAML and its secrets)")
	return cmd
}

func (a *app) runApply(parent context.Context, args []string, af applyFlags) error {
	ctx, stop := interrupt.Context(parent, a.stderr)
	defer stop()
	ops, planFile, err := workspace.SplitPlanFile(args)
	if err != nil {
		return err
	}
	if af.asJSON && !af.autoApprove && planFile == "" {
		return fmt.Errorf("--json needs --auto-approve: there is no way to answer a prompt in JSON mode")
	}
	view := a.newApplyView(af.asJSON)
	p, s, err := a.open(ctx, af.sf, "adopipe apply", view.event)
	if err != nil {
		return err
	}
	defer s.Close()
	if planFile != "" && len(af.pf.replace) > 0 {
		return fmt.Errorf("%s is a saved plan: it already says what to replace; drop --replace", planFile)
	}
	connector := p.Connector(true)
	defer connector.Close()
	po := af.pf.options(ops)
	po.Connector, po.Applying = connector, true
	plan, err := s.PlanOrSaved(ctx, p.NewPlanner(), planFile, po)
	if err != nil {
		return err
	}
	view.plan(plan)
	if !plan.HasChanges() && !af.follow {
		return nil
	}
	if plan.HasChanges() && planFile == "" && !af.autoApprove {
		if err := a.confirm(); err != nil {
			return err
		}
	}

	opts := s.Pipeline(plan, af.parallelism, connector)
	opts.KeepStaged = af.keepStaged
	outcome, applyErr := pipeline.Apply(ctx, opts)
	view.outcome(outcome)
	if applyErr != nil {
		a.printError(applyErr)
		if !af.follow {
			return exitCodeError{exitError}
		}
	}
	if af.follow {
		code := a.follow(ctx, s, connector, outcome, view)
		if applyErr != nil && code == exitOK {
			code = exitError
		}
		if code != exitOK {
			return exitCodeError{code}
		}
	}
	return nil
}

// confirm asks on a terminal, like Terraform; without one it refuses, so
// a script never applies by accident.
func (a *app) confirm() error {
	if !termview.IsTerminal(a.stdin) {
		return fmt.Errorf("standard input is not a terminal, so apply cannot ask for confirmation; review the plan and pass --auto-approve")
	}
	fmt.Fprint(a.stdout, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(a.stdout, "\nApply cancelled.")
		return exitCodeError{exitError}
	}
	return nil
}
