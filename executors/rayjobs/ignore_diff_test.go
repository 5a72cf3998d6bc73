package rayjobs_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/raytest"
)

// TestPathSpecDifferentialAgainstRay compares the Go matcher with Ray's
// vendored pathspec on random ignore files and random paths. The golden
// file pins the cases we know; this finds the ones we do not. The alphabet
// is small on purpose, so patterns and paths collide often, and it holds
// the characters where Python's re and Go's regexp are known to differ:
// '[' and ':' (POSIX classes inside brackets) and '\n' (Python's '$'
// matches before a final newline).
//
// The seed is random and logged; ADOPIPE_PATHSPEC_SEED replays one.
func TestPathSpecDifferentialAgainstRay(t *testing.T) {
	py := raytest.RequirePython(t)
	seed := rand.Uint64()
	if s := os.Getenv("ADOPIPE_PATHSPEC_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("ADOPIPE_PATHSPEC_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with ADOPIPE_PATHSPEC_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	const numSpecs, numPaths = 400, 150
	input := struct {
		Specs [][]string `json:"specs"`
		Paths []string   `json:"paths"`
	}{Paths: []string{"."}}
	for range numSpecs {
		lines := make([]string, 1+rng.IntN(3))
		for i := range lines {
			lines[i] = randomPatternLine(rng)
		}
		input.Specs = append(input.Specs, lines)
	}
	for range numPaths {
		input.Paths = append(input.Paths, randomPath(rng))
	}

	want := runRayPathSpec(t, py, input)
	if len(want) != len(input.Specs) {
		t.Fatalf("python answered %d specs, want %d", len(want), len(input.Specs))
	}
	failures := 0
	for i, lines := range input.Specs {
		got, err := rayjobs.MatchPathSpec(lines, input.Paths)
		if (err != nil) != (want[i].Error != "") {
			t.Errorf("spec %q: Go error %v, Ray error %q", lines, err, want[i].Error)
			failures++
		} else if err == nil {
			if w := want[i].Matches; !reflect.DeepEqual(got, append([]string{}, w...)) {
				t.Errorf("spec %q:\n only Go:  %q\n only Ray: %q", lines, minus(got, w), minus(w, got))
				failures++
			}
		}
		if failures >= 10 {
			t.Fatal("stopping after 10 differences")
		}
	}
}

type rayPathSpecResult struct {
	Matches []string `json:"matches"`
	Error   string   `json:"error"`
}

func runRayPathSpec(t *testing.T, py string, input any) []rayPathSpecResult {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/pathspec_match.py")
	cmd.Stdin = bytes.NewReader(in)
	out := rayPythonOutput(t, py, cmd)
	var res []rayPathSpecResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python output: %v", err)
	}
	return res
}

// Pieces a pattern segment is made of: names that paths also use, globs,
// bracket expressions (negated, ranges, POSIX classes, a literal ']'),
// escapes and the characters that are special at the start of a line.
var patternPieces = []string{
	"a", "b", "x", "1", ".log", "d", ":", "*", "*", "?", "[ab]", "[!a]",
	"[a-c]", "[[:digit:]]", "[[:alpha:]]", "[]a]", "[", "]", `\*`, `\[`,
	".", " ", "\n",
}

func randomPatternLine(rng *rand.Rand) string {
	var b strings.Builder
	switch rng.IntN(8) {
	case 0:
		b.WriteString("!")
	case 1:
		b.WriteString("/")
	case 2:
		b.WriteString("**/")
	case 3:
		b.WriteString("#")
	}
	segs := 1 + rng.IntN(3)
	for s := range segs {
		if s > 0 {
			if rng.IntN(5) == 0 {
				b.WriteString("/**/")
			} else {
				b.WriteString("/")
			}
		}
		if rng.IntN(10) == 0 {
			b.WriteString("**")
			continue
		}
		for range 1 + rng.IntN(3) {
			b.WriteString(patternPieces[rng.IntN(len(patternPieces))])
		}
	}
	if rng.IntN(6) == 0 {
		b.WriteString("/")
	}
	return b.String()
}

// Pieces a path name is made of, including the characters a bracket or
// POSIX class could match by mistake and a trailing newline.
var pathPieces = []string{"a", "b", "x", "1", "7", ".log", "d", ":", "[", "]", "*", " ", "\n", "g"}

func randomPath(rng *rand.Rand) string {
	segs := make([]string, 1+rng.IntN(3))
	for i := range segs {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(pathPieces[rng.IntN(len(pathPieces))])
		}
		segs[i] = b.String()
	}
	return strings.Join(segs, "/")
}

// minus returns the elements of a that are not in b.
func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}
