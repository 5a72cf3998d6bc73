// Package rayidle waits until a Ray head runs no job, so one benchmark
// run's jobs do not slow the next one down.
package rayidle

import (
	"context"
	"fmt"
	"time"

	"github.com/adopipe/adopipe/executors/rayjobs"
)

// Wait polls the Jobs API at address every poll until no job is pending or
// running, or gives up after timeout.
func Wait(address string, timeout, poll time.Duration) error {
	c, err := rayjobs.New(rayjobs.Config{Address: address, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		busy, err := busyJobs(ctx, c)
		if err == nil && busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d jobs pending or running", busy)
			}
			return fmt.Errorf("cluster not idle after %s: %w", timeout, err)
		case <-time.After(poll): // polling interval, not a wait for luck
		}
	}
}

func busyJobs(ctx context.Context, c *rayjobs.Client) (int, error) {
	jobs, err := c.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if !j.Status.IsTerminal() {
			n++
		}
	}
	return n, nil
}
