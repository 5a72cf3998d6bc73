// Package state owns adopipe's state file (.adopipe/state.json), the lock
// that serialises writers of it, and the saved-plan file format.
//
// The state records what adopipe last did: which wheel each plugin's
// fingerprint produced and which job each operation's inputs were submitted
// as. (A local Ray head adopipe started is recorded by executors/localcluster
// in its own file beside its log and lock.) It is written atomically
// (temp file, fsync, rename, fsync of the directory) with the previous
// version kept as <path>.backup, and carries a Serial (incremented on every
// Save) and a Lineage (fixed when the state is created) so a saved plan can
// be recognised as stale.
//
// Secrets never enter the state: no type here has a field for header
// values, environment values, tokens or credentials, and a test guards that
// no such field appears. Callers must not smuggle such data into the free-form
// string fields (Address is a URL without userinfo; Status is a Ray status).
//
// Compatibility rule: Version is the format version. A file with a Version
// newer than FormatVersion is refused (never rewritten). Within one format
// version, unknown top-level keys are kept verbatim (State.Extra) and written
// back, so a newer adopipe may add new top-level sections without bumping the
// version. Fields added inside an entry (PluginState, OperationState, ...)
// must be optional and safe to lose when an older adopipe rewrites that
// entry; anything else requires bumping FormatVersion.
package state

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// FormatVersion is the newest state format this adopipe reads and writes.
const FormatVersion = 1

// State is the content of the state file.
type State struct {
	// Version is the file format version (FormatVersion when written).
	Version int `json:"version"`
	// Serial is incremented by every Save.
	Serial uint64 `json:"serial"`
	// Lineage identifies this state's history; set once when created.
	Lineage string `json:"lineage"`

	// Plugins is keyed by plugin name (and "ado" for ado itself).
	Plugins map[string]PluginState `json:"plugins"`
	// Operations is keyed by operation name.
	Operations map[string]OperationState `json:"operations"`

	// Extra holds top-level keys this adopipe does not know, kept verbatim
	// so that saving does not drop them.
	Extra map[string]json.RawMessage `json:"-"`
}

// PluginState records the last wheel built for a plugin (or ado itself).
type PluginState struct {
	// Fingerprint is the digest of the sources the wheel was built from.
	Fingerprint string      `json:"fingerprint"`
	Wheel       WheelRecord `json:"wheel"`
}

// WheelRecord describes one built wheel.
type WheelRecord struct {
	FileName     string    `json:"file_name"`
	SHA256       string    `json:"sha256"`
	Distribution string    `json:"distribution"`
	Version      string    `json:"version"`
	BuiltAt      time.Time `json:"built_at,omitzero"`
}

// OperationState records the last job submitted for an operation.
type OperationState struct {
	// InputDigest is the digest of everything the submission depended on.
	InputDigest string `json:"input_digest"`
	// Inputs maps each input name to its digest (never a secret value:
	// sensitive values are recorded as "(sensitive)"), so a plan can say
	// which input changed. Optional: older states lack it.
	Inputs      map[string]string `json:"inputs,omitempty"`
	JobID       string            `json:"job_id"`
	SubmittedAt time.Time         `json:"submitted_at,omitzero"`
	// Cluster is the manifest name of the cluster it was submitted to.
	Cluster string `json:"cluster"`
	// Address is the Jobs API address used (no userinfo, no query).
	Address string `json:"address"`
	// Status is the last Ray job status seen (PENDING, RUNNING, ...).
	Status string `json:"status,omitempty"`
	// RayVersion is the cluster's Ray version when the job was submitted.
	// Optional: older states lack it.
	RayVersion string `json:"ray_version,omitempty"`
}

// New returns a fresh, empty state with a new lineage and serial 0.
func New() *State {
	return &State{
		Version:    FormatVersion,
		Lineage:    NewLineage(),
		Plugins:    map[string]PluginState{},
		Operations: map[string]OperationState{},
	}
}

// NewLineage returns a random UUID (version 4) string.
func NewLineage() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stateFields is State without methods, so encoding/json uses the default
// encoding for the known fields.
type stateFields State

// knownStateKeys are the JSON names of State's known fields.
var knownStateKeys = jsonKeys(reflect.TypeFor[stateFields]())

// isKnownStateKey reports whether encoding/json would decode key into a
// known field (it matches names case-insensitively).
func isKnownStateKey(key string) bool {
	for k := range knownStateKeys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

func jsonKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}

// MarshalJSON writes the known fields followed by Extra in key order.
func (s State) MarshalJSON() ([]byte, error) {
	f := stateFields(s)
	// Write empty maps, not null, so the file reads naturally.
	if f.Plugins == nil {
		f.Plugins = map[string]PluginState{}
	}
	if f.Operations == nil {
		f.Operations = map[string]OperationState{}
	}
	known, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var extra []string
	for k := range s.Extra {
		if !isKnownStateKey(k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return known, nil
	}
	sort.Strings(extra)
	var buf bytes.Buffer
	buf.Write(known[:len(known)-1]) // drop the closing brace
	for _, k := range extra {
		key, _ := json.Marshal(k)
		v := s.Extra[k]
		if !json.Valid(v) {
			return nil, fmt.Errorf("state: extra key %s holds invalid JSON", key)
		}
		buf.WriteByte(',')
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads the known fields and keeps unknown keys in Extra. It
// does not check Version; Parse does.
func (s *State) UnmarshalJSON(data []byte) error {
	var f stateFields
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k := range all {
		if isKnownStateKey(k) {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		all = nil
	}
	f.Extra = all
	*s = State(f)
	return nil
}
