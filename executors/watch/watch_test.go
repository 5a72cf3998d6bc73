package watch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next batch, failing after a generous deadline.
func next(t *testing.T, w *Watcher) Batch {
	t.Helper()
	select {
	case b := <-w.Batches():
		return b
	case <-time.After(20 * time.Second):
		t.Fatal("no batch within 20s")
	}
	return Batch{}
}

func newTree(t *testing.T) (string, *Watcher) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "plug/pyproject.toml"), "[project]\nname='p'\n")
	write(t, filepath.Join(dir, "plug/p/__init__.py"), "A = 1\n")
	write(t, filepath.Join(dir, "plug/.gitignore"), "*.log\n")
	write(t, filepath.Join(dir, "ado.hcl"), "# manifest\n")
	os.MkdirAll(filepath.Join(dir, "plug/build"), 0o755)
	w, err := New(Options{
		Trees:    []Tree{{Dir: filepath.Join(dir, "plug"), Exclude: []string{"docs/"}}},
		Files:    []string{filepath.Join(dir, "ado.hcl")},
		Debounce: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return dir, w
}

// sentinel writes a relevant file and returns its path: the next batch
// must be exactly it, which proves nothing else was batched before.
func sentinel(t *testing.T, dir string) string {
	p := filepath.Join(dir, "plug/p/sentinel.py")
	write(t, p, time.Now().String())
	return p
}

func TestEditMakesOneBatch(t *testing.T) {
	dir, w := newTree(t)
	p := filepath.Join(dir, "plug/p/__init__.py")
	write(t, p, "A = 2\n")
	if b := next(t, w); len(b.Paths) != 1 || b.Paths[0] != p {
		t.Fatalf("batch = %v, want [%s]", b.Paths, p)
	}
}

func TestBurstIsOneBatch(t *testing.T) {
	dir, w := newTree(t)
	p := filepath.Join(dir, "plug/p/__init__.py")
	for i := 0; i < 20; i++ {
		write(t, p, strings.Repeat("x", i))
		time.Sleep(5 * time.Millisecond) // the burst itself: 20 writes in ~100 ms
	}
	if b := next(t, w); len(b.Paths) != 1 || b.Paths[0] != p {
		t.Fatalf("burst batch = %v", b.Paths)
	}
	s := sentinel(t, dir)
	if b := next(t, w); len(b.Paths) != 1 || b.Paths[0] != s {
		t.Fatalf("after the burst came %v, want only the sentinel", b.Paths)
	}
}

func TestIgnoredPathsNeverTrigger(t *testing.T) {
	dir, w := newTree(t)
	write(t, filepath.Join(dir, "plug/build/lib/p/__init__.py"), "x")
	write(t, filepath.Join(dir, "plug/dist/p-1.whl"), "x")
	write(t, filepath.Join(dir, "plug/p/.__init__.py.swp"), "x")
	write(t, filepath.Join(dir, "plug/p/__pycache__/a.pyc"), "x")
	write(t, filepath.Join(dir, "plug/run.log"), "x")   // .gitignore
	write(t, filepath.Join(dir, "plug/docs/x.md"), "x") // exclude
	write(t, filepath.Join(dir, "plug/.adopipe/state.json"), "x")
	write(t, filepath.Join(dir, "plug/.git/index"), "x")
	os.RemoveAll(filepath.Join(dir, "plug/build"))
	s := sentinel(t, dir)
	if b := next(t, w); len(b.Paths) != 1 || b.Paths[0] != s {
		t.Fatalf("ignored paths triggered: %v", b.Paths)
	}
}

func TestNewDirectoryIsWatched(t *testing.T) {
	dir, w := newTree(t)
	nested := filepath.Join(dir, "plug/p/sub/deeper/mod.py")
	write(t, nested, "x")
	b := next(t, w)
	found := false
	for _, p := range b.Paths {
		if strings.HasPrefix(p, filepath.Join(dir, "plug/p/sub")) {
			found = true
		}
	}
	if !found {
		t.Fatalf("creating a directory did not count: %v", b.Paths)
	}
	// Later edits inside the new directory are seen too.
	write(t, nested, "y")
	if b := next(t, w); len(b.Paths) != 1 || b.Paths[0] != nested {
		t.Fatalf("edit in new dir: %v", b.Paths)
	}
}

func TestSingleFileReplacedByRename(t *testing.T) {
	dir, w := newTree(t)
	m := filepath.Join(dir, "ado.hcl")
	tmp := filepath.Join(dir, ".ado.hcl.tmp")
	write(t, tmp, "# edited\n")
	if err := os.Rename(tmp, m); err != nil {
		t.Fatal(err)
	}
	b := next(t, w)
	if len(b.Paths) != 1 || b.Paths[0] != m {
		t.Fatalf("batch = %v, want the manifest", b.Paths)
	}
	// Unrelated files beside the manifest do not count.
	write(t, filepath.Join(dir, "notes.txt"), "x")
	s := sentinel(t, dir)
	if b := next(t, w); len(b.Paths) != 1 || b.Paths[0] != s {
		t.Fatalf("unrelated file triggered: %v", b.Paths)
	}
}

// With polling, every tick is a batch without paths: the consumer
// re-plans, and the fingerprint decides whether anything changed.
func TestPollSendsTicks(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "plug/a.py"), "x")
	w, err := New(Options{Trees: []Tree{{Dir: filepath.Join(dir, "plug")}}, Poll: true, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if b := next(t, w); !b.Poll || len(b.Paths) != 0 || !w.Polling() {
		t.Fatalf("batch = %+v, polling = %v", b, w.Polling())
	}
}

func TestLimitAdviceNamesTheSysctl(t *testing.T) {
	msg := limitAdvice(errors.New("no space left on device"))
	if !strings.Contains(msg, "fs.inotify.max_user_watches") || !strings.Contains(msg, "sysctl") {
		t.Errorf("advice = %q", msg)
	}
}
