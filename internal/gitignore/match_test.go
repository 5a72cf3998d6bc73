package gitignore

import "strings"

// Match reports whether rel (slash-separated, relative to the root) is
// ignored, including because one of its parent directories is: what a walk
// through DirMatcher decides, one path at a time, for comparing with git.
// The .gitignore files of rel's parent directories must have been added.
func (m *Matcher) Match(rel string, isDir bool) bool {
	rel = cleanRel(rel)
	if rel == "" {
		return false
	}
	// Parent directories first: an excluded parent excludes everything.
	for i := 0; i <= len(rel); i++ {
		if i < len(rel) && rel[i] != '/' {
			continue
		}
		entry := rel[:i]
		slash := strings.LastIndexByte(entry, '/')
		dir := ""
		if slash >= 0 {
			dir = entry[:slash]
		}
		if m.Dir(dir).MatchEntry(entry, entry[slash+1:], i < len(rel) || isDir) {
			return true
		}
	}
	return false
}
