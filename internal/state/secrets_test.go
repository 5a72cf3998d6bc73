package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckNoSecrets(t *testing.T) {
	s := populated()
	if err := CheckNoSecrets(s, Secret{"a", "hunter2-token"}, Secret{"b", "ab"}, Secret{"c", ""}); err != nil {
		t.Fatalf("clean state: %v", err)
	}
	// A secret that slipped into a free-form field is caught, and the
	// error does not repeat it.
	s.Operations["sweep"] = OperationState{Address: "http://user:hunter2-token@host:8265"}
	err := CheckNoSecrets(s, Secret{"env \"A\"", "other-value"}, Secret{"cluster \"lab\" header \"Authorization\"", "hunter2-token"})
	if err == nil || !strings.Contains(err.Error(), `cluster "lab" header "Authorization"`) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
	// Values that JSON escapes are found in their escaped form.
	s = populated()
	s.Extra = map[string]json.RawMessage{"x": json.RawMessage(`"a\"b<c>d"`)}
	if err := CheckNoSecrets(s, Secret{"x", `a"b<c>d`}); err == nil {
		t.Fatal("escaped secret not found")
	}
	plan := samplePlan()
	plan.Plan = json.RawMessage(`{"env":{"TOKEN":"s3cr3t-value"}}`)
	if err := CheckNoSecrets(plan, Secret{"x", "s3cr3t-value"}); err == nil {
		t.Fatal("secret in a plan not found")
	}
}

// TestWritersRefuseSecrets: Save and WritePlanFile run the guard, write
// nothing when it trips and do not repeat the value in their error.
func TestWritersRefuseSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := populated()
	if err := Save(path, s, []Secret{{"env \"T\"", "hunter2-token"}}); err != nil {
		t.Fatalf("clean state: %v", err)
	}
	before := readFile(t, path)
	serial := s.Serial
	s.Operations["sweep"] = OperationState{Address: "http://user:hunter2-token@host:8265"}
	err := Save(path, s, []Secret{{"env \"T\"", "hunter2-token"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Save of a state holding a secret = %v", err)
	}
	if !bytes.Equal(readFile(t, path), before) || s.Serial != serial {
		t.Error("a refused Save changed the file or the serial")
	}

	plan := samplePlan()
	plan.Plan = json.RawMessage(`{"env":{"TOKEN":"s3cr3t-value"}}`)
	planPath := filepath.Join(dir, "plan.json")
	err = WritePlanFile(planPath, plan, []Secret{{"env \"T\"", "s3cr3t-value"}})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("WritePlanFile of a plan holding a secret = %v", err)
	}
	if _, err := os.Stat(planPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused plan was written: %v", err)
	}
}
