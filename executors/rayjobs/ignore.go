package rayjobs

// This file reproduces how Ray decides which paths of a working_dir it skips.
//
// Ray does not use git's ignore semantics. It compiles every ignore file (and
// the runtime_env "excludes" list) separately with the "gitwildmatch" patterns
// of the pathspec library it vendors (version 0.8.1, under
// ray/_private/thirdparty/pathspec), and a path is skipped when ANY of the
// active specs matches it. Consequences that differ from git, and that we
// reproduce on purpose:
//   - a negation ("!keep.txt") only re-includes within the same file: it cannot
//     undo a match made by a parent directory's .gitignore;
//   - paths are matched without a trailing slash, so "build/" does not match
//     the directory "build" itself but does match everything below it;
//   - a directory's own ignore files are applied to the directory itself,
//     whose path relative to them is ".": a ".*" line in dir/.gitignore skips
//     dir entirely.
// The planner has its own git-like matcher (internal/gitignore); it is not used
// here because these semantics are Ray's, not git's.

import (
	"fmt"
	"regexp"
	"strings"
)

// wildPattern is one compiled gitwildmatch line.
type wildPattern struct {
	re      *regexp.Regexp
	include bool // true: a match excludes the path; false: a negation
}

// pathSpec is an ordered list of patterns; the last matching pattern decides.
type pathSpec []wildPattern

// compilePathSpec compiles lines the way pathspec 0.8.1's
// PathSpec.from_lines("gitwildmatch", lines) does. Lines are stripped of
// surrounding whitespace; blank lines and comments are no-ops.
func compilePathSpec(lines []string) (pathSpec, error) {
	var spec pathSpec
	for _, line := range lines {
		if line == "" {
			continue
		}
		expr, include, ok := gitWildMatchRegex(line)
		if !ok {
			continue
		}
		if expr == "" {
			// pathspec 0.8.1 raises IndexError on a line that is only "!"
			// or "\\", so Ray cannot package a directory holding one.
			return nil, fmt.Errorf("ignore pattern %q: Ray's pathspec cannot compile it (IndexError); remove the line", strings.TrimSpace(line))
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("ignore pattern %q: %v", strings.TrimSpace(line), err)
		}
		spec = append(spec, wildPattern{re: re, include: include})
	}
	return spec, nil
}

// match reports whether the normalized relative path is matched by the spec
// (pathspec's util.match_file: the last matching pattern wins).
func (s pathSpec) match(rel string) bool {
	rel = strings.TrimPrefix(rel, "./")
	matched := false
	for _, p := range s {
		if p.re.MatchString(rel) {
			matched = p.include
		}
	}
	return matched
}

// pyStrip mirrors Python's str.strip() with no argument, which removes the
// characters str.isspace() accepts at both ends.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0,
			0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
			return true
		}
		return r >= 0x2000 && r <= 0x200a
	})
}

// gitWildMatchRegex translates one pattern line into a regular expression,
// following GitWildMatchPattern.pattern_to_regex of pathspec 0.8.1 step by
// step. ok is false for no-op lines (blank, comment, a lone "/").
func gitWildMatchRegex(pattern string) (expr string, include bool, ok bool) {
	pattern = pyStrip(pattern)
	if pattern == "" || strings.HasPrefix(pattern, "#") || pattern == "/" {
		return "", false, false
	}
	include = true
	if strings.HasPrefix(pattern, "!") {
		include = false
		pattern = pattern[1:]
	}
	pattern = strings.TrimPrefix(pattern, `\`)
	segs := strings.Split(pattern, "/")
	if segs[0] == "" {
		// Anchored to the spec's directory.
		segs = segs[1:]
		if len(segs) == 0 {
			return "", include, true // Ray fails on this line; see compilePathSpec
		}
	} else if len(segs) == 1 || (len(segs) == 2 && segs[1] == "") {
		// A single name matches at any depth: "**/name".
		if segs[0] != "**" {
			segs = append([]string{"**"}, segs...)
		}
	}
	if len(segs) > 1 && segs[len(segs)-1] == "" {
		segs[len(segs)-1] = "**"
	}

	var b strings.Builder
	b.WriteString("^")
	needSlash := false
	end := len(segs) - 1
	for i, seg := range segs {
		switch {
		case seg == "**":
			switch {
			case i == 0 && i == end:
				b.WriteString(".+")
			case i == 0:
				b.WriteString("(?:.+/)?")
				needSlash = false
			case i == end:
				b.WriteString("/.*")
			default:
				b.WriteString("(?:/.+)?")
				needSlash = true
			}
		case seg == "*":
			if needSlash {
				b.WriteString("/")
			}
			b.WriteString("[^/]+")
			needSlash = true
		default:
			if needSlash {
				b.WriteString("/")
			}
			b.WriteString(translateSegmentGlob(seg))
			if i == end && include {
				b.WriteString("(?:/.*)?")
			}
			needSlash = true
		}
	}
	// Python's '$' also matches before a final newline; Go's only at the
	// very end, so spell out the optional newline.
	b.WriteString(`\n?$`)
	return b.String(), include, true
}

// translateSegmentGlob mirrors GitWildMatchPattern._translate_segment_glob.
func translateSegmentGlob(pattern string) string {
	p := []rune(pattern)
	var b strings.Builder
	escape := false
	i, end := 0, len(p)
	for i < end {
		c := p[i]
		i++
		switch {
		case escape:
			escape = false
			b.WriteString(regexp.QuoteMeta(string(c)))
		case c == '\\':
			escape = true
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := i
			if j < end && p[j] == '!' {
				j++
			}
			if j < end && p[j] == ']' {
				j++
			}
			for j < end && p[j] != ']' {
				j++
			}
			if j < end {
				j++
				expr := "["
				if p[i] == '!' {
					expr += "^"
					i++
				} else if p[i] == '^' {
					expr += `\^`
					i++
				}
				// Python's re reads a '[' inside a set as itself, where
				// Go's regexp would start a POSIX class ("[[:digit:]]"):
				// escape it so both read the same set.
				content := strings.ReplaceAll(string(p[i:j]), `\`, `\\`)
				expr += strings.ReplaceAll(content, "[", `\[`)
				b.WriteString(expr)
				i = j
			} else {
				b.WriteString(`\[`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}
