package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/adopipe/adopipe/internal/progress"
)

// This file is the one place that renders diagnostics and errors.

// printDiags renders diagnostics once, with source snippets, to stderr.
func (a *app) printDiags(diags hcl.Diagnostics, files map[string]*hcl.File) {
	if len(diags) == 0 {
		return
	}
	width, color := a.terminal(a.stderr)
	w := hcl.NewDiagnosticTextWriter(a.stderr, files, width, color)
	_ = w.WriteDiagnostics(diags)
}

// printError renders a plain error (one that has no source position).
func (a *app) printError(err error) {
	_, color := a.terminal(a.stderr)
	if color {
		fmt.Fprintf(a.stderr, "\x1b[1;31mError:\x1b[0m %s\n", err)
		return
	}
	fmt.Fprintf(a.stderr, "Error: %s\n", err)
}

// isTerminal reports whether w is a terminal, colour settings aside.
func (a *app) isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminal reports the width to wrap at and whether to use colour for w.
func (a *app) terminal(w io.Writer) (uint, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	color := !a.global.noColor && os.Getenv("NO_COLOR") == ""
	return uint(width), color
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// warn prints a warning that has no source position.
func (a *app) warn(format string, args ...any) {
	fmt.Fprintf(a.stderr, "Warning: "+format+"\n", args...)
}

// logLine prints a timestamped progress line, as watch does once per cycle.
func (a *app) logLine(format string, args ...any) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	fmt.Fprintf(a.stdout, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// warnEvents shows the warnings among the events of a command that has no
// progress view.
func (a *app) warnEvents(e progress.Event) {
	if e.Type == progress.EventWarning {
		a.warn("%s", e.Message)
	}
}
