package planner

// Syncing a wheel, like Skaffold's file sync: when the only changes since
// the last build are edits to files the last wheel holds verbatim, the new
// wheel is the last one with those members replaced (executors/wheelsync),
// and no build backend runs. The planner decides from what the last build
// taught (a SyncMap) and the file listings; it never reads the wheel.

import (
	"encoding/hex"
	"fmt"
	"path"
	"sort"

	"github.com/adopipe/adopipe/planner/fingerprint"
)

// ActionSync replaces edited members of the last wheel instead of building.
const ActionSync Action = "sync"

// SyncMap is what a build taught about its wheel: which source files it
// holds verbatim, and where. It is recorded beside the cached wheel.
type SyncMap struct {
	// Refused says why no edit of this project can be synced (its version
	// is dynamic, setup.py runs code, ...); Files is then empty.
	Refused string `json:"refused,omitempty"`
	// Files maps a source path (relative to the checkout, as in the
	// fingerprint) to the wheel member holding exactly its bytes. Only
	// unambiguous matches are kept.
	Files map[string]string `json:"files,omitempty"`
}

// SyncFile is one member a sync replaces.
type SyncFile struct {
	Source string `json:"source"` // relative to the checkout
	Member string `json:"member"` // the wheel member
	// Digest is the sha256 of the content the plan saw: the executor
	// refuses a file that changed since.
	Digest string `json:"digest"`
}

// buildConfig are file names whose edit can change how a wheel is built or
// what its metadata says, wherever they are in the checkout.
var buildConfig = map[string]bool{
	"pyproject.toml": true, "setup.py": true, "setup.cfg": true, "MANIFEST.in": true,
}

// syncInput is what decideSync looks at.
type syncInput struct {
	enabled    bool
	m          SyncMap
	haveMap    bool
	prevCached bool
	old, new   fingerprint.Listing
	changes    []fingerprint.Change
	digests    map[string]string // path -> full sha256 of the new content
}

// decideSync returns the members to replace, or why the wheel must be
// built instead. Every changed file must be a content edit (same kind) of
// a file the last wheel holds verbatim, and none may be build
// configuration: anything else (an added, removed or renamed file, a file
// the wheel does not hold, pyproject.toml) can change what the backend
// writes, so only the backend can say.
func decideSync(in syncInput) ([]SyncFile, string) {
	switch {
	case !in.enabled:
		return nil, "sync is off (build { sync = false })"
	case len(in.changes) == 0:
		return nil, "no file changed"
	case !in.haveMap:
		return nil, "no record of which files the last wheel holds"
	case in.m.Refused != "":
		return nil, in.m.Refused
	case !in.prevCached:
		return nil, "the last wheel is not in the cache"
	}
	var files []SyncFile
	for _, c := range in.changes {
		switch {
		case c.Kind != fingerprint.Modified:
			return nil, fmt.Sprintf("%s was %s", c.Path, c.Kind)
		case buildConfig[path.Base(c.Path)]:
			return nil, c.Path + " is build configuration"
		case in.old.Files[c.Path][:1] != in.new.Files[c.Path][:1]:
			return nil, c.Path + " changed kind (executable bit or link)"
		case in.new.Files[c.Path][:1] == "l":
			return nil, c.Path + " is a symbolic link"
		}
		member, ok := in.m.Files[c.Path]
		if !ok {
			return nil, c.Path + " is not in the wheel as it is"
		}
		files = append(files, SyncFile{Source: c.Path, Member: member, Digest: in.digests[c.Path]})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Source < files[j].Source })
	return files, ""
}

// syncStep turns a rebuild into a sync when decideSync allows it, and
// otherwise says in the reason why the wheel is built, not synced.
func (p *Planner) syncStep(step *WheelStep, enabled bool, prevFP string, old fingerprint.Listing, r fingerprint.Result, changes []fingerprint.Change) {
	in := syncInput{enabled: enabled, old: old, new: r.Listing(), changes: changes, digests: map[string]string{}}
	if enabled && p.SyncMap != nil {
		in.m, in.haveMap = p.SyncMap(prevFP)
		_, in.prevCached = p.cached(prevFP)
	}
	for _, f := range r.Files {
		if in.old.Files[f.Path] != in.new.Files[f.Path] {
			in.digests[f.Path] = hex.EncodeToString(f.Digest[:])
		}
	}
	files, why := decideSync(in)
	if why != "" {
		if enabled && p.SyncMap != nil {
			step.Reason += "; built, not synced: " + why
		}
		return
	}
	step.Action, step.SyncFrom, step.Sync = ActionSync, prevFP, files
	step.Reason += fmt.Sprintf("; synced into the last wheel (%d %s, no build)", len(files), plural(len(files), "member"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
