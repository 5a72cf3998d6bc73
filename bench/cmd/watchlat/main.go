// Command watchlat measures adopipe watch's latency: from a write to a
// job's input file to the job submission request reaching the cluster
// (issue 8, item 7).
//
//	watchlat -adopipe bin/adopipe -ray http://127.0.0.1:8265 -dir /tmp/ws \
//	    -edits 20 -warmup 2 -debounce 200ms
//
// It writes a manifest in DIR whose only changing input is an extra file
// (files = ["input.txt"], no plugin, entrypoint `true`), so no wheel is
// built, and points its cluster at a counting proxy (bench/internal/
// countproxy) in front of the Ray head. It starts `adopipe watch
// --debounce D`, waits for the first submission, then edits input.txt
// EDITS+WARMUP times. For each edit it takes the time just before the
// write and the time the proxy received POST /api/jobs/; it also notes
// when watch printed its "... submitted" line. Before each edit it waits,
// untimed, until the previous job has ended and watch has reported it.
//
// The baseline is the debounce itself, which watch must wait by design:
// the target is a median below debounce + 100 ms.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/bench/internal/benchstat"
	"github.com/adopipe/adopipe/bench/internal/countproxy"
	"github.com/adopipe/adopipe/bench/internal/rayidle"
)

func main() {
	adopipe := flag.String("adopipe", "bin/adopipe", "adopipe binary")
	ray := flag.String("ray", os.Getenv("ADOPIPE_TEST_RAY_ADDRESS"), "Ray head address")
	dir := flag.String("dir", "", "workspace directory to create (emptied first)")
	edits := flag.Int("edits", 20, "timed edits")
	warmup := flag.Int("warmup", 2, "untimed edits first")
	debounce := flag.Duration("debounce", 200*time.Millisecond, "watch --debounce")
	jsonOut := flag.String("json", "", "append a JSON record to this file")
	verbose := flag.Bool("v", false, "print every edit")
	flag.Parse()
	if *ray == "" || *dir == "" || *edits < 5 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*adopipe, *ray, *dir, *edits, *warmup, *debounce, *jsonOut, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "watchlat:", err)
		os.Exit(1)
	}
}

// Record is what -json appends, shaped like benchtime's records.
type Record struct {
	ID           string    `json:"id"`
	What         string    `json:"what"`
	Runs         int       `json:"runs"`
	Warmup       int       `json:"warmup"`
	DebounceSec  float64   `json:"debounce_s"`
	MedianSec    float64   `json:"median_s"`
	MinSec       float64   `json:"min_s"`
	MaxSec       float64   `json:"max_s"`
	LineMedian   float64   `json:"submitted_line_median_s"`
	OverheadSec  float64   `json:"overhead_median_s"`
	RatioToFloor float64   `json:"ratio_to_debounce"`
	Met          bool      `json:"met"`
	Finished     time.Time `json:"finished"`
}

func run(adopipe, ray, dir string, edits, warmup int, debounce time.Duration, jsonOut string, verbose bool) error {
	adopipe, err := filepath.Abs(adopipe)
	if err != nil {
		return err
	}
	proxy, err := countproxy.New(ray)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	proxyAddr := "http://" + ln.Addr().String()

	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	input := filepath.Join(dir, "input.txt")
	files := map[string]string{
		"ado.hcl": fmt.Sprintf(`# Written by bench/cmd/watchlat.
cluster "bench" {
  address = %q
}

operation "watch" {
  cluster   = cluster.bench
  context   = "context.yaml"
  operation = "operation.yaml"
  files     = ["input.txt"]
  args      = ["true"]
}
`, proxyAddr),
		"context.yaml":   "project: bench\nmetadataStore:\n  scheme: mysql+pymysql\n  host: mysql.bench.invalid\n  port: 3306\n  database: bench\n  user: ado\n",
		"operation.yaml": "spaces: [space-1]\n",
		"input.txt":      "edit 0\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.Command(adopipe, "-C", dir, "--no-color", "watch", "--debounce", debounce.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	lines := make(chan time.Time, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			now := time.Now()
			line := sc.Text()
			if verbose {
				fmt.Fprintf(os.Stderr, "  watch: %s\n", line)
			}
			// The cycle summary: "0 built, 0 cached, 1 submitted: <id>".
			if strings.Contains(line, " submitted: ") {
				select {
				case lines <- now:
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()
	defer stopWatch(cmd, exited)

	wait := func(ch <-chan time.Time, what string, d time.Duration) (time.Time, error) {
		select {
		case t := <-ch:
			return t, nil
		case err := <-exited:
			exited <- err
			return time.Time{}, fmt.Errorf("adopipe watch exited (%v) while waiting for %s", err, what)
		case <-time.After(d):
			return time.Time{}, fmt.Errorf("no %s within %s", what, d)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
	if _, err := wait(proxy.Submits(), "first submission", 2*time.Minute); err != nil {
		return err
	}
	if _, err := wait(lines, "first submitted line", time.Minute); err != nil {
		return err
	}

	var lat, lineLat []time.Duration
	for i := 1; i <= warmup+edits; i++ {
		if err := waitIdle(ray, 2*time.Minute); err != nil {
			return err
		}
		t0 := time.Now()
		if err := os.WriteFile(input, []byte(fmt.Sprintf("edit %d at %d\n", i, t0.UnixNano())), 0o644); err != nil {
			return err
		}
		t1, err := wait(proxy.Submits(), fmt.Sprintf("submission after edit %d", i), time.Minute)
		if err != nil {
			return err
		}
		t2, err := wait(lines, fmt.Sprintf("submitted line after edit %d", i), time.Minute)
		if err != nil {
			return err
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "  edit %d: request at %s, line at %s\n", i, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t0).Round(time.Millisecond))
		}
		if i > warmup {
			lat = append(lat, t1.Sub(t0))
			lineLat = append(lineLat, t2.Sub(t0))
		}
	}
	if s := proxy.Stats(); s.Submits != int64(warmup+edits+1) {
		return fmt.Errorf("the cluster received %d submissions, want %d (one per edit and the first)", s.Submits, warmup+edits+1)
	}

	lat, lineLat = benchstat.Sorted(lat), benchstat.Sorted(lineLat)
	med, lmed := benchstat.Median(lat), benchstat.Median(lineLat)
	target := debounce + 100*time.Millisecond
	rec := Record{
		ID: "watch.latency", What: "adopipe watch: file write to submit request at the cluster",
		Runs: edits, Warmup: warmup, DebounceSec: debounce.Seconds(),
		MedianSec: med.Seconds(), MinSec: lat[0].Seconds(), MaxSec: lat[len(lat)-1].Seconds(),
		LineMedian: lmed.Seconds(), OverheadSec: (med - debounce).Seconds(),
		RatioToFloor: med.Seconds() / debounce.Seconds(), Met: med < target, Finished: time.Now().UTC(),
	}
	fmt.Printf("[watch.latency] %s, %d edits: median %s (min %s, max %s), \"submitted\" line median %s | baseline debounce %s | ratio %.2f, overhead over the debounce %s | target median < %s: %s\n",
		rec.What, edits, ms(med), ms(lat[0]), ms(lat[len(lat)-1]), ms(lmed), ms(debounce), rec.RatioToFloor, ms(med-debounce), ms(target), benchstat.Met(rec.Met))
	if jsonOut != "" {
		return benchstat.AppendJSON(jsonOut, rec)
	}
	return nil
}

// stopWatch interrupts adopipe watch (its own process group only) and
// waits for it; it is killed if it does not stop.
func stopWatch(cmd *exec.Cmd, exited chan error) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}

// waitIdle polls the Jobs API until no job is PENDING or RUNNING.
func waitIdle(ray string, timeout time.Duration) error {
	return rayidle.Wait(ray, timeout, 50*time.Millisecond)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }
