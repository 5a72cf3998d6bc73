package fingerprint

import (
	"os"
	"path/filepath"
	"testing"
)

// Filter must agree with Fingerprint: every file Fingerprint lists is not
// ignored, and every other file of the tree is.
func TestFilterAgreesWithFingerprint(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	r := fp(t, root, Options{Exclude: []string{"scripts/"}})
	visible := map[string]bool{}
	for _, f := range r.Files {
		visible[f.Path] = true
	}
	f, err := NewFilter(root, []string{"scripts/"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		n++
		if got := f.Ignored(p, false); got == visible[rel] {
			t.Errorf("Ignored(%s) = %v, but Fingerprint lists it: %v", rel, got, visible[rel])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n <= len(visible) {
		t.Fatalf("tree has %d files, %d visible: nothing ignored to check", n, len(visible))
	}
	for _, c := range []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"src/p/new.py", false, false}, // a new file
		{filepath.Join(root, "src/p/a.py"), false, false},
		{"src/p/__pycache__", true, true},
		{"src/p/__pycache__/x.pyc", false, true},
		{".git/index.lock", false, true},
		{"env2", true, true},
		{"newenv/pyvenv.cfg", false, true},
		{"..", true, true},
		{filepath.Join(filepath.Dir(root), "elsewhere.py"), false, true},
		{".", true, false},
		{"scripts/x.sh", false, true},
	} {
		if got := f.Ignored(c.path, c.isDir); got != c.want {
			t.Errorf("Ignored(%q, %v) = %v, want %v", c.path, c.isDir, got, c.want)
		}
	}
	// A .gitignore edit takes effect at once.
	if err := os.WriteFile(filepath.Join(root, "src/.gitignore"), []byte("*.py\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !f.Ignored("src/p/a.py", false) {
		t.Error("new .gitignore not applied")
	}
}
