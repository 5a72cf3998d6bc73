package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/planner"
)

// SavePlan writes plan to path for a later `adopipe apply PATH`, tied to
// this session's state so a stale plan is refused.
func (s *Session) SavePlan(path string, plan *planner.Plan, adopipeVersion string) error {
	raw, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	return state.WritePlanFile(path, &state.PlanFile{
		AdopipeVersion: adopipeVersion,
		StateSerial:    s.State.Serial,
		StateLineage:   s.State.Lineage,
		InputsDigest:   plan.InputsDigest,
		Plan:           raw,
	}, s.Config.SensitiveValues())
}

// PlanSaved plans again the operations of the plan saved at path, with
// the replacements it made (o's own are ignored), and refuses it once the
// state or any input changed since it was saved.
func (s *Session) PlanSaved(ctx context.Context, pl *planner.Planner, path string, o PlanOptions) (*planner.Plan, error) {
	pf, err := state.ReadPlanFile(path)
	if err != nil {
		return nil, err
	}
	var saved planner.Plan
	if err := json.Unmarshal(pf.Plan, &saved); err != nil {
		return nil, fmt.Errorf("%s: saved plan: %w", path, err)
	}
	o.Operations, o.Replace = nil, nil
	for _, j := range saved.Jobs {
		o.Operations = append(o.Operations, j.Operation)
		if j.Replace {
			o.Replace = append(o.Replace, j.Operation)
		}
	}
	plan, err := s.Plan(ctx, pl, o)
	if err != nil {
		return nil, err
	}
	if err := state.CheckFresh(pf, s.State.Serial, s.State.Lineage, plan.InputsDigest); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return plan, nil
}

// SplitPlanFile separates operation names from a saved plan file argument:
// an argument naming an existing file is a plan file, as in Terraform.
func SplitPlanFile(args []string) (ops []string, planFile string, err error) {
	for _, arg := range args {
		if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
			if planFile != "" {
				return nil, "", fmt.Errorf("more than one plan file given: %s and %s", planFile, arg)
			}
			planFile = arg
			continue
		}
		ops = append(ops, arg)
	}
	if planFile != "" && len(ops) > 0 {
		return nil, "", fmt.Errorf("a saved plan already selects its operations; drop %s or the plan file", strings.Join(ops, ", "))
	}
	return ops, planFile, nil
}

// PlanOrSaved plans o's operations, or, when planFile is not empty, the
// plan saved there (see PlanSaved).
func (s *Session) PlanOrSaved(ctx context.Context, pl *planner.Planner, planFile string, o PlanOptions) (*planner.Plan, error) {
	if planFile != "" {
		return s.PlanSaved(ctx, pl, planFile, o)
	}
	return s.Plan(ctx, pl, o)
}
