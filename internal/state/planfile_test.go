package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

func samplePlan() *PlanFile {
	return &PlanFile{
		AdopipeVersion: "0.1.0",
		StateSerial:    4,
		StateLineage:   "L",
		InputsDigest:   "sha256:in",
		Plan:           json.RawMessage(`{"actions":[{"kind":"build","plugin":"sfttrainer"}]}`),
	}
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestPlanFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	env := samplePlan()
	if err := WritePlanFile(path, env, nil); err != nil {
		t.Fatal(err)
	}
	if env.FormatVersion != PlanFormatVersion || env.CreatedAt.IsZero() {
		t.Errorf("written envelope not completed: %+v", env)
	}
	got, err := ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.FormatVersion != PlanFormatVersion || got.AdopipeVersion != "0.1.0" || got.StateSerial != 4 ||
		got.StateLineage != "L" || got.InputsDigest != "sha256:in" || !got.CreatedAt.Equal(env.CreatedAt) {
		t.Errorf("read back %+v", got)
	}
	if compactJSON(t, got.Plan) != compactJSON(t, env.Plan) {
		t.Errorf("plan changed: %s", got.Plan)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != FileMode {
		t.Errorf("plan file mode %v (%v)", fi.Mode(), err)
	}
	if l := tempLeftovers(t, filepath.Dir(path)); len(l) != 0 {
		t.Errorf("temp files left: %v", l)
	}
}

func TestWritePlanFileKeepsCreatedAtAndRejectsBadPlan(t *testing.T) {
	dir := t.TempDir()
	env := samplePlan()
	env.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := WritePlanFile(filepath.Join(dir, "a.json"), env, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadPlanFile(filepath.Join(dir, "a.json")); err != nil || !got.CreatedAt.Equal(env.CreatedAt) {
		t.Errorf("created_at = %v (%v)", got, err)
	}
	for _, plan := range []string{"", "{", "  "} {
		env.Plan = json.RawMessage(plan)
		if err := WritePlanFile(filepath.Join(dir, "b.json"), env, nil); err == nil {
			t.Errorf("plan %q was written", plan)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b.json")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a rejected plan left a file")
	}
}

func TestWritePlanFileFailureLeavesOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WritePlanFile(path, samplePlan(), nil); err != nil {
		t.Fatal(err)
	}
	old := readFile(t, path)
	injected := errors.New("injected")
	afterStep = func(step atomicfile.Step) error {
		if step == stepTempWritten {
			return injected
		}
		return nil
	}
	t.Cleanup(func() { afterStep = func(atomicfile.Step) error { return nil } })
	env := samplePlan()
	env.InputsDigest = "other"
	if err := WritePlanFile(path, env, nil); !errors.Is(err, injected) {
		t.Fatalf("err = %v", err)
	}
	if !bytes.Equal(readFile(t, path), old) {
		t.Error("failed write changed the plan file")
	}
	if l := tempLeftovers(t, filepath.Dir(path)); len(l) != 0 {
		t.Errorf("temp files left: %v", l)
	}
}

func TestReadPlanFileRejectsBadFiles(t *testing.T) {
	good := readFile(t, filepath.Join("testdata", "valid_plan.json"))
	tests := []badFile{
		{"empty", "", ErrCorrupt, "empty"},
		{"truncated", string(good[:len(good)-10]), ErrCorrupt, "truncated"},
		{"not json", "plan: yes", ErrCorrupt, "invalid JSON"},
		{"array", "[1]", ErrCorrupt, "not an object"},
		{"no version", `{"plan":{},"inputs_digest":"x"}`, ErrCorrupt, "not an adopipe plan file"},
		{"version float", `{"format_version":1.5,"plan":{},"inputs_digest":"x"}`, ErrCorrupt, "whole number"},
		{"version zero", `{"format_version":0,"plan":{},"inputs_digest":"x"}`, ErrCorrupt, "version 0"},
		{"newer", `{"format_version":2,"plan":"whatever"}`, ErrNewerVersion, "run adopipe plan again"},
		{"no plan", `{"format_version":1,"inputs_digest":"x"}`, ErrCorrupt, "no plan"},
		{"null plan", `{"format_version":1,"inputs_digest":"x","plan":null}`, ErrCorrupt, "no plan"},
		{"no digest", `{"format_version":1,"plan":{}}`, ErrCorrupt, "inputs_digest"},
		{"serial type", `{"format_version":1,"plan":{},"inputs_digest":"x","state_serial":"4"}`, ErrCorrupt, "state_serial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "saved.plan")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			env, err := ReadPlanFile(path)
			if err == nil {
				t.Fatalf("read %+v", env)
			}
			msg := err.Error()
			if !errors.Is(err, tt.kind) || !strings.Contains(msg, path) || !strings.Contains(msg, tt.detail) {
				t.Errorf("error %q: want %v naming %s and saying %q", msg, tt.kind, path, tt.detail)
			}
		})
	}
	if _, err := ReadPlanFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if env, err := ReadPlanFile(filepath.Join("testdata", "valid_plan.json")); err != nil || env.StateSerial != 4 {
		t.Errorf("valid fixture: %+v %v", env, err)
	}
}

func TestCheckFresh(t *testing.T) {
	plan := func(serial uint64, lineage, digest string) *PlanFile {
		return &PlanFile{StateSerial: serial, StateLineage: lineage, InputsDigest: digest}
	}
	tests := []struct {
		name    string
		env     *PlanFile
		serial  uint64
		lineage string
		digest  string
		want    string // "" means fresh
	}{
		{"fresh", plan(4, "L", "D"), 4, "L", "D", ""},
		{"state moved on", plan(4, "L", "D"), 5, "L", "D", "saved plan is stale: state changed (serial 4 → 5); run adopipe plan again"},
		{"state rolled back", plan(4, "L", "D"), 3, "L", "D", "state changed (serial 4 → 3)"},
		{"other lineage", plan(4, "L", "D"), 4, "M", "D", "saved plan is stale: it was made against another state (lineage L, the state is now lineage M)"},
		{"inputs changed", plan(4, "L", "D"), 4, "L", "E", "saved plan is stale: inputs changed since the plan was made; run adopipe plan again"},
		{"no state then and now", plan(0, "L", "D"), 0, "M", "D", ""},
		{"no state then, state now", plan(0, "L", "D"), 1, "M", "D", "state changed (serial 0 → 1)"},
		{"state then, none now", plan(3, "L", "D"), 0, "M", "D", "another state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFresh(tt.env, tt.serial, tt.lineage, tt.digest)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("stale: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrStalePlan saying %q", err, tt.want)
			}
		})
	}
	if err := CheckFresh(nil, 0, "", ""); err == nil {
		t.Error("nil plan is fresh")
	}
}
