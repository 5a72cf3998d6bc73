package rayjobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeTailServer serves a job whose full log is fullLog. The websocket sends
// wsChunks and then ends the way wsEnd says; GET /api/jobs/j reports RUNNING
// for the first runningPolls requests, then SUCCEEDED.
type fakeTailServer struct {
	fullLog      string
	wsChunks     []string
	wsEnd        string // "normal", "drop", "refuse"
	runningPolls int

	mu       sync.Mutex
	jobGets  int
	logGets  int
	wsHeader http.Header
}

func (f *fakeTailServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/jobs/j/logs/tail":
		f.mu.Lock()
		f.wsHeader = r.Header.Clone()
		f.mu.Unlock()
		if f.wsEnd == "refuse" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		for _, c := range f.wsChunks {
			if err := conn.Write(r.Context(), websocket.MessageText, []byte(c)); err != nil {
				return
			}
		}
		if f.wsEnd == "normal" {
			conn.Close(websocket.StatusNormalClosure, "")
		} else {
			conn.CloseNow() // an idle proxy cutting the connection
		}
	case "/api/jobs/j":
		f.mu.Lock()
		f.jobGets++
		st := "RUNNING"
		if f.jobGets > f.runningPolls {
			st = "SUCCEEDED"
		}
		f.mu.Unlock()
		io.WriteString(w, `{"type":"SUBMISSION","submission_id":"j","status":"`+st+`","entrypoint":"x"}`)
	case "/api/jobs/j/logs":
		f.mu.Lock()
		f.logGets++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		b, _ := jsonMarshal(map[string]string{"logs": f.fullLog})
		w.Write(b)
	case "/api/jobs/missing/logs/tail":
		w.WriteHeader(404)
		io.WriteString(w, "Job missing does not exist")
	default:
		w.WriteHeader(404)
	}
}

func TestTailLogs(t *testing.T) {
	full := "line1\nline2\n" + strings.Repeat("x", 200_000) + "\nline3\n"
	for _, tc := range []struct {
		name         string
		chunks       []string
		end          string
		runningPolls int
	}{
		// The websocket delivers everything (one frame above 80 KB) and
		// closes normally: nothing is written twice.
		{"websocket complete", []string{"line1\n", "line2\n" + strings.Repeat("x", 200_000) + "\n", "line3\n"}, "normal", 0},
		// The websocket drops mid-stream: polling takes over after the
		// bytes already written, until the job is terminal.
		{"websocket dropped", []string{"line1\n", "line2\n"}, "drop", 2},
		// No websocket at all (a proxy refusing upgrades): polling only.
		{"websocket refused", nil, "refuse", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAuthEnv(t)
			f := &fakeTailServer{fullLog: full, wsChunks: tc.chunks, wsEnd: tc.end, runningPolls: tc.runningPolls}
			srv := httptest.NewServer(f)
			defer srv.Close()
			var fallbacks []error
			c := newTestClient(t, srv.URL, func(c *Config) {
				c.Headers = map[string]string{"X-Team": "blue"}
				c.OnTailFallback = func(err error) { fallbacks = append(fallbacks, err) }
			})
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := c.TailLogs(ctx, "j", &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != full {
				t.Errorf("wrote %d bytes, want the %d-byte log exactly once (prefix %q)", out.Len(), len(full), out.String()[:min(out.Len(), 40)])
			}
			if wantFallback := tc.end != "normal"; (len(fallbacks) > 0) != wantFallback {
				t.Errorf("fallbacks %v, want a fallback: %v", fallbacks, wantFallback)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.wsHeader.Get("X-Team") != "blue" || !strings.HasPrefix(f.wsHeader.Get("User-Agent"), "adopipe/") {
				t.Errorf("websocket handshake headers: %v", f.wsHeader)
			}
			if tc.runningPolls > 0 && f.jobGets <= tc.runningPolls {
				t.Errorf("polled the job %d times; it was RUNNING for %d", f.jobGets, tc.runningPolls)
			}
		})
	}
}

func TestTailLogsMissingJob(t *testing.T) {
	clearAuthEnv(t)
	f := &fakeTailServer{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	err := c.TailLogs(context.Background(), "missing", io.Discard)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestTailLogsWriterErrorStops(t *testing.T) {
	clearAuthEnv(t)
	f := &fakeTailServer{fullLog: "a\n", wsChunks: []string{"a\n"}, wsEnd: "normal"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	if err := c.TailLogs(context.Background(), "j", failWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
