package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner/fingerprint"
	"golang.org/x/sync/errgroup"
)

// AdoWheel is the wheel step name of ado itself.
const AdoWheel = "ado"

// Planner computes plans. Its caches make a second plan of unchanged
// sources cost only stat calls.
type Planner struct {
	// WorkDir is the .adopipe directory: fingerprints/ and the stat cache
	// live under it.
	WorkDir string
	// WheelCached reports the cached wheel file for a fingerprint, if any.
	WheelCached func(fingerprint string) (fileName string, ok bool)
	// Workers bounds parallel hashing per source; 0 means GOMAXPROCS.
	Workers int
	// WheelRequires, when set, returns the Requires-Dist of the cached
	// wheel built from a fingerprint, for the Ray version check.
	WheelRequires func(fingerprint string) []string
	// SyncMap, when set, returns what the build of a fingerprint recorded
	// about its wheel's files, so an edit can be synced (see ActionSync).
	SyncMap func(fingerprint string) (SyncMap, bool)

	statCache *fingerprint.StatCache
	listings  []fingerprint.Listing // new fingerprints to keep for later diffs
	// keep lists the fingerprints whose listings a later plan may diff
	// against: the ones the state records as built, and the ones just
	// computed (they are recorded once built). Nil until a Plan.
	keep []string
}

// New returns a Planner working in workDir, loading its stat cache in
// the background (the first plan's walk runs meanwhile).
func New(workDir string, wheelCached func(string) (string, bool)) *Planner {
	return &Planner{
		WorkDir:     workDir,
		WheelCached: wheelCached,
		statCache:   fingerprint.LoadStatCacheAsync(StatCachePath(workDir)),
	}
}

// StatCachePath is where the stat cache is kept in workDir.
func StatCachePath(workDir string) string { return filepath.Join(workDir, "statcache") }

// FingerprintDir is where per-fingerprint file lists are kept in workDir.
func FingerprintDir(workDir string) string { return filepath.Join(workDir, "fingerprints") }

// Request is what to plan.
type Request struct {
	Config *manifest.Config
	State  *state.State
	// Operations selects operations by name; empty means all.
	Operations []string
	// Refreshed is what the executors learnt of the recorded jobs, by
	// operation, before planning (Terraform's refresh): a job lost with
	// its cluster is submitted again, and a status seen on the cluster is
	// newer than the recorded one. An operation missing here is planned
	// from the state alone.
	Refreshed map[string]JobRefresh
	// ClusterRay is the Ray version of each cluster the refresh reached,
	// by cluster name: the jobs' Ray requirements are checked against it,
	// and pin_ray pins it.
	ClusterRay map[string]string
	// Await, when set, is called once the sources are fingerprinted, and
	// what it returns replaces Refreshed and ClusterRay: the executors ask
	// the clusters while the planner reads the disk.
	Await func() (refreshed map[string]JobRefresh, clusterRay map[string]string)
	// Replace names operations whose recorded job is submitted again
	// under a new id even when its inputs did not change (Terraform's
	// -replace): the way to rerun a FAILED or STOPPED job.
	Replace []string
}

// JobRefresh is what a refresh learnt of an operation's recorded job.
type JobRefresh struct {
	// Status is the job's status on its cluster; empty when not asked.
	Status string
	// Lost says the job can no longer be on its cluster (its local head
	// stopped, or the cluster answered that it does not know the job);
	// Reason says how that is known.
	Lost   bool
	Reason string
}

// source is one wheel to build from a checkout.
type source struct {
	name string
	src  manifest.Source
}

// Plan fingerprints every source the selected operations use and decides
// what to build and submit.
func (p *Planner) Plan(ctx context.Context, req Request) (*Plan, error) {
	ops, err := selectOperations(req.Config, req.Operations)
	if err != nil {
		return nil, err
	}
	if err := checkReplace(req.Replace, ops); err != nil {
		return nil, err
	}
	sources := wheelSources(req.Config, ops)
	results := make([]fingerprint.Result, len(sources))
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range sources {
		g.Go(func() error {
			r, err := fingerprint.Fingerprint(gctx, s.src.Dir, fingerprint.Options{
				Exclude: s.src.Exclude,
				Cache:   p.statCache,
				Workers: p.Workers,
			})
			if err != nil {
				return fmt.Errorf("fingerprint %s (%s): %w", s.name, s.src.Dir, err)
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if req.Await != nil {
		req.Refreshed, req.ClusterRay = req.Await()
	}

	plan := &Plan{}
	fps := map[string]string{}
	for _, ps := range req.State.Plugins {
		p.keep = append(p.keep, ps.Fingerprint)
	}
	for i, s := range sources {
		step := p.wheelStep(s, results[i], req.State, req.Config.Build.Sync)
		plan.Wheels = append(plan.Wheels, step)
		fps[s.name] = step.Fingerprint
		// A listing is content-addressed: one already stored needs no
		// building (a map of every file) on a no-op plan.
		if _, err := os.Stat(fingerprint.ListingPath(FingerprintDir(p.WorkDir), step.Fingerprint)); err != nil {
			p.listings = append(p.listings, results[i].Listing())
		}
		p.keep = append(p.keep, step.Fingerprint)
	}
	for _, op := range ops {
		ray, known := req.ClusterRay[op.Cluster.Name]
		if !known {
			// A pin survives an unreachable cluster: the version the
			// last job ran on.
			ray = req.State.Operations[op.Name].RayVersion
		}
		spec, err := BuildSpec(req.Config, op, fps, ray)
		if err != nil {
			return nil, err
		}
		step := jobStep(req, op, spec, plan)
		if known {
			step.Warnings = RayWarnings(op.Cluster.Name, ray, spec.RayPin != "", spec.requirements(func(name string) []string {
				return p.cachedRequires(plan, name)
			}))
		}
		plan.Jobs = append(plan.Jobs, step)
	}
	plan.InputsDigest = plan.digest()
	return plan, nil
}

// SaveCaches keeps the stat cache and the file lists of the fingerprints
// just computed, so the next plan is fast and can name changed files, and
// removes the file lists no plan will diff against any more (those of
// fingerprints neither built per the state nor just computed), so
// .adopipe/fingerprints stays as small as the project. They are caches:
// losing them costs time, never correctness.
func (p *Planner) SaveCaches() error {
	dir := FingerprintDir(p.WorkDir)
	for _, m := range p.listings {
		if _, err := fingerprint.SaveListing(dir, m); err != nil {
			return err
		}
	}
	p.listings = nil
	if p.keep != nil {
		if err := fingerprint.PruneListings(dir, p.keep); err != nil {
			return fmt.Errorf("pruning %s: %w", dir, err)
		}
		p.keep = nil
	}
	return p.statCache.Save(StatCachePath(p.WorkDir))
}

func (p *Planner) wheelStep(s source, r fingerprint.Result, st *state.State, sync bool) WheelStep {
	step := WheelStep{Name: s.name, SourceDir: s.src.Dir, Fingerprint: r.Digest, Files: len(r.Files)}
	prev, built := st.Plugins[s.name]
	if file, ok := p.cached(r.Digest); ok {
		step.Action, step.CachedWheel = ActionCached, file
		if built && prev.Fingerprint == r.Digest {
			step.Reason = "unchanged since the last build"
		} else {
			step.Reason = "a wheel for these sources is in the cache (built before)"
		}
		return step
	}
	if !built {
		step.Action = ActionBuild
		step.Reason = fmt.Sprintf("no wheel for these sources yet (%d files)", len(r.Files))
		return step
	}
	if prev.Fingerprint == r.Digest {
		step.Action = ActionBuild
		step.Reason = "the cached wheel is missing or damaged"
		return step
	}
	step.Action = ActionRebuild
	old, err := fingerprint.LoadListing(FingerprintDir(p.WorkDir), prev.Fingerprint)
	if err != nil {
		step.Reason = "sources changed since the last build"
		return step
	}
	changes := fingerprint.Diff(old, r.Listing())
	step.Changed = fingerprint.Paths(changes)
	step.Reason = fingerprint.Describe(changes, 3)
	p.syncStep(&step, sync, prev.Fingerprint, old, r, changes)
	return step
}

// cachedRequires is the Requires-Dist of a wheel the plan takes from the
// cache; a wheel still to build is checked once built (apply).
func (p *Planner) cachedRequires(plan *Plan, name string) []string {
	w, ok := plan.Wheel(name)
	if !ok || w.Action != ActionCached || p.WheelRequires == nil {
		return nil
	}
	return p.WheelRequires(w.Fingerprint)
}

func (p *Planner) cached(fp string) (string, bool) {
	if p.WheelCached == nil {
		return "", false
	}
	return p.WheelCached(fp)
}

func jobStep(req Request, op *manifest.Operation, spec JobSpec, plan *Plan) JobStep {
	st := req.State
	digest := spec.Digest()
	step := JobStep{
		Operation:    op.Name,
		Cluster:      op.Cluster.Name,
		InputDigest:  digest,
		SubmissionID: SubmissionID(op.Name, digest),
		Spec:         spec,
	}
	prev, submitted := st.Operations[op.Name]
	if !submitted {
		step.Action = ActionSubmit
		step.Reason = "never submitted"
		return step
	}
	refreshed := req.Refreshed[op.Name]
	step.PreviousJobID = prev.JobID
	step.LastStatus = prev.Status
	if refreshed.Status != "" {
		step.LastStatus = refreshed.Status
	}
	// A job that runs again follows the one recorded, so its id also
	// depends on that job: going back to inputs submitted before (A, B,
	// then A again) or replacing a job gets a new id, and a resumed apply
	// still computes the same id (the state records the new job only once
	// Ray accepted it).
	next := SubmissionID(op.Name, chainDigest(digest, prev.JobID))
	unchanged := prev.InputDigest == digest
	switch {
	case unchanged && refreshed.Lost:
		step.Action, step.SubmissionID = ActionSubmit, next
		step.Reason = "submitted before as " + prev.JobID + ", but " + refreshed.Reason
	case unchanged && slices.Contains(req.Replace, op.Name):
		step.Action, step.SubmissionID, step.Replace = ActionSubmit, next, true
		step.Reason = "replacing " + prev.JobID + lastSeen(step.LastStatus) + ", as asked"
	case unchanged:
		step.Action = ActionSubmitted
		step.Reason = "already submitted as " + prev.JobID + lastSeen(step.LastStatus)
		if rerunnable(step.LastStatus) {
			step.Reason += "; --replace " + op.Name + " submits it again"
		}
	default:
		step.Action, step.SubmissionID = ActionSubmit, next
		step.Reason = "inputs changed: " + describeInputChanges(prev.Inputs, spec.Inputs(), plan, spec.WheelNames())
	}
	return step
}

// lastSeen says what a recorded job's status was when last seen.
func lastSeen(status string) string {
	if status == "" {
		return ""
	}
	return ", last seen " + status
}

// rerunnable reports whether a job with that status ended without
// succeeding, so rerunning its unchanged inputs makes sense.
func rerunnable(status string) bool { return status == "FAILED" || status == "STOPPED" }

// checkReplace refuses a replacement of an operation the plan does not
// cover: it would silently do nothing.
func checkReplace(replace []string, ops []*manifest.Operation) error {
	for _, name := range replace {
		if !slices.ContainsFunc(ops, func(op *manifest.Operation) bool { return op.Name == name }) {
			var planned []string
			for _, op := range ops {
				planned = append(planned, op.Name)
			}
			return fmt.Errorf("--replace %s: %q is not among the planned operations (%s); plan it too or drop --replace", name, name, strings.Join(planned, ", "))
		}
	}
	return nil
}

// describeInputChanges names what differs from the last submission, using
// the per-input digests the state keeps.
func describeInputChanges(prev map[string]string, now Inputs, plan *Plan, wheels []string) string {
	var changed []string
	if prev != nil {
		for _, k := range now.Keys() {
			if prev[k] != now[k] {
				changed = append(changed, k)
			}
		}
		for k := range prev {
			if _, ok := now[k]; !ok {
				changed = append(changed, k+" (removed)")
			}
		}
		sort.Strings(changed)
	} else {
		for _, w := range wheels {
			if s, ok := plan.Wheel(w); ok && s.Action != ActionCached {
				changed = append(changed, "wheel "+w)
			}
		}
	}
	if len(changed) == 0 {
		return "since the last submission"
	}
	if len(changed) > 4 {
		changed = append(changed[:4], fmt.Sprintf("+%d", len(changed)-4))
	}
	return strings.Join(changed, ", ")
}

// SubmissionID names the Ray job for an operation's inputs, so submitting
// the same inputs twice is recognised by Ray itself.
func SubmissionID(operation, inputDigest string) string {
	return "adopipe-" + operation + "-" + inputDigest[:12]
}

// chainDigest digests inputs together with the job they follow.
func chainDigest(inputDigest, previousJobID string) string {
	h := sha256.Sum256([]byte(inputDigest + "\n" + previousJobID))
	return hex.EncodeToString(h[:])
}

func (p *Plan) digest() string {
	h := sha256.New()
	for _, w := range p.Wheels {
		fmt.Fprintf(h, "wheel %s %s %s\n", w.Name, w.Fingerprint, w.Action)
	}
	for _, j := range p.Jobs {
		fmt.Fprintf(h, "job %s %s %s\n", j.Operation, j.InputDigest, j.Action)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func selectOperations(cfg *manifest.Config, names []string) ([]*manifest.Operation, error) {
	if len(names) == 0 {
		names = cfg.OperationNames()
	}
	var ops []*manifest.Operation
	seen := map[string]bool{}
	for _, n := range names {
		op, ok := cfg.Operations[n]
		if !ok {
			declared := strings.Join(cfg.OperationNames(), ", ")
			if declared == "" {
				declared = "none"
			}
			return nil, fmt.Errorf("no operation %q in %s (declared: %s)", n, cfg.File, declared)
		}
		if !seen[n] {
			seen[n] = true
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
	return ops, nil
}

// operationWheels lists the source-built wheels an operation installs:
// ado first (its plugins depend on it), then plugins in manifest order.
func operationWheels(cfg *manifest.Config, op *manifest.Operation) []string {
	var names []string
	if cfg.Ado != nil && cfg.Ado.FromSource() {
		names = append(names, AdoWheel)
	}
	for _, pl := range op.Plugins {
		if pl.FromSource() {
			names = append(names, pl.Name)
		}
	}
	return names
}

func wheelSources(cfg *manifest.Config, ops []*manifest.Operation) []source {
	seen := map[string]bool{}
	var out []source
	for _, op := range ops {
		for _, name := range operationWheels(cfg, op) {
			if seen[name] {
				continue
			}
			seen[name] = true
			if name == AdoWheel {
				out = append(out, source{name, adoSource(cfg)})
			} else {
				out = append(out, source{name, cfg.Plugins[name].Source})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// adoSource is ado's source with every declared plugin checked out inside
// it excluded: ado's own wheel does not contain them, so editing a plugin
// must not rebuild ado.
func adoSource(cfg *manifest.Config) manifest.Source {
	src := cfg.Ado.Source
	src.Exclude = append([]string{}, src.Exclude...)
	for _, name := range cfg.PluginNames() {
		pl := cfg.Plugins[name]
		if !pl.FromSource() {
			continue
		}
		rel, err := filepath.Rel(src.Dir, pl.Dir)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		src.Exclude = append(src.Exclude, "/"+filepath.ToSlash(rel)+"/")
	}
	return src
}
