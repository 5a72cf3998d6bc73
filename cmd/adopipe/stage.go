package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/stage"
	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/adopipe/adopipe/internal/interrupt"
	"github.com/adopipe/adopipe/planner"
	"github.com/spf13/cobra"
)

func (a *app) stageCommand() *cobra.Command {
	var (
		sf          stateFlags
		outDir      string
		parallelism int
	)
	cmd := &cobra.Command{
		Use:   "stage [-o DIR] [OPERATION...]",
		Short: "Build what is needed and write the job directories, for ray job submit by hand",
		Long: `Stage builds the wheels that changed and writes each operation's job
directory to DIR/<operation>: the wheels under wheels/<digest>/, the context
and operation YAMLs, the extra files, ray_runtime_env.yaml and submit.sh, the
equivalent "ray job submit" command. It contacts no cluster.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := interrupt.Context(cmd.Context(), a.stderr)
			defer stop()
			view := a.newApplyView(false)
			p, s, err := a.open(ctx, sf, "adopipe stage", view.event)
			if err != nil {
				return err
			}
			defer s.Close()
			// Stage contacts no cluster: no refresh.
			plan, err := s.Plan(ctx, p.NewPlanner(), workspace.PlanOptions{Operations: args, NoRefresh: true})
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = p.JobsDir()
			}
			jobs, outcome, stageErr := pipeline.Stage(ctx, s.Pipeline(plan, parallelism, nil), outDir)
			view.done()
			for _, j := range jobs {
				if j.Err != nil {
					continue
				}
				for _, w := range j.Result.Warnings {
					a.warn("%s: %s", j.Operation, w)
				}
				if keys := plan.Job(j.Operation).Spec.SensitiveEnv(); len(keys) > 0 {
					a.warn("%s: %s holds %q for the secret env values %s; put the real values in before running submit.sh", j.Operation, stage.RuntimeEnvFile, planner.SensitiveMarker, strings.Join(keys, ", "))
				}
				fmt.Fprintf(a.stdout, "job %s: staged %s (%d files); submit by hand with %s\n",
					j.Operation, j.Result.Dir, len(j.Result.Files), filepath.Join(j.Result.Dir, stage.SubmitScript))
			}
			fmt.Fprintf(a.stdout, "\nStage complete: %d built, %d cached, %d failed.\n", outcome.Built, outcome.Cached, outcome.Fail)
			if stageErr != nil {
				a.printError(stageErr)
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "write job directories under `DIR` (default .adopipe/jobs)")
	cmd.Flags().IntVar(&parallelism, "parallelism", wheelbuild.DefaultParallelism(), "how many wheels to build at once")
	return cmd
}
