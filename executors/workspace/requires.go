package workspace

import (
	"encoding/json"
	"os"

	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/internal/atomicfile"
)

// requiresSuffix names the file beside a cached wheel that keeps the
// wheel's Requires-Dist. A plan that reaches its cluster checks every
// cached wheel's requirements against the cluster's Ray; reading them from
// the wheel parses its whole zip directory (a wheel of 5,000 files: 400 KB
// of it), on every plan. Cache entries never change once stored (a new
// wheel for a fingerprint replaces the whole entry directory, sidecar
// included), so the first read is kept.
const requiresSuffix = ".requires.json"

// wheelRequires returns the Requires-Dist of the cached wheel at path,
// from its sidecar when there is a valid one, else from the wheel (then
// it writes the sidecar, best effort). Nil when the wheel cannot be read:
// apply verifies the wheel and says what is wrong.
func wheelRequires(path string) []string {
	side := path + requiresSuffix
	if b, err := os.ReadFile(side); err == nil {
		var req struct{ RequiresDist []string }
		if json.Unmarshal(b, &req) == nil && req.RequiresDist != nil {
			return req.RequiresDist
		}
	}
	info, err := wheelbuild.InspectWheel(path)
	if err != nil {
		return nil
	}
	req := info.RequiresDist
	if req == nil {
		req = []string{}
	}
	if b, err := json.Marshal(struct{ RequiresDist []string }{req}); err == nil {
		_ = atomicfile.Write(side, b, atomicfile.Options{Perm: 0o600})
	}
	return req
}
