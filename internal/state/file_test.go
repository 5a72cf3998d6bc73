package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

func statePath(t *testing.T) string {
	return filepath.Join(t.TempDir(), ".adopipe", "state.json")
}

// savedTwice writes populated() twice, so both the file and its backup
// exist; it returns the state as last saved.
func savedTwice(t *testing.T, path string) *State {
	t.Helper()
	s := populated()
	s.Serial = 0
	for range 2 {
		if err := Save(path, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustLoad(t *testing.T, path string) *State {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// badFile is a file content a reader must refuse with an error of kind
// that names the file and says detail.
type badFile struct {
	name    string
	content string
	kind    error
	detail  string
}

// tempLeftovers lists temp files Save left in dir.
func tempLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadMissingGivesFreshStateWithoutWriting(t *testing.T) {
	path := statePath(t)
	s := mustLoad(t, path)
	if s.Serial != 0 || s.Lineage == "" || s.Version != FormatVersion || s.Plugins == nil {
		t.Errorf("fresh state = %+v", s)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load created something: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	path := statePath(t)
	s := populated()
	s.Serial = 0
	if err := Save(path, s, nil); err != nil {
		t.Fatal(err)
	}
	if s.Serial != 1 {
		t.Errorf("serial after first save = %d, want 1", s.Serial)
	}
	if _, err := os.Stat(BackupPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("first save made a backup: %v", err)
	}
	first := readFile(t, path)

	s.Operations["sweep"] = OperationState{JobID: "second"}
	if err := Save(path, s, nil); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, path)
	if got.Serial != 2 || got.Lineage != s.Lineage || got.Operations["sweep"].JobID != "second" {
		t.Errorf("loaded %+v", got)
	}
	if got.Plugins["sfttrainer"] != s.Plugins["sfttrainer"] {
		t.Errorf("plugin changed: %+v", got.Plugins["sfttrainer"])
	}
	if b := readFile(t, BackupPath(path)); !bytes.Equal(b, first) {
		t.Errorf("backup is not the previous state:\n%s", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != FileMode {
		t.Errorf("state file mode: %v %v", fi.Mode(), err)
	}
	if l := tempLeftovers(t, filepath.Dir(path)); len(l) != 0 {
		t.Errorf("temp files left: %v", l)
	}
}

func TestSaveDefaultsVersionAndLineage(t *testing.T) {
	path := statePath(t)
	s := &State{}
	if err := Save(path, s, nil); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, path)
	if got.Version != FormatVersion || got.Lineage == "" || got.Lineage != s.Lineage || got.Serial != 1 {
		t.Errorf("saved zero state loads as %+v (in memory %+v)", got, s)
	}
}

func TestSaveRefusesConflicts(t *testing.T) {
	path := statePath(t)
	savedTwice(t, path)

	a, b := mustLoad(t, path), mustLoad(t, path)
	if err := Save(path, a, nil); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	err := Save(path, b, nil)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second writer: err = %v, want ErrConflict naming %s", err, path)
	}
	if b.Serial != 2 {
		t.Errorf("serial not restored after failed save: %d", b.Serial)
	}
	other := New()
	other.Serial = 100
	if err := Save(path, other, nil); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "lineage") {
		t.Fatalf("other lineage: err = %v", err)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("a refused save changed the file")
	}
}

func TestSaveRefusesToOverwriteCorruptFile(t *testing.T) {
	path := statePath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"version":1,"ser`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, New(), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	if got := readFile(t, path); string(got) != `{"version":1,"ser` {
		t.Errorf("corrupt file replaced by %s", got)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	valid := readFile(t, filepath.Join("testdata", "valid_state.json"))
	tests := []badFile{
		{"empty", "", ErrCorrupt, "empty"},
		{"blank", " \n", ErrCorrupt, "empty"},
		{"truncated", string(valid[:len(valid)/2]), ErrCorrupt, "truncated"},
		{"truncated after brace", `{`, ErrCorrupt, "truncated"},
		{"not json", "version = 1\n", ErrCorrupt, "invalid JSON at byte"},
		{"trailing garbage", string(valid) + "}", ErrCorrupt, "invalid JSON"},
		{"null", "null", ErrCorrupt, "null"},
		{"array", "[]", ErrCorrupt, "array"},
		{"no version", `{"serial":1,"lineage":"x"}`, ErrCorrupt, "not an adopipe state file"},
		{"version string", `{"version":"1","lineage":"x"}`, ErrCorrupt, "whole number"},
		{"version zero", `{"version":0,"lineage":"x"}`, ErrCorrupt, "version 0"},
		{"newer version", `{"version":2,"lineage":"x","something_new":{}}`, ErrNewerVersion, "upgrade adopipe"},
		{"serial negative", `{"version":1,"serial":-1,"lineage":"x"}`, ErrCorrupt, "serial"},
		{"plugins wrong type", `{"version":1,"lineage":"x","plugins":[]}`, ErrCorrupt, "plugins"},
		{"bad time", `{"version":1,"lineage":"x","operations":{"a":{"submitted_at":"yesterday"}}}`, ErrCorrupt, ""},
		{"no lineage", `{"version":1,"serial":1}`, ErrCorrupt, "lineage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := statePath(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Load(path)
			if err == nil {
				t.Fatalf("loaded %+v", s)
			}
			msg := err.Error()
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q is not %v", msg, tt.kind)
			}
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
			if !strings.Contains(msg, tt.detail) {
				t.Errorf("error %q does not say %q", msg, tt.detail)
			}
			if tt.kind == ErrCorrupt && !strings.Contains(msg, "aside") {
				t.Errorf("error %q does not say what to do", msg)
			}
			if got := readFile(t, path); string(got) != tt.content {
				t.Errorf("Load changed the file to %q", got)
			}
		})
	}
}

func TestLoadCorruptPointsAtBackup(t *testing.T) {
	path := statePath(t)
	savedTwice(t, path)
	if err := os.WriteFile(path, []byte(`{"version":1,"seri`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := "restore the previous state (serial 1) from " + BackupPath(path) + ": cp " + BackupPath(path) + " " + path
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant it to contain %q", err, want)
	}

	if err := os.WriteFile(BackupPath(path), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), "backup "+BackupPath(path)+" is unusable too") {
		t.Fatalf("err = %v, want it to say the backup is unusable", err)
	}
}

func TestValidFixtureLoads(t *testing.T) {
	s := mustLoad(t, filepath.Join("testdata", "valid_state.json"))
	if s.Serial != 5 || s.Plugins["sfttrainer"].Wheel.Version != "1.2.0" || s.Operations["sweep"].Status != "RUNNING" {
		t.Errorf("fixture loaded as %+v", s)
	}
}

// TestSaveFailureAtEachStep injects a failure after each step of the atomic
// write and checks what a reader sees.
func TestSaveFailureAtEachStep(t *testing.T) {
	tests := []struct {
		step    atomicfile.Step
		wantNew bool // the new state is at path after the failure
	}{
		{stepTempWritten, false},
		{stepBackedUp, false},
		{stepRenamed, true},
		{stepDirSynced, true},
	}
	injected := errors.New("injected failure")
	for _, tt := range tests {
		t.Run(string(tt.step), func(t *testing.T) {
			path := statePath(t)
			s := savedTwice(t, path)
			old := readFile(t, path)

			afterStep = func(step atomicfile.Step) error {
				if step == tt.step {
					return injected
				}
				return nil
			}
			t.Cleanup(func() { afterStep = func(atomicfile.Step) error { return nil } })
			s.Plugins["new"] = PluginState{Fingerprint: "f"}
			err := Save(path, s, nil)
			if !errors.Is(err, injected) {
				t.Fatalf("Save = %v, want the injected failure", err)
			}
			got := mustLoad(t, path)
			_, hasNew := got.Plugins["new"]
			if hasNew != tt.wantNew {
				t.Errorf("after failure at %s: new plugin present = %v, want %v", tt.step, hasNew, tt.wantNew)
			}
			if !tt.wantNew {
				if !bytes.Equal(readFile(t, path), old) {
					t.Error("old state not intact")
				}
				if s.Serial != 2 {
					t.Errorf("in-memory serial = %d, want it restored to 2", s.Serial)
				}
			} else if s.Serial != got.Serial {
				t.Errorf("in-memory serial %d differs from the file's %d", s.Serial, got.Serial)
			}
			if l := tempLeftovers(t, filepath.Dir(path)); len(l) != 0 {
				t.Errorf("temp files left: %v", l)
			}
			// The next save works either way.
			afterStep = func(atomicfile.Step) error { return nil }
			if err := Save(path, s, nil); err != nil {
				t.Fatalf("save after failure: %v", err)
			}
		})
	}
}

// TestCrashDuringSave kills a real process (os.Exit inside Save, so no
// cleanup runs) after each step and checks that the state still loads.
func TestCrashDuringSave(t *testing.T) {
	for _, tt := range []struct {
		step    atomicfile.Step
		wantNew bool
	}{
		{stepTempWritten, false},
		{stepBackedUp, false},
		{stepRenamed, true},
	} {
		t.Run(string(tt.step), func(t *testing.T) {
			path := statePath(t)
			savedTwice(t, path)
			old := readFile(t, path)

			cmd := helperCmd(t, "crash-save", path, crashAtEnv+"="+string(tt.step))
			out, err := cmd.CombinedOutput()
			var exit interface{ ExitCode() int }
			if !errors.As(err, &exit) || exit.ExitCode() != crashCode {
				t.Fatalf("helper did not crash at %s: %v\n%s", tt.step, err, out)
			}

			got := mustLoad(t, path) // never corrupt
			_, hasNew := got.Plugins["crash"]
			if hasNew != tt.wantNew {
				t.Fatalf("after crash at %s: new content present = %v, want %v", tt.step, hasNew, tt.wantNew)
			}
			if !tt.wantNew && !bytes.Equal(readFile(t, path), old) {
				t.Error("old state not intact")
			}
			if tt.wantNew && got.Serial != 3 {
				t.Errorf("serial after committed crash = %d, want 3", got.Serial)
			}
			if tt.step == stepTempWritten && len(tempLeftovers(t, filepath.Dir(path))) != 1 {
				t.Error("expected the crashed temp file to be left behind (did the crash happen?)")
			}
			// Work continues: load and save again.
			if err := Save(path, got, nil); err != nil {
				t.Fatalf("save after crash: %v", err)
			}
			if b := mustLoad(t, BackupPath(path)); b.Serial != got.Serial-1 {
				t.Errorf("backup serial %d, want %d", b.Serial, got.Serial-1)
			}
		})
	}
}

func TestSaveRemovesOnlyStaleTemps(t *testing.T) {
	path := statePath(t)
	s := savedTwice(t, path)
	dir := filepath.Dir(path)
	stale := filepath.Join(dir, ".state.json.tmp-111")
	fresh := filepath.Join(dir, ".state.json.tmp-222")
	other := filepath.Join(dir, ".plan.json.tmp-333")
	for _, p := range []string{stale, fresh, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTempAge)
	for _, p := range []string{stale, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := Save(path, s, nil); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, fresh: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
