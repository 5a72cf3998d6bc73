package workspace

import (
	"context"
	"encoding/json"
	"fmt"

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
