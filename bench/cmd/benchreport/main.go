// Command benchreport summarises the JSON lines that benchtime and
// watchlat append (bench's results.jsonl). The latest record of each id
// wins.
//
//	benchreport -growth scale.warm. results.jsonl   growth of time and RSS over N
//	benchreport -markdown results.jsonl             one table row per figure
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

type stats struct {
	Name      string  `json:"name"`
	MedianSec float64 `json:"median_s"`
	MinSec    float64 `json:"min_s"`
	MaxSec    float64 `json:"max_s"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	MBPerSec  float64 `json:"mb_per_s"`
}

// record is the union of benchtime's and watchlat's records.
type record struct {
	ID      string   `json:"id"`
	What    string   `json:"what"`
	Runs    int      `json:"runs"`
	Warmup  int      `json:"warmup"`
	A       *stats   `json:"a"`
	B       *stats   `json:"b"`
	Ratio   float64  `json:"ratio_a_over_b"`
	Targets []string `json:"targets"`
	Met     bool     `json:"met"`
	// watchlat
	DebounceSec float64 `json:"debounce_s"`
	MedianSec   float64 `json:"median_s"`
	MinSec      float64 `json:"min_s"`
	MaxSec      float64 `json:"max_s"`
	LineMedian  float64 `json:"submitted_line_median_s"`
	RatioFloor  float64 `json:"ratio_to_debounce"`
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	var growth multi
	flag.Var(&growth, "growth", "id prefix followed by a number (repeatable)")
	md := flag.Bool("markdown", false, "print a markdown table of every figure")
	flag.Parse()
	if flag.NArg() != 1 || (len(growth) == 0 && !*md) {
		flag.Usage()
		os.Exit(2)
	}
	recs, order, err := load(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	for _, prefix := range growth {
		printGrowth(prefix, recs)
	}
	if *md {
		printMarkdown(recs, order)
	}
}

func load(path string) (map[string]record, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs := map[string]record{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", path, err)
		}
		if _, seen := recs[r.ID]; !seen {
			order = append(order, r.ID)
		}
		recs[r.ID] = r
	}
	return recs, order, sc.Err()
}

func printGrowth(prefix string, recs map[string]record) {
	type point struct {
		n   int
		rec record
	}
	var pts []point
	for id, r := range recs {
		if s, ok := strings.CutPrefix(id, prefix); ok && r.A != nil {
			if n, err := strconv.Atoi(s); err == nil {
				pts = append(pts, point{n, r})
			}
		}
	}
	if len(pts) < 2 {
		fmt.Printf("[%sgrowth] fewer than two sizes measured\n", prefix)
		return
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].n < pts[j].n })
	var parts []string
	for _, p := range pts {
		s := fmt.Sprintf("%d files: %s, %.1f MB", p.n, secs(p.rec.A.MedianSec), p.rec.A.PeakRSSMB)
		if p.rec.B != nil {
			s += fmt.Sprintf(" (%s %s)", p.rec.B.Name, secs(p.rec.B.MedianSec))
		}
		parts = append(parts, s)
	}
	first, last := pts[0], pts[len(pts)-1]
	decades := math.Log10(float64(last.n) / float64(first.n))
	tGrowth := math.Pow(last.rec.A.MedianSec/first.rec.A.MedianSec, 1/decades)
	rGrowth := math.Pow(last.rec.A.PeakRSSMB/first.rec.A.PeakRSSMB, 1/decades)
	line := fmt.Sprintf("[%sgrowth] %s | per 10x files: time x%.1f, peak RSS x%.2f", prefix, strings.Join(parts, "; "), tGrowth, rGrowth)
	if first.rec.B != nil && last.rec.B != nil {
		bGrowth := math.Pow(last.rec.B.MedianSec/first.rec.B.MedianSec, 1/decades)
		line += fmt.Sprintf(" (%s time x%.1f)", first.rec.B.Name, bGrowth)
	}
	fmt.Println(line)
}

func printMarkdown(recs map[string]record, order []string) {
	fmt.Println("| id | what | adopipe median (min–max) | baseline median (min–max) | ratio | adopipe peak RSS | target |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, id := range order {
		r := recs[id]
		if r.A == nil { // watchlat
			verdict := "met"
			if !r.Met {
				verdict = "MISSED"
			}
			fmt.Printf("| %s | %s (%d edits) | %s (%s–%s) | debounce %s | %.2f | – | median < debounce + 100 ms: %s |\n",
				id, r.What, r.Runs, secs(r.MedianSec), secs(r.MinSec), secs(r.MaxSec), secs(r.DebounceSec), r.RatioFloor, verdict)
			continue
		}
		base, ratio := "–", "–"
		if r.B != nil {
			base = fmt.Sprintf("%s: %s (%s–%s)", r.B.Name, secs(r.B.MedianSec), secs(r.B.MinSec), secs(r.B.MaxSec))
			if r.B.MBPerSec > 0 {
				base += fmt.Sprintf(", %.0f MB/s", r.B.MBPerSec)
			}
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		a := fmt.Sprintf("%s (%s–%s)", secs(r.A.MedianSec), secs(r.A.MinSec), secs(r.A.MaxSec))
		if r.A.MBPerSec > 0 {
			a += fmt.Sprintf(", %.0f MB/s", r.A.MBPerSec)
		}
		target := "–"
		if len(r.Targets) > 0 {
			target = strings.Join(r.Targets, "; ")
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %.1f MB | %s |\n", id, cell(r.What), cell(a), cell(base), ratio, r.A.PeakRSSMB, cell(target))
	}
}

// cell escapes a table cell's pipes (find|sha256sum).
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func secs(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}
