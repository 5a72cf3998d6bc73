package main

import (
	"context"
	"fmt"
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
func (b *bench) floor(sid string, round int) (float64, error) {
	ctx := context.Background()
	info, err := b.ray.Job(ctx, sid)
	if err != nil {
		return 0, err
	}
	id := fmt.Sprintf("%s-floor-%d", sid, round)
	start := time.Now()
	if _, _, err := b.ray.Submit(ctx, rayjobs.SubmitRequest{
		Entrypoint:          info.Entrypoint,
		SubmissionID:        id,
		RuntimeEnv:          info.RuntimeEnv,
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
