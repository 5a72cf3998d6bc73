package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

// FuzzLoad feeds arbitrary manifests through the whole loader: it must
// report problems as diagnostics and never panic.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/invalid/*.hcl")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, false)
		}
	}
	f.Add([]byte(validManifest), false)
	f.Add([]byte(`{"cluster": {"dev": {"address": "http://127.0.0.1:8265"}}}`), true)
	dir := testfiles.Write(f, map[string]string{
		"plugins/mine/pyproject.toml": "[project]\nname='mine'\n",
		"ctx/context.yaml":            "project: p\n",
		"operation.yaml":              "spaces: [s]\n",
		"spaces/space.yaml":           "a: 1\n",
	})
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		name := "ado.hcl"
		if asJSON {
			name += ".json"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := NewParser().Load(p, LoadOptions{Environ: []string{}})
		if !diags.HasErrors() && cfg == nil {
			t.Fatal("no config and no error")
		}
	})
}
