package rayjobs

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// testdata/pathspec_golden.json was produced by Ray's vendored pathspec
// (ray._private.thirdparty.pathspec, 0.8.1) with
// PathSpec.from_lines("gitwildmatch", lines).match_file(path) for every
// (lines, path) pair. The Go matcher must agree on every one.
func TestPathSpecMatchesRayGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/pathspec_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Paths []string `json:"paths"`
		Specs []struct {
			Lines   []string `json:"lines"`
			Matches []string `json:"matches"`
		} `json:"specs"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Specs) < 20 {
		t.Fatalf("golden file has only %d specs", len(golden.Specs))
	}
	for _, s := range golden.Specs {
		spec, err := compilePathSpec(s.Lines)
		if err != nil {
			t.Errorf("%q: %v", s.Lines, err)
			continue
		}
		got := []string{}
		for _, p := range golden.Paths {
			if spec.match(p) {
				got = append(got, p)
			}
		}
		want := s.Matches
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("spec %q:\n got  %q\n want %q", s.Lines, got, want)
		}
	}
}

func TestPyStrip(t *testing.T) {
	for in, want := range map[string]string{
		"  a b \t\r\n":    "a b",
		"\x1c\x0bx\u0085": "x",
		"\u00a0y\u3000":   "y",
		"z":               "z",
	} {
		if got := pyStrip(in); got != want {
			t.Errorf("pyStrip(%q) = %q, want %q", in, got, want)
		}
	}
}

// The two places where Python's re and Go's regexp read the same pattern
// differently, and a line Ray cannot compile. The answers are what
// testdata/pathspec_match.py printed; the differential test finds more.
func TestPathSpecPythonRegexQuirks(t *testing.T) {
	paths := []string{"1.log", "d].log", "[].log", "x\n", "x", "x\n\n"}
	for _, tc := range []struct {
		lines []string
		want  []string
	}{
		// Python reads "[[:digit:]" as the set {[ : d i g t}, then "]".
		{[]string{"[[:digit:]]*.log"}, []string{"d].log", "[].log"}},
		// Python's '$' matches before one final newline.
		{[]string{"x"}, []string{"x\n", "x"}},
	} {
		spec, err := compilePathSpec(tc.lines)
		if err != nil {
			t.Fatalf("%q: %v", tc.lines, err)
		}
		got := []string{}
		for _, p := range paths {
			if spec.match(p) {
				got = append(got, p)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q matches %q, want %q", tc.lines, got, tc.want)
		}
	}
	if _, err := compilePathSpec([]string{"!"}); err == nil {
		t.Error(`"!" compiled; Ray's pathspec raises IndexError on it`)
	}
}
