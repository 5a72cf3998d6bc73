package workspace

import (
	"os"
	"runtime/debug"
)

// planGCPercent and planMemoryLimit tune the collector while a plan is
// computed. A plan allocates in one burst (directory listings, stat-cache
// entries, one record per file) and most of it lives until the plan is
// made, so the default (collect each time the heap doubles) spends ~20% of
// a no-op plan collecting (GOGC=off measured 1.21x faster). Collecting
// only at 5x the live heap, but as soon as the runtime's memory nears
// planMemoryLimit, keeps that gain on small trees and holds a 100,000-file
// plan under the 60 MB of issue 15; a plan whose live data alone exceeds
// the limit just collects more often (the runtime bounds that to half the
// CPU).
const (
	planGCPercent   = 400
	planMemoryLimit = 40 << 20
)

// tuneGCForPlan applies the plan's settings and returns what restores the
// previous ones. GOGC or GOMEMLIMIT in the environment is the user's
// choice: then nothing is changed.
func tuneGCForPlan() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(planGCPercent)
	limit := debug.SetMemoryLimit(planMemoryLimit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}
