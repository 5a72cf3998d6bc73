package scaffold

import (
	"fmt"
	"testing"
)

func TestQuestionParse(t *testing.T) {
	cases := []struct {
		in    string
		multi bool
		want  string // "" for refused
	}{
		{"2", false, "[1]"},
		{"1,3", true, "[0 2]"},
		{" 3 , 1 ,3", true, "[2 0]"},
		{"all", true, "[0 1 2]"},
		{"none", true, "[]"},
		{"1,2", false, ""},
		{"all", false, ""},
		{"0", false, ""},
		{"4", true, ""},
		{"", false, ""},
		{"x", true, ""},
	}
	for _, c := range cases {
		idx, ok := Question{Options: []string{"a", "b", "c"}, Multi: c.multi}.Parse(c.in)
		got := ""
		if ok {
			got = fmt.Sprint(idx)
		}
		if got != c.want {
			t.Errorf("Parse(%q, multi=%v) = %q, want %q", c.in, c.multi, got, c.want)
		}
	}
}
