package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := Create(file, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Create(file, []byte("two"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Create: err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "one" {
		t.Fatalf("content = %q, want the first", b)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", fi.Mode())
	}
	if err := Replace(file, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "three" {
		t.Fatalf("content = %q after Replace", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
