package pipeline

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/planner"
)

// An apply interrupted (Ctrl-C cancels its context) at each stage leaves a
// readable state, and the next apply submits the job exactly once.
func TestInterruptAtEachStage(t *testing.T) {
	stages := []struct {
		name   string
		inject func(e *env, cancel context.CancelFunc) func(context.Context, planner.JobStep, *Connection) error
	}{
		{"before upload", func(e *env, cancel context.CancelFunc) func(context.Context, planner.JobStep, *Connection) error {
			return func(context.Context, planner.JobStep, *Connection) error { cancel(); return context.Canceled }
		}},
		{"during upload", func(e *env, cancel context.CancelFunc) func(context.Context, planner.JobStep, *Connection) error {
			e.fake.OnRequest = func(r *http.Request) {
				if r.Method == http.MethodPut {
					cancel()
				}
			}
			return nil
		}},
		{"after Ray accepted the job, before the answer", func(e *env, cancel context.CancelFunc) func(context.Context, planner.JobStep, *Connection) error {
			e.fake.OnRequest = func(r *http.Request) {
				if r.Method == http.MethodPost {
					// Ray records the job; the client never hears back.
					defer cancel()
				}
			}
			return nil
		}},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.plan()
			workDir := filepath.Join(e.dir, ".adopipe")
			statePath := filepath.Join(workDir, "state.json")
			ctx, cancel := context.WithCancel(context.Background())
			hook := st.inject(e, cancel)
			cn := &Connector{WorkDir: workDir}
			_, err := Apply(ctx, Options{
				Config: e.cfg, Plan: p, State: e.st, StatePath: statePath,
				WorkDir: workDir, Cache: e.cache, Connector: cn, BeforeSubmit: hook,
			})
			cn.Close()
			if err == nil {
				t.Fatal("an interrupted apply reported success")
			}
			// The state on disk is readable, whatever it holds.
			loaded, err := state.Load(statePath)
			if err != nil {
				t.Fatalf("state after interrupt: %v", err)
			}
			// Resume: plan again from the saved state and apply.
			e.fake.OnRequest = nil
			e.st = loaded
			out, err := e.apply(e.plan())
			if err != nil {
				t.Fatal(err)
			}
			if n := len(e.fake.Submitted); n != 1 {
				t.Fatalf("job submitted %d times", n)
			}
			if got := e.st.Operations["op"].JobID; got != p.Jobs[0].SubmissionID {
				t.Errorf("state records %q after resuming (outcome %+v)", got, out)
			}
		})
	}
}
