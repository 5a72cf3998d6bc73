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
	// Each names where it is set, so a refused write can say what to look
	// at without the value.
	var values, places []string
	for _, s := range cfg.SensitiveValues() {
		values, places = append(values, s.Value), append(places, s.Where)
	}
	if want := []string{"blue", "p", "s3cr3t"}; !reflect.DeepEqual(values, want) {
		t.Errorf("SensitiveValues = %q, want %q", values, want)
	}
	if want := []string{`cluster "dev" header "X-Team"`, `cluster "dev" header "X-Plain"`, `env "SECRET"`}; !reflect.DeepEqual(places, want) {
		t.Errorf("SensitiveValues places = %q, want %q", places, want)
	}
}
