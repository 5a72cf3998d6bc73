package termview

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// Lines are labelled once each, also when a line arrives in pieces.
func TestPrefixWriterLabelsEachLine(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	w := &PrefixWriter{W: &out, Prefix: "op | ", Mu: &mu}
	for _, part := range []string{"one\ntw", "o\n", "three\n"} {
		if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
			t.Fatalf("Write(%q) = %d, %v", part, n, err)
		}
	}
	if got, want := out.String(), "op | one\nop | two\nop | three\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Finished rows keep their final state; a finished block is not redrawn.
func TestLiveDrawsRowsInPlace(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	l := NewLive(&out, &mu, "wheel ")
	mu.Lock()
	l.Update("a", "building", false)
	l.Update("a", "built a.whl", true)
	l.Finish()
	mu.Unlock()
	s := out.String()
	if !strings.Contains(s, "wheel a") || !strings.HasSuffix(strings.TrimRight(s, "\n"), "built a.whl") || !strings.Contains(s, "\x1b[1A") {
		t.Errorf("drawn %q", s)
	}
	out.Reset()
	mu.Lock()
	l.Finish()
	mu.Unlock()
	if out.Len() != 0 {
		t.Errorf("a finished block was drawn again: %q", out.String())
	}
}
