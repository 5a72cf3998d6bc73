// Package fingerprint computes a content digest of a source tree as a
// wheel build sees it, with a stat cache so unchanged files are not read
// again, and per-file listings so a plan can say which files changed.
//
// The digest covers, for every file a build can see, sorted by path: the
// slash-separated path relative to the root, the kind (regular file,
// executable file, symbolic link) and the sha256 of the content (of the
// link target string for a link). No absolute path, mtime, owner or
// other permission bit enters it, so the same tree gives the same digest
// in any directory on any machine.
//
// Not seen: .git, build output (dist/, build/, *.egg-info), caches
// (__pycache__, *.pyc, tool caches), editor temporary files, .adopipe/,
// virtualenvs (.venv and any directory holding pyvenv.cfg), .gitignore'd
// paths and the caller's Exclude patterns. Symbolic links are never
// followed.
package fingerprint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/adopipe/adopipe/internal/gitignore"
)

// Options configures Fingerprint.
type Options struct {
	// Exclude holds extra patterns in gitignore syntax relative to the
	// root (the manifest's exclude). They take precedence over .gitignore
	// files.
	Exclude []string
	// Cache, when set, is consulted and updated; the caller saves it.
	Cache *StatCache
	// Workers bounds parallel directory reads and hashing; default
	// GOMAXPROCS.
	Workers int
}

// File is one file of the fingerprinted tree.
type File struct {
	Path   string   // slash-separated, relative to the root
	Digest [32]byte // sha256 of the content (or link target)
	Size   int64    // bytes (target length for a link)
	Exec   bool     // owner-executable regular file
	Link   bool     // symbolic link; Digest is of the target string
}

// Stats says how much work a Fingerprint call did.
type Stats struct {
	Files       int   // files in the result
	Hashed      int   // files read and hashed
	Cached      int   // digests taken from the stat cache
	BytesHashed int64 // bytes read
}

// Result is a tree fingerprint.
type Result struct {
	Digest string  // hex sha256 over Files
	Files  []*File // sorted by Path
	// Dirs lists the directories walked ("." for the root), sorted: the
	// ones a watcher needs to watch. Not part of the digest.
	Dirs  []string
	Stats Stats
}

// DefaultIgnores lists what is never part of a fingerprint, in gitignore
// syntax, for documentation and for callers that want the same rules
// (e.g. a watcher). Besides these, directories holding a pyvenv.cfg are
// skipped, and dist/ and build/ are skipped unless they hold an
// __init__.py (then they are a Python package a wheel would include).
var DefaultIgnores = []string{
	".git", ".adopipe/", ".venv/",
	"dist/", "build/", "*.egg-info",
	"__pycache__/", "*.pyc", "*.pyo",
	".pytest_cache/", ".mypy_cache/", ".ruff_cache/",
	"*~", ".*.swp", ".*.swo", ".#*", "#*#", "4913",
}

// alwaysIgnored is DefaultIgnores as plain string tests (it runs for
// every entry of the tree).
func alwaysIgnored(name string, isDir bool) bool {
	switch name {
	case ".git", "4913":
		return true
	case ".adopipe", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache":
		return isDir
	}
	n := len(name)
	if n == 0 {
		return false
	}
	switch {
	case name[n-1] == '~':
		return true
	case strings.HasSuffix(name, ".egg-info"):
		return true
	case strings.HasSuffix(name, ".pyc"), strings.HasSuffix(name, ".pyo"):
		return true
	case name[0] == '.' && (strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swo")) && n > 4:
		return true
	case strings.HasPrefix(name, ".#"):
		return true
	case n >= 2 && name[0] == '#' && name[n-1] == '#':
		return true
	}
	return false
}

// skipDirByContent reports whether a directory is to be skipped given its
// listing: virtualenvs, and dist/ or build/ that are not Python packages.
func skipDirByContent(name string, ents []fs.DirEntry) bool {
	buildDir := name == "dist" || name == "build"
	for _, d := range ents {
		switch d.Name() {
		case "pyvenv.cfg":
			return true
		case "__init__.py":
			buildDir = false
		}
	}
	return buildDir
}

// entry is a file found by the walk. Result.Files points at the
// entries' File, so each file is held once.
type entry struct {
	File
	// parent is the path of the file's directory relative to the root
	// while Path is only the file's name (until the stat cache is
	// consulted, after the walk).
	parent string
	st     statInfo
	have   bool // digest known (from the cache, or a link target)
	cached bool // digest came from the stat cache
	gone   bool // vanished before it could be read
}

// Fingerprint walks the tree at root and returns its fingerprint.
func Fingerprint(ctx context.Context, root string, opts Options) (Result, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return Result{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Result{}, err
	}
	if !fi.IsDir() {
		return Result{}, fmt.Errorf("fingerprint %s: %w", root, errNotDir)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	w := &walker{
		ctx:    ctx,
		cancel: cancel,
	}
	if err := w.parentIgnores(abs, opts.Exclude); err != nil {
		return Result{}, err
	}
	w.run(abs, workers)
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	entries := w.sorted()
	w.nodes = nil // the per-directory lists are garbage now (2.4 MB at 100k files)
	sort.Strings(w.dirs)
	// The stat cache is consulted only now: a cache still loading (see
	// LoadStatCacheAsync) is decoded while the walk runs.
	var rc *rootCache
	if opts.Cache != nil {
		rc = opts.Cache.root(abs)
	}
	opts.Cache.lookupAll(rc, entries)

	var res Result
	// Hash what the cache could not vouch for.
	var todo []*entry
	for _, e := range entries {
		if e.cached {
			res.Stats.Cached++
		}
		if !e.have {
			todo = append(todo, e)
		}
	}
	if len(todo) > 0 {
		n, err := hashAll(ctx, abs, todo, workers, opts.Cache, rc)
		if err != nil {
			return Result{}, err
		}
		res.Stats.BytesHashed = n
	}

	h := sha256.New()
	io.WriteString(h, "adopipe-fingerprint/1\n")
	res.Files = make([]*File, 0, len(entries))
	var line []byte
	for _, e := range entries {
		if e.gone {
			continue
		}
		kind := byte('f')
		switch {
		case e.Link:
			kind = 'l'
		case e.st.mode&0o100 != 0:
			kind = 'x'
			e.Exec = true
		}
		// path NUL kind SP hex digest LF: a path cannot hold a NUL.
		line = append(line[:0], e.Path...)
		line = append(line, 0, kind, ' ')
		line = hex.AppendEncode(line, e.Digest[:])
		line = append(line, '\n')
		h.Write(line)
		res.Files = append(res.Files, &e.File)
	}
	res.Digest = hex.EncodeToString(h.Sum(nil))
	res.Dirs = w.dirs
	res.Stats.Files = len(res.Files)
	for _, e := range todo {
		if !e.gone {
			res.Stats.Hashed++
		}
	}
	return res, nil
}

type walker struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	m      *gitignore.Matcher
	prefix string // root's path inside its git work tree + "/", or ""

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []dirJob // directories to list (used as a stack: depth first)
	pending int      // directories queued or being listed
	stopped bool
	nodes   map[string]node // each listed directory, by its rel
	files   int
	dirs    []string
}

type dirJob struct{ abs, rel string }

// run lists the tree with a fixed pool of workers pulling directories
// from a shared stack, so a tree with very many directories costs no more
// goroutines than a small one.
func (w *walker) run(abs string, workers int) {
	w.cond = sync.NewCond(&w.mu)
	w.nodes = map[string]node{}
	w.queue = []dirJob{{abs: abs}}
	w.pending = 1
	stop := context.AfterFunc(w.ctx, func() {
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
		w.cond.Broadcast()
	})
	defer stop()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work()
		}()
	}
	wg.Wait()
}

func (w *walker) work() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for len(w.queue) == 0 && w.pending > 0 && !w.stopped {
			w.cond.Wait()
		}
		if w.stopped || w.pending == 0 {
			return
		}
		job := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()
		subdirs, local, skipped, err := w.list(job.abs, job.rel)
		w.mu.Lock()
		if err != nil {
			w.stopped = true
			w.cancel(err)
			w.cond.Broadcast()
			return
		}
		if !skipped {
			w.nodes[job.rel] = local
			w.files += len(local.files)
			if job.rel == "" {
				w.dirs = append(w.dirs, ".")
			} else {
				w.dirs = append(w.dirs, job.rel)
			}
			for _, d := range subdirs {
				w.queue = append(w.queue, dirJob{abs: job.abs + string(filepath.Separator) + d, rel: joinRel(job.rel, d)})
			}
			w.pending += len(subdirs)
		}
		w.pending--
		if w.pending == 0 || len(w.queue) > 0 {
			w.cond.Broadcast()
		}
	}
}

// appendRel appends joinRel(rel, name) to b.
func appendRel(b []byte, rel, name string) []byte {
	if rel != "" {
		b = append(append(b, rel...), '/')
	}
	return append(b, name...)
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

type fileKind int

const (
	kindOther fileKind = iota
	kindRegular
	kindLink
	kindDir
)

// node is a listed directory: its files (Path their name) and its
// subdirectories (name + "/"), each sorted.
type node struct {
	files []*entry
	dirs  []string
}

// sorted returns the files in the order of their paths: list sorts each
// directory's names (a subdirectory's with a trailing "/", so its files
// sort where their paths do), and merging them depth first gives the
// order a sort of all paths gives, without comparing long paths.
func (w *walker) sorted() []*entry {
	out := make([]*entry, 0, w.files)
	var emit func(rel string)
	emit = func(rel string) {
		n := w.nodes[rel]
		for i, j := 0, 0; i < len(n.files) || j < len(n.dirs); {
			if j == len(n.dirs) || (i < len(n.files) && n.files[i].Path < n.dirs[j]) {
				out = append(out, n.files[i])
				i++
			} else {
				emit(joinRel(rel, n.dirs[j][:len(n.dirs[j])-1]))
				j++
			}
		}
	}
	emit("")
	return out
}

func (w *walker) list(abs, rel string) (subdirs []string, local node, skipped bool, err error) {
	dh, ents, err := openDir(abs)
	if err != nil {
		if rel != "" && errors.Is(err, fs.ErrNotExist) {
			return nil, node{}, true, nil // removed while walking
		}
		return nil, node{}, false, fmt.Errorf("fingerprint: %w", err)
	}
	defer dh.close()
	if rel != "" && skipDirByContent(filepath.Base(abs), ents) {
		return nil, node{}, true, nil
	}
	mrel := w.prefix + rel // rel as the matcher sees it
	if rel == "" {
		mrel = strings.TrimSuffix(w.prefix, "/")
	}
	if err := w.m.LoadDir(abs, mrel, ents); err != nil {
		return nil, node{}, false, fmt.Errorf("fingerprint: %w", err)
	}
	dm := w.m.Dir(mrel)
	slab := make([]entry, 0, len(ents)) // never grows: pointers stay valid
	// crel and mpath are built in reused buffers: a regular file's path
	// is made a string only after the walk (a cached file's path is the
	// cache's key).
	var crel, mpath []byte
	for _, d := range ents {
		name := d.Name()
		typ := d.Type()
		isDir := typ.IsDir()
		if alwaysIgnored(name, isDir) {
			continue
		}
		crel = appendRel(crel[:0], rel, name)
		mpath = append(append(mpath[:0], w.prefix...), crel...)
		// MatchEntry keeps nothing of its arguments.
		if dm.MatchEntry(unsafe.String(unsafe.SliceData(mpath), len(mpath)), name, isDir) {
			continue
		}
		if isDir {
			subdirs = append(subdirs, name)
			local.dirs = append(local.dirs, name+"/")
			continue
		}
		if !typ.IsRegular() && typ&fs.ModeSymlink == 0 {
			continue // sockets, fifos, devices: no build packs them
		}
		st, kind, err := dh.lstat(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, node{}, false, fmt.Errorf("fingerprint: %s: %w", crel, err)
		}
		slab = append(slab, entry{File: File{Size: st.size}, st: st})
		e := &slab[len(slab)-1]
		switch kind {
		case kindLink:
			target, err := dh.readlink(name)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					slab = slab[:len(slab)-1]
					continue
				}
				return nil, node{}, false, fmt.Errorf("fingerprint: %s: %w", crel, err)
			}
			e.Link = true
			e.Size = int64(len(target))
			e.Digest = sha256.Sum256([]byte(target))
			e.have = true
		case kindRegular:
		default:
			slab = slab[:len(slab)-1]
			continue // replaced by a directory or special file meanwhile
		}
		e.Path, e.parent = name, rel
		local.files = append(local.files, e)
	}
	slices.SortFunc(local.files, func(a, b *entry) int { return strings.Compare(a.Path, b.Path) })
	slices.Sort(local.dirs)
	return subdirs, local, false, nil
}

// parentIgnores sets up the matcher. When root lies inside a git work
// tree (a plugin inside the ado checkout, say), the .gitignore files of
// the directories between the work tree's top and root apply too, as
// they do for git. The search stops at the nearest directory holding
// .git; root holding .git itself needs nothing above it.
func (w *walker) parentIgnores(abs string, exclude []string) error {
	top := ""
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			top = d
			break
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	if top == "" || top == abs {
		w.m = gitignore.New(gitignore.Options{Exclude: exclude})
		return nil
	}
	pre, err := filepath.Rel(top, abs)
	if err != nil {
		return err
	}
	pre = filepath.ToSlash(pre)
	w.prefix = pre + "/"
	w.m = gitignore.New(gitignore.Options{Exclude: exclude, Base: pre})
	parts := strings.Split(pre, "/")
	dir, rel := top, ""
	for i := 0; i < len(parts); i++ {
		p := filepath.Join(dir, ".gitignore")
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("fingerprint: %w", err)
			}
			w.m.AddFile(rel, b)
		}
		dir = filepath.Join(dir, parts[i])
		rel = joinRel(rel, parts[i])
	}
	return nil
}

// hashAll hashes the entries' contents with a bounded pool of workers,
// each streaming through its own reused buffer.
func hashAll(ctx context.Context, root string, todo []*entry, workers int, cache *StatCache, rc *rootCache) (int64, error) {
	if workers > len(todo) {
		workers = len(todo)
	}
	var (
		next  = make(chan *entry)
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		first error
	)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			h := sha256.New()
			var n int64
			for e := range next {
				if e.Link {
					continue // digest computed while walking
				}
				read, err := hashFile(root, e, h, buf, cache, rc)
				n += read
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	for _, e := range todo {
		select {
		case next <- e:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return total, first
	}
	return total, ctx.Err()
}

func hashFile(root string, e *entry, h interface {
	io.Writer
	Reset()
	Sum([]byte) []byte
}, buf []byte, cache *StatCache, rc *rootCache) (int64, error) {
	start := time.Now().UnixNano()
	f, err := openFile(root + string(filepath.Separator) + filepath.FromSlash(e.Path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			e.gone = true
			return 0, nil
		}
		return 0, fmt.Errorf("fingerprint: %w", err)
	}
	defer f.close()
	h.Reset()
	n, err := io.CopyBuffer(h, onlyReader{f}, buf)
	if err != nil {
		return n, fmt.Errorf("fingerprint: read %s: %w", e.Path, err)
	}
	h.Sum(e.Digest[:0])
	// Cache the digest only if the file did not change while being read.
	if cache != nil {
		if st, err := f.stat(); err == nil && st == e.st {
			cache.store(rc, e.Path, e.st, start, e.Digest)
		}
	}
	return n, nil
}

// onlyReader hides *os.File's WriterTo/ReaderFrom so CopyBuffer really
// uses the caller's buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
