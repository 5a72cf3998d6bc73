package planner

import (
	"slices"
	"sort"

	"github.com/adopipe/adopipe/manifest"
)

// WatchPaths lists what a plan of the named operations (all when none) is
// built from, for watch to watch: the source tree of every source-built
// wheel (with the excludes its fingerprint uses), the manifest and the
// variable files it was loaded with, and every staged file. Names the
// manifest does not declare are skipped: planning reports them.
func WatchPaths(cfg *manifest.Config, names []string, varFiles []string) (trees []manifest.Source, files []string) {
	if len(names) == 0 {
		names = cfg.OperationNames()
	}
	var ops []*manifest.Operation
	for _, n := range names {
		if op, ok := cfg.Operations[n]; ok {
			ops = append(ops, op)
		}
	}
	for _, s := range wheelSources(cfg, ops) {
		trees = append(trees, s.src)
	}
	files = append([]string{cfg.File}, varFiles...)
	for _, op := range ops {
		for _, f := range stagedFiles(op) {
			files = append(files, f.Src)
		}
	}
	sort.Strings(files)
	return trees, slices.Compact(files)
}
