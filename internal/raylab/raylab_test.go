package raylab

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A worktree whose .venv and ado checkout live in the main checkout: all
// three are hidden (the venv is kept by Start on its own).
func TestCheckoutPaths(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	main, wt := filepath.Join(tmp, "main"), filepath.Join(tmp, "wt")
	for _, dir := range []string{filepath.Join(main, ".venv"), filepath.Join(main, ".cache", "ado-checkout"), filepath.Join(wt, ".cache")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(main, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(main, ".cache", "ado-checkout"), filepath.Join(wt, ".cache", "ado-checkout")); err != nil {
		t.Fatal(err)
	}
	got := CheckoutPaths(wt, filepath.Join(main, ".venv"))
	want := []string{wt, filepath.Join(main, ".cache", "ado-checkout"), main}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckoutPaths = %v, want %v", got, want)
	}
	// A venv outside any checkout: its directory stays visible.
	if got := CheckoutPaths(main, filepath.Join(tmp, "venvs", "x")); !reflect.DeepEqual(got, []string{main, filepath.Join(main, ".cache", "ado-checkout")}) {
		t.Errorf("CheckoutPaths with an outside venv = %v", got)
	}
}
