package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/adopipe/adopipe/internal/interrupt"
	"github.com/spf13/cobra"
)

// withJobs runs f on the workspace opened for a command about recorded
// jobs (see workspace.Project.OpenJobs) with a Connector that starts
// nothing, and closes both after.
func (a *app) withJobs(ctx context.Context, sf stateFlags, command string, changes bool, ops []string,
	f func(s *workspace.Session, ops []string, cn *pipeline.Connector) error) error {
	p, err := a.project(sf, command, a.warnEvents)
	if err != nil {
		return err
	}
	s, names, err := p.OpenJobs(ctx, changes, ops)
	if err != nil {
		return err
	}
	defer s.Close()
	cn := p.Connector(false)
	defer cn.Close()
	return f(s, names, cn)
}

func (a *app) statusCommand() *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "status [OPERATION...]",
		Short: "Show the jobs this manifest submitted and their status on the cluster",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withJobs(ctx, sf, "adopipe status", false, args, func(s *workspace.Session, ops []string, cn *pipeline.Connector) error {
				if len(ops) == 0 {
					fmt.Fprintln(a.stdout, "No jobs submitted yet.")
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "OPERATION\tJOB\tSTATUS\tSUBMITTED\tCLUSTER")
				for _, c := range s.Statuses(ctx, cn, ops) {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Operation, c.Record.JobID, c.Describe(), c.Record.SubmittedAt.Local().Format(time.DateTime), c.Cluster)
				}
				return tw.Flush()
			})
		},
	}
	sf.register(cmd)
	return cmd
}

func (a *app) logsCommand() *cobra.Command {
	var (
		sf     stateFlags
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs [-f|--follow] OPERATION",
		Short: "Print the logs of an operation's job (-f follows them)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := interrupt.Context(cmd.Context(), a.stderr)
			defer stop()
			return a.withJobs(ctx, sf, "adopipe logs", false, args, func(s *workspace.Session, _ []string, cn *pipeline.Connector) error {
				if follow {
					return s.FollowLogs(ctx, cn, args[0], a.stdout)
				}
				return s.Logs(ctx, cn, args[0], a.stdout)
			})
		},
	}
	sf.register(cmd)
	// -f after "logs" is rewritten to --follow (see logsFollowShorthand):
	// pflag cannot give -f two meanings, and it is the global --file.
	cmd.Flags().BoolVar(&follow, "follow", false, "stream the logs until the job ends (also -f)")
	return cmd
}

func (a *app) stopCommand() *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "stop OPERATION...",
		Short: "Stop the running jobs of operations",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withJobs(ctx, sf, "adopipe stop", true, args, func(s *workspace.Session, _ []string, cn *pipeline.Connector) error {
				failed := false
				for _, op := range args {
					id, stopped, err := s.Stop(ctx, cn, op)
					if err == nil {
						if stopped {
							fmt.Fprintf(a.stdout, "job %s: stop requested for %s\n", op, id)
						} else {
							fmt.Fprintf(a.stdout, "job %s: %s was not running\n", op, id)
						}
						continue
					}
					a.printError(fmt.Errorf("operation %s: %w", op, err))
					failed = true
				}
				if failed {
					return exitCodeError{exitError}
				}
				return nil
			})
		},
	}
	sf.register(cmd)
	return cmd
}
