package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/adopipe/adopipe/internal/scaffold"
	"golang.org/x/term"
)

// initAsker asks init's questions when both stdin and stderr are a
// terminal; otherwise init must be told with flags (nil Asker).
func (a *app) initAsker() scaffold.Asker {
	if !a.isTerminal(a.stderr) || !a.isTerminalReader() {
		return nil
	}
	in := bufio.NewReader(a.stdin)
	return func(q scaffold.Question) ([]int, error) {
		fmt.Fprintln(a.stderr, q.Prompt)
		for i, o := range q.Options {
			fmt.Fprintf(a.stderr, "  %d) %s\n", i+1, o)
		}
		hint := "a number"
		if q.Multi {
			hint = "numbers separated by commas, all, or none"
		}
		for {
			fmt.Fprintf(a.stderr, "Choose %s (or answer later with %s): ", hint, q.Flag)
			line, err := in.ReadString('\n')
			if err != nil && line == "" {
				fmt.Fprintln(a.stderr)
				return nil, errNoAnswer
			}
			if idx, ok := parseChoice(strings.TrimSpace(line), len(q.Options), q.Multi); ok {
				return idx, nil
			}
			fmt.Fprintf(a.stderr, "%q is not one of the choices.\n", strings.TrimSpace(line))
		}
	}
}

// isTerminalReader reports whether stdin is a terminal.
func (a *app) isTerminalReader() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// parseChoice reads "2", or for several "1,3", "all" or "none", into
// zero-based option indexes.
func parseChoice(s string, n int, multi bool) ([]int, bool) {
	switch {
	case multi && s == "all":
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx, true
	case multi && s == "none":
		return []int{}, true
	}
	parts := strings.Split(s, ",")
	if len(parts) > 1 && !multi {
		return nil, false
	}
	var idx []int
	seen := map[int]bool{}
	for _, p := range parts {
		i, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || i < 1 || i > n {
			return nil, false
		}
		if !seen[i-1] {
			idx = append(idx, i-1)
			seen[i-1] = true
		}
	}
	return idx, true
}
