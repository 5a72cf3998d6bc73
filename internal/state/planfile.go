package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// PlanFormatVersion is the newest saved-plan format this adopipe reads and
// writes.
const PlanFormatVersion = 1

// ErrStalePlan marks a saved plan that no longer matches the state or the
// inputs (see CheckFresh).
var ErrStalePlan = errors.New("saved plan is stale")

// PlanFile is the envelope of a saved plan (`adopipe plan --out FILE`). The
// plan itself is opaque here: the planner owns its shape.
type PlanFile struct {
	FormatVersion  int    `json:"format_version"`
	AdopipeVersion string `json:"adopipe_version"`
	// StateSerial and StateLineage identify the state the plan was made
	// against (serial 0 means there was no state file yet).
	StateSerial  uint64 `json:"state_serial"`
	StateLineage string `json:"state_lineage"`
	// InputsDigest is a digest of every input the plan depends on
	// (manifest, variables, source fingerprints).
	InputsDigest string          `json:"inputs_digest"`
	CreatedAt    time.Time       `json:"created_at"`
	Plan         json.RawMessage `json:"plan"`
}

// WritePlanFile writes env to path atomically (temp file, fsync, rename).
// FormatVersion is set to PlanFormatVersion and CreatedAt to now if zero.
// The file is created with mode 0600: a plan may show environment values,
// but never sensitive ones: it refuses, writing nothing, when env would
// hold any of secrets (see CheckNoSecrets).
func WritePlanFile(path string, env *PlanFile, secrets []Secret) error {
	if env == nil {
		return errors.New("plan file: nothing to write")
	}
	if len(bytes.TrimSpace(env.Plan)) == 0 || !json.Valid(env.Plan) {
		return fmt.Errorf("writing plan file %s: the plan is not valid JSON", path)
	}
	out := *env
	out.FormatVersion = PlanFormatVersion
	if out.CreatedAt.IsZero() {
		out.CreatedAt = time.Now().UTC()
	}
	if err := CheckNoSecrets(&out, secrets...); err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding plan file %s: %w", path, err)
	}
	if err := writeFile(path, append(data, '\n'), ""); err != nil {
		return fmt.Errorf("writing plan file %s: %w", path, err)
	}
	env.FormatVersion, env.CreatedAt = out.FormatVersion, out.CreatedAt
	return nil
}

// ReadPlanFile reads a saved plan. A corrupt or truncated file, or one in a
// newer format, is an error naming the file.
func ReadPlanFile(path string) (*PlanFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading plan file: %w", err)
	}
	env, err := ParsePlanFile(data)
	if err != nil {
		if errors.Is(err, ErrNewerVersion) {
			return nil, fmt.Errorf("plan file %s: %w; apply it with that adopipe, or run adopipe plan again", path, err)
		}
		return nil, fmt.Errorf("plan file %s is unusable: %w; run adopipe plan --out %s again", path, err, path)
	}
	return env, nil
}

// ParsePlanFile decodes a saved plan's content (see ReadPlanFile).
func ParsePlanFile(data []byte) (*PlanFile, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: the file is empty (truncated?)", ErrCorrupt)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	raw, ok := top["format_version"]
	if !ok {
		return nil, fmt.Errorf("%w: no \"format_version\" field; this is not an adopipe plan file", ErrCorrupt)
	}
	var version int
	if err := json.Unmarshal(raw, &version); err != nil {
		return nil, fmt.Errorf("%w: \"format_version\" is %s, not a whole number", ErrCorrupt, truncate(raw, 40))
	}
	if version > PlanFormatVersion {
		return nil, fmt.Errorf("%w: plan format version %d, this adopipe understands up to %d", ErrNewerVersion, version, PlanFormatVersion)
	}
	if version < 1 {
		return nil, fmt.Errorf("%w: plan format version %d is not valid", ErrCorrupt, version)
	}
	env := new(PlanFile)
	if err := json.Unmarshal(data, env); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	if p := bytes.TrimSpace(env.Plan); len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return nil, fmt.Errorf("%w: it holds no plan", ErrCorrupt)
	}
	if env.InputsDigest == "" {
		return nil, fmt.Errorf("%w: no \"inputs_digest\"", ErrCorrupt)
	}
	return env, nil
}

// CheckFresh reports whether a saved plan may still be applied: the state
// must be the one it was made against (same lineage and serial) and the
// inputs must not have changed. Errors wrap ErrStalePlan. When the plan was
// made with no state file (serial 0) its lineage is not compared: a fresh
// state gets a new lineage each time it is loaded.
func CheckFresh(env *PlanFile, currentSerial uint64, currentLineage, currentInputsDigest string) error {
	if env == nil {
		return errors.New("no saved plan")
	}
	switch {
	case env.StateSerial != 0 && env.StateLineage != currentLineage:
		return fmt.Errorf("%w: it was made against another state (lineage %s, the state is now lineage %s); run adopipe plan again",
			ErrStalePlan, env.StateLineage, currentLineage)
	case env.StateSerial != currentSerial:
		return fmt.Errorf("%w: state changed (serial %d → %d); run adopipe plan again",
			ErrStalePlan, env.StateSerial, currentSerial)
	case env.InputsDigest != currentInputsDigest:
		return fmt.Errorf("%w: inputs changed since the plan was made; run adopipe plan again", ErrStalePlan)
	}
	return nil
}
