// Package testfiles builds file trees for tests.
package testfiles

import (
	"archive/zip"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Write creates files (slash-separated path -> content) under a new temp
// dir and returns it.
func Write(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	WriteTo(t, dir, files)
	return dir
}

// WriteTo creates files (slash-separated path -> content) under dir,
// replacing those that exist.
func WriteTo(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Read returns the content of the file at path.
func Read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Copy copies the tree at src into a new temp dir, leaving out
// __pycache__ and the paths (relative to src) in skip.
func Copy(t testing.TB, src string, skip ...string) string {
	t.Helper()
	dst := t.TempDir()
	CopyTo(t, src, dst, skip...)
	return dst
}

// CopyTo copies the tree at src to dst (made if missing), leaving out
// __pycache__ and the paths (relative to src) in skip.
func CopyTo(t testing.TB, src, dst string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if slices.Contains(skip, filepath.ToSlash(rel)) || d.Name() == "__pycache__" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// RequiresWheel writes at path a minimal wheel of distribution plug 0.1
// (its METADATA and RECORD) whose Requires-Dist are requires.
func RequiresWheel(t testing.TB, path string, requires ...string) {
	t.Helper()
	meta := "Metadata-Version: 2.1\nName: plug\nVersion: 0.1\n"
	for _, r := range requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	Wheel(t, path, "plug-0.1.dist-info", []Member{{Name: "plug-0.1.dist-info/METADATA", Content: meta, Method: zip.Deflate}})
}
