package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/adopipe/adopipe/bench/internal/benchstat"
)

// sideSummary is one side over the timed runs. Name and the median_s,
// min_s, max_s triple are benchtime's fields, so benchreport can tabulate
// the record: they hold the time to entrypoint, or the command's time when
// the side submitted no job.
type sideSummary struct {
	Name       string  `json:"name"`
	Command    string  `json:"command"`
	MedianSec  float64 `json:"median_s"`
	MinSec     float64 `json:"min_s"`
	MaxSec     float64 `json:"max_s"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	Measured   string  `json:"measured"` // what median_s is
	CommandS   spread  `json:"command_time"`
	Submitted  spread  `json:"submitted"`
	Entrypoint spread  `json:"entrypoint"`
	Succeeded  spread  `json:"succeeded"`
	// Floor: Ray's floor for the side's own job resubmitted unchanged
	// (POST to entrypoint; -floor-within).
	Floor     spread  `json:"floor_entrypoint,omitempty"`
	Jobs      []int   `json:"jobs_per_run"`
	Uploaded  []int64 `json:"uploaded_bytes_per_run"`
	Wheels    []int   `json:"wheels_per_run"`
	Envs      []int   `json:"new_envs_per_run"`
	ResultsOK int     `json:"results_ok"`
	Checked   int     `json:"results_checked"`
	// Noted: passing checks that reported results the metastore lost.
	Noted int `json:"results_noted,omitempty"`
	// The disk taken by the runtime envs the side's first EnvDiskRuns runs
	// created (warm-up runs included), measured at the end.
	EnvDiskRuns  int   `json:"env_disk_runs,omitempty"`
	EnvDiskBytes int64 `json:"env_disk_bytes,omitempty"`
	EnvDiskCount int   `json:"env_disk_envs,omitempty"`
}

// record is benchtime's record (B is always set) with every run of both
// sides.
type record struct {
	benchstat.Record[sideSummary]
	// Cluster says which cluster ran the jobs (peer.sh: the lab, or a
	// local head and why); LoadStart and LoadEnd are /proc/loadavg's
	// three load averages when the runs started and ended.
	Cluster   string `json:"cluster,omitempty"`
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
	Peer      struct {
		A []runResult `json:"a"`
		B []runResult `json:"b"`
	} `json:"peer"`
}

func summarise(id, what string, runs, warmup int, a, b *side, t targets) record {
	rec := record{Record: benchstat.NewRecord[sideSummary](id, what, runs, warmup)}
	rec.A = a.summary(t.diskEdits)
	bs := b.summary(t.diskEdits)
	rec.B = &bs
	rec.Peer.A, rec.Peer.B = a.runs, b.runs
	if rec.A.Measured == bs.Measured && bs.MedianSec > 0 {
		rec.Ratio = rec.A.MedianSec / bs.MedianSec
	}
	add := func(desc string, ok bool) {
		rec.Targets = append(rec.Targets, desc+": "+benchstat.Met(ok))
		rec.Met = rec.Met && ok
	}
	if t.speedup > 0 {
		ok := rec.Ratio > 0 && 1/rec.Ratio >= t.speedup
		add(fmt.Sprintf("%s >= %.1fx faster to entrypoint", a.name, t.speedup), ok)
	}
	timed := a.timed()
	if t.builds >= 0 {
		ok := true
		for _, r := range timed {
			ok = ok && r.Wheels == t.builds
		}
		add(fmt.Sprintf("%s builds exactly %d wheel(s) per run", a.name, t.builds), ok)
	}
	if t.noEnv {
		ok := true
		for _, r := range timed {
			ok = ok && r.envCount() == 0
		}
		add(fmt.Sprintf("%s makes the node create no runtime env", a.name), ok)
	}
	if t.noJob {
		ok := true
		for _, r := range timed {
			ok = ok && r.Jobs == 0 && r.UploadedBytes == 0
		}
		add(fmt.Sprintf("%s submits 0 jobs and uploads 0 bytes", a.name), ok)
	}
	if t.floor > 0 {
		over := rec.A.Entrypoint.Median - rec.A.Floor.Median
		add(fmt.Sprintf("%s to entrypoint within %.1fs of Ray's floor (%.2fs over it)", a.name, t.floor, over),
			rec.A.Floor.N > 0 && rec.A.Entrypoint.N > 0 && over <= t.floor)
	}
	return rec
}

func (s *side) timed() []runResult {
	var out []runResult
	for _, r := range s.runs {
		if !r.Warmup {
			out = append(out, r)
		}
	}
	return out
}

func (s *side) summary(diskRuns int) sideSummary {
	sum := sideSummary{Name: s.name, Command: s.cmd}
	var wall, sub, entry, done, floor []float64
	for _, r := range s.timed() {
		wall = append(wall, r.Wall)
		if r.Jobs > 0 {
			sub = append(sub, r.Submitted)
			entry = append(entry, r.Entry)
			done = append(done, r.Done)
		}
		if r.Floor > 0 {
			floor = append(floor, r.Floor)
		}
		sum.Jobs = append(sum.Jobs, r.Jobs)
		sum.Uploaded = append(sum.Uploaded, r.UploadedBytes)
		sum.Wheels = append(sum.Wheels, r.Wheels)
		sum.Envs = append(sum.Envs, r.envCount())
		if r.Check != "" {
			sum.Checked++
			if r.Check == "ok" {
				sum.ResultsOK++
			}
			if r.CheckNote != "" {
				sum.Noted++
			}
		}
	}
	sum.CommandS, sum.Submitted, sum.Entrypoint, sum.Succeeded = spreadOf(wall), spreadOf(sub), spreadOf(entry), spreadOf(done)
	sum.Floor = spreadOf(floor)
	main, measured := sum.Entrypoint, "entrypoint"
	if len(entry) < len(wall) {
		main, measured = sum.CommandS, "command"
	}
	sum.MedianSec, sum.MinSec, sum.MaxSec, sum.Measured = main.Median, main.Min, main.Max, measured
	if diskRuns > 0 {
		var paths []string
		for i, r := range s.runs {
			if i >= diskRuns {
				break
			}
			for _, p := range r.NewEnvs {
				paths = append(paths, p...)
			}
			sum.EnvDiskRuns = i + 1
		}
		sum.EnvDiskCount = len(paths)
		if n, err := diskUsage(paths); err == nil {
			sum.EnvDiskBytes = n
		} else {
			fmt.Fprintln(os.Stderr, "peerbench: env disk:", err)
		}
	}
	return sum
}

func (s sideSummary) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s: entrypoint %s, SUCCEEDED %s, submitted %s, command %s | per run: jobs %s, wheels %s, uploaded %s, new envs %s",
		s.Name, s.Entrypoint, s.Succeeded, s.Submitted, s.CommandS,
		ints(s.Jobs), ints(s.Wheels), kBs(s.Uploaded), ints(s.Envs))
	if s.Floor.N > 0 {
		fmt.Fprintf(&b, " | Ray's floor for its job resubmitted unchanged: %s", s.Floor)
	}
	if s.Checked > 0 {
		fmt.Fprintf(&b, " | edited code ran: %d/%d", s.ResultsOK, s.Checked)
		if s.Noted > 0 {
			fmt.Fprintf(&b, " (%d with a result missing from the metastore)", s.Noted)
		}
	}
	if s.EnvDiskRuns > 0 {
		fmt.Fprintf(&b, " | env disk after %d runs: %d envs, %.0f MB", s.EnvDiskRuns, s.EnvDiskCount, float64(s.EnvDiskBytes)/1e6)
	}
	return b.String()
}

func (r record) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s (%d runs after %d warm-up)\n", r.ID, r.What, r.Runs, r.Warmup)
	if r.Cluster != "" {
		fmt.Fprintf(&b, "  on %s, load average %s at the start, %s at the end\n", r.Cluster, r.LoadStart, r.LoadEnd)
	}
	b.WriteString(r.A.text() + "\n")
	b.WriteString(r.B.text() + "\n")
	if r.Ratio > 0 {
		fmt.Fprintf(&b, "  ratio %s/%s (%s) %.2f: %s", r.A.Name, r.B.Name, r.A.Measured, r.Ratio, benchstat.Speed(r.Ratio, r.A.Name))
	} else {
		fmt.Fprintf(&b, "  %s measured by %s, %s by %s: no ratio", r.A.Name, r.A.Measured, r.B.Name, r.B.Measured)
	}
	if len(r.Targets) > 0 {
		b.WriteString(" | target " + strings.Join(r.Targets, "; "))
	}
	return b.String()
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func kBs(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.0fkB", float64(x)/1e3)
	}
	return strings.Join(s, ",")
}
