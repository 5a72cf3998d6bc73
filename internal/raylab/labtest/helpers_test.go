package labtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/raylab"
)

// api sends one request to the Jobs API through the route, with the lab's
// token unless token says otherwise ("" sends none), and decodes a JSON
// answer into v when v is not nil. It returns the status; the body of an
// answer other than 200 goes to the test's log.
func api(t *testing.T, l *raylab.Lab, method, path, token string, body, v any) int {
	t.Helper()
	hc, err := l.RouteClient()
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.RouteURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if resp.StatusCode != http.StatusOK {
		t.Logf("%s %s: %s: %.2000s", method, path, resp.Status, b)
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %.200q", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func labToken(t *testing.T, l *raylab.Lab) string {
	t.Helper()
	tok, err := l.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// jobInfo is the part of GET /api/jobs/{id} the tests read.
type jobInfo struct {
	SubmissionID string `json:"submission_id"`
	JobID        string `json:"job_id"`
	Status       string `json:"status"`
	Message      string `json:"message"`
	DriverNodeID string `json:"driver_node_id"`
}

func terminal(status string) bool {
	return status == "SUCCEEDED" || status == "FAILED" || status == "STOPPED"
}

// waitJob polls the job until it is terminal.
func waitJob(t *testing.T, l *raylab.Lab, id string) jobInfo {
	t.Helper()
	deadline := time.Now().Add(jobDeadline)
	for {
		var j jobInfo
		if code := api(t, l, http.MethodGet, "/api/jobs/"+id, labToken(t, l), nil, &j); code != http.StatusOK {
			t.Fatalf("GET /api/jobs/%s: HTTP %d", id, code)
		}
		if terminal(j.Status) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after %s", id, j.Status, jobDeadline)
		}
		time.Sleep(2 * time.Second)
	}
}

// jobLogs reads the job's whole log. Ray answers 500 now and then while
// the head fetches a log from a worker's agent: ask again until the
// deadline.
func jobLogs(t *testing.T, l *raylab.Lab, id string) string {
	t.Helper()
	deadline := time.Now().Add(cmdDeadline)
	for {
		var logs struct {
			Logs string `json:"logs"`
		}
		code := api(t, l, http.MethodGet, "/api/jobs/"+id+"/logs", labToken(t, l), nil, &logs)
		if code == http.StatusOK {
			return logs.Logs
		}
		if code != http.StatusInternalServerError || time.Now().After(deadline) {
			t.Fatalf("GET logs of %s: HTTP %d", id, code)
		}
		time.Sleep(time.Second)
	}
}

// placed is an actor or a task and the node it ran on.
type placed struct {
	ID        string
	ClassName string `json:"class_name"`
	Name      string `json:"name"`
	NodeID    string `json:"node_id"`
	JobID     string `json:"job_id"`
}

// listPlaced returns the cluster's actors and tasks (state API), keyed by
// actor or task id.
func listPlaced(t *testing.T, l *raylab.Lab) map[string]placed {
	t.Helper()
	out := map[string]placed{}
	for _, kind := range []struct{ path, idKey string }{
		{"/api/v0/actors?limit=10000&detail=true", "actor_id"},
		{"/api/v0/tasks?limit=10000", "task_id"},
	} {
		var resp struct {
			Data struct {
				Result struct {
					Result []map[string]any `json:"result"`
				} `json:"result"`
			} `json:"data"`
		}
		if code := api(t, l, http.MethodGet, kind.path, labToken(t, l), nil, &resp); code != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d", kind.path, code)
		}
		for _, m := range resp.Data.Result.Result {
			var p placed
			b, _ := json.Marshal(m)
			json.Unmarshal(b, &p)
			p.ID, _ = m[kind.idKey].(string)
			out[p.ID] = p
		}
	}
	return out
}

// forward is one stand-in `oc port-forward` started by a test.
type forward struct {
	cmd    *exec.Cmd
	port   int
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

var forwardingRE = regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$`)

// startForward runs the lab's oc with args after "port-forward" and waits
// for its "Forwarding from 127.0.0.1:PORT" line. The process is killed at
// the end of the test if still running.
func startForward(t *testing.T, l *raylab.Lab, env []string, args ...string) *forward {
	t.Helper()
	f := &forward{done: make(chan struct{})}
	f.cmd = exec.Command(l.OC, append([]string{"port-forward"}, args...)...)
	f.cmd.Env = append(os.Environ(), env...)
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f.cmd.Stderr = &lockedWriter{&f.mu, &f.stderr}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.cmd.Process.Kill()
		<-f.done
	})
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			f.mu.Lock()
			f.stdout.WriteString(line + "\n")
			f.mu.Unlock()
			if m := forwardingRE.FindStringSubmatch(line); m != nil {
				p, _ := strconv.Atoi(m[1])
				select {
				case ready <- p:
				default:
				}
			}
		}
		f.err = f.cmd.Wait()
		close(f.done)
	}()
	select {
	case f.port = <-ready:
	case <-f.done:
		t.Fatalf("oc port-forward %s exited: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), f.err, f.output(), f.errors())
	case <-time.After(30 * time.Second):
		t.Fatalf("oc port-forward %s printed no Forwarding line in 30s", strings.Join(args, " "))
	}
	return f
}

func (f *forward) output() string { f.mu.Lock(); defer f.mu.Unlock(); return f.stdout.String() }
func (f *forward) errors() string { f.mu.Lock(); defer f.mu.Unlock(); return f.stderr.String() }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// run runs a command with a deadline and returns its stdout and stderr.
func run(t *testing.T, deadline time.Duration, dir string, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s still running after %s: %w", name, deadline, ctx.Err())
	}
	return stdout.String(), stderr.String(), err
}
