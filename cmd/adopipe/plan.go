package main

import (
	"encoding/json"
	"fmt"

	"github.com/adopipe/adopipe/internal/buildinfo"
	"github.com/adopipe/adopipe/planner"
	"github.com/adopipe/adopipe/planner/state"
	"github.com/spf13/cobra"
)

func (a *app) planCommand() *cobra.Command {
	var (
		sf               stateFlags
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

It builds, uploads and submits nothing. With --out the plan is saved for
"adopipe apply FILE", which refuses it once the state or any input changed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := a.openWorkspace(cmd.Context(), sf, "adopipe plan")
			if err != nil {
				return err
			}
			defer ws.close()
			pl := ws.planner()
			plan, err := pl.Plan(cmd.Context(), planner.Request{Config: ws.cfg, State: ws.state, Operations: args, JobLost: localJobLost(ws.workDir)})
			if err != nil {
				return err
			}
			if err := pl.SaveCaches(); err != nil {
				a.warn("could not save the fingerprint caches (the next plan is slower): %v", err)
			}
			if out != "" {
				if err := savePlan(out, plan, ws.state); err != nil {
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
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the plan as one JSON document")
	f.StringVar(&out, "out", "", "save the plan to `FILE` for adopipe apply")
	f.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when something would, 1 on error")
	return cmd
}

func savePlan(path string, plan *planner.Plan, st *state.State) error {
	raw, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	return state.WritePlanFile(path, &state.PlanFile{
		AdopipeVersion: buildinfo.Read().Version,
		StateSerial:    st.Serial,
		StateLineage:   st.Lineage,
		InputsDigest:   plan.InputsDigest,
		Plan:           raw,
	})
}
