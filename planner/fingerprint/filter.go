package fingerprint

import (
	"os"
	"path/filepath"
	"strings"
)

// Filter tells a file watcher whether a changed path can matter to a
// source's fingerprint, by the same rules Fingerprint applies (fixed
// ignores, virtualenvs, .gitignore files, Exclude). It reads the ignore
// files on every call, so edits to a .gitignore take effect at once; it
// is meant for event-rate use, not for walking trees.
type Filter struct {
	root    string // absolute
	exclude []string
}

// NewFilter returns a Filter for the source at root.
func NewFilter(root string, exclude []string) (*Filter, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	return &Filter{root: abs, exclude: exclude}, nil
}

// Ignored reports whether path (absolute, or relative to the root) is
// invisible to Fingerprint: outside the root, ignored itself, or inside an
// ignored directory. isDir says whether path is a directory (pass false
// for a path that no longer exists). A change to a path that is not
// ignored may still leave the fingerprint unchanged; re-fingerprinting
// decides.
func (f *Filter) Ignored(path string, isDir bool) bool {
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(f.root, path)
	}
	rel, err := filepath.Rel(f.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return true
	}
	if rel == "." {
		return false
	}
	rel = filepath.ToSlash(rel)
	w := &walker{}
	if err := w.parentIgnores(f.root, f.exclude); err != nil {
		return false
	}
	parts := strings.Split(rel, "/")
	dirAbs, dirRel := f.root, ""
	for i, name := range parts {
		last := i == len(parts)-1
		// Read the ignore file of the directory holding this component.
		mrel := w.prefix + dirRel
		if dirRel == "" {
			mrel = strings.TrimSuffix(w.prefix, "/")
		}
		if b, err := readRegular(filepath.Join(dirAbs, ".gitignore")); err == nil {
			w.m.AddFile(mrel, b)
		}
		compIsDir := isDir || !last
		crel := joinRel(dirRel, name)
		if alwaysIgnored(name, compIsDir) || w.m.Dir(mrel).MatchEntry(w.prefix+crel, name, compIsDir) {
			return true
		}
		dirAbs = filepath.Join(dirAbs, name)
		dirRel = crel
		if compIsDir && skippedByContent(dirAbs, name) {
			return true
		}
		if last && filepath.Base(abs) == "pyvenv.cfg" {
			// Creating pyvenv.cfg turns its directory into a virtualenv.
			return true
		}
	}
	return false
}

// skippedByContent is skipDirByContent for a directory on disk, looking
// up only the names that matter.
func skippedByContent(dir, name string) bool {
	if _, err := os.Lstat(filepath.Join(dir, "pyvenv.cfg")); err == nil {
		return true
	}
	if name == "dist" || name == "build" {
		_, err := os.Lstat(filepath.Join(dir, "__init__.py"))
		return err != nil
	}
	return false
}

func readRegular(p string) ([]byte, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(p)
}
