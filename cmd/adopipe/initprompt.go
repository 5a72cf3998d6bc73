package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/adopipe/adopipe/internal/scaffold"
	"github.com/adopipe/adopipe/internal/termview"
)

// initAsker asks init's questions when both stdin and stderr are a
// terminal; otherwise init must be told with flags (nil Asker).
func (a *app) initAsker() scaffold.Asker {
	if !termview.IsTerminal(a.stderr) || !termview.IsTerminal(a.stdin) {
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
			if idx, ok := q.Parse(strings.TrimSpace(line)); ok {
				return idx, nil
			}
			fmt.Fprintf(a.stderr, "%q is not one of the choices.\n", strings.TrimSpace(line))
		}
	}
}
