package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/spf13/cobra"
)

// openJobs opens the workspace for a command about recorded jobs and
// checks the named operations have one. A command that changes a job
// (stop) holds the state lock; the others only read, so status and logs
// work while an apply or watch runs, and lock only to record a status.
// The Connector starts nothing.
func (a *app) openJobs(ctx context.Context, sf stateFlags, command string, changes bool, ops []string) (*workspace.Session, []string, *pipeline.Connector, error) {
	p, err := a.project(sf, command, a.warnEvents)
	if err != nil {
		return nil, nil, nil, err
	}
	var s *workspace.Session
	if changes {
		s, err = p.Open(ctx)
	} else {
		s, err = p.Read()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	names, err := s.RecordedJobs(ops)
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return s, names, p.Connector(false), nil
}

func (a *app) statusCommand() *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "status [OPERATION...]",
		Short: "Show the jobs this manifest submitted and their status on the cluster",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, ops, cn, err := a.openJobs(ctx, sf, "adopipe status", false, args)
			if err != nil {
				return err
			}
			defer s.Close()
			defer cn.Close()
			if len(ops) == 0 {
				fmt.Fprintln(a.stdout, "No jobs submitted yet.")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OPERATION\tJOB\tSTATUS\tSUBMITTED\tCLUSTER")
			for _, c := range s.Refresh(ctx, cn, ops) {
				if c.Status != "" {
					a.recordStatus(ctx, s, c.Operation, c.Record.JobID, c.Status)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Operation, c.Record.JobID, c.Describe(), c.Record.SubmittedAt.Local().Format(time.DateTime), c.Cluster)
			}
			return tw.Flush()
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
			ctx, stop := a.interruptible(cmd.Context())
			defer stop()
			s, _, cn, err := a.openJobs(ctx, sf, "adopipe logs", false, args)
			if err != nil {
				return err
			}
			defer s.Close()
			defer cn.Close()
			c, id, err := s.JobClient(ctx, cn, args[0])
			if err != nil {
				return err
			}
			if follow {
				if err := c.TailLogs(ctx, id, a.stdout); err != nil {
					return err
				}
				// The log ends with the job: keep the status it ended with.
				if info, err := c.Job(ctx, id); err == nil {
					a.recordStatus(ctx, s, args[0], id, string(info.Status))
				}
				return nil
			}
			logs, err := c.Logs(ctx, id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(a.stdout, logs)
			return err
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
			s, _, cn, err := a.openJobs(ctx, sf, "adopipe stop", true, args)
			if err != nil {
				return err
			}
			defer s.Close()
			defer cn.Close()
			failed := false
			for _, op := range args {
				c, id, err := s.JobClient(ctx, cn, op)
				if err == nil {
					var stopped bool
					if stopped, err = c.Stop(ctx, id); err == nil {
						if stopped {
							fmt.Fprintf(a.stdout, "job %s: stop requested for %s\n", op, id)
						} else {
							fmt.Fprintf(a.stdout, "job %s: %s was not running\n", op, id)
						}
						continue
					}
				}
				a.printError(fmt.Errorf("operation %s: %w", op, err))
				failed = true
			}
			if failed {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	sf.register(cmd)
	return cmd
}

// recordStatus keeps a status a command learnt; failing to is a warning,
// the status shown is right all the same.
func (a *app) recordStatus(ctx context.Context, s *workspace.Session, op, jobID, status string) {
	if err := s.RecordStatus(ctx, op, jobID, status); err != nil {
		a.warn("job %s: could not record its status %s in %s: %v", op, status, s.StatePath, err)
	}
}
