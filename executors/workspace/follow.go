package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/rayjobs"
	"github.com/adopipe/adopipe/internal/progress"
)

// followPoll is how often a followed job's status is polled once its log
// stream ended (or when its logs are not streamed).
const followPoll = time.Second

// JobEnd is how a followed job ended.
type JobEnd struct {
	Operation, JobID string
	Status           rayjobs.Status
	// Err is set when the job could not be followed to its end.
	Err error
}

// Follow follows the jobs an apply submitted (or found submitted) until
// each ends: it streams their logs to logs(operation), records every
// status it sees, and reports each end as an EventJobStatus.
func (s *Session) Follow(ctx context.Context, cn *pipeline.Connector, o *pipeline.Outcome, logs func(operation string) io.Writer) []JobEnd {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ends []JobEnd
	)
	for _, j := range o.Jobs {
		if j.Err != nil || j.JobID == "" {
			continue
		}
		wg.Go(func() {
			end := s.followOne(ctx, cn, j, logs(j.Operation))
			mu.Lock()
			ends = append(ends, end)
			mu.Unlock()
		})
	}
	wg.Wait()
	return ends
}

func (s *Session) followOne(ctx context.Context, cn *pipeline.Connector, j pipeline.JobOutcome, logs io.Writer) JobEnd {
	end := JobEnd{Operation: j.Operation, JobID: j.JobID}
	c := j.Client()
	if c == nil { // already submitted before: not connected in this apply
		conn, err := cn.Connect(ctx, s.Config.Operations[j.Operation].Cluster)
		if err != nil {
			end.Err = err
			return end
		}
		c = conn.Client
	}
	if !j.Submitted {
		// Submitted by an earlier apply: if it has ended, its logs are that
		// run's, printed once, marked, with no wait.
		if info, done, err := s.replayEnded(ctx, c, j, logs); done || err != nil {
			end.Status, end.Err = info.Status, err
			if err == nil {
				s.emit(progress.Event{Type: progress.EventJobStatus, Name: j.Operation, JobID: j.JobID, Status: string(info.Status), Message: progress.FirstLine(info.Message)})
			}
			return end
		}
	}
	info, err := s.followJob(ctx, c, j.Operation, j.JobID, logs, func(status string) error {
		return s.RecordStatus(ctx, j.Operation, j.JobID, status)
	})
	if err != nil {
		end.Err = err
		return end
	}
	end.Status = info.Status
	s.emit(progress.Event{Type: progress.EventJobStatus, Name: j.Operation, JobID: j.JobID, Status: string(info.Status), Message: progress.FirstLine(info.Message)})
	return end
}

// EarlierRunPrefix marks every log line of a job that ended before this
// apply, so neither a reader nor a script takes it for a new run.
const EarlierRunPrefix = "earlier run | "

// replayEnded prints the logs of a job submitted by an earlier apply when
// it has already ended (done), announced by an EventLog naming the run and
// with every line marked EarlierRunPrefix. A job still running is left to
// followJob.
func (s *Session) replayEnded(ctx context.Context, c *rayjobs.Client, j pipeline.JobOutcome, logs io.Writer) (rayjobs.JobInfo, bool, error) {
	info, err := c.Job(ctx, j.JobID)
	if err != nil || !info.Status.IsTerminal() {
		return info, false, err
	}
	if err := s.RecordStatus(ctx, j.Operation, j.JobID, string(info.Status)); err != nil {
		s.warn("job %s: could not record its status %s: %v", j.Operation, info.Status, err)
	}
	if logs == nil {
		return info, true, nil
	}
	s.emit(progress.Event{Type: progress.EventLog, Name: j.Operation, JobID: j.JobID,
		Message: fmt.Sprintf("nothing new to run: job %s ended (%s) before this apply; its logs, from that earlier run:", j.JobID, info.Status)})
	text, err := c.Logs(ctx, j.JobID)
	if err != nil {
		return info, true, err
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line != "" {
			b.WriteString(EarlierRunPrefix + line)
		}
	}
	if !strings.HasSuffix(text, "\n") && text != "" {
		b.WriteString("\n")
	}
	_, err = io.WriteString(logs, b.String())
	return info, true, err
}

// followJob streams a job's logs to logs (unless nil) and polls it until it
// ends, calling record with each new status it sees (again at the next
// poll while record answers errBusy); it returns the job's last details
// once its final status is recorded.
func (p *Project) followJob(ctx context.Context, c *rayjobs.Client, op, id string, logs io.Writer, record func(status string) error) (rayjobs.JobInfo, error) {
	if logs != nil {
		if err := c.TailLogs(ctx, id, logs); err != nil && ctx.Err() == nil {
			p.warn("job %s: log stream ended: %v", op, err)
		}
	}
	t := time.NewTicker(followPoll)
	defer t.Stop()
	var recorded rayjobs.Status
	for {
		info, err := c.Job(ctx, id)
		if err != nil {
			return info, err
		}
		if info.Status != recorded {
			err := record(string(info.Status))
			if !errors.Is(err, errBusy) {
				recorded = info.Status
			}
			if err != nil && !errors.Is(err, errBusy) {
				p.warn("job %s: could not record its status %s: %v", op, info.Status, err)
			}
		}
		if info.Status.IsTerminal() && recorded == info.Status {
			return info, nil
		}
		select {
		case <-ctx.Done():
			return info, ctx.Err()
		case <-t.C:
		}
	}
}
