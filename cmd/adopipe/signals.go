package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// exitInterrupted is the status of a run cut short by a second Ctrl-C.
const exitInterrupted = 130

// interruptible returns a context cancelled by the first SIGINT or
// SIGTERM, so running builds are killed and state stays consistent. A
// second signal exits at once.
func (a *app) interruptible(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(a.stderr, "\nInterrupted: stopping builds and saving state. Press Ctrl-C again to exit at once.")
		cancel()
		<-ch
		fmt.Fprintln(a.stderr, "Exiting at once.")
		os.Exit(exitInterrupted)
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel()
	}
}
