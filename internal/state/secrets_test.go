package state

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckNoSecrets(t *testing.T) {
	s := populated()
	if err := CheckNoSecrets(s, "hunter2-token", "ab", ""); err != nil {
		t.Fatalf("clean state: %v", err)
	}
	// A secret that slipped into a free-form field is caught, and the
	// error does not repeat it.
	s.Operations["sweep"] = OperationState{Address: "http://user:hunter2-token@host:8265"}
	err := CheckNoSecrets(s, "other-value", "hunter2-token")
	if err == nil || !strings.Contains(err.Error(), "#2 (of 2)") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
	// Values that JSON escapes are found in their escaped form.
	s = populated()
	s.Extra = map[string]json.RawMessage{"x": json.RawMessage(`"a\"b<c>d"`)}
	if err := CheckNoSecrets(s, `a"b<c>d`); err == nil {
		t.Fatal("escaped secret not found")
	}
	plan := samplePlan()
	plan.Plan = json.RawMessage(`{"env":{"TOKEN":"s3cr3t-value"}}`)
	if err := CheckNoSecrets(plan, "s3cr3t-value"); err == nil {
		t.Fatal("secret in a plan not found")
	}
}
