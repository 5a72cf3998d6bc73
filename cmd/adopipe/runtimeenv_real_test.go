package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// jobjson ID: writes job ID's details, as the Jobs API answers them, to
// stdout.
func cmdJobJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: jobjson ID")
	}
	ts.Stdout().Write(jobJSON(ts, args[0]))
}

func jobJSON(ts *testscript.TestScript, id string) []byte {
	addr := ts.Getenv("RAY_ADDRESS_FOR_TEST")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(addr + "/api/jobs/" + id)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET job %s: %s: %s", id, resp.Status, b)
	}
	return b
}

// rayEnvURI prints the pip or uv env a job's runtime_env maps to, computed
// by Ray's own runtime env plugins (the agent keys its env directories the
// same way).
const rayEnvURI = `import json, sys
from ray._private.runtime_env import pip, uv
renv = json.load(sys.stdin)["runtime_env"]
print(uv.get_uri(renv) or pip.get_uri(renv) or "")`

// jobenv ID VAR: sets VAR to the pip:// or uv:// env job ID ran in, as
// Ray's runtime env agent keys it, and checks that the node holds that env
// (runtime_resources/<pip|uv>/<hash> in the head's session). When VAR is
// set already, the job must have run in that same env (so it created
// none); with !, in another one.
func cmdJobEnv(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: [!] jobenv ID VAR")
	}
	cmd := exec.Command(ts.Getenv("ADOPIPE_PYTHON"), "-c", rayEnvURI)
	cmd.Stdin = bytes.NewReader(jobJSON(ts, args[0]))
	out, err := cmd.CombinedOutput()
	if err != nil {
		ts.Fatalf("computing the env of job %s: %v\n%s", args[0], err, out)
	}
	uri := strings.TrimSpace(string(out))
	kind, hash, ok := strings.Cut(uri, "://")
	if !ok {
		ts.Fatalf("job %s has no pip or uv env (got %q)", args[0], uri)
	}
	tmp := ts.Getenv("RAY_TEMP_DIR_FOR_TEST")
	if tmp == "" {
		ts.Fatalf("the test head's temp dir is unknown: set ADOPIPE_TEST_RAY_TEMP_DIR beside ADOPIPE_TEST_RAY_ADDRESS (scripts/with-ray-head does)")
	}
	dir := filepath.Join(tmp, "session_latest", "runtime_resources", kind, hash)
	if _, err := os.Stat(dir); err != nil {
		ts.Fatalf("job %s: env %s not on the node: %v", args[0], uri, err)
	}
	prev := ts.Getenv(args[1])
	switch {
	case prev == "" && neg:
		ts.Fatalf("! jobenv: %s is not set yet", args[1])
	case prev == "":
		ts.Setenv(args[1], uri)
	case neg && prev == uri:
		ts.Fatalf("job %s ran in env %s again, want a new env", args[0], uri)
	case !neg && prev != uri:
		ts.Fatalf("job %s ran in env %s, want %s (%s): the node created a new env", args[0], uri, prev, args[1])
	}
}
