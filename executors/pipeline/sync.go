package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/adopipe/adopipe/executors/stage"
	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/executors/wheelsync"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/planner"
	"github.com/adopipe/adopipe/planner/fingerprint"
)

// syncWheel carries out a planned sync: the last wheel, verified, with
// the edited members replaced, enters the cache under the new
// fingerprint with the same file record (the sources it maps now hold
// the new members' bytes). An error leaves the cache and the state as
// they were; the caller then builds.
func (r *runner) syncWheel(step planner.WheelStep) error {
	start := time.Now()
	prev, _, ok, err := r.Cache.Get(step.SyncFrom)
	if !ok {
		if err == nil {
			err = fmt.Errorf("the last wheel (%s) is not in the cache", step.SyncFrom[:12])
		}
		return err
	}
	m, ok := wheelsync.LoadMap(r.Cache.Dir(step.SyncFrom))
	if !ok {
		return errors.New("the last build's record of its files is gone")
	}
	if err := os.MkdirAll(r.Cache.Root, 0o700); err != nil {
		return err
	}
	out, err := wheelsync.Apply(prev, step.SourceDir, step.Sync, r.Cache.Root)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(out))
	info, err := wheelbuild.InspectWheel(out)
	if err != nil {
		return err
	}
	path, sha, err := r.Cache.Put(step.Fingerprint, out)
	if err != nil {
		return fmt.Errorf("caching the wheel: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := wheelsync.SaveMap(r.Cache.Dir(step.Fingerprint), m); err != nil {
		r.emit(progress.Warning("wheel %s: its next edit is built, not synced: %v", step.Name, err))
	}
	r.wheels[step.Name] = stage.Wheel{Path: path, FileName: filepath.Base(path), SHA256: sha}
	r.builtRequires[step.Name] = info.RequiresDist
	r.State.Plugins[step.Name] = state.PluginState{
		Fingerprint: step.Fingerprint,
		Wheel: state.WheelRecord{
			FileName:     filepath.Base(path),
			SHA256:       sha,
			Distribution: info.Distribution,
			Version:      info.Version,
			BuiltAt:      time.Now().UTC(),
		},
	}
	r.out.Synced++
	msg := fmt.Sprintf("%d files", len(step.Sync))
	if len(step.Sync) == 1 {
		msg = "1 file"
	}
	r.emit(progress.Event{Type: progress.EventSynced, Name: step.Name, Wheel: filepath.Base(path), Elapsed: time.Since(start), Message: msg})
	return r.save()
}

// recordSyncMap records which source files a freshly built wheel holds
// verbatim, so the next edit of them can be synced; called with r.mu
// held. Without the fingerprint's file listing (a cache) nothing is
// recorded and the next edit is built.
func (r *runner) recordSyncMap(step planner.WheelStep, wheel string) {
	if !r.Config.Build.Sync {
		return
	}
	l, err := fingerprint.LoadListing(planner.FingerprintDir(r.WorkDir), step.Fingerprint)
	if err != nil {
		return
	}
	m, err := wheelsync.Record(wheel, step.SourceDir, l.Files)
	if err == nil {
		err = wheelsync.SaveMap(r.Cache.Dir(step.Fingerprint), m)
	}
	if err != nil {
		r.emit(progress.Warning("wheel %s: its next edit is built, not synced: recording its files: %v", step.Name, err))
	}
}
