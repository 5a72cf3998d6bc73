// Command planprof runs the work of `adopipe plan` in a loop under Go's
// CPU profiler, to see where a no-op or cold plan spends its time. It does
// what cmd/adopipe's plan does (load the manifest and state, plan with the
// wheel cache, save the caches), minus printing and locking.
//
//	planprof -C .cache/bench/ws-plan -n 20 -cpuprofile cpu.out [-cold]
//	go tool pprof -top bench/planprof cpu.out
//	planprof -C ... -n 1 -memprofile mem.out   # then -sample_index=alloc_space
//
// It prints the time of each phase, summed over the runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

var verifyWheels bool

func main() {
	dir := flag.String("C", ".", "directory holding ado.hcl")
	n := flag.Int("n", 10, "plans to run")
	cold := flag.Bool("cold", false, "delete the stat cache before every plan")
	noWheelCache := flag.Bool("no-wheel-cache", false, "plan without consulting the wheel cache")
	flag.BoolVar(&verifyWheels, "verify-wheels", false, "check cached wheels with Get (re-hashing them), as plan did before Peek")
	cpu := flag.String("cpuprofile", "", "write a CPU profile to this file")
	mem := flag.String("memprofile", "", "write a heap profile (allocations of every plan) to this file")
	flag.Parse()
	if *mem != "" {
		runtime.MemProfileRate = 4096
	}
	err := run(*dir, *n, *cold, *noWheelCache, *cpu)
	if err == nil && *mem != "" {
		err = writeHeap(*mem)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "planprof:", err)
		os.Exit(1)
	}
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(dir string, n int, cold, noWheelCache bool, cpu string) error {
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var tLoad, tState, tPlan, tCache, tSave time.Duration
	var summary string
	for i := 0; i < n; i++ {
		t0 := time.Now()
		cfg, diags := manifest.NewParser().Load(filepath.Join(dir, "ado.hcl"), manifest.LoadOptions{})
		if diags.HasErrors() {
			return diags
		}
		t1 := time.Now()
		workDir := filepath.Join(cfg.Dir, ".adopipe")
		st, err := state.Load(filepath.Join(cfg.Dir, state.DefaultPath))
		if err != nil {
			return err
		}
		if cold {
			os.Remove(planner.StatCachePath(workDir))
		}
		t2 := time.Now()
		cache := wheelcache.New(filepath.Join(workDir, "cache"))
		var wheelTime time.Duration
		lookup := func(fp string) (string, bool) {
			if noWheelCache {
				return "", false
			}
			s := time.Now()
			defer func() { wheelTime += time.Since(s) }()
			path, _, ok, _ := cache.Peek(fp) // as cmd/adopipe's plan does
			if verifyWheels {
				path, _, ok, _ = cache.Get(fp)
			}
			return filepath.Base(path), ok
		}
		pl := planner.New(workDir, lookup)
		plan, err := pl.Plan(context.Background(), planner.Request{Config: cfg, State: st})
		if err != nil {
			return err
		}
		t3 := time.Now()
		if err := pl.SaveCaches(); err != nil {
			return err
		}
		t4 := time.Now()
		tLoad += t1.Sub(t0)
		tState += t2.Sub(t1)
		tPlan += t3.Sub(t2) - wheelTime
		tCache += wheelTime
		tSave += t4.Sub(t3)
		s := plan.Summary()
		summary = fmt.Sprintf("%d to build, %d cached, %d to submit", s.Build, s.Cached, s.Submit)
	}
	per := func(d time.Duration) string { return (d / time.Duration(n)).Round(10 * time.Microsecond).String() }
	fmt.Printf("planprof: %d plans (%s); per plan: manifest %s, state %s, fingerprint+decide %s, wheel cache check %s, save caches %s\n",
		n, summary, per(tLoad), per(tState), per(tPlan), per(tCache), per(tSave))
	return nil
}
