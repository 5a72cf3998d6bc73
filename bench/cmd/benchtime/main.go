// Command benchtime times a command against a baseline command in the same
// run on the same machine and prints one line: both medians (with min and
// max), peak RSS, and the ratio. It replaces hyperfine for bench/*.sh so
// the benchmarks need nothing beyond Go and sh.
//
//	benchtime -id plan.noop -what "warm no-op plan vs git status" \
//	    -a 'bin/adopipe -C ws plan' -a-name adopipe \
//	    -b 'git -C tree status --porcelain' -b-name 'git status' \
//	    -runs 5 -warmup 1 -max-ratio 1
//
// Each round runs A then B (the order alternates between rounds), each
// preceded by its untimed -prepare command and followed by its untimed
// -after command (which sees the timed run's stdout in $BENCH_STDOUT).
// Commands run with sh -c; wall time is measured around the process, peak
// RSS comes from wait4's rusage (the largest of the process and the
// children it waited for). Warm-up rounds are run and discarded.
//
// Targets never fail the run: a missed target prints MISSED. A command
// that exits non-zero fails the run, because its timing means nothing.
// With -json FILE, one JSON record per comparison is appended to FILE.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/bench/internal/benchstat"
)

type side struct {
	name, cmd, prepare, after string
	walls                     []time.Duration
	rss                       []int64 // bytes
}

// Stats summarises one side's timed runs.
type Stats struct {
	Name      string  `json:"name"`
	Command   string  `json:"command"`
	MedianSec float64 `json:"median_s"`
	MinSec    float64 `json:"min_s"`
	MaxSec    float64 `json:"max_s"`
	PeakRSSMB float64 `json:"peak_rss_mb"` // the largest over the timed runs
	MedRSSMB  float64 `json:"median_rss_mb"`
	MBPerSec  float64 `json:"mb_per_s,omitempty"`
}

func main() {
	var (
		id, what, jsonOut, dir string
		runs, warmup           int
		maxRatio, maxRSSMB     float64
		bytesN                 int64
		a, b                   side
		verbose                bool
	)
	flag.StringVar(&id, "id", "", "short id of the figure (e.g. plan.noop)")
	flag.StringVar(&what, "what", "", "what is compared, for the report line")
	flag.IntVar(&runs, "runs", 5, "timed rounds")
	flag.IntVar(&warmup, "warmup", 1, "untimed warm-up rounds")
	flag.StringVar(&a.cmd, "a", "", "the measured command (sh -c)")
	flag.StringVar(&a.name, "a-name", "adopipe", "name of the measured command")
	flag.StringVar(&a.prepare, "a-prepare", "", "untimed command before each run of A")
	flag.StringVar(&a.after, "a-after", "", "untimed command after each run of A ($BENCH_STDOUT holds its stdout)")
	flag.StringVar(&b.cmd, "b", "", "the baseline command (sh -c); empty for no baseline")
	flag.StringVar(&b.name, "b-name", "baseline", "name of the baseline")
	flag.StringVar(&b.prepare, "b-prepare", "", "untimed command before each run of B")
	flag.StringVar(&b.after, "b-after", "", "untimed command after each run of B ($BENCH_STDOUT holds its stdout)")
	flag.Float64Var(&maxRatio, "max-ratio", 0, "target: median(A)/median(B) at most this (0: none)")
	flag.Float64Var(&maxRSSMB, "max-rss-mb", 0, "target: peak RSS of A below this many MB (0: none)")
	flag.Int64Var(&bytesN, "bytes", 0, "bytes each run processes: also report MB/s")
	flag.StringVar(&jsonOut, "json", "", "append a JSON record to this file")
	flag.StringVar(&dir, "dir", "", "working directory of every command")
	flag.BoolVar(&verbose, "v", false, "print every run")
	flag.Parse()
	if a.cmd == "" || runs < 1 || warmup < 0 {
		flag.Usage()
		os.Exit(2)
	}
	sides := []*side{&a}
	if b.cmd != "" {
		sides = append(sides, &b)
	}
	for round := 0; round < warmup+runs; round++ {
		order := sides
		if len(sides) == 2 && round%2 == 1 {
			order = []*side{sides[1], sides[0]}
		}
		for _, s := range order {
			wall, rss, err := s.run(dir)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchtime %s: %s: %v\n", id, s.name, err)
				os.Exit(1)
			}
			tag := "warm-up"
			if round >= warmup {
				tag = fmt.Sprintf("run %d", round-warmup+1)
				s.walls = append(s.walls, wall)
				s.rss = append(s.rss, rss)
			}
			if verbose {
				fmt.Fprintf(os.Stderr, "  %s %s: %s, %.1f MB\n", s.name, tag, fmtDur(wall), mb(rss))
			}
		}
	}

	rec := benchstat.NewRecord[Stats](id, what, runs, warmup)
	rec.A = a.stats(bytesN)
	line := fmt.Sprintf("[%s] %s: %s", id, what, rec.A.line())
	if len(sides) == 2 {
		bs := b.stats(bytesN)
		rec.B = &bs
		rec.Ratio = rec.A.MedianSec / bs.MedianSec
		line += fmt.Sprintf(" | %s", bs.line())
		line += fmt.Sprintf(" | ratio %s/%s %.2f (%s)", a.name, b.name, rec.Ratio, benchstat.Speed(rec.Ratio, a.name))
	}
	if maxRatio > 0 && len(sides) == 2 {
		ok := rec.Ratio <= maxRatio
		t := fmt.Sprintf("ratio <= %.2f", maxRatio)
		if maxRatio < 1 {
			t = fmt.Sprintf("%s >= %.1fx faster", a.name, 1/maxRatio)
		}
		rec.Targets = append(rec.Targets, t+": "+benchstat.Met(ok))
		rec.Met = rec.Met && ok
	}
	if maxRSSMB > 0 {
		ok := rec.A.PeakRSSMB < maxRSSMB
		rec.Targets = append(rec.Targets, fmt.Sprintf("peak RSS of %s < %.0f MB: %s", a.name, maxRSSMB, benchstat.Met(ok)))
		rec.Met = rec.Met && ok
	}
	if len(rec.Targets) > 0 {
		line += " | target " + strings.Join(rec.Targets, "; ")
	}
	fmt.Println(line)
	if jsonOut != "" {
		if err := benchstat.AppendJSON(jsonOut, rec); err != nil {
			fmt.Fprintln(os.Stderr, "benchtime:", err)
			os.Exit(1)
		}
	}
}

func (s *side) run(dir string) (time.Duration, int64, error) {
	if s.prepare != "" {
		if out, err := shell(dir, s.prepare, nil); err != nil {
			return 0, 0, fmt.Errorf("prepare %q: %v\n%s", s.prepare, err, benchstat.Tail(out))
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", s.cmd)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%q: %v\n%s%s", s.cmd, err, benchstat.Tail(stdout.Bytes()), benchstat.Tail(stderr.Bytes()))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	if s.after != "" {
		f, err := os.CreateTemp("", "benchtime-stdout-*")
		if err != nil {
			return 0, 0, err
		}
		_, werr := f.Write(stdout.Bytes())
		cerr := f.Close()
		defer os.Remove(f.Name())
		if werr != nil || cerr != nil {
			return 0, 0, fmt.Errorf("saving stdout: %v %v", werr, cerr)
		}
		out, err := shell(dir, s.after, []string{"BENCH_STDOUT=" + f.Name()})
		os.Stderr.Write(out)
		if err != nil {
			return 0, 0, fmt.Errorf("after %q: %v", s.after, err)
		}
	}
	return wall, rss, nil
}

func shell(dir, script string, env []string) ([]byte, error) {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

func (s *side) stats(bytesN int64) Stats {
	w := benchstat.Sorted(s.walls)
	r := benchstat.Sorted(s.rss)
	st := Stats{
		Name:      s.name,
		Command:   s.cmd,
		MedianSec: benchstat.Median(w).Seconds(),
		MinSec:    w[0].Seconds(),
		MaxSec:    w[len(w)-1].Seconds(),
		PeakRSSMB: mb(r[len(r)-1]),
		MedRSSMB:  mb(r[len(r)/2]),
	}
	if bytesN > 0 && st.MedianSec > 0 {
		st.MBPerSec = float64(bytesN) / 1e6 / st.MedianSec
	}
	return st
}

func (s Stats) line() string {
	l := fmt.Sprintf("%s median %s (min %s, max %s), peak RSS %.1f MB", s.Name,
		fmtSec(s.MedianSec), fmtSec(s.MinSec), fmtSec(s.MaxSec), s.PeakRSSMB)
	if s.MBPerSec > 0 {
		l += fmt.Sprintf(", %.0f MB/s", s.MBPerSec)
	}
	return l
}

func mb(b int64) float64 { return float64(b) / 1e6 }

func fmtDur(d time.Duration) string { return fmtSec(d.Seconds()) }

func fmtSec(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.1fms", s*1000)
	default:
		return fmt.Sprintf("%.3fs", s)
	}
}
