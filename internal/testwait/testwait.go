// Package testwait is how a test waits for something: it polls a
// condition until it holds or a deadline passes, never sleeping for luck.
package testwait

import (
	"testing"
	"time"
)

// For polls cond until it holds, and fails t when limit passes first,
// naming what it waited for. It polls about 300 times over limit, every
// 10 ms at least and 250 ms at most.
func For(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	poll := min(max(limit/300, 10*time.Millisecond), 250*time.Millisecond)
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(poll) // poll interval
	}
}
