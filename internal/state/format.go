package state

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// fileFormat is what the state file and the saved plan file share: a JSON
// object with a whole-number format version, which a reader checks before
// decoding the rest.
type fileFormat struct {
	what   string // the kind of file, in messages: "state", "plan"
	key    string // the version field
	label  string // how messages name the version
	newest int    // the newest version this adopipe reads
}

var (
	stateFormat = fileFormat{what: "state", key: "version", label: "format version", newest: FormatVersion}
	planFormat  = fileFormat{what: "plan", key: "format_version", label: "plan format version", newest: PlanFormatVersion}
)

// decode checks that data is a JSON object with a version this adopipe
// reads, then decodes it into v. Errors wrap ErrCorrupt or ErrNewerVersion.
func (f fileFormat) decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%w: the file is empty (truncated?)", ErrCorrupt)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	if top == nil {
		return fmt.Errorf("%w: the file holds null, not a %s object", ErrCorrupt, f.what)
	}
	raw, ok := top[f.key]
	if !ok {
		return fmt.Errorf("%w: no %q field; this is not an adopipe %s file", ErrCorrupt, f.key, f.what)
	}
	var version int
	if err := json.Unmarshal(raw, &version); err != nil {
		return fmt.Errorf("%w: %q is %s, not a whole number", ErrCorrupt, f.key, truncate(raw, 40))
	}
	if version > f.newest {
		return fmt.Errorf("%w: %s %d, this adopipe understands up to %d", ErrNewerVersion, f.label, version, f.newest)
	}
	if version < 1 {
		return fmt.Errorf("%w: %s %d is not valid", ErrCorrupt, f.label, version)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	return nil
}
