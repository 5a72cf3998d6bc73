package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/adopipe/adopipe/internal/testgate"
)

// TestExamplesValidate loads every examples/*/ado.hcl. examples/remote
// builds from an ado checkout that `make ado-checkout` provides; without it
// the test skips, except in CI where the checkout is part of the set-up.
func TestExamplesValidate(t *testing.T) {
	files, _ := filepath.Glob("../examples/*/ado.hcl")
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			if _, err := os.Stat("../.cache/ado-checkout/pyproject.toml"); err != nil && filepath.Base(filepath.Dir(file)) == "remote" {
				testgate.Missing(t, "no ado checkout at .cache/ado-checkout: run make ado-checkout")
			}
			_, diags := NewParser().Load(file, LoadOptions{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
		})
	}
}
