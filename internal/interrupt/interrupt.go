// Package interrupt turns the first SIGINT or SIGTERM into a cancelled
// context, so running builds are killed and the state stays consistent,
// and makes a second one exit at once.
package interrupt

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ExitCode is the status of a run cut short by a second signal.
const ExitCode = 130

// Context returns a context cancelled by the first SIGINT or SIGTERM, and
// a function to call when done. Each signal is announced on notice; the
// second exits the process with ExitCode.
func Context(parent context.Context, notice io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(notice, "\nInterrupted: stopping builds and saving state. Press Ctrl-C again to exit at once.")
		cancel()
		<-ch
		fmt.Fprintln(notice, "Exiting at once.")
		os.Exit(ExitCode)
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel()
	}
}
