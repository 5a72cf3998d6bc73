package main

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/spf13/cobra"
)

// recordedJobs returns the operations with a job in state, optionally
// restricted to names, sorted.
func (ws *workspace) recordedJobs(names []string) ([]string, error) {
	if len(names) == 0 {
		for name := range ws.state.Operations {
			names = append(names, name)
		}
		sort.Strings(names)
		return names, nil
	}
	for _, n := range names {
		if _, ok := ws.state.Operations[n]; !ok {
			return nil, fmt.Errorf("operation %q has no submitted job in %s; run adopipe apply first", n, ws.statePath)
		}
	}
	return names, nil
}

// openJobs opens the workspace for a command about recorded jobs, checks
// the named operations have one, and returns a Connector that starts
// nothing. Only commands that change a job (stop) take the state lock, so
// status and logs work while an apply or watch runs.
func (a *app) openJobs(ctx context.Context, sf stateFlags, command string, lock bool, ops []string) (*workspace, []string, *pipeline.Connector, error) {
	sf.lock = lock
	ws, err := a.openWorkspace(ctx, sf, command)
	if err != nil {
		return nil, nil, nil, err
	}
	names, err := ws.recordedJobs(ops)
	if err != nil {
		ws.close()
		return nil, nil, nil, err
	}
	return ws, names, &pipeline.Connector{WorkDir: ws.workDir, NoStart: true}, nil
}

// jobClient connects to the cluster an operation's job was submitted to,
// without starting anything.
func (ws *workspace) jobClient(ctx context.Context, cn *pipeline.Connector, op string) (*rayjobs.Client, string, error) {
	rec := ws.state.Operations[op]
	if o, ok := ws.cfg.Operations[op]; ok {
		conn, err := cn.Connect(ctx, o.Cluster)
		if err != nil {
			return nil, "", err
		}
		return conn.Client, rec.JobID, nil
	}
	c, err := rayjobs.New(rayjobs.Config{Address: rec.Address})
	return c, rec.JobID, err
}

func (a *app) statusCommand() *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "status [OPERATION...]",
		Short: "Show the jobs this manifest submitted and their status on the cluster",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ws, ops, cn, err := a.openJobs(ctx, sf, "adopipe status", false, args)
			if err != nil {
				return err
			}
			defer ws.close()
			defer cn.Close()
			if len(ops) == 0 {
				fmt.Fprintln(a.stdout, "No jobs submitted yet.")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OPERATION\tJOB\tSTATUS\tSUBMITTED\tCLUSTER")
			for _, op := range ops {
				rec := ws.state.Operations[op]
				status := rec.Status + " (recorded)"
				if c, id, err := ws.jobClient(ctx, cn, op); err == nil {
					if info, err := c.Job(ctx, id); err == nil {
						status = string(info.Status)
						ws.recordStatus(op, id, status)
					} else {
						status += "; " + err.Error()
					}
				} else {
					status += "; cluster unreachable"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", op, rec.JobID, status, rec.SubmittedAt.Local().Format(time.DateTime), rec.Cluster)
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
			ws, _, cn, err := a.openJobs(ctx, sf, "adopipe logs", false, args)
			if err != nil {
				return err
			}
			defer ws.close()
			defer cn.Close()
			c, id, err := ws.jobClient(ctx, cn, args[0])
			if err != nil {
				return err
			}
			if follow {
				return c.TailLogs(ctx, id, a.stdout)
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
			ws, _, cn, err := a.openJobs(ctx, sf, "adopipe stop", true, args)
			if err != nil {
				return err
			}
			defer ws.close()
			defer cn.Close()
			failed := false
			for _, op := range args {
				c, id, err := ws.jobClient(ctx, cn, op)
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
