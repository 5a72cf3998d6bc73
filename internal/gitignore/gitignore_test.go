package gitignore

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testgate"
)

// gitCase is a tree of .gitignore files and paths. Expected answers come
// from `git check-ignore` run on the same tree.
type gitCase struct {
	name    string
	ignores map[string]string // dir rel ("" = root) -> .gitignore content
	files   []string          // files to create (parents created as dirs)
}

var gitCases = []gitCase{
	{
		name: "basics",
		ignores: map[string]string{"": `# a comment
*.log
!important.log
/root-only.txt
build/
doc/*.txt
a/**/z
**/foo
bar/**
\#hash
\!bang
trailing-space\ 
trailing-trimmed   
*.tmp
!keep/*.tmp

   
`},
		files: []string{
			"debug.log", "important.log", "sub/debug.log", "sub/important.log",
			"root-only.txt", "sub/root-only.txt",
			"build/x", "sub/build/y", "other/build",
			"doc/a.txt", "doc/sub/b.txt",
			"a/z", "a/b/z", "a/b/c/z", "q/a/z",
			"foo", "x/foo", "y/foo/inner",
			"bar/x", "bar/y/z", "x/bar/q",
			"#hash", "!bang", "trailing-space ", "trailing-space", "trailing-trimmed",
			"keep/a.tmp", "c.tmp", "keep/deeper/b.tmp",
			"# a comment",
		},
	},
	{
		name: "nested-negation",
		ignores: map[string]string{
			"": `*.dat
logs/
secret/
!secret/public.txt
`,
			"sub": `!*.dat
/local.txt
deep/**/x.txt
x/y
`,
			"sub/deep": `*.dat
!keep.dat
`,
			"secret": "!*\n",
		},
		files: []string{
			"a.dat", "sub/a.dat", "sub/deep/b.dat", "sub/deep/keep.dat", "sub/deep/m/c.dat",
			"local.txt", "sub/local.txt", "sub/other/local.txt",
			"sub/deep/x.txt", "sub/deep/m/x.txt", "sub/deep/m/n/x.txt", "deep/m/x.txt",
			"secret/public.txt", "secret/other",
			"logs/a", "sub/logs/b",
			"sub/x/y", "x/y", "sub/q/x/y",
		},
	},
	{
		name: "reinclude-under-excluded-dir",
		ignores: map[string]string{"": `only/*
!only/keep
!only/sub/
whole/
!whole/keep
!whole/
star/**
!star/keep
!star/d/
`},
		files: []string{
			"only/a", "only/keep", "only/sub/b",
			"whole/a", "whole/keep",
			"star/a", "star/keep", "star/d/e",
		},
	},
	{
		name: "wildcards",
		ignores: map[string]string{"": `[abc].txt
[!a-c]x.md
?.py
*.[oa]
[[:digit:]]*.csv
x[]]y
**/deep/*.json
mid/**/end/
a**b
foo/*/bar
[^z]z
[a-]dash
[[:bogus:]]zz
[unterminated
*.\[ch\]
`},
		files: []string{
			"a.txt", "d.txt", "ab.txt", "dx.md", "ax.md", "x.py", "xy.py",
			"lib.o", "lib.a", "lib.so", "1data.csv", "data.csv", "x]y",
			"q/deep/a.json", "deep/a.json", "q/r/deep/s/a.json",
			"mid/end/f", "mid/a/b/end/g", "mid/a/end",
			"aXXb", "aX/Yb", "foo/q/bar", "foo/q/r/bar",
			"az", "zz", "adash", "-dash", "bdash", "xzz", "[unterminated", "u",
			"file.[ch]", "file.c",
		},
	},
	{
		name: "crlf-bom",
		ignores: map[string]string{
			"":  "\xef\xbb\xbfbom.txt\r\ncrlf.txt\r\nlast-no-newline",
			"d": "*\n!*/\n!*.keep\n",
		},
		files: []string{"bom.txt", "crlf.txt", "last-no-newline", "d/x", "d/y.keep", "d/e/z", "d/e/w.keep"},
	},
}

func git(t *testing.T, dir string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1")
	return cmd.Output()
}

// build creates the tree and returns all paths (files and dirs) with
// their kind.
func (c gitCase) build(t *testing.T) (root string, paths map[string]bool) {
	t.Helper()
	root = t.TempDir()
	paths = map[string]bool{}
	addParents := func(rel string) {
		for d := filepath.ToSlash(filepath.Dir(rel)); d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
			paths[d] = true
		}
	}
	for dir, content := range c.ignores {
		rel := filepath.Join(dir, ".gitignore")
		write(t, root, rel, content)
		paths[filepath.ToSlash(rel)] = false
		addParents(filepath.ToSlash(rel))
	}
	for _, f := range c.files {
		write(t, root, f, "x")
		paths[f] = false
		addParents(f)
	}
	return root, paths
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitIgnored(t *testing.T, root string, paths map[string]bool) map[string]bool {
	t.Helper()
	testgate.Tool(t, "git")
	if _, err := git(t, root, nil, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	for p := range paths {
		in.WriteString(p)
		in.WriteByte(0)
	}
	out, err := git(t, root, in.Bytes(), "-c", "core.excludesFile=/dev/null", "check-ignore", "--no-index", "--stdin", "-z")
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("git check-ignore: %v", err)
		}
	}
	ignored := map[string]bool{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			ignored[p] = true
		}
	}
	return ignored
}

// disagreements lists, in path order, where a matcher given c.ignores
// answers Match(path, isDir) other than git did (ignored: git's answers).
func (c gitCase) disagreements(paths, ignored map[string]bool) []string {
	m := New(Options{})
	for dir, content := range c.ignores {
		m.AddFile(dir, []byte(content))
	}
	var out []string
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if got := m.Match(p, paths[p]); got != ignored[p] {
			out = append(out, fmt.Sprintf("Match(%q, dir=%v) = %v, git says %v", p, paths[p], got, ignored[p]))
		}
	}
	return out
}

func TestMatchAgreesWithGit(t *testing.T) {
	for _, c := range gitCases {
		t.Run(c.name, func(t *testing.T) {
			root, paths := c.build(t)
			want := gitIgnored(t, root, paths)
			if len(want) == 0 {
				t.Fatal("git ignored nothing: the case tests nothing")
			}
			for _, d := range c.disagreements(paths, want) {
				t.Error(d)
			}

			// Walk must yield exactly the paths git does not ignore.
			walked := map[string]bool{}
			err := Walk(root, New(Options{}), func(rel string, d fs.DirEntry) error {
				if rel == ".git" {
					return fs.SkipDir
				}
				walked[rel] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range slices.Sorted(maps.Keys(paths)) {
				if walked[p] == want[p] {
					t.Errorf("Walk: %q walked=%v, git ignored=%v", p, walked[p], want[p])
				}
			}
		})
	}
}

func TestExcludeAndAlways(t *testing.T) {
	m := New(Options{
		Exclude: []string{"*.csv", "!keep.csv", "/top/", "data/raw/**", "!from-gitignore.txt"},
		Always:  []string{".git", "__pycache__/", "!neg-literal", "/dist/"},
	})
	m.AddFile("", []byte("from-gitignore.txt\nother.txt\n!.git\n!__pycache__/\n"))
	m.AddFile("sub", []byte("!x.csv\n"))
	cases := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"a.csv", false, true},
		{"sub/x.csv", false, true}, // manifest exclude wins over .gitignore
		{"keep.csv", false, false},
		{"sub/keep.csv", false, false},
		{"top", true, true},
		{"top", false, false},
		{"sub/top", true, false},
		{"top/file", false, true},
		{"data/raw/a/b", false, true},
		{"data/raw", true, false},
		{"from-gitignore.txt", false, false}, // re-included by the manifest
		{"other.txt", false, true},
		{".git", true, true},    // always: '!' in .gitignore cannot undo
		{"a/.git", false, true}, // at any depth, file or dir
		{"a/__pycache__", true, true},
		{"a/__pycache__", false, false},
		{"a/__pycache__/x.pyc", false, true},
		{"!neg-literal", false, true}, // '!' in Always is literal
		{"neg-literal", false, false},
		{"dist", true, true},
		{"pkg/dist", true, false},
		{"", true, false},
		{".", true, false},
	}
	for _, c := range cases {
		if got := m.Match(c.rel, c.isDir); got != c.want {
			t.Errorf("Match(%q, %v) = %v, want %v", c.rel, c.isDir, got, c.want)
		}
	}
}

func TestTrimTrailingSpaces(t *testing.T) {
	for in, want := range map[string]string{
		"a":     "a",
		"a  ":   "a",
		`a\ `:   `a\ `,
		`a\  `:  `a\ `,
		`a\ \ `: `a\ \ `,
		`a\`:    `a\`,
		"   ":   "",
		"a b  ": "a b",
		"a\t ":  "a\t",
	} {
		if got := trimTrailingSpaces(in); got != want {
			t.Errorf("trimTrailingSpaces(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWildmatch(t *testing.T) {
	// A few cases from git's t3070-wildmatch, in WM_PATHNAME mode.
	cases := []struct {
		pat, text string
		want      bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"", "", true},
		{"???", "foo", true},
		{"??", "foo", false},
		{"*", "foo", true},
		{"f*", "foo", true},
		{"*f", "foo", false},
		{"*foo*", "foo", true},
		{"*ob*a*r*", "foobar", true},
		{"*ab", "aaaaaaabababab", true},
		{"foo\\*", "foo*", true},
		{"foo\\*bar", "foobar", false},
		{"f\\\\oo", "f\\oo", true},
		{"*[al]?", "ball", true},
		{"[ten]", "ten", false},
		{"**[!te]", "ten", true},
		{"**[!ten]", "ten", false},
		{"t[a-g]n", "ten", true},
		{"t[!a-g]n", "ten", false},
		{"t[!a-g]n", "ton", true},
		{"t[^a-g]n", "ton", true},
		{"a[]]b", "a]b", true},
		{"a[]-]b", "a-b", true},
		{"a[]-]b", "a]b", true},
		{"a[]-]b", "aab", false},
		{"a[]a-]b", "aab", true},
		{"]", "]", true},
		{"foo*bar", "foo/baz/bar", false},
		{"foo**bar", "foo/baz/bar", false},
		{"foo?bar", "foo/bar", false},
		{"foo[/]bar", "foo/bar", false},
		{"foo[^a-z]bar", "foo/bar", false},
		{"f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", true},
		{"**/foo", "foo", true},
		{"**/foo", "XXX/foo", true},
		{"**/foo", "bar/baz/foo", true},
		{"*/foo", "bar/baz/foo", false},
		{"**/bar*", "foo/bar/baz", false},
		{"**/bar/*", "deep/foo/bar/baz", true},
		{"**/bar/*", "deep/foo/bar/baz/", false},
		{"**/bar/**", "deep/foo/bar/baz/", true},
		{"**/bar/*", "deep/foo/bar", false},
		{"**/bar/**", "deep/foo/bar/", true},
		{"*/bar/**", "foo/bar/baz/x", true},
		{"**/bar*/**", "deep/foo/bar/baz/x", true}, // checked with git check-ignore
		{"*/bar/**", "deep/foo/bar/baz/x", false},
		{"**/bar/*/*", "deep/foo/bar/baz/x", true},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "ab", false},
		{"[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true},
		{"[[:digit:][:upper:][:space:]]", "a", false},
		{"[[:digit:][:upper:][:space:]]", "A", true},
		{"[[:xdigit:]]", "f", true},
		{"[a-c[:digit:]x-z]", "5", true},
		{"[[:digit:]-z]", "-", true}, // a class cannot start a range
		{"[[:bogus:]]", "a", false},
		{"[abc", "[abc", false},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", true},
		{"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", false},
		{"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", true},
		{"**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", true},
		{"**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", false},
	}
	for _, c := range cases {
		if got := wildmatch(c.pat, c.text); got != c.want {
			t.Errorf("wildmatch(%q, %q) = %v, want %v", c.pat, c.text, got, c.want)
		}
	}
}
