package main

// peerbench compare -id ID -what TEXT -ray ADDR -proxy ADDR -session DIRS \
//     -a CMD -a-name adopipe [-a-prepare CMD] [-a-check CMD] [-a-wheels DIRS] \
//     -b CMD -b-name 'ado --remote' [...] [-before CMD] [-runs 5] [-warmup 1] \
//     [-cluster TEXT] [targets] [-json FILE]
//
// Each round runs A then B (the order alternates between rounds). Before
// each run: wait until the cluster runs no job, run -before, the side's -prepare
// (the edit; $BENCH_OFFSET is the round's value, the same for both sides),
// zero the proxy's counts. Then the command runs, timed from its start, and
// every job it submitted is followed to its end. For each run:
//
//   - time from the command's start to the job's entrypoint starting (the
//     supervisor's "Running entrypoint" line landing in a session's
//     driver log, seen by inotify) and to its end (JobInfo.end_time), and
//     to the submission (JobInfo.start_time);
//   - bytes uploaded, uploads and submissions (the counting proxy);
//   - wheel files the command wrote under -X-wheels (comma-separated dirs);
//   - runtime env directories the nodes created under runtime_resources/pip
//     and .../uv (-session lists every node's session directory, comma-
//     separated: each node of the lab has its own);
//   - the -X-check command ($BENCH_SUBMISSION_ID, $BENCH_OFFSET): did the
//     edited code run, per the stored results.
//
// A failed command or a job that does not SUCCEED fails the run. Targets
// (each prints met or MISSED, never fails the run):
//
//	-speedup X     median(B to entrypoint) / median(A to entrypoint) >= X
//	-a-builds N    A writes exactly N wheels in every timed run
//	-a-no-env      A makes the node create no runtime env in a timed run
//	-a-no-job      A submits no job and uploads no byte in a timed run
//	-disk-edits N  report the disk the envs created by each side's first N
//	               runs take (warm-up runs count)
//	-floor-within S  after each timed run of A, its job is submitted again
//	               unchanged straight to the Jobs API (Ray's floor: POST to
//	               entrypoint, see floor.go); median(A to entrypoint) -
//	               median(floor) <= S
//	-floor-stage CMD  stages A's job directory into $BENCH_FLOOR_DIR
//	               (untimed): the floor job gets a new working dir, as a
//	               YAML edit gives A's job
//
// The JSON record keeps benchtime's shape (a, b with median_s = time to
// entrypoint, or the command's time for a side that submits nothing), so
// benchreport tabulates it, plus every run under "peer", the -cluster text
// (which cluster ran it) and the machine's load average at the start and
// the end.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/adopipe/adopipe/bench/internal/benchstat"
	"github.com/adopipe/adopipe/executors/rayjobs"
)

type targets struct {
	speedup   float64
	builds    int
	noEnv     bool
	noJob     bool
	diskEdits int
	floor     float64 // seconds; 0: no floor runs
}

func runCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	var (
		a, b              side
		aWheels, bWheels  string
		id, what, jsonOut string
		cluster, sessions string
		runs, warmup      int
		offsetBase        int64
		t                 targets
		bn                bench
	)
	fs.StringVar(&id, "id", "", "short id of the figure (e.g. peer.plugin)")
	fs.StringVar(&what, "what", "", "what is compared")
	fs.IntVar(&runs, "runs", 5, "timed rounds")
	fs.IntVar(&warmup, "warmup", 1, "untimed rounds first")
	fs.Int64Var(&offsetBase, "offset-base", 0, "BENCH_OFFSET of round r is offset-base + r")
	fs.StringVar(&bn.rayAddr, "ray", os.Getenv("ADOPIPE_TEST_RAY_ADDRESS"), "the Ray head (Jobs API), not through the proxy")
	fs.StringVar(&bn.proxy, "proxy", "", "the counting proxy both sides submit through")
	fs.StringVar(&sessions, "session", "", "the Ray session directories (logs/, runtime_resources/), one per node, comma-separated")
	fs.StringVar(&cluster, "cluster", "", "which cluster the runs use, for the record (e.g. \"lab\", \"local head\")")
	fs.DurationVar(&bn.jobTimeout, "job-timeout", 20*time.Minute, "give up on a job after this long")
	fs.StringVar(&bn.logDir, "log-dir", os.TempDir(), "where each run's output is kept")
	fs.StringVar(&jsonOut, "json", "", "append a JSON record to this file")
	fs.StringVar(&bn.before, "before", "", "untimed command before every run of either side")
	for _, s := range []struct {
		p      *side
		wheels *string
		key    string
	}{{&a, &aWheels, "a"}, {&b, &bWheels, "b"}} {
		fs.StringVar(&s.p.cmd, s.key, "", "command of side "+s.key+" (sh -c)")
		fs.StringVar(&s.p.name, s.key+"-name", s.key, "name of side "+s.key)
		fs.StringVar(&s.p.prepare, s.key+"-prepare", "", "untimed command before each run of "+s.key)
		fs.StringVar(&s.p.check, s.key+"-check", "", "untimed check after each job of "+s.key)
		fs.StringVar(s.wheels, s.key+"-wheels", "", "comma-separated dirs where "+s.key+"'s builds write wheels")
	}
	fs.Float64Var(&t.speedup, "speedup", 0, "target: B/A time to entrypoint at least this")
	fs.IntVar(&t.builds, "a-builds", -1, "target: A writes exactly this many wheels per timed run")
	fs.BoolVar(&t.noEnv, "a-no-env", false, "target: A creates no runtime env in a timed run")
	fs.BoolVar(&t.noJob, "a-no-job", false, "target: A submits no job and uploads nothing")
	fs.IntVar(&t.diskEdits, "disk-edits", 0, "report env disk after this many runs of each side")
	fs.StringVar(&bn.floorStage, "floor-stage", "", "untimed command staging A's job directory into $BENCH_FLOOR_DIR: the floor job then gets a working dir Ray has not seen (floor.go)")
	fs.Float64Var(&t.floor, "floor-within", 0, "target: A to entrypoint within this many seconds of Ray's floor (resubmits A's job after each timed run)")
	fs.Parse(args)
	bn.sessions = splitList(sessions)
	if a.cmd == "" || b.cmd == "" || bn.rayAddr == "" || bn.proxy == "" || len(bn.sessions) == 0 || runs < 1 {
		return errors.New("compare: -a, -b, -ray, -proxy and -session are required")
	}
	a.wheelDirs, b.wheelDirs = splitList(aWheels), splitList(bWheels)

	var err error
	bn.ray, err = rayjobs.New(rayjobs.Config{Address: bn.rayAddr, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	var logDirs []string
	for _, s := range bn.sessions {
		logDirs = append(logDirs, filepath.Join(s, "logs"))
	}
	bn.watch, err = watchEntrypoints(logDirs)
	if err != nil {
		return err
	}
	defer bn.watch.Close()
	loadStart := loadAvg()

	sides := []*side{&a, &b}
	for round := 0; round < warmup+runs; round++ {
		order := sides
		if round%2 == 1 {
			order = []*side{&b, &a}
		}
		for _, s := range order {
			res, err := bn.run(s, round, round < warmup, offsetBase+int64(round))
			if err != nil {
				return fmt.Errorf("%s: %s run %d: %v", id, s.name, round, err)
			}
			if s == &a && t.floor > 0 && !res.Warmup && res.Submission != "" {
				if res.Floor, err = bn.floor(res.Submission, round); err != nil {
					return fmt.Errorf("%s: round %d: %v", id, round, err)
				}
			}
			fmt.Fprintf(os.Stderr, "  %s %s\n", s.name, res.line())
			s.runs = append(s.runs, res)
			if res.Check != "" && res.Check != "ok" {
				return fmt.Errorf("%s: %s run %d: %s", id, s.name, round, res.Check)
			}
		}
	}
	rec := summarise(id, what, runs, warmup, &a, &b, t)
	rec.Cluster, rec.LoadStart, rec.LoadEnd = cluster, loadStart, loadAvg()
	fmt.Println(rec.text())
	if jsonOut != "" {
		return benchstat.AppendJSON(jsonOut, rec)
	}
	return nil
}

// loadAvg is the machine's 1, 5 and 15 minute load averages, as
// /proc/loadavg gives them ("" where there is none).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r runResult) line() string {
	tag := fmt.Sprintf("run %d", r.Round)
	if r.Warmup {
		tag += " (warm-up)"
	}
	s := fmt.Sprintf("%s: command %.2fs, %d job(s)", tag, r.Wall, r.Jobs)
	if r.Jobs > 0 {
		s += fmt.Sprintf(", submitted +%.2fs, entrypoint +%.2fs, %s +%.2fs", r.Submitted, r.Entry, r.Status, r.Done)
	}
	if r.Floor > 0 {
		s += fmt.Sprintf(", Ray's floor (same job resubmitted) %.2fs", r.Floor)
	}
	s += fmt.Sprintf(", %d B up, %d wheel(s), %d new env(s)", r.UploadedBytes, r.Wheels, r.envCount())
	if r.Check != "" {
		s += ", results " + r.Check
		if r.CheckNote != "" {
			s += " (" + r.CheckNote + ")"
		}
	}
	return s
}

// spread is a median with its min and max.
type spread struct {
	Median float64 `json:"median_s"`
	Min    float64 `json:"min_s"`
	Max    float64 `json:"max_s"`
	N      int     `json:"n"`
}

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := benchstat.Sorted(xs)
	return spread{Median: benchstat.Median(s), Min: s[0], Max: s[len(s)-1], N: len(s)}
}

func (s spread) String() string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fs (%.2f–%.2f)", s.Median, s.Min, s.Max)
}
