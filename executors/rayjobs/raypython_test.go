package rayjobs_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/internal/testgate"
)

// rayPythonOutput runs cmd, a python (py) script that imports ray, and
// returns its stdout. A python without ray is a missing part (testgate);
// any other failure fails the test with the script's stderr.
func rayPythonOutput(t *testing.T, py string, cmd *exec.Cmd) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'ray'") {
			testgate.Missing(t, "ray is not installed for %s", py)
		}
		t.Fatalf("%s: %v\n%s", py, err, stderr.String())
	}
	return out
}
