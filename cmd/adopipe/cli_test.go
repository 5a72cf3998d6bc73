package main

import (
	"slices"
	"testing"
)

func TestLogsFollowShorthand(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"logs", "-f", "op"}, []string{"logs", "--follow", "op"}},
		{[]string{"-f", "x.hcl", "logs", "-f", "op"}, []string{"-f", "x.hcl", "logs", "--follow", "op"}},
		{[]string{"-C", "logs", "plan", "-f"}, []string{"-C", "logs", "plan", "-f"}}, // a directory named logs
		{[]string{"-f", "logs", "validate"}, []string{"-f", "logs", "validate"}},     // a manifest named logs
		{[]string{"validate", "-f", "x"}, []string{"validate", "-f", "x"}},
	}
	for _, c := range cases {
		if got := logsFollowShorthand(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%q -> %q, want %q", c.in, got, c.want)
		}
	}
}
