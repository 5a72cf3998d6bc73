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
			cfg := p.Config
			names := args
			if len(names) == 0 {
				for _, n := range cfg.ClusterNames() {
					if cfg.Clusters[n].Local != nil {
						names = append(names, n)
					}
				}
			}
			failed := false
			for _, n := range names {
				c, ok := cfg.Clusters[n]
				if !ok || c.Local == nil {
					a.printError(fmt.Errorf("%q is not a local cluster of %s", n, cfg.File))
					failed = true
					continue
				}
				lc, err := localcluster.Find(p.ClusterDir(n))
				if errors.Is(err, localcluster.ErrNoCluster) {
					fmt.Fprintf(a.stdout, "cluster %s: not running\n", n)
					continue
				} else if err != nil {
					a.printError(err)
					failed = true
					continue
				}
				if err := lc.Stop(cmd.Context()); err != nil {
					a.printError(fmt.Errorf("cluster %s: %w", n, err))
					failed = true
					continue
				}
				fmt.Fprintf(a.stdout, "cluster %s: stopped the Ray head (pid %d)\n", n, lc.PID)
			}
			if failed {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
}
