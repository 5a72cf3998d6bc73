package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatsSortsAndReportsPeak(t *testing.T) {
	s := &side{name: "x", walls: []time.Duration{3 * time.Second, time.Second, 2 * time.Second}, rss: []int64{5e6, 9e6, 1e6}}
	st := s.stats(4e6)
	if st.MedianSec != 2 || st.MinSec != 1 || st.MaxSec != 3 {
		t.Errorf("times %+v, want median 2 min 1 max 3", st)
	}
	if st.PeakRSSMB != 9 || st.MedRSSMB != 5 {
		t.Errorf("RSS %+v, want peak 9 median 5", st)
	}
	if st.MBPerSec != 2 {
		t.Errorf("throughput %v MB/s, want 2", st.MBPerSec)
	}
}

func TestRunHooksAndFailure(t *testing.T) {
	dir := t.TempDir()
	s := &side{
		name:    "a",
		prepare: "echo prepared > p.txt",
		cmd:     "cat p.txt; echo ran",
		after:   `cp "$BENCH_STDOUT" out.txt`,
	}
	wall, rss, err := s.run(dir)
	if err != nil {
		t.Fatal(err)
	}
	if wall <= 0 || rss <= 0 {
		t.Errorf("wall %v, rss %d: want both measured", wall, rss)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "prepared\nran\n" {
		t.Errorf("the after hook saw %q, want the timed run's stdout", out)
	}

	s = &side{name: "b", cmd: "echo boom >&2; exit 3"}
	if _, _, err := s.run(dir); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing command: err %v, want an error quoting its stderr", err)
	}
	s = &side{name: "c", cmd: "true", after: "exit 1"}
	if _, _, err := s.run(dir); err == nil {
		t.Error("failing after hook: no error")
	}
}
