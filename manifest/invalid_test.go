package manifest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestInvalidFiles loads every manifest in testdata/invalid and checks that
// each line marked "# ERROR: <text>" gets an error diagnostic whose summary
// or detail contains <text>, and that no error lands on an unmarked line.
func TestInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("../testdata/invalid/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("want at least 25 invalid manifests, found %d", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := errorMarkers(t, file)
			if len(want) == 0 {
				t.Fatalf("%s has no # ERROR: marker", file)
			}
			_, diags := NewParser().Load(file, LoadOptions{Environ: []string{}})
			got := map[int][]*hcl.Diagnostic{}
			for _, d := range diags {
				if d.Severity != hcl.DiagError {
					continue
				}
				if d.Subject == nil {
					t.Errorf("error without a source range: %s: %s", d.Summary, d.Detail)
					continue
				}
				if d.Subject.Filename != file {
					t.Errorf("diagnostic names %q, want %q", d.Subject.Filename, file)
				}
				got[d.Subject.Start.Line] = append(got[d.Subject.Start.Line], d)
			}
			for line, text := range want {
				found := false
				for _, d := range got[line] {
					if strings.Contains(d.Summary, text) || strings.Contains(d.Detail, text) {
						found = true
					}
				}
				if !found {
					t.Errorf("line %d: want an error containing %q; got %s", line, text, describe(diags))
				}
			}
			for line, ds := range got {
				if _, ok := want[line]; !ok {
					t.Errorf("unexpected error on line %d: %s", line, describe(ds))
				}
			}
		})
	}
}

func errorMarkers(t *testing.T, file string) map[int]string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, text, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
			want[n] = strings.TrimSpace(text)
		}
	}
	return want
}

func describe(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("\n  ")
		if d.Subject != nil {
			b.WriteString(d.Subject.String() + ": ")
		}
		b.WriteString(d.Summary + "; " + d.Detail)
	}
	if b.Len() == 0 {
		return "no diagnostics"
	}
	return b.String()
}
