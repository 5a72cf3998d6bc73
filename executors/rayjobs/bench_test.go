package rayjobs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(root, rel, content string) error {
	full := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, []byte(content), 0o644)
}

// benchTree is a working dir of 300 small files and one 8 MiB wheel.
func benchTree(b *testing.B) string {
	files := map[string]string{".gitignore": "*.log\nbuild/\n", "wheels/x/big.whl": strings.Repeat("w", 8<<20)}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("pkg%d/mod%d.py", i%10, i)] = strings.Repeat("x = 1\n", 50)
	}
	return writeTreeB(b, files)
}

func writeTreeB(b *testing.B, files map[string]string) string {
	b.Helper()
	root := b.TempDir()
	for p, c := range files {
		if err := writeFile(root, p, c); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

func BenchmarkPackageName(b *testing.B) {
	root := benchTree(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := PackageName(root, WorkingDirExcludes(nil)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteZip(b *testing.B) {
	root := benchTree(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteZip(io.Discard, root, WorkingDirExcludes(nil)); err != nil {
			b.Fatal(err)
		}
	}
}
