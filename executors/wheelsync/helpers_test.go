package wheelsync

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

// member is one file of a test wheel.
type member struct {
	name, content string
	method        uint16
}

// writeWheel writes a wheel the way setuptools' bdist_wheel does.
func writeWheel(t *testing.T, path, distInfo string, members []member) {
	t.Helper()
	var ms []testfiles.Member
	for _, m := range members {
		ms = append(ms, testfiles.Member{Name: m.name, Content: m.content, Method: m.method})
	}
	testfiles.Wheel(t, path, distInfo, ms)
}

var recordLine = testfiles.RecordLine

// quickWheel is a small setuptools-like wheel of package pkg.
func quickWheel(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "quick-0.1.0-py3-none-any.whl")
	writeWheel(t, path, "quick-0.1.0.dist-info", []member{
		{"pkg/__init__.py", "", zip.Deflate},
		{"pkg/mod.py", "X = 1\n", zip.Deflate},
		{"pkg/data.txt", "stored\n", zip.Store},
		{"quick-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: quick\nVersion: 0.1.0\n\n", zip.Deflate},
		{"quick-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", zip.Deflate},
	})
	return path
}

// readWheel returns each member's content, by name, in the zip's order.
func readWheel(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	content := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open() // checks the CRC as it reads
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		content[f.Name] = b
	}
	return names, content
}

// checkRecord verifies that RECORD lists every other member exactly once
// with its true hash and size.
func checkRecord(t *testing.T, names []string, content map[string][]byte) {
	t.Helper()
	var recName string
	for _, n := range names {
		if strings.HasSuffix(n, ".dist-info/RECORD") {
			recName = n
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(content[recName])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range rows {
		listed[r[0]] = true
		if r[0] == recName {
			continue
		}
		b, ok := content[r[0]]
		if !ok {
			t.Errorf("RECORD lists %s, not in the wheel", r[0])
			continue
		}
		if want := recordLine(r[0], b); strings.Join(r, ",")+"\n" != want {
			t.Errorf("RECORD line %q, want %q", strings.Join(r, ","), want)
		}
	}
	for _, n := range names {
		if !listed[n] {
			t.Errorf("RECORD does not list %s", n)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	testfiles.WriteTo(t, dir, files)
}
