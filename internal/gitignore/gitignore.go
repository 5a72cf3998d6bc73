// Package gitignore implements .gitignore semantics, as git itself applies
// them, for walking a source tree.
//
// A Matcher holds patterns from .gitignore files at any level of a tree
// (each relative to the directory holding it), extra patterns from the
// manifest (gitignore syntax, relative to the root, taking precedence over
// every .gitignore file) and fixed "always" patterns that cannot be
// re-included by a negation. Paths given to the Matcher are slash-separated
// and relative to the root, without a leading "./" or "/".
//
// Precedence follows git: within one list the last matching pattern wins;
// a deeper .gitignore wins over a shallower one; a path whose parent
// directory is excluded is excluded whatever its own patterns say.
//
// A Matcher is safe for concurrent use, so a parallel walk may add
// .gitignore files while other goroutines match.
package gitignore

import (
	"bytes"
	"path"
	"strings"
	"sync"
)

// pattern is one compiled line of a .gitignore file.
type pattern struct {
	text     string // glob, without the leading '!', leading '/' or trailing '/'
	negate   bool
	dirOnly  bool   // trailing '/'
	basename bool   // no '/' in the pattern: matches the last path component at any depth
	literal  bool   // no glob characters: compare with ==
	suffix   string // for "*literal" basename patterns: match by suffix
}

// list is the patterns of one .gitignore file (or of the manifest).
type list struct {
	base     string // directory of the file, relative to the root; "" for the root
	patterns []pattern
}

// Options configures a Matcher.
type Options struct {
	// Exclude holds extra patterns in gitignore syntax relative to the
	// root (e.g. the manifest's exclude). They take precedence over
	// every .gitignore file, and may use '!' to re-include a path a
	// .gitignore excludes (not one whose parent directory is excluded).
	Exclude []string
	// Always holds patterns (gitignore syntax, relative to the root) that
	// are checked before anything else and cannot be negated. A leading
	// '!' is not allowed here and is treated literally.
	Always []string
	// IgnoreFiles names the per-directory ignore files Walk reads, in
	// order of increasing precedence. Default: [".gitignore"].
	IgnoreFiles []string
	// Base is the directory, relative to the matcher's root, that
	// Exclude and Always patterns are relative to ("" = the root). It is
	// set when the matcher's root is a parent of the source root, so as
	// to apply the .gitignore files above a source inside a repository.
	Base string
}

// Matcher decides whether paths are ignored. The zero value is not
// usable; call New.
type Matcher struct {
	always      list
	extra       list
	ignoreFiles []string

	mu    sync.RWMutex
	files map[string]*list // dir rel path -> patterns of dir/.gitignore
}

// New returns a Matcher with the given extra and always patterns and no
// .gitignore files yet.
func New(opts Options) *Matcher {
	m := &Matcher{files: map[string]*list{}, ignoreFiles: opts.IgnoreFiles}
	if len(m.ignoreFiles) == 0 {
		m.ignoreFiles = []string{".gitignore"}
	}
	base := cleanRel(opts.Base)
	m.extra = list{base: base, patterns: parseLines(opts.Exclude)}
	m.always.base = base
	for _, l := range opts.Always {
		l = trimTrailingSpaces(l)
		if l == "" || l[0] == '#' {
			continue
		}
		if l[0] == '!' {
			l = `\` + l
		}
		if p, ok := parsePattern(l); ok {
			m.always.patterns = append(m.always.patterns, p)
		}
	}
	return m
}

// AddFile adds the patterns of the .gitignore file found in directory
// dirRel ("" or "." for the root). Adding a second file for the same
// directory appends its patterns after the first (as if concatenated).
func (m *Matcher) AddFile(dirRel string, content []byte) {
	ps := parse(content)
	if len(ps) == 0 {
		return
	}
	dirRel = cleanRel(dirRel)
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.files[dirRel]; l != nil {
		l.patterns = append(l.patterns, ps...)
		return
	}
	m.files[dirRel] = &list{base: dirRel, patterns: ps}
}

// parse parses the content of a .gitignore file the way git does: lines
// split on LF (a CR before the LF is dropped), a leading UTF-8 BOM
// skipped, '#' comments and blank lines dropped, unescaped trailing spaces
// trimmed.
func parse(content []byte) []pattern {
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	var out []pattern
	for len(content) > 0 {
		var line []byte
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
			line = bytes.TrimSuffix(line, []byte("\r"))
		} else {
			line, content = content, nil
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if p, ok := parsePattern(trimTrailingSpaces(string(line))); ok {
			out = append(out, p)
		}
	}
	return out
}

func parseLines(lines []string) []pattern {
	var out []pattern
	for _, l := range lines {
		if l == "" || l[0] == '#' {
			continue
		}
		if p, ok := parsePattern(trimTrailingSpaces(l)); ok {
			out = append(out, p)
		}
	}
	return out
}

// trimTrailingSpaces drops trailing ' ' characters unless escaped with a
// backslash, as git does.
func trimTrailingSpaces(s string) string {
	end := len(s)
	lastNonSpace := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
		case '\\':
			i++ // the escaped character is kept, whatever it is
			lastNonSpace = i
		default:
			lastNonSpace = i
		}
	}
	if lastNonSpace+1 < end {
		end = lastNonSpace + 1
	}
	if end > len(s) {
		end = len(s)
	}
	return s[:end]
}

func parsePattern(s string) (pattern, bool) {
	var p pattern
	if strings.HasPrefix(s, "!") {
		p.negate = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") {
		p.dirOnly = true
		s = s[:len(s)-1]
	}
	if s == "" {
		return p, false
	}
	if !strings.Contains(s, "/") {
		p.basename = true
	} else {
		// A leading slash only anchors; a pattern with a middle slash is
		// anchored anyway.
		s = strings.TrimPrefix(s, "/")
		if s == "" {
			return p, false
		}
	}
	p.text = s
	p.literal = !strings.ContainsAny(s, `*?[\`)
	if p.basename && len(s) > 1 && s[0] == '*' && !strings.ContainsAny(s[1:], `*?[\`) {
		p.suffix = s[1:]
	}
	return p, true
}

// matches reports whether p matches the path rel (relative to the root),
// whose last component is name, for a list based at base.
func (p *pattern) matches(base, rel, name string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if p.basename {
		switch {
		case p.literal:
			return name == p.text
		case p.suffix != "":
			return strings.HasSuffix(name, p.suffix)
		}
		return wildmatch(p.text, name)
	}
	sub := rel
	if base != "" {
		if len(rel) <= len(base) || rel[len(base)] != '/' || rel[:len(base)] != base {
			return false
		}
		sub = rel[len(base)+1:]
	}
	if p.literal {
		return sub == p.text
	}
	return wildmatch(p.text, sub)
}

// lastMatch returns the last pattern of l matching, or nil.
func (l *list) lastMatch(rel, name string, isDir bool) *pattern {
	for i := len(l.patterns) - 1; i >= 0; i-- {
		p := &l.patterns[i]
		if p.matches(l.base, rel, name, isDir) {
			return p
		}
	}
	return nil
}

// DirMatcher matches the entries of one directory. It snapshots the
// .gitignore files that apply to the directory (its own and its
// parents'), so those must have been added before calling Matcher.Dir.
type DirMatcher struct {
	m     *Matcher
	lists []*list // deepest first
}

// Dir returns a DirMatcher for the entries of directory dirRel ("" for
// the root). A walker calls it once per directory, after LoadDir, so
// matching an entry costs no map lookups.
func (m *Matcher) Dir(dirRel string) DirMatcher {
	dirRel = cleanRel(dirRel)
	d := DirMatcher{m: m}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for dir := dirRel; ; {
		if l := m.files[dir]; l != nil {
			d.lists = append(d.lists, l)
		}
		if dir == "" {
			break
		}
		if i := strings.LastIndexByte(dir, '/'); i >= 0 {
			dir = dir[:i]
		} else {
			dir = ""
		}
	}
	return d
}

// MatchEntry reports whether rel, an entry of d's directory whose last
// component is name, is ignored by its own name: its parent directories
// are taken as not ignored (a walk does not descend into ignored ones).
func (d DirMatcher) MatchEntry(rel, name string, isDir bool) bool {
	m := d.m
	if len(m.always.patterns) > 0 && m.always.lastMatch(rel, name, isDir) != nil {
		return true
	}
	if len(m.extra.patterns) > 0 {
		if p := m.extra.lastMatch(rel, name, isDir); p != nil {
			return !p.negate
		}
	}
	for _, l := range d.lists {
		if p := l.lastMatch(rel, name, isDir); p != nil {
			return !p.negate
		}
	}
	return false
}

func cleanRel(rel string) string {
	if rel == "" || rel == "." {
		return ""
	}
	rel = path.Clean(strings.TrimPrefix(rel, "./"))
	rel = strings.TrimPrefix(rel, "/")
	if rel == "." {
		return ""
	}
	return rel
}
