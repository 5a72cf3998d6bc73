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
	"path/filepath"
	"regexp"
	"sort"
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
	// Metadata holds adopipe_operation; RuntimeEnv is what was submitted.
	Metadata   map[string]string `json:"metadata"`
	RuntimeEnv map[string]any    `json:"runtime_env"`
}

func terminal(status string) bool {
	return status == "SUCCEEDED" || status == "FAILED" || status == "STOPPED"
}

// waitJob polls the job until it is terminal.
func waitJob(t *testing.T, l *raylab.Lab, id string) jobInfo {
	t.Helper()
	return waitJobUntil(t, l, id, terminal)
}

// waitStarted polls a job until its driver runs (its runtime env is then
// set up on the node) or it ended.
func waitStarted(t *testing.T, l *raylab.Lab, id string) jobInfo {
	t.Helper()
	return waitJobUntil(t, l, id, func(status string) bool { return status == "RUNNING" || terminal(status) })
}

// waitJobUntil polls the job until done says its status is what the test
// waits for.
func waitJobUntil(t *testing.T, l *raylab.Lab, id string, done func(status string) bool) jobInfo {
	t.Helper()
	deadline := time.Now().Add(jobDeadline)
	for {
		var j jobInfo
		if code := api(t, l, http.MethodGet, "/api/jobs/"+id, labToken(t, l), nil, &j); code != http.StatusOK {
			t.Fatalf("GET /api/jobs/%s: HTTP %d", id, code)
		}
		if done(j.Status) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after %s", id, j.Status, jobDeadline)
		}
		time.Sleep(time.Second)
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

// opJobs returns the cluster's jobs of an adopipe operation (by the
// metadata adopipe submits), by submission id.
func opJobs(t *testing.T, l *raylab.Lab, op string) map[string]jobInfo {
	t.Helper()
	var all []jobInfo
	if code := api(t, l, http.MethodGet, "/api/jobs/", labToken(t, l), nil, &all); code != http.StatusOK {
		t.Fatalf("GET /api/jobs/: HTTP %d", code)
	}
	out := map[string]jobInfo{}
	for _, j := range all {
		if j.Metadata["adopipe_operation"] == op {
			out[j.SubmissionID] = j
		}
	}
	return out
}

// newJobs lists the jobs in after that are not in before.
func newJobs(before, after map[string]jobInfo) []string {
	var ids []string
	for id := range after {
		if _, old := before[id]; !old {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// stopJob asks the cluster to stop a job a test no longer needs, so it
// does not hold the worker's CPUs while the next tests run. It does not
// wait: a job still setting up its runtime env stops only once that is
// done.
func stopJob(t *testing.T, l *raylab.Lab, id string) {
	t.Helper()
	if code := api(t, l, http.MethodPost, "/api/jobs/"+id+"/stop", labToken(t, l), nil, nil); code != http.StatusOK {
		t.Errorf("stopping job %s: HTTP %d", id, code)
	}
}

// envDirs lists the runtime environments Ray made on the lab's nodes: the
// entries of runtime_resources/{pip,uv,py_modules_files} in every session
// of every node (each node has its own temp dir, DIR/ray/NODE), relative
// to DIR/ray.
func envDirs(t *testing.T, l *raylab.Lab) map[string]bool {
	t.Helper()
	root := filepath.Join(l.Dir, "ray")
	out := map[string]bool{}
	for _, kind := range []string{"pip", "uv", "py_modules_files"} {
		found, err := filepath.Glob(filepath.Join(root, "*", "session_2*", "runtime_resources", kind, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range found {
			rel, _ := filepath.Rel(root, p)
			out[rel] = true
		}
	}
	return out
}

// added lists the entries of after that are not in before.
func added(before, after map[string]bool) []string {
	var out []string
	for k := range after {
		if !before[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// background is a long-running command (adopipe watch) whose output lines
// a test waits on.
type background struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	err   error
}

// startBackground starts name with args in dir; it is killed at the end
// of the test if still running.
func startBackground(t *testing.T, dir string, env []string, name string, args ...string) *background {
	t.Helper()
	b := &background{done: make(chan struct{})}
	b.cmd = exec.Command(name, args...)
	b.cmd.Dir, b.cmd.Env = dir, env
	pr, pw := io.Pipe()
	b.cmd.Stdout, b.cmd.Stderr = pw, pw
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			b.mu.Lock()
			b.lines = append(b.lines, sc.Text())
			b.mu.Unlock()
		}
	}()
	go func() {
		b.err = b.cmd.Wait()
		pw.Close()
		close(b.done)
	}()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.done
	})
	return b
}

// output is everything the command printed so far.
func (b *background) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// waitLine waits until a line from index from on matches re and returns
// its index and submatches; the command ending or the deadline fails the
// test.
func (b *background) waitLine(t *testing.T, from int, re *regexp.Regexp, deadline time.Duration) (int, []string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		b.mu.Lock()
		for i := from; i < len(b.lines); i++ {
			if m := re.FindStringSubmatch(b.lines[i]); m != nil {
				b.mu.Unlock()
				return i, m
			}
		}
		b.mu.Unlock()
		select {
		case <-b.done:
			t.Fatalf("%s exited (%v) before printing a line matching %q:\n%s", b.cmd.Path, b.err, re, b.output())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("no line matching %q after %s:\n%s", re, deadline, b.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// interrupt sends SIGINT (Ctrl-C) and waits for the command to end.
func (b *background) interrupt(t *testing.T) error {
	t.Helper()
	b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
		return b.err
	case <-time.After(cmdDeadline):
		t.Fatalf("%s still running %s after SIGINT", b.cmd.Path, cmdDeadline)
		return nil
	}
}

// editFile replaces old by new in the file at path (once), failing the
// test when old is not there.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s holds no %q to edit", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// appendFile appends a line to the file at path.
func appendFile(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
