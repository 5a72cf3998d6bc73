// Package workspace owns a project's .adopipe directory beside its
// manifest: where everything lives in it, when the state is locked, and
// the state writes made outside an apply (the job statuses commands
// learn). It also keeps a project applied under watch, with the
// operations' on_change policy, and checks whether a recorded job was lost
// with its local Ray head. cmd/adopipe only parses flags and renders what
// this package reports.
package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/adopipe/adopipe/executors/pipeline"
	"github.com/adopipe/adopipe/executors/wheelcache"
	"github.com/adopipe/adopipe/executors/wheelsync"
	"github.com/adopipe/adopipe/internal/progress"
	"github.com/adopipe/adopipe/internal/state"
	"github.com/adopipe/adopipe/manifest"
	"github.com/adopipe/adopipe/planner"
)

// DirName is the workspace directory beside the manifest.
const DirName = ".adopipe"

// Options are a command's choices about the workspace.
type Options struct {
	// StatePath is the state file; empty means .adopipe/state.json.
	StatePath string
	// Lock is false for --lock=false: the state lock is never taken, and
	// the state is written all the same (as Terraform's -lock=false).
	Lock bool
	// LockTimeout is how long to wait for another adopipe holding it.
	LockTimeout time.Duration
	// Command names the lock holder for others ("adopipe apply"); never
	// the full command line, which may carry secrets.
	Command string
	// Events receives progress and warnings; nil drops them.
	Events progress.Func
}

// Project is one manifest's workspace.
type Project struct {
	Config *manifest.Config
	// Dir is <manifest dir>/.adopipe.
	Dir       string
	StatePath string
	Cache     *wheelcache.Cache
	opts      Options
}

// New returns the workspace of the manifest cfg.
func New(cfg *manifest.Config, opts Options) *Project {
	p := &Project{Config: cfg, Dir: filepath.Join(cfg.Dir, DirName), StatePath: opts.StatePath, opts: opts}
	if p.StatePath == "" {
		p.StatePath = filepath.Join(cfg.Dir, state.DefaultPath)
	}
	p.Cache = wheelcache.New(filepath.Join(p.Dir, "cache"))
	return p
}

// secureDir creates the workspace directory readable only by its user,
// and makes an existing one so: it holds staged job directories, whose
// context YAML may hold a database password, and logs.
func (p *Project) secureDir() error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(p.Dir, 0o700)
}

// JobsDir is where stage writes job directories by default.
func (p *Project) JobsDir() string { return filepath.Join(p.Dir, "jobs") }

// ClusterDir is where a cluster's local head or port-forward keeps its
// files.
func (p *Project) ClusterDir(name string) string { return pipeline.ClusterDir(p.Dir, name) }

// NewPlanner returns a Planner that consults the wheel cache. Keep it
// across plans (watch does): its stat cache stays warm.
func (p *Project) NewPlanner() *planner.Planner {
	// Peek, not Get: plans run often and must not re-hash every cached
	// wheel; apply verifies the digest before it stages a wheel.
	pl := planner.New(p.Dir, func(fp string) (string, bool) {
		path, _, ok, _ := p.Cache.Peek(fp)
		if !ok {
			return "", false
		}
		return filepath.Base(path), true
	})
	pl.WheelRequires = func(fp string) []string {
		path, _, ok, _ := p.Cache.Peek(fp)
		if !ok {
			return nil
		}
		return wheelRequires(path)
	}
	pl.SyncMap = func(fp string) (planner.SyncMap, bool) {
		return wheelsync.LoadMap(p.Cache.Dir(fp))
	}
	return pl
}

// Connector returns a Connector for this workspace's clusters. With start
// false it only attaches (status, logs, stop): it never starts a head.
func (p *Project) Connector(start bool) *pipeline.Connector {
	cn := &pipeline.Connector{WorkDir: p.Dir, NoStart: !start, Events: p.opts.Events}
	if start {
		cn.RayBin = findRay(p.Config.Build.Python)
	}
	return cn
}

func (p *Project) emit(e progress.Event) {
	p.opts.Events.Emit(e)
}

func (p *Project) warn(format string, args ...any) {
	p.emit(progress.Warning(format, args...))
}

// findRay locates the ray executable for local clusters: $ADOPIPE_RAY, ray
// on PATH, or the ray beside the manifest's build Python (a virtualenv).
func findRay(buildPython string) string {
	if p := os.Getenv("ADOPIPE_RAY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ray"); err == nil {
		return p
	}
	if py, err := exec.LookPath(buildPython); err == nil {
		cand := filepath.Join(filepath.Dir(py), "ray")
		if _, err := os.Stat(cand); err == nil {
			return cand
		}
	}
	return ""
}
