package main

import (
	"strings"
	"testing"
)

// The floor target compares A's median time to entrypoint with the median
// of its jobs resubmitted unchanged; warm-up runs and B never count.
func TestFloorTarget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		floor []float64
		met   bool
	}{
		{"within", []float64{1.9, 1.8, 1.85}, true},
		{"over", []float64{1.5, 1.4, 1.6}, false},
		{"never measured", []float64{0, 0, 0}, false},
	} {
		a := &side{name: "adopipe", runs: []runResult{{Warmup: true, Jobs: 1, Entry: 9, Floor: 9}}}
		for i, f := range tc.floor {
			a.runs = append(a.runs, runResult{Round: i + 1, Jobs: 1, Entry: 2.0 + float64(i)*0.05, Floor: f})
		}
		b := &side{name: "ado --remote", runs: []runResult{{Jobs: 1, Entry: 10}}}
		rec := summarise("peer.yaml", "(b)", 3, 1, a, b, targets{builds: -1, floor: 0.3})
		if len(rec.Targets) != 1 || !strings.Contains(rec.Targets[0], "within 0.3s of Ray's floor") {
			t.Fatalf("%s: targets %q", tc.name, rec.Targets)
		}
		if rec.Met != tc.met {
			t.Errorf("%s: met = %v, want %v (%s)", tc.name, rec.Met, tc.met, rec.Targets[0])
		}
	}
}
