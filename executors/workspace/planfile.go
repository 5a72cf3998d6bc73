package workspace

import (
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

// SavedPlan is a plan read back from a file SavePlan wrote.
type SavedPlan struct {
	Path string
	// Operations are the ones the plan selected.
	Operations []string
	// Replace are the operations it submits again with unchanged inputs.
	Replace []string
	file    *state.PlanFile
}

// ReadSavedPlan reads a plan file.
func ReadSavedPlan(path string) (*SavedPlan, error) {
	pf, err := state.ReadPlanFile(path)
	if err != nil {
		return nil, err
	}
	var p planner.Plan
	if err := json.Unmarshal(pf.Plan, &p); err != nil {
		return nil, fmt.Errorf("%s: saved plan: %w", path, err)
	}
	sp := &SavedPlan{Path: path, file: pf}
	for _, j := range p.Jobs {
		sp.Operations = append(sp.Operations, j.Operation)
		if j.Replace {
			sp.Replace = append(sp.Replace, j.Operation)
		}
	}
	return sp, nil
}

// CheckFresh refuses a saved plan once the state or any input changed
// since it was made; plan is the same operations planned now.
func (s *Session) CheckFresh(saved *SavedPlan, plan *planner.Plan) error {
	if err := state.CheckFresh(saved.file, s.State.Serial, s.State.Lineage, plan.InputsDigest); err != nil {
		return fmt.Errorf("%s: %w", saved.Path, err)
	}
	return nil
}
