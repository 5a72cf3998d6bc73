package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/termview"
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
	label := "Error:"
	if _, color := a.terminal(a.stderr); color {
		label = "\x1b[1;31mError:\x1b[0m"
	}
	fmt.Fprintf(a.stderr, "%s %s\n", label, err)
}

// terminal reports the width to wrap at and whether to use colour for w.
func (a *app) terminal(w io.Writer) (uint, bool) {
	width, ok := termview.Width(w)
	return uint(width), ok && !a.global.noColor && os.Getenv("NO_COLOR") == ""
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
