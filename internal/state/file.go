package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

// DefaultPath is where the state lives relative to the manifest directory.
const DefaultPath = ".adopipe/state.json"

// FileMode is the permission of the state, backup and plan files.
const FileMode fs.FileMode = 0o600

var (
	// ErrCorrupt marks a state or plan file that cannot be parsed
	// (truncated, not JSON, wrong types, missing version).
	ErrCorrupt = errors.New("corrupt file")
	// ErrNewerVersion marks a file written in a newer format than this
	// adopipe understands.
	ErrNewerVersion = errors.New("file written by a newer adopipe")
	// ErrConflict marks a Save refused because the file on disk changed
	// since the state was loaded.
	ErrConflict = errors.New("state changed on disk")
)

// BackupPath is where Save keeps the previous state.
func BackupPath(path string) string { return path + ".backup" }

// Parse decodes a state file's content. Errors wrap ErrCorrupt or
// ErrNewerVersion; they do not name a file (Load adds that).
func Parse(data []byte) (*State, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: the file is empty (truncated?)", ErrCorrupt)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	if top == nil {
		return nil, fmt.Errorf("%w: the file holds null, not a state object", ErrCorrupt)
	}
	rawVersion, ok := top["version"]
	if !ok {
		return nil, fmt.Errorf("%w: no \"version\" field; this is not an adopipe state file", ErrCorrupt)
	}
	var version int
	if err := json.Unmarshal(rawVersion, &version); err != nil {
		return nil, fmt.Errorf("%w: \"version\" is %s, not a whole number", ErrCorrupt, truncate(rawVersion, 40))
	}
	if version > FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, this adopipe understands up to %d", ErrNewerVersion, version, FormatVersion)
	}
	if version < 1 {
		return nil, fmt.Errorf("%w: format version %d is not valid", ErrCorrupt, version)
	}
	s := new(State)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	if s.Lineage == "" {
		return nil, fmt.Errorf("%w: no \"lineage\"", ErrCorrupt)
	}
	if s.Plugins == nil {
		s.Plugins = map[string]PluginState{}
	}
	if s.Operations == nil {
		s.Operations = map[string]OperationState{}
	}
	return s, nil
}

// Load reads the state at path. A missing file gives a fresh state (serial
// 0, new lineage) that is not written until Save. A corrupt, truncated or
// newer-format file is an error naming the file and saying what to do; the
// file is never replaced.
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, explainLoadError(path, err)
	}
	return s, nil
}

func explainLoadError(path string, err error) error {
	if errors.Is(err, ErrNewerVersion) {
		return fmt.Errorf("state file %s: %w; upgrade adopipe to use it (adopipe left the file unchanged)", path, err)
	}
	advice := fmt.Sprintf("move %s aside to start from an empty state (adopipe then forgets the wheels it built and the jobs it submitted)", path)
	backup := BackupPath(path)
	if data, berr := os.ReadFile(backup); berr == nil {
		if b, perr := Parse(data); perr == nil {
			advice = fmt.Sprintf("restore the previous state (serial %d) from %s: cp %s %s; or %s",
				b.Serial, backup, backup, path, advice)
		} else {
			advice = fmt.Sprintf("the backup %s is unusable too (%v); %s", backup, perr, advice)
		}
	}
	return fmt.Errorf("state file %s is unusable: %w. adopipe left it unchanged; %s", path, err, advice)
}

// Save increments s.Serial and writes s to path atomically: a temp file in
// the same directory is written and fsynced, the current file is kept as
// <path>.backup, the temp file is renamed over path and the directory is
// fsynced. A crash at any point leaves either the old or the new state at
// path. Save refuses (ErrConflict) when the file on disk has another lineage
// or a serial not older than s (someone else saved since s was loaded), and
// refuses to overwrite a corrupt file. On error s.Serial is restored, unless
// the error came after the new file was already renamed into place (then the
// file holds s and only its durability is in doubt). Save also refuses,
// writing nothing, when s would hold any of secrets (the manifest's
// sensitive values: manifest.Config.SensitiveValues); see CheckNoSecrets.
// Callers should hold Lock while they Load, work and Save.
func Save(path string, s *State, secrets []Secret) error {
	if s == nil {
		return errors.New("state: Save of a nil state")
	}
	if s.Lineage == "" {
		s.Lineage = NewLineage()
	}
	s.Version = FormatVersion
	prev := s.Serial
	s.Serial++
	err := save(path, s, secrets)
	var late *atomicfile.NotDurableError
	if err != nil && !errors.As(err, &late) {
		s.Serial = prev // nothing reached path: the caller may retry
	}
	return err
}

func save(path string, s *State, secrets []Secret) error {
	if err := CheckNoSecrets(s, secrets...); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if data, err := os.ReadFile(path); err == nil {
		cur, perr := Parse(data)
		if perr != nil {
			return fmt.Errorf("not overwriting state file %s: %w", path, perr)
		}
		if cur.Lineage != s.Lineage {
			return fmt.Errorf("not overwriting state file %s: %w: it now belongs to another lineage (%s, ours is %s); run the command again", path, ErrConflict, cur.Lineage, s.Lineage)
		}
		if cur.Serial >= s.Serial {
			return fmt.Errorf("not overwriting state file %s: %w: it is at serial %d, we were going to write %d; another adopipe saved it meanwhile; run the command again", path, ErrConflict, cur.Serial, s.Serial)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading state file before saving: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	data = append(data, '\n')
	if err := writeFile(path, data, BackupPath(path)); err != nil {
		return fmt.Errorf("saving state file %s: %w", path, err)
	}
	atomicfile.RemoveStaleTemps(path, staleTempAge)
	return nil
}

// staleTempAge is how old a temp file must be before Save treats it as
// left behind by a crashed writer and removes it.
const staleTempAge = time.Hour

// afterStep is passed to every atomic write of this package; tests
// replace it to inject failures and crashes.
var afterStep = func(atomicfile.Step) error { return nil }

// writeFile writes a state or plan file atomically (see Save), keeping
// the previous content at backup if backup is not empty.
func writeFile(path string, data []byte, backup string) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: FileMode, Backup: backup, AfterStep: afterStep})
}

// describeJSONError turns a decoding error into a short sentence with the
// byte offset, saying when the input simply ends early.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return fmt.Sprintf("it ends early at byte %d (truncated?)", len(data))
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the file holds a JSON %s, not an object", typ.Value)
		}
		return fmt.Sprintf("field %s holds a JSON %s where %s was expected (byte %d)", typ.Field, typ.Value, typ.Type, typ.Offset)
	default:
		return err.Error()
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
