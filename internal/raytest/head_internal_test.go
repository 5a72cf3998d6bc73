package raytest

import (
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestHeadReplacesDeadHead kills the shared head behind the harness's back
// and checks Head starts a working one instead of returning a dead address.
func TestHeadReplacesDeadHead(t *testing.T) {
	if os.Getenv(EnvAddress) != "" {
		t.Skip("head comes from " + EnvAddress)
	}
	first := Head(t)
	mu.Lock()
	c := started
	mu.Unlock()
	if err := syscall.Kill(c.PID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for c.Alive() {
		if time.Now().After(deadline) {
			t.Fatal("head did not exit after SIGTERM")
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	second := Head(t)
	if second == first {
		t.Fatalf("Head returned the dead head's address %s", first)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(second + "/api/version")
	if err != nil {
		t.Fatalf("new head %s does not answer: %v", second, err)
	}
	resp.Body.Close()
}
