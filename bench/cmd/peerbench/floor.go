package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
)

// floor measures Ray's own floor for an unchanged env on a warm head
// (-floor-within): the job a run of side A submitted is submitted again,
// its runtime env, entrypoint and entrypoint resources untouched, under a
// new submission id, straight to the Jobs API (no client program, no
// forward to start), and timed from the POST to its entrypoint running.
// A's time to entrypoint minus this is what A itself adds on top of Ray.
//
// The job is stopped as soon as its entrypoint runs and waited for, so the
// next run starts on an idle cluster: its figure ends there, and run on it
// would execute the operation once more on the sample store both sides
// share, tens of seconds of load the compared runs do not have. (The "11
// of 12 results" failure once blamed on it was the lab's metastore losing
// a row: see results.go.)
//
// With -floor-stage, the job gets a working directory Ray has not seen,
// as an edited YAML gives it: the command stages the job's directory
// into $BENCH_FLOOR_DIR (untimed), a nonce file makes its package new,
// and it is uploaded before the clock starts, so the floor includes the
// node fetching and unpacking a new working directory, as A's job does.
func (b *bench) floor(sid string, round int) (float64, error) {
	ctx := context.Background()
	info, err := b.ray.Job(ctx, sid)
	if err != nil {
		return 0, err
	}
	id := fmt.Sprintf("%s-floor-%d", sid, round)
	env := info.RuntimeEnv
	if b.floorStage != "" {
		if env, err = b.freshWorkingDir(ctx, env, id); err != nil {
			return 0, fmt.Errorf("floor job: %v", err)
		}
	}
	start := time.Now()
	if _, _, err := b.ray.Submit(ctx, rayjobs.SubmitRequest{
		Entrypoint:          info.Entrypoint,
		SubmissionID:        id,
		RuntimeEnv:          env,
		Metadata:            map[string]string{"peerbench": "floor of " + sid},
		EntrypointNumCPUs:   info.EntrypointNumCPUs,
		EntrypointNumGPUs:   info.EntrypointNumGPUs,
		EntrypointMemory:    info.EntrypointMemory,
		EntrypointResources: info.EntrypointResources,
	}); err != nil {
		return 0, fmt.Errorf("floor job: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, b.jobTimeout)
	defer cancel()
	started, err := b.waitEntrypoint(wctx, id)
	if err != nil {
		return 0, err
	}
	if _, err := b.ray.Stop(wctx, id); err != nil {
		return 0, fmt.Errorf("floor job %s: stop: %v", id, err)
	}
	if _, err := b.ray.WaitTerminal(wctx, id, 250*time.Millisecond); err != nil {
		return 0, fmt.Errorf("floor job %s: %v", id, err)
	}
	return started.Sub(start).Seconds(), nil
}

// waitEntrypoint waits until the entry watch saw the job's entrypoint
// start, failing early if the job ends first.
func (b *bench) waitEntrypoint(ctx context.Context, id string) (time.Time, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	polls := 0
	for {
		if t, ok := b.watch.Started(id); ok {
			return t, nil
		}
		// The Jobs API every 20th tick (1 s): a job that failed in its
		// env set-up never starts its entrypoint.
		if polls++; polls%20 == 0 {
			info, err := b.ray.Job(ctx, id)
			if err == nil && info.Status.IsTerminal() {
				if t, ok := b.watch.Started(id); ok {
					return t, nil
				}
				return time.Time{}, fmt.Errorf("floor job %s %s before its entrypoint ran: %s", id, info.Status, info.Message)
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("floor job %s: its entrypoint never showed in a driver log: %v", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// freshWorkingDir stages the job's directory with -floor-stage, adds a
// nonce file, uploads it and returns env with it as the working_dir.
func (b *bench) freshWorkingDir(ctx context.Context, env map[string]any, nonce string) (map[string]any, error) {
	dir, err := os.MkdirTemp("", "peerbench-floor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if out, err := shell(b.floorStage, []string{"BENCH_FLOOR_DIR=" + dir}); err != nil {
		return nil, fmt.Errorf("%q: %v\n%s", b.floorStage, err, out)
	}
	// `adopipe stage -o DIR` writes DIR/<operation>.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		return nil, fmt.Errorf("%q left %d entries in %s, want one job directory", b.floorStage, len(ents), dir)
	}
	job := filepath.Join(dir, ents[0].Name())
	if err := os.WriteFile(filepath.Join(job, ".peerbench-floor"), []byte(nonce+"\n"), 0o644); err != nil {
		return nil, err
	}
	uri, _, err := b.ray.UploadPackage(ctx, job, nil)
	if err != nil {
		return nil, err
	}
	env = maps.Clone(env)
	env["working_dir"] = uri
	return env, nil
}
