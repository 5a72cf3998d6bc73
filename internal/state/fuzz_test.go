package state

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadState: Load never panics; a failure names the file; whatever
// loads survives the encoding Save uses and parses back identically. (Save
// itself is not called: its fsyncs would make fuzzing crawl.)
func FuzzLoadState(f *testing.F) {
	for _, seed := range []string{
		`{"version":1,"serial":1,"lineage":"L"}`,
		`{"version":1,"serial":2,"lineage":"L","plugins":{"p":{"fingerprint":"f","wheel":{"file_name":"p.whl","built_at":"2025-01-01T00:00:00+01:00"}}},"zz":[1]}`,
		`{"version":2}`,
		`{"version":1,"ser`,
		``,
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "state.json") // one per fuzz process
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ok := writeAndRead(t, path, data, Load)
		if !ok {
			return
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a loaded state does not marshal: %v", err)
		}
		enc, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(enc)
		if err != nil {
			t.Fatalf("a loaded state does not parse back: %v\n%s", err, enc)
		}
		got, err := json.Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("save/load changed the state:\n got %s\nwant %s", got, want)
		}
	})
}

// FuzzReadPlanFile: ReadPlanFile never panics; a failure names the file;
// whatever reads survives the encoding WritePlanFile uses.
func FuzzReadPlanFile(f *testing.F) {
	for _, seed := range []string{
		`{"format_version":1,"state_serial":4,"state_lineage":"L","inputs_digest":"d","created_at":"2025-01-01T00:00:00Z","plan":{"a":[1,2]}}`,
		`{"format_version":1,"inputs_digest":"d","plan":"x"}`,
		`{"format_version":9}`,
		`{"format_version":1,"pl`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "plan.json") // one per fuzz process
	f.Fuzz(func(t *testing.T, data []byte) {
		env, ok := writeAndRead(t, path, data, ReadPlanFile)
		if !ok {
			return
		}
		enc, err := json.MarshalIndent(env, "", "  ")
		if err != nil {
			t.Fatalf("a read plan does not encode: %v", err)
		}
		back, err := ParsePlanFile(enc)
		if err != nil {
			t.Fatalf("a written plan does not read: %v", err)
		}
		if back.StateSerial != env.StateSerial || back.StateLineage != env.StateLineage ||
			back.InputsDigest != env.InputsDigest || !back.CreatedAt.Equal(env.CreatedAt) {
			t.Fatalf("round trip changed the envelope: %+v vs %+v", back, env)
		}
	})
}

// writeAndRead writes data to path and reads it back with read, whose
// failure must name the file; ok says whether it read.
func writeAndRead[T any](t *testing.T, path string, data []byte, read func(string) (T, error)) (v T, ok bool) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := read(path)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name the file: %v", err)
		}
		return v, false
	}
	return v, true
}
