// Package watch reports settled batches of changes to adopipe's inputs:
// source trees (recursively, with the same ignore rules as fingerprints)
// and single files such as the manifest and the YAMLs it names.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/internal/gitignore"
	"github.com/adopipe/adopipe/planner/fingerprint"
	"github.com/fsnotify/fsnotify"
)

// Tree is a source tree watched recursively.
type Tree struct {
	Dir     string
	Exclude []string // gitignore-style, relative to Dir
}

// Options says what to watch and how to settle changes into batches.
type Options struct {
	Trees []Tree
	Files []string
	// Debounce closes a batch after this long without events (200 ms).
	Debounce time.Duration
	// MaxWait closes a batch this long after its first event at the
	// latest, so a steady stream of writes still gets applied (10 s).
	MaxWait time.Duration
	// PollInterval is how often a batch is sent when polling (2 s).
	PollInterval time.Duration
	// Poll skips file notifications and sends a batch every PollInterval,
	// for file systems without them (network mounts); the watcher also
	// falls back to it when the OS watch limit is reached.
	Poll bool
}

// Batch is one settled set of changes.
type Batch struct {
	// Paths are the changed paths, sorted; empty for a poll tick.
	Paths []string
	Poll  bool
}

// Watcher watches inputs until closed.
type Watcher struct {
	opts    Options
	fsw     *fsnotify.Watcher
	batches chan Batch
	notes   chan string
	done    chan struct{}
	once    sync.Once

	mu       sync.Mutex
	trees    map[string]*treeState // by absolute dir
	files    map[string]bool       // absolute paths of single files
	polling  bool
	watching map[string]bool // directories added to fsw
}

type treeState struct {
	tree    Tree
	matcher *gitignore.Matcher  // walks the tree for directories to watch
	filter  *fingerprint.Filter // decides whether an event counts
}

// New starts watching.
func New(opts Options) (*Watcher, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 10 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, watchErr(err)
	}
	w := &Watcher{
		opts: opts, fsw: fsw,
		batches: make(chan Batch, 1), notes: make(chan string, 4), done: make(chan struct{}),
		trees: map[string]*treeState{}, files: map[string]bool{}, watching: map[string]bool{},
		polling: opts.Poll,
	}
	for _, t := range opts.Trees {
		w.addTree(t)
	}
	for _, f := range opts.Files {
		w.addFile(f)
	}
	go w.loop()
	return w, nil
}

// Batches delivers settled changes.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Notes delivers messages for the user, such as the watch limit fallback.
func (w *Watcher) Notes() <-chan string { return w.notes }

// Close stops watching.
func (w *Watcher) Close() {
	w.once.Do(func() {
		close(w.done)
		w.fsw.Close()
	})
}

// Polling reports whether the watcher fell back to polling.
func (w *Watcher) Polling() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.polling
}

// Reset replaces what is watched, after the manifest changed.
func (w *Watcher) Reset(trees []Tree, files []string) {
	w.mu.Lock()
	for dir := range w.watching {
		_ = w.fsw.Remove(dir)
	}
	w.trees, w.files, w.watching = map[string]*treeState{}, map[string]bool{}, map[string]bool{}
	w.mu.Unlock()
	for _, t := range trees {
		w.addTree(t)
	}
	for _, f := range files {
		w.addFile(f)
	}
}

func (w *Watcher) note(format string, args ...any) {
	select {
	case w.notes <- fmt.Sprintf(format, args...):
	default:
	}
}

// addTree watches every directory of the tree that fingerprints do not
// ignore, so build output and editor files never start a cycle.
func (w *Watcher) addTree(t Tree) {
	abs, err := filepath.Abs(t.Dir)
	if err != nil {
		return
	}
	t.Dir = abs
	filter, err := fingerprint.NewFilter(abs, t.Exclude)
	if err != nil {
		w.note("cannot watch %s: %v", abs, err)
		return
	}
	ts := &treeState{tree: t, filter: filter, matcher: gitignore.New(gitignore.Options{Exclude: t.Exclude, Always: fingerprint.DefaultIgnores})}
	w.mu.Lock()
	w.trees[abs] = ts
	w.mu.Unlock()
	w.watchDir(abs)
	err = gitignore.Walk(abs, ts.matcher, func(rel string, d fs.DirEntry) error {
		if d.IsDir() {
			w.watchDir(filepath.Join(abs, filepath.FromSlash(rel)))
		}
		return nil
	})
	if err != nil {
		w.note("cannot watch all of %s: %v", abs, err)
	}
}

// addFile watches a single file through its directory, since editors
// often replace a file by renaming a new one over it.
func (w *Watcher) addFile(path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	w.mu.Lock()
	w.files[abs] = true
	w.mu.Unlock()
	w.watchDir(filepath.Dir(abs))
}

func (w *Watcher) watchDir(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watching[dir] || w.polling {
		return
	}
	if err := w.fsw.Add(dir); err != nil {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
			w.polling = true
			w.note("%s; falling back to polling every %s", limitAdvice(err), w.opts.PollInterval)
		}
		return
	}
	w.watching[dir] = true
}

// relevant reports whether a changed path is an input: a watched single
// file, or a path in a tree that its ignore rules keep.
func (w *Watcher) relevant(path string, isDir bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.files[path] {
		return true
	}
	for dir, ts := range w.trees {
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		if !ts.filter.Ignored(path, isDir) {
			return true
		}
	}
	return false
}

func (w *Watcher) loop() {
	defer close(w.batches)
	var (
		pending  = map[string]bool{}
		quiet    *time.Timer
		deadline *time.Timer
		quietC   <-chan time.Time
		maxC     <-chan time.Time
	)
	poll := time.NewTicker(w.opts.PollInterval)
	defer poll.Stop()
	flush := func() {
		if len(pending) == 0 {
			return
		}
		paths := make([]string, 0, len(pending))
		for p := range pending {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		pending = map[string]bool{}
		quietC, maxC = nil, nil
		w.send(Batch{Paths: paths})
	}
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			fi, statErr := os.Lstat(ev.Name)
			if statErr == nil && fi.IsDir() && ev.Has(fsnotify.Create) && w.relevant(ev.Name, true) {
				w.addNewDir(ev.Name)
			}
			switch {
			case statErr != nil:
				// Gone: it may have been a directory (a build removing
				// build/), so it counts only if it counts either way.
				if !w.relevant(ev.Name, false) || !w.relevant(ev.Name, true) {
					continue
				}
			case !w.relevant(ev.Name, fi.IsDir()):
				continue
			}
			pending[ev.Name] = true
			if quiet == nil {
				quiet = time.NewTimer(w.opts.Debounce)
			} else {
				quiet.Reset(w.opts.Debounce)
			}
			quietC = quiet.C
			if maxC == nil {
				deadline = time.NewTimer(w.opts.MaxWait)
				maxC = deadline.C
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.note("file watcher: %v", err)
		case <-quietC:
			if deadline != nil {
				deadline.Stop()
			}
			flush()
		case <-maxC:
			if quiet != nil {
				quiet.Stop()
			}
			flush()
		case <-poll.C:
			if w.Polling() {
				w.send(Batch{Poll: true})
			}
		}
	}
}

// addNewDir watches a directory created after start, and everything in
// it, so files created inside it before the watch existed are not missed.
func (w *Watcher) addNewDir(dir string) {
	w.mu.Lock()
	var ts *treeState
	var rel string
	for root, t := range w.trees {
		if r, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(r, "..") {
			ts, rel = t, filepath.ToSlash(r)
		}
	}
	w.mu.Unlock()
	if ts == nil {
		return
	}
	w.watchDir(dir)
	sub := gitignore.New(gitignore.Options{Exclude: ts.tree.Exclude, Always: fingerprint.DefaultIgnores})
	err := gitignore.Walk(ts.tree.Dir, sub, func(r string, d fs.DirEntry) error {
		if d.IsDir() && (r == rel || strings.HasPrefix(r, rel+"/")) {
			w.watchDir(filepath.Join(ts.tree.Dir, filepath.FromSlash(r)))
		} else if d.IsDir() && !strings.HasPrefix(rel, r+"/") {
			return fs.SkipDir
		}
		return nil
	})
	// A directory gone again before it was walked (a build's scratch
	// directory) is no problem; anything else is worth a note.
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.note("cannot watch all of %s: %v", dir, err)
	}
}

// send delivers a batch, merging it into one still undelivered so a slow
// consumer gets the union rather than a backlog.
func (w *Watcher) send(b Batch) {
	for {
		select {
		case w.batches <- b:
			return
		case old := <-w.batches:
			b = merge(old, b)
		case <-w.done:
			return
		}
	}
}

func merge(a, b Batch) Batch {
	seen := map[string]bool{}
	var out Batch
	for _, p := range append(a.Paths, b.Paths...) {
		if !seen[p] {
			seen[p] = true
			out.Paths = append(out.Paths, p)
		}
	}
	sort.Strings(out.Paths)
	out.Poll = a.Poll && b.Poll && len(out.Paths) == 0
	return out
}
