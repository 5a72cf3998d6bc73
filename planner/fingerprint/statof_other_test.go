//go:build !linux

package fingerprint

import (
	"os"
	"testing"
)

// lstatInfo is what the walk records for path where it stats through
// os.File (file_os.go).
func lstatInfo(t *testing.T, path string) statInfo {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return statOf(fi)
}
