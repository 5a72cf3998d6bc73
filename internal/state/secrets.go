package state

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MinSecretLen is the shortest value CheckNoSecrets looks for; shorter
// values ("1", "x") would match by accident.
const MinSecretLen = 4

// CheckNoSecrets is a last guard before writing v (a *State, *PlanFile, or
// anything else JSON-encodable) to disk: it fails if the encoding contains
// any of the given secret values (header values, sensitive env values,
// tokens), raw or JSON-escaped. The error never shows the value, only its
// position in secrets. The state has no field meant for secrets; this
// catches one slipping into a free-form field or a plan.
func CheckNoSecrets(v any, secrets ...string) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding for the secrets check: %w", err)
	}
	for i, s := range secrets {
		if len(s) < MinSecretLen {
			continue
		}
		quoted, _ := json.Marshal(s) // "..." with JSON escapes
		escaped := quoted[1 : len(quoted)-1]
		if bytes.Contains(data, []byte(s)) || bytes.Contains(data, escaped) {
			return fmt.Errorf("refusing to write: it would contain sensitive value #%d (of %d); secrets must never be stored", i+1, len(secrets))
		}
	}
	return nil
}
