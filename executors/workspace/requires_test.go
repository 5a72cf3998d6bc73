package workspace

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

// The first read keeps the requirements beside the wheel; later reads take
// them from there without opening the wheel. A damaged sidecar is read
// past, from the wheel.
func TestWheelRequiresSidecar(t *testing.T) {
	dir := t.TempDir()
	wheel := filepath.Join(dir, "plug-0.1-py3-none-any.whl")
	testfiles.RequiresWheel(t, wheel, "ray<2.50", "numpy")
	want := []string{"ray<2.50", "numpy"}
	if got := wheelRequires(wheel); !reflect.DeepEqual(got, want) {
		t.Fatalf("first read: %q", got)
	}
	if _, err := os.Stat(wheel + requiresSuffix); err != nil {
		t.Fatalf("no sidecar: %v", err)
	}
	// The wheel is now unreadable: only the sidecar can answer.
	os.WriteFile(wheel, []byte("not a zip"), 0o600)
	if got := wheelRequires(wheel); !reflect.DeepEqual(got, want) {
		t.Fatalf("from the sidecar: %q", got)
	}
	// A damaged sidecar is not trusted: the wheel is read again.
	testfiles.RequiresWheel(t, wheel, "pandas")
	os.WriteFile(wheel+requiresSuffix, []byte("{garbage"), 0o600)
	if got := wheelRequires(wheel); !reflect.DeepEqual(got, []string{"pandas"}) {
		t.Fatalf("damaged sidecar: %q", got)
	}
	// No requirements at all is an answer too.
	none := filepath.Join(t.TempDir(), "plug-0.1-py3-none-any.whl")
	testfiles.RequiresWheel(t, none)
	if got := wheelRequires(none); got == nil || len(got) != 0 {
		t.Fatalf("no requirements: %#v", got)
	}
	os.WriteFile(none, []byte("not a zip"), 0o600)
	if got := wheelRequires(none); got == nil || len(got) != 0 {
		t.Fatalf("no requirements, from the sidecar: %#v", got)
	}
}
