package main

import (
	"fmt"

	"github.com/adopipe/adopipe/internal/buildinfo"

	"github.com/spf13/cobra"
)

func (a *app) planCommand() *cobra.Command {
	var (
		sf               stateFlags
		pf               planFlags
		asJSON, detailed bool
		out              string
	)
	cmd := &cobra.Command{
		Use:   "plan [OPERATION...]",
		Short: "Show which wheels would be built and which jobs submitted, and why",
		Long: `Plan fingerprints the sources of ado and every plugin the operations use,
compares them with the state and the wheel cache, and prints one line per
wheel and per job:

  + build or submit    ~ rebuild (with the changed files)    = cached or already submitted

A job already submitted with the same inputs is not submitted again, whatever
its last status; --replace OPERATION submits it again under a new job id.
It builds, uploads and submits nothing. With --out the plan is saved for
"adopipe apply FILE", which refuses it once the state or any input changed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, s, err := a.open(cmd.Context(), sf, "adopipe plan", a.warnEvents)
			if err != nil {
				return err
			}
			defer s.Close()
			plan, err := s.Plan(cmd.Context(), p.NewPlanner(), pf.options(args))
			if err != nil {
				return err
			}
			if out != "" {
				if err := s.SavePlan(out, plan, buildinfo.Read().Version); err != nil {
					return err
				}
			}
			if asJSON {
				if err := writeJSON(a.stdout, plan); err != nil {
					return err
				}
			} else {
				a.renderPlan(plan)
				if out != "" {
					fmt.Fprintf(a.stdout, "\nSaved the plan to %s. To perform exactly these actions, run:\n  adopipe apply %s\n", out, out)
				}
			}
			if detailed && plan.HasChanges() {
				return exitCodeError{exitChanges}
			}
			return nil
		},
	}
	sf.register(cmd)
	pf.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the plan as one JSON document")
	f.StringVar(&out, "out", "", "save the plan to `FILE` for adopipe apply")
	f.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when something would, 1 on error")
	return cmd
}
