// Package planner decides what adopipe must do: it fingerprints sources,
// compares them with the state and the wheel cache, and produces a Plan.
// It never builds, uploads or submits anything; executors carry a plan out.
package planner

// Action says what happens to one wheel or one job.
type Action string

const (
	// Wheel actions.
	ActionBuild   Action = "build"   // no wheel for these sources yet
	ActionRebuild Action = "rebuild" // sources changed since the last build
	ActionCached  Action = "cached"  // a wheel for these sources exists
	// Job actions.
	ActionSubmit    Action = "submit"    // these inputs were never submitted
	ActionSubmitted Action = "submitted" // already submitted with these inputs
)

// Symbol is the one-character marker of an action in plan output.
func (a Action) Symbol() string {
	switch a {
	case ActionBuild, ActionSubmit:
		return "+"
	case ActionRebuild, ActionSync:
		return "~"
	default:
		return "="
	}
}

// Changes reports whether carrying the action out does anything.
func (a Action) Changes() bool {
	return a == ActionBuild || a == ActionRebuild || a == ActionSync || a == ActionSubmit
}

// Plan is what apply would do, and why.
type Plan struct {
	// Wheels has one entry per source-built component (ado and plugins)
	// used by the planned operations, sorted by name.
	Wheels []WheelStep `json:"wheels"`
	// Jobs has one entry per planned operation, sorted by name.
	Jobs []JobStep `json:"jobs"`
	// InputsDigest covers every fingerprint and job input of the plan, so
	// a saved plan can be recognised as stale.
	InputsDigest string `json:"inputs_digest"`
}

// WheelStep is the plan for one wheel.
type WheelStep struct {
	// Name is the plugin name, or "ado" for ado itself.
	Name        string `json:"name"`
	SourceDir   string `json:"source_dir"`
	Fingerprint string `json:"fingerprint"`
	Action      Action `json:"action"`
	Reason      string `json:"reason"`
	// Changed lists the changed paths for a rebuild.
	Changed []string `json:"changed,omitempty"`
	// Files is the number of files fingerprinted.
	Files int `json:"files"`
	// CachedWheel is the wheel file name when Action is cached.
	CachedWheel string `json:"cached_wheel,omitempty"`
	// SyncFrom is the fingerprint of the wheel a sync starts from, and
	// Sync the members it replaces, when Action is sync.
	SyncFrom string     `json:"sync_from,omitempty"`
	Sync     []SyncFile `json:"sync,omitempty"`
}

// JobStep is the plan for one operation's job.
type JobStep struct {
	Operation    string `json:"operation"`
	Cluster      string `json:"cluster"`
	InputDigest  string `json:"input_digest"`
	SubmissionID string `json:"submission_id"`
	Action       Action `json:"action"`
	Reason       string `json:"reason"`
	// PreviousJobID is the job submitted for earlier inputs, if any.
	PreviousJobID string `json:"previous_job_id,omitempty"`
	// LastStatus is the previous job's last known Ray status.
	LastStatus string `json:"last_status,omitempty"`
	// Replace is set when the job is submitted again only because the
	// user asked to replace it.
	Replace bool `json:"replace,omitempty"`
	// Spec is everything the job depends on; InputDigest is its digest.
	Spec JobSpec `json:"spec"`
	// Warnings are problems found that do not stop the plan (a Ray
	// requirement that excludes the cluster's Ray).
	Warnings []string `json:"warnings,omitempty"`
}

// Summary counts a plan's actions. Build counts wheels built by a
// backend, Sync the wheels synced instead.
type Summary struct {
	Build, Sync, Cached, Submit, Submitted int
}

// Summary counts the plan's actions.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, w := range p.Wheels {
		switch w.Action {
		case ActionCached:
			s.Cached++
		case ActionSync:
			s.Sync++
		default:
			s.Build++
		}
	}
	for _, j := range p.Jobs {
		if j.Action == ActionSubmit {
			s.Submit++
		} else {
			s.Submitted++
		}
	}
	return s
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool {
	s := p.Summary()
	return s.Build > 0 || s.Sync > 0 || s.Submit > 0
}

// Wheel returns the wheel step named name.
func (p *Plan) Wheel(name string) (WheelStep, bool) {
	for _, w := range p.Wheels {
		if w.Name == name {
			return w, true
		}
	}
	return WheelStep{}, false
}

// Job returns the job step of an operation (a zero step when the plan has
// none).
func (p *Plan) Job(operation string) JobStep {
	for _, j := range p.Jobs {
		if j.Operation == operation {
			return j
		}
	}
	return JobStep{}
}
