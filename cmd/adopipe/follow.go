package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
)

// follow streams each job's logs until it ends and returns the exit status
// for the worst result: 1 if any FAILED, 4 if any STOPPED, else 0.
func (a *app) follow(ctx context.Context, ws *workspace, cn *pipeline.Connector, o *pipeline.Outcome, view *applyView) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	code := exitOK
	n := 0
	for _, j := range o.Jobs {
		if j.Err == nil && j.JobID != "" {
			n++
		}
	}
	for _, j := range o.Jobs {
		if j.Err != nil || j.JobID == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := j.Client()
			if c == nil {
				conn, err := cn.Connect(ctx, ws.cfg.Operations[j.Operation].Cluster)
				if err != nil {
					a.printError(err)
					mu.Lock()
					code = exitError
					mu.Unlock()
					return
				}
				c = conn.Client
			}
			var out io.Writer = &prefixWriter{w: a.stdout, prefix: jobLogPrefix(n, j.Operation), mu: &mu}
			if view.asJSON {
				out = &jsonLogWriter{view: view, op: j.Operation}
			}
			if err := c.TailLogs(ctx, j.JobID, out); err != nil && ctx.Err() == nil {
				a.warn("job %s: log stream ended: %v", j.Operation, err)
			}
			info, err := c.WaitTerminal(ctx, j.JobID, time.Second)
			if err != nil {
				a.printError(err)
				mu.Lock()
				code = exitError
				mu.Unlock()
				return
			}
			view.event(pipeline.Event{Type: pipeline.EventJobStatus, Name: j.Operation, JobID: j.JobID, Status: string(info.Status), Message: firstLineOf(info.Message)})
			ws.recordStatus(j.Operation, j.JobID, string(info.Status))
			mu.Lock()
			defer mu.Unlock()
			switch info.Status {
			case rayjobs.StatusFailed:
				code = exitError
			case rayjobs.StatusStopped:
				if code == exitOK {
					code = exitStopped
				}
			}
		}()
	}
	wg.Wait()
	return code
}

// prefixWriter labels every line, so interleaved logs stay readable.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mu     *sync.Mutex
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prefix == "" {
		return p.w.Write(b)
	}
	var sb strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			sb.WriteString(p.prefix)
		}
		sb.WriteString(line)
		p.mid = !strings.HasSuffix(line, "\n")
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// jsonLogWriter turns log output into "job_log" events.
type jsonLogWriter struct {
	view *applyView
	op   string
}

func (j *jsonLogWriter) Write(b []byte) (int, error) {
	j.view.json("job_log", map[string]any{"name": j.op, "text": string(b)})
	return len(b), nil
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimRight(s[:i], ",: ")
	}
	return s
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
