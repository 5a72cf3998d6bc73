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
// The job runs to its end, so the next run starts on an idle cluster.
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
	end, err := b.ray.WaitTerminal(wctx, id, 250*time.Millisecond)
	if err != nil {
		return 0, fmt.Errorf("floor job %s: %v", id, err)
	}
	if end.Status != rayjobs.StatusSucceeded {
		return 0, fmt.Errorf("floor job %s %s: %s", id, end.Status, end.Message)
	}
	t, ok := b.watch.Started(id)
	if !ok {
		return 0, fmt.Errorf("floor job %s: its entrypoint never showed in a driver log", id)
	}
	return t.Sub(start).Seconds(), nil
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
