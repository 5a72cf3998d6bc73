package rayjobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// tailReadLimit bounds one websocket message. Ray sends chunks of up to
// about 80 KB of log lines; long single lines can exceed that.
const tailReadLimit = 64 << 20

// TailLogs copies a job's log to w as it is written, until the job is
// terminal. It follows the websocket /api/jobs/{id}/logs/tail (what `ray job
// logs --follow` uses); when the websocket cannot be opened or drops (idle
// proxies and port-forwards do that), it falls back to polling Logs every
// Config.PollInterval and writes only what w has not seen yet. It returns
// nil once the job is terminal and its whole log has been written; the
// caller reads the final status with Job.
func (c *Client) TailLogs(ctx context.Context, id string, w io.Writer) error {
	var written int64
	err := c.tailWebsocket(ctx, id, w, &written)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		var fatal *tailFatal
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if c.cfg.OnTailFallback != nil {
			c.cfg.OnTailFallback(err)
		}
	}
	return c.pollLogs(ctx, id, w, written)
}

// tailFatal marks errors that polling cannot fix (missing job, auth, a
// failing writer).
type tailFatal struct{ err error }

func (e *tailFatal) Error() string { return e.err.Error() }

func (c *Client) wsURL(path string) string {
	switch {
	case strings.HasPrefix(c.address, "https://"):
		return "wss://" + strings.TrimPrefix(c.address, "https://") + path
	default:
		return "ws://" + strings.TrimPrefix(c.address, "http://") + path
	}
}

// tailWebsocket streams text frames to w. It returns nil when the server
// closed the stream normally (Ray does so once the job is terminal).
func (c *Client) tailWebsocket(ctx context.Context, id string, w io.Writer, written *int64) error {
	path := jobPath(id) + "/logs/tail"
	dialCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	conn, resp, err := websocket.Dial(dialCtx, c.wsURL(path), &websocket.DialOptions{
		HTTPClient: c.hc,
		HTTPHeader: c.headers.Clone(),
	})
	cancel()
	if err != nil {
		if resp != nil {
			r := request{method: http.MethodGet, path: path}
			switch resp.StatusCode {
			case http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
				var body []byte
				if resp.Body != nil {
					body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				}
				return &tailFatal{c.check(r, &response{status: resp.StatusCode, body: body})}
			}
		}
		return fmt.Errorf("logs websocket: %v", c.redact(err.Error()))
	}
	defer conn.CloseNow()
	conn.SetReadLimit(tailReadLimit)
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil
			}
			return fmt.Errorf("logs websocket: %v", err)
		}
		if typ != websocket.MessageText {
			continue
		}
		n, err := w.Write(data)
		*written += int64(n)
		if err != nil {
			return &tailFatal{err}
		}
	}
}

// pollLogs writes the part of the log beyond the first written bytes, until
// the job is terminal. The status is read before the log, so the log read
// after a terminal status is complete.
func (c *Client) pollLogs(ctx context.Context, id string, w io.Writer, written int64) error {
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		j, err := c.Job(ctx, id)
		if err != nil {
			return err
		}
		logs, err := c.Logs(ctx, id)
		if err != nil {
			return err
		}
		if int64(len(logs)) > written {
			n, err := io.WriteString(w, logs[written:])
			written += int64(n)
			if err != nil {
				return err
			}
		}
		if j.Status.IsTerminal() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
