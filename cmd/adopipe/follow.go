package main

import (
	"context"
	"io"
	"sync"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/executors/workspace"
	"github.com/adopipe/adopipe/internal/termview"
)

// follow streams each job's logs until it ends and returns the exit status
// for the worst result: 1 if any FAILED (or could not be followed), 4 if
// any STOPPED, else 0.
func (a *app) follow(ctx context.Context, s *workspace.Session, cn *pipeline.Connector, o *pipeline.Outcome, view *applyView) int {
	n := 0
	for _, j := range o.Jobs {
		if j.Err == nil && j.JobID != "" {
			n++
		}
	}
	var mu sync.Mutex
	ends := s.Follow(ctx, cn, o, func(op string) io.Writer {
		if view.asJSON {
			return termview.WriterFunc(func(b []byte) { view.json("job_log", map[string]any{"name": op, "text": string(b)}) })
		}
		prefix := op + " | "
		if n == 1 {
			prefix = "" // one job's lines need no label
		}
		return &termview.PrefixWriter{W: a.stdout, Prefix: prefix, Mu: &mu}
	})
	code := exitOK
	for _, e := range ends {
		switch {
		case e.Err != nil:
			a.printError(e.Err)
			code = exitError
		case e.Status == rayjobs.StatusFailed:
			code = exitError
		case e.Status == rayjobs.StatusStopped && code == exitOK:
			code = exitStopped
		}
	}
	return code
}
