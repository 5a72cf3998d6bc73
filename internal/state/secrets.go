package state

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Secret is a value that must never be written, with where it comes from
// ("cluster \"lab\" header \"Authorization\""), so a refusal can say what
// to look at without showing the value.
type Secret struct {
	Where string
	Value string
}

// MinSecretLen is the shortest value CheckNoSecrets looks for; shorter
// values ("1", "x") would match by accident.
const MinSecretLen = 4

// CheckNoSecrets is a last guard before writing v (a *State, *PlanFile, or
// anything else JSON-encodable) to disk: it fails if the encoding contains
// any of the given secret values (header values, sensitive env values,
// tokens), raw or JSON-escaped. The error never shows the value, only where
// it comes from. The state has no field meant for secrets; this
// catches one slipping into a free-form field or a plan.
func CheckNoSecrets(v any, secrets ...Secret) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding for the secrets check: %w", err)
	}
	for _, s := range secrets {
		if len(s.Value) < MinSecretLen {
			continue
		}
		quoted, _ := json.Marshal(s.Value) // "..." with JSON escapes
		escaped := quoted[1 : len(quoted)-1]
		if bytes.Contains(data, []byte(s.Value)) || bytes.Contains(data, escaped) {
			return fmt.Errorf("refusing to write: it would contain the value of %s, which is sensitive and must never be stored (if that value is not secret and merely common, move it out of headers or mark the env value non-sensitive)", s.Where)
		}
	}
	return nil
}
