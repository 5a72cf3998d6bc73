package main

import (
	"errors"
	"fmt"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/spf13/cobra"
)

func (a *app) downCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "down [CLUSTER...]",
		Short: "Stop the local Ray heads adopipe started for this manifest",
		Long: `Down stops the Ray heads adopipe started for the manifest's local clusters
(all of them, or the named ones), each by its own process group. It never
stops a Ray it did not start.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.project(stateFlags{}, "adopipe down", a.warnEvents)
			if err != nil {
				return err
			}
			names, err := p.LocalClusters(args)
			if err != nil {
				return err
			}
			failed := false
			for _, n := range names {
				pid, err := p.StopLocalHead(cmd.Context(), n)
				switch {
				case errors.Is(err, localcluster.ErrNoCluster):
					fmt.Fprintf(a.stdout, "cluster %s: not running\n", n)
				case err != nil:
					a.printError(err)
					failed = true
				default:
					fmt.Fprintf(a.stdout, "cluster %s: stopped the Ray head (pid %d)\n", n, pid)
				}
			}
			if failed {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
}
