package gitignore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// WalkFunc is called by Walk for every entry that is not ignored. rel is
// slash-separated and relative to the root. Returning fs.SkipDir for a
// directory skips it; any other error stops the walk.
type WalkFunc func(rel string, d fs.DirEntry) error

// Walk walks the tree at root in lexical order, reading each directory's
// ignore files (see Options.IgnoreFiles) into m before looking at its
// entries, and calls fn for every entry m does not ignore. It never
// descends into ignored directories and never follows symbolic links.
// The root itself is not passed to fn.
func Walk(root string, m *Matcher, fn WalkFunc) error {
	return m.walkDir(root, "", fn)
}

func (m *Matcher) walkDir(abs, rel string, fn WalkFunc) error {
	ents, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	if err := m.LoadDir(abs, rel, ents); err != nil {
		return err
	}
	dm := m.Dir(rel)
	for _, d := range ents {
		crel := d.Name()
		if rel != "" {
			crel = rel + "/" + crel
		}
		isDir := d.IsDir()
		if dm.MatchEntry(crel, d.Name(), isDir) {
			continue
		}
		err := fn(crel, d)
		if isDir {
			if errors.Is(err, fs.SkipDir) {
				continue
			}
			if err != nil {
				return err
			}
			if err := m.walkDir(filepath.Join(abs, d.Name()), crel, fn); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// LoadDir reads the ignore files present among ents (the listing of the
// directory abs, whose path relative to the root is rel) into m. A walker
// that lists directories itself calls it before matching their entries.
// An ignore file that is not a regular file (e.g. a symlink) is skipped,
// as git does.
func (m *Matcher) LoadDir(abs, rel string, ents []fs.DirEntry) error {
	for _, name := range m.ignoreFiles {
		for _, d := range ents {
			if d.Name() != name {
				continue
			}
			if !d.Type().IsRegular() {
				break
			}
			b, err := os.ReadFile(filepath.Join(abs, name))
			if err != nil {
				return err
			}
			m.AddFile(rel, b)
			break
		}
	}
	return nil
}
