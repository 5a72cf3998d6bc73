package gitignore

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRandomPatternsAgreeWithGit compares Match with git check-ignore on
// randomly generated (but seeded, so reproducible) .gitignore files over
// one fixed tree.
func TestRandomPatternsAgreeWithGit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs git many times")
	}
	files := []string{
		"ba", "aa/b", "a/b/a", "a/b/b", "b/a/ab", "ab/a/b/aa", "a/ba", "a/a/b.a",
		"a.b", "b/a.b", "a/a/a/a", "bb/ab/a", "a-b", "[a]", "a*", "b/b?",
	}
	atoms := []string{"a", "b", "*", "?", "**", "/", "[ab]", "[!a]", "[a-b]", ".", "\\*", "a*b"}
	rng := rand.New(rand.NewPCG(7, 11))
	pattern := func() string {
		var b strings.Builder
		if rng.IntN(5) == 0 {
			b.WriteByte('!')
		}
		n := 1 + rng.IntN(4)
		for i := 0; i < n; i++ {
			b.WriteString(atoms[rng.IntN(len(atoms))])
		}
		return b.String()
	}
	for i := 0; i < 60; i++ {
		var root, sub []string
		for j := 0; j < 1+rng.IntN(4); j++ {
			root = append(root, pattern())
		}
		for j := 0; j < rng.IntN(3); j++ {
			sub = append(sub, pattern())
		}
		c := gitCase{
			ignores: map[string]string{"": strings.Join(root, "\n") + "\n", "a": strings.Join(sub, "\n") + "\n"},
			files:   files,
		}
		dir, paths := c.build(t)
		want := gitIgnored(t, dir, paths)
		for _, d := range c.disagreements(paths, want) {
			t.Errorf("root %q a/ %q: %s", root, sub, d)
		}
	}
}
