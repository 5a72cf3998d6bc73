package testwait

import (
	"strings"
	"testing"
	"time"
)

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	For(t, time.Minute, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
}

// recorder stands in for a test that must fail.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, a ...any) {
	r.failed = format
	panic(r)
}

func TestForFailsAtTheDeadline(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		For(r, 30*time.Millisecond, "never", func() bool { return false })
	}()
	if !strings.Contains(r.failed, "waited") {
		t.Fatalf("For did not fail at its deadline (Fatalf format %q)", r.failed)
	}
}
