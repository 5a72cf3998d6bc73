package manifest

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestSensitiveValues(t *testing.T) {
	dir := validTree(t, validManifest)
	cfg, diags := NewParser().Load(filepath.Join(dir, "ado.hcl"), LoadOptions{Environ: []string{},
		Vars: []VarSource{{Assignment: "team=blue"}},
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	// Every header value (X-Plain too: headers are all sensitive) and the
	// sensitive env value; never the plain env values.
	want := []string{"blue", "p", "s3cr3t"}
	if got := cfg.SensitiveValues(); !reflect.DeepEqual(got, want) {
		t.Errorf("SensitiveValues = %q, want %q", got, want)
	}
}
