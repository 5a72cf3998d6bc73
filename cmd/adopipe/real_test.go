package main

// The real tier: testdata/scripts/real/*.txtar run the adopipe binary
// against a real Ray head (internal/raytest) with real `python -m build`
// builds. They are skipped when the project's .venv (ray, python) is
// missing, except under CI=true where they fail.
//
// Run them sharing one head:
//
//	scripts/with-ray-head go test ./cmd/adopipe/ -run TestReal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/adopipe/adopipe/executors/localcluster"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testgate"
)

// defaultWait bounds every polling command unless a script gives its own.
const defaultWait = 3 * time.Minute

func TestReal(t *testing.T) {
	testgate.Real(t, "a Ray head and Python builds")
	py := raytest.RequirePython(t)
	raytest.RequireRay(t)
	addr := raytest.Head(t)
	venvBin := filepath.Dir(raytest.RayBin())
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "scripts", "real"),
		Setup: func(env *testscript.Env) error {
			if err := isolate(env); err != nil {
				return err
			}
			work := env.WorkDir
			env.Setenv("PATH", venvBin+string(filepath.ListSeparator)+env.Getenv("PATH"))
			env.Setenv("ADOPIPE_PYTHON", py)
			env.Setenv("RAY_ADDRESS_FOR_TEST", addr)
			env.Setenv("RAY_TEMP_DIR_FOR_TEST", raytest.HeadTempDir())
			// Jobs ids derive from the inputs; a nonce in the job env keeps
			// reruns against the same head (ADOPIPE_TEST_RAY_ADDRESS,
			// -count=2) from colliding with earlier runs' jobs.
			runNonce := nonce()
			env.Setenv("RUN_NONCE", runNonce)
			// A script that fails early must not leave a local head or a
			// long job on the shared head behind.
			env.Defer(func() {
				stopLocalHeads(work)
				stopRunJobs(addr, runNonce)
			})
			return nil
		},
		RequireExplicitExec: true,
		Cmds: scriptCmds(map[string]scriptCmd{
			"jobcount":   cmdJobCount,
			"waitjob":    cmdWaitJob,
			"pidalive":   cmdPIDAlive,
			"copyfield":  cmdCopyField,
			"joblogs":    cmdJobLogs,
			"waitjoblog": cmdWaitJobLog,
			"forgetjob":  cmdForgetJob,
			"jobjson":    cmdJobJSON,
			"jobenv":     cmdJobEnv,
		}),
	})
}

func nonce() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func stopLocalHeads(work string) {
	dirs, _ := filepath.Glob(filepath.Join(work, "*", ".adopipe", "clusters", "*"))
	more, _ := filepath.Glob(filepath.Join(work, ".adopipe", "clusters", "*"))
	for _, dir := range append(dirs, more...) {
		r, err := localcluster.ReadRecord(dir)
		if err != nil {
			continue
		}
		c, err := localcluster.Attach(dir, *r)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), localcluster.DefaultStopTimeout)
		c.Stop(ctx)
		cancel()
	}
}

// stopRunJobs asks the head to stop this script run's unfinished jobs.
func stopRunJobs(addr, runNonce string) {
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Get(addr + "/api/jobs/")
	if err != nil {
		return
	}
	var jobs []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&jobs)
	resp.Body.Close()
	if err != nil {
		return
	}
	for _, j := range jobs {
		renv, _ := j["runtime_env"].(map[string]any)
		vars, _ := renv["env_vars"].(map[string]any)
		id, _ := j["submission_id"].(string)
		switch j["status"] {
		case "PENDING", "RUNNING":
			if vars["RUN_NONCE"] == runNonce && id != "" {
				if r, err := hc.Post(addr+"/api/jobs/"+id+"/stop", "application/json", nil); err == nil {
					r.Body.Close()
				}
			}
		}
	}
}

// parseWait reads an optional trailing duration argument.
func parseWait(ts *testscript.TestScript, args []string, n int) time.Duration {
	if len(args) <= n {
		return defaultWait
	}
	d, err := time.ParseDuration(args[n])
	if err != nil {
		ts.Fatalf("bad timeout %q: %v", args[n], err)
	}
	return d
}

// poll calls cond every 100ms until it is true or the deadline passes.
func poll(wait time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(wait)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not a wait for luck
	}
}

// waitfor [-count=N] FILE REGEX [TIMEOUT]
//
// Polls FILE until REGEX (multi-line mode) matches at least N times
// (default 1). It fails at the deadline, showing the file.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("waitfor does not support !")
	}
	count := 1
	if len(args) > 0 && strings.HasPrefix(args[0], "-count=") {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "-count="))
		if err != nil {
			ts.Fatalf("waitfor: %v", err)
		}
		count, args = n, args[1:]
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitfor [-count=N] FILE REGEX [TIMEOUT]")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	file := ts.MkAbs(args[0])
	var last []byte
	ok := poll(parseWait(ts, args, 2), func() bool {
		last, _ = os.ReadFile(file)
		return len(re.FindAllIndex(last, -1)) >= count
	})
	if !ok {
		ts.Logf("[%s]\n%s", args[0], last)
		ts.Fatalf("%s: no %d match(es) for %q before the deadline", args[0], count, args[1])
	}
}

// Background processes whose output goes to a file, so a script can poll
// it while they run (testscript's own `&` shows output only after wait).
type bgProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

var (
	bgMu    sync.Mutex
	bgProcs = map[*testscript.TestScript]map[string]*bgProc{}
)

// start NAME LOGFILE PROG [ARGS...]
//
// Starts PROG in $WORK's current directory with the script's environment,
// stdout and stderr appended to LOGFILE, in its own process group. The
// group is killed when the script ends if it is still running.
func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: start NAME LOGFILE PROG [ARGS...]")
	}
	name, logFile, prog := args[0], ts.MkAbs(args[1]), args[2]
	path, err := lookPathIn(prog, ts.Getenv("PATH"))
	ts.Check(err)
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	ts.Check(err)
	cmd := exec.Command(path, args[3:]...)
	cmd.Args[0] = prog
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = scriptEnv(ts)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		ts.Fatalf("start %s: %v", prog, err)
	}
	p := &bgProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	bgMu.Lock()
	defer bgMu.Unlock()
	m := bgProcs[ts]
	if m == nil {
		m = map[string]*bgProc{}
		bgProcs[ts] = m
		ts.Defer(func() {
			bgMu.Lock()
			procs := bgProcs[ts]
			delete(bgProcs, ts)
			bgMu.Unlock()
			for _, p := range procs {
				select {
				case <-p.done:
				default:
					syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
					<-p.done
				}
			}
		})
	}
	if m[name] != nil {
		ts.Fatalf("start: %s already started", name)
	}
	m[name] = p
}

func bg(ts *testscript.TestScript, name string) *bgProc {
	bgMu.Lock()
	defer bgMu.Unlock()
	p := bgProcs[ts][name]
	if p == nil {
		ts.Fatalf("no process %q was started", name)
	}
	return p
}

// signal NAME SIGNAL: sends INT, TERM or KILL to the started process
// (only to it, not its group: adopipe must pass it on itself).
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: signal NAME INT|TERM|KILL")
	}
	sigs := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL}
	sig, ok := sigs[args[1]]
	if !ok {
		ts.Fatalf("signal: unknown signal %q", args[1])
	}
	ts.Check(bg(ts, args[0]).cmd.Process.Signal(sig))
}

// waitexit NAME CODE [TIMEOUT]: waits for the started process and checks
// its exit status.
func cmdWaitExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitexit NAME CODE [TIMEOUT]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	p := bg(ts, args[0])
	select {
	case <-p.done:
	case <-time.After(parseWait(ts, args, 2)):
		ts.Fatalf("%s did not exit before the deadline", args[0])
	}
	got := 0
	if p.err != nil {
		var ee *exec.ExitError
		if !errors.As(p.err, &ee) {
			ts.Fatalf("%s: %v", args[0], p.err)
		}
		got = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ts.Fatalf("%s was killed by %v, want exit %d", args[0], ws.Signal(), want)
		}
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[0], got, want)
	}
}

func scriptEnv(ts *testscript.TestScript) []string {
	// testscript keeps the script's environment private; rebuild it from
	// the variables scripts and Setup use.
	env := append([]string(nil), os.Environ()...)
	for _, k := range []string{"HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "NO_COLOR", "PATH",
		"ADOPIPE_PYTHON", "RAY_ADDRESS_FOR_TEST", "RUN_NONCE", "WORK", "TMPDIR", "FAKE_RAY"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	return env
}

func lookPathIn(prog, path string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, dir := range filepath.SplitList(path) {
		cand := filepath.Join(dir, prog)
		if st, err := os.Stat(cand); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%s not found on the script's PATH", prog)
}

// rayJobs lists the head's jobs through the Jobs API.
func rayJobs(ts *testscript.TestScript) []map[string]any {
	addr := ts.Getenv("RAY_ADDRESS_FOR_TEST")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(addr + "/api/jobs/")
	ts.Check(err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET %s/api/jobs/: %s", addr, resp.Status)
	}
	var jobs []map[string]any
	ts.Check(json.NewDecoder(resp.Body).Decode(&jobs))
	return jobs
}

// jobcount REGEX N: exactly N jobs of this script run (their env has the
// script's RUN_NONCE) on the shared head have a submission id matching
// REGEX.
func cmdJobCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jobcount REGEX N")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	var ids []string
	for _, j := range rayJobs(ts) {
		if !ofThisRun(ts, j) {
			continue
		}
		if id, _ := j["submission_id"].(string); re.MatchString(id) {
			ids = append(ids, id+" "+fmt.Sprint(j["status"]))
		}
	}
	if len(ids) != want {
		ts.Fatalf("%d jobs match %q, want %d: %v", len(ids), args[0], want, ids)
	}
}

// waitjob ID STATUS [TIMEOUT]: polls the Jobs API until job ID has STATUS;
// fails early if it reaches another terminal status.
func cmdWaitJob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitjob ID STATUS [TIMEOUT]")
	}
	id, want := args[0], args[1]
	terminal := map[string]bool{"SUCCEEDED": true, "FAILED": true, "STOPPED": true}
	var last string
	ok := poll(parseWait(ts, args, 2), func() bool {
		last = ""
		for _, j := range rayJobs(ts) {
			if j["submission_id"] == id {
				last, _ = j["status"].(string)
			}
		}
		if last != want && terminal[last] {
			ts.Fatalf("job %s ended %s, want %s", id, last, want)
		}
		return last == want
	})
	if !ok {
		ts.Fatalf("job %s is %q, not %s, at the deadline", id, last, want)
	}
}

// forgetjob ID: deletes the ended job ID from the shared head through the
// Jobs API, so the head no longer knows it, as after a restart.
func cmdForgetJob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: forgetjob ID")
	}
	req, err := http.NewRequest(http.MethodDelete, ts.Getenv("RAY_ADDRESS_FOR_TEST")+"/api/jobs/"+args[0], nil)
	ts.Check(err)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("DELETE job %s: %s", args[0], resp.Status)
	}
}

// pidalive [!] JSONFILE: the pid recorded in JSONFILE's "pid" field is a
// live process. Negated, it polls until the process is gone.
func cmdPIDAlive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: pidalive JSONFILE")
	}
	var rec struct {
		PID int `json:"pid"`
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(json.Unmarshal(b, &rec))
	if rec.PID <= 1 {
		ts.Fatalf("%s: no pid", args[0])
	}
	alive := func() bool { return syscall.Kill(rec.PID, 0) == nil }
	if !neg {
		if !alive() {
			ts.Fatalf("pid %d is not running", rec.PID)
		}
		return
	}
	if !poll(30*time.Second, func() bool { return !alive() }) {
		ts.Fatalf("pid %d is still running", rec.PID)
	}
}

// copyfield FILE REGEX VAR: sets the script variable VAR to the first
// submatch of REGEX in FILE (a file in $WORK, or stdout/stderr).
func cmdCopyField(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: copyfield FILE REGEX VAR")
	}
	var text string
	switch args[0] {
	case "stdout", "stderr":
		text = ts.ReadFile(args[0])
	default:
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		text = string(b)
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(text)
	if len(m) < 2 {
		ts.Fatalf("%s: no submatch for %q", args[0], args[1])
	}
	ts.Setenv(args[2], m[1])
}

// ofThisRun reports whether a job from the Jobs API was submitted by this
// script run: its runtime env carries the script's RUN_NONCE.
func ofThisRun(ts *testscript.TestScript, job map[string]any) bool {
	renv, _ := job["runtime_env"].(map[string]any)
	vars, _ := renv["env_vars"].(map[string]any)
	return vars["RUN_NONCE"] == ts.Getenv("RUN_NONCE")
}

// joblogs ID: writes job ID's logs, read through the Jobs API, to the
// command's stdout (for `stdout` to check).
func cmdJobLogs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: joblogs ID")
	}
	fmt.Fprint(ts.Stdout(), jobLogs(ts, args[0]))
}

func jobLogs(ts *testscript.TestScript, id string) string {
	addr := ts.Getenv("RAY_ADDRESS_FOR_TEST")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(addr + "/api/jobs/" + id + "/logs")
	ts.Check(err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET logs of %s: %s", id, resp.Status)
	}
	var l struct {
		Logs string `json:"logs"`
	}
	ts.Check(json.NewDecoder(resp.Body).Decode(&l))
	return l.Logs
}

// waitjoblog ID REGEX [TIMEOUT]: polls job ID's logs (Jobs API) until
// REGEX matches.
func cmdWaitJobLog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitjoblog ID REGEX [TIMEOUT]")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	var last string
	ok := poll(parseWait(ts, args, 2), func() bool {
		last = jobLogs(ts, args[0])
		return re.MatchString(last)
	})
	if !ok {
		ts.Logf("[logs of %s]\n%s", args[0], last)
		ts.Fatalf("logs of %s: no match for %q before the deadline", args[0], args[1])
	}
}
