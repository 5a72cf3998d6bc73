package main

// One timed run of one side: prepare (the edit), the command, then
// everything Ray and the wire say about it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/adopipe/adopipe/bench/internal/benchstat"
	"github.com/adopipe/adopipe/bench/internal/countproxy"
	"github.com/adopipe/adopipe/bench/internal/rayidle"
	"github.com/adopipe/adopipe/executors/rayjobs"
)

// side is one of the two commands compared.
type side struct {
	name, cmd, prepare, check string
	wheelDirs                 []string
	runs                      []runResult // every round, warm-up ones too
}

// runResult is what one run of one side did, all of it observed outside
// the command: Ray's Jobs API, the session's logs and runtime_resources,
// the counting proxy, the files the build wrote and the metastore.
type runResult struct {
	Round  int     `json:"round"`
	Warmup bool    `json:"warmup,omitempty"`
	Offset int64   `json:"offset"`
	Wall   float64 `json:"command_s"`
	// The first job the command submitted (the commands here submit one).
	Jobs       int     `json:"jobs"`
	Submission string  `json:"submission_id,omitempty"`
	Status     string  `json:"status,omitempty"`
	Submitted  float64 `json:"submitted_s,omitempty"`  // JobInfo.start_time - command start
	Entry      float64 `json:"entrypoint_s,omitempty"` // entrypoint started - command start
	Done       float64 `json:"succeeded_s,omitempty"`  // JobInfo.end_time - command start
	// Ray's floor for the same job resubmitted unchanged (-floor-within):
	// POST to entrypoint running.
	Floor float64 `json:"floor_entrypoint_s,omitempty"`
	// From the proxy.
	UploadedBytes int64 `json:"uploaded_bytes"`
	Uploads       int64 `json:"uploads"`
	Submits       int64 `json:"submits"`
	// Wheel files written under the side's wheel dirs during the command.
	Wheels int `json:"wheels"`
	// Runtime env directories the node created (pip, uv).
	NewEnvs map[string][]string `json:"new_envs,omitempty"`
	// "ok", or why the check failed; "" when there was nothing to check.
	Check string `json:"check,omitempty"`
	// CheckNote is what a passing check printed (results it could not
	// read, say).
	CheckNote string `json:"check_note,omitempty"`
}

func (r runResult) envCount() int {
	n := 0
	for _, p := range r.NewEnvs {
		n += len(p)
	}
	return n
}

// bench holds what every run talks to.
type bench struct {
	ray        *rayjobs.Client
	rayAddr    string
	proxy      string
	sessions   []string // one per node
	watch      *entryWatch
	jobTimeout time.Duration
	logDir     string
	before     string // run before every run of either side
	floorStage string // -floor-stage (floor.go)
}

func (b *bench) run(s *side, round int, warmup bool, offset int64) (runResult, error) {
	res := runResult{Round: round, Warmup: warmup, Offset: offset}
	env := []string{"BENCH_OFFSET=" + strconv.FormatInt(offset, 10), "BENCH_ROUND=" + strconv.Itoa(round)}
	if err := rayidle.Wait(b.rayAddr, 10*time.Minute, 200*time.Millisecond); err != nil {
		return res, err
	}
	for _, c := range []string{b.before, s.prepare} {
		if c == "" {
			continue
		}
		if out, err := shell(c, env); err != nil {
			return res, fmt.Errorf("%q: %v\n%s", c, err, benchstat.Tail(out))
		}
	}
	if err := b.proxyCall(http.MethodPost, "/__bench/reset", nil); err != nil {
		return res, err
	}
	ctx := context.Background()
	jobsBefore, err := b.jobIDs(ctx)
	if err != nil {
		return res, err
	}
	envsBefore, err := listEnvs(b.sessions)
	if err != nil {
		return res, err
	}

	logPath := filepath.Join(b.logDir, fmt.Sprintf("%s-%d.log", slug(s.name), round))
	log, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	start := time.Now()
	cmd := exec.Command("/bin/sh", "-c", s.cmd)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Run()
	res.Wall = time.Since(start).Seconds()
	log.Close()
	if err != nil {
		out, _ := os.ReadFile(logPath)
		return res, fmt.Errorf("%q: %v (log %s)\n%s", s.cmd, err, logPath, benchstat.Tail(out))
	}

	ids, err := b.jobIDs(ctx)
	if err != nil {
		return res, err
	}
	var fresh []string
	for id := range ids {
		if !jobsBefore[id] {
			fresh = append(fresh, id)
		}
	}
	sort.Strings(fresh)
	res.Jobs = len(fresh)
	for i, id := range fresh {
		wctx, cancel := context.WithTimeout(ctx, b.jobTimeout)
		info, err := b.ray.WaitTerminal(wctx, id, 250*time.Millisecond)
		cancel()
		if err != nil {
			return res, fmt.Errorf("job %s: %v", id, err)
		}
		if i > 0 {
			continue
		}
		res.Submission, res.Status = id, string(info.Status)
		res.Submitted = msSince(start, info.StartTime)
		res.Done = msSince(start, info.EndTime)
		if t, ok := b.watch.Started(id); ok {
			res.Entry = t.Sub(start).Seconds()
		}
		if info.Status != rayjobs.StatusSucceeded {
			res.Check = fmt.Sprintf("job %s %s: %s", id, info.Status, info.Message)
		}
	}

	var st countproxy.Stats
	if err := b.proxyCall(http.MethodGet, "/__bench/stats", &st); err != nil {
		return res, err
	}
	res.UploadedBytes, res.Uploads, res.Submits = st.UploadedBytes, st.Uploads, st.Submits

	envsAfter, err := listEnvs(b.sessions)
	if err != nil {
		return res, err
	}
	res.NewEnvs = newEnvs(envsBefore, envsAfter)
	res.Wheels = countNewFiles(s.wheelDirs, ".whl", start)

	if res.Check == "" && s.check != "" && res.Submission != "" {
		checkEnv := append(slices.Clip(env), "BENCH_SUBMISSION_ID="+res.Submission)
		if out, err := shell(s.check, checkEnv); err != nil {
			res.Check = strings.TrimSpace(string(benchstat.Tail(out)))
			if res.Check == "" {
				res.Check = err.Error()
			}
			res.Check += b.keepJobLog(s, round, res.Submission)
		} else {
			res.Check = "ok"
			res.CheckNote = strings.TrimSpace(string(out))
		}
	}
	return res, nil
}

// keepJobLog saves the driver log of a job whose check failed next to
// the run's own log (the cluster's copy goes with the cluster) and says
// where it is.
func (b *bench) keepJobLog(s *side, round int, sid string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logs, err := b.ray.Logs(ctx, sid)
	if err != nil {
		return fmt.Sprintf(" (its job log: %v)", err)
	}
	p := filepath.Join(b.logDir, fmt.Sprintf("%s-%d.job.log", slug(s.name), round))
	if err := os.WriteFile(p, []byte(logs), 0o644); err != nil {
		return fmt.Sprintf(" (its job log: %v)", err)
	}
	return " (job log: " + p + ")"
}

func msSince(start time.Time, ms int64) float64 {
	if ms == 0 {
		return 0
	}
	return time.UnixMilli(ms).Sub(start).Seconds()
}

func (b *bench) jobIDs(ctx context.Context) (map[string]bool, error) {
	jobs, err := b.ray.List(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, j := range jobs {
		ids[j.SubmissionID] = true
	}
	return ids, nil
}

func (b *bench) proxyCall(method, path string, into any) error {
	var body bytes.Buffer
	if err := countproxy.Call(b.proxy, method, path, &body); err != nil {
		return fmt.Errorf("proxy %w", err)
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(&body).Decode(into)
}

// countNewFiles counts files with the suffix under dirs modified at or
// after since.
func countNewFiles(dirs []string, suffix string, since time.Time) int {
	n := 0
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, suffix) {
				return nil
			}
			if info, err := e.Info(); err == nil && !info.ModTime().Before(since) {
				n++
			}
			return nil
		})
	}
	return n
}

func shell(script string, env []string) ([]byte, error) {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}
