package fingerprint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/internal/testgate"
)

// tree describes files to write: path -> content. A path ending in "*"
// (stripped) is made executable; "->" in content makes a symlink to the
// rest of the content.
type tree map[string]string

func (tr tree) write(t testing.TB, root string) {
	t.Helper()
	for rel, content := range tr {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, "*") {
			rel = strings.TrimSuffix(rel, "*")
			mode = 0o755
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
	}
}

// sample is a small plugin checkout with things a build must not see.
var sample = tree{
	"pyproject.toml":                   "[project]\nname = 'p'\n",
	"src/p/__init__.py":                "",
	"src/p/a.py":                       "print('a')\n",
	"src/p/sub/b.py":                   "print('b')\n",
	"scripts/run.sh*":                  "#!/bin/sh\necho hi\n",
	"src/p/link.py":                    "->a.py",
	".gitignore":                       "*.log\n/secret/\n!keep.log\n",
	"keep.log":                         "kept\n",
	"src/p/build/__init__.py":          "# a package named build\n",
	"src/p/data/.gitignore":            "*.bin\n",
	"src/p/data/x.txt":                 "x\n",
	"src/p/data/y.bin":                 "ignored by nested .gitignore",
	"debug.log":                        "ignored",
	"secret/token":                     "ignored",
	".git/HEAD":                        "ref: refs/heads/main\n",
	".git/objects/ab/cdef":             "blob",
	"dist/p-1.0-py3-none-any.whl":      "wheel",
	"build/lib/p/a.py":                 "copy",
	"src/p.egg-info/PKG-INFO":          "info",
	"src/p/__pycache__/a.cpython.pyc":  "bytecode",
	"src/p/old.pyc":                    "bytecode",
	"src/p/.a.py.swp":                  "vim",
	"src/p/.a.py.swo":                  "vim",
	"src/p/a.py~":                      "backup",
	"src/p/.#a.py":                     "emacs lock",
	"src/p/#a.py#":                     "emacs autosave",
	"src/p/4913":                       "vim probe",
	".adopipe/state.json":              "{}",
	".venv/bin/python":                 "venv",
	"env2/pyvenv.cfg":                  "home = /usr/bin\n",
	"env2/lib/site.py":                 "venv",
	".pytest_cache/v/cache/lastfailed": "{}",
}

var sampleVisible = []string{
	".gitignore", "keep.log", "pyproject.toml", "scripts/run.sh",
	"src/p/__init__.py", "src/p/a.py", "src/p/build/__init__.py",
	"src/p/data/.gitignore", "src/p/data/x.txt", "src/p/link.py", "src/p/sub/b.py",
}

func fp(t testing.TB, root string, opts Options) Result {
	t.Helper()
	r, err := Fingerprint(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func paths(r Result) []string {
	var out []string
	for _, f := range r.Files {
		out = append(out, f.Path)
	}
	return out
}

func TestVisibleFiles(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	r := fp(t, root, Options{})
	if got := paths(r); !reflect.DeepEqual(got, sampleVisible) {
		t.Fatalf("files:\n got %q\nwant %q", got, sampleVisible)
	}
	for _, f := range r.Files {
		switch f.Path {
		case "scripts/run.sh":
			if !f.Exec || f.Link {
				t.Errorf("%s: exec=%v link=%v, want exec", f.Path, f.Exec, f.Link)
			}
		case "src/p/link.py":
			if !f.Link || f.Size != int64(len("a.py")) || hex.EncodeToString(f.Digest[:]) != sha("a.py") {
				t.Errorf("link: %+v", f)
			}
		case "src/p/a.py":
			if f.Exec || f.Link || hex.EncodeToString(f.Digest[:]) != sha("print('a')\n") || f.Size != 11 {
				t.Errorf("a.py: %+v", f)
			}
		}
	}
	wantDirs := []string{".", "scripts", "src", "src/p", "src/p/build", "src/p/data", "src/p/sub"}
	if !reflect.DeepEqual(r.Dirs, wantDirs) {
		t.Errorf("dirs:\n got %q\nwant %q", r.Dirs, wantDirs)
	}
	if r.Stats.Files != len(sampleVisible) || r.Stats.Hashed != len(sampleVisible)-1 || r.Stats.Cached != 0 {
		t.Errorf("stats %+v", r.Stats)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestSameDigestInAnyDirectory(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	sample.write(t, a)
	b := filepath.Join(t.TempDir(), "elsewhere", "b")
	if err := os.MkdirAll(filepath.Dir(b), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", a, b).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	c := t.TempDir() // fresh write: other inodes, mtimes, order
	sample.write(t, c)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(c, "src/p/a.py"), old, old); err != nil {
		t.Fatal(err)
	}
	ra, rb := fp(t, a, Options{}), fp(t, b, Options{Workers: 1})
	rc := fp(t, c, Options{Workers: 7, Cache: NewStatCache()})
	if ra.Digest != rb.Digest || ra.Digest != rc.Digest {
		t.Fatalf("digests differ: %s %s %s", ra.Digest, rb.Digest, rc.Digest)
	}
	if !reflect.DeepEqual(ra.Files, rc.Files) {
		t.Fatalf("files differ")
	}
	// A relative root gives the same answer too.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, a)
	if err == nil {
		if r := fp(t, rel, Options{}); r.Digest != ra.Digest {
			t.Errorf("relative root: %s != %s", r.Digest, ra.Digest)
		}
	}
}

func TestEditChangesDigestAndDiff(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	r1 := fp(t, root, Options{})
	if err := os.WriteFile(filepath.Join(root, "src/p/sub/b.py"), []byte("print('B')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r2 := fp(t, root, Options{})
	if r1.Digest == r2.Digest {
		t.Fatal("edit did not change the digest")
	}
	ch := Diff(r1.Listing(), r2.Listing())
	if want := []Change{{"src/p/sub/b.py", Modified}}; !reflect.DeepEqual(ch, want) {
		t.Fatalf("Diff = %v, want %v", ch, want)
	}
	// Editing an ignored file changes nothing.
	if err := os.WriteFile(filepath.Join(root, "debug.log"), []byte("more"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r3 := fp(t, root, Options{}); r3.Digest != r2.Digest {
		t.Fatal("ignored file changed the digest")
	}
	// Add, remove, modify.
	os.Remove(filepath.Join(root, "keep.log"))
	os.WriteFile(filepath.Join(root, "src/p/new.py"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "pyproject.toml"), []byte("[project]\nname = 'q'\n"), 0o644)
	r4 := fp(t, root, Options{})
	ch = Diff(r2.Listing(), r4.Listing())
	want := []Change{{"keep.log", Removed}, {"pyproject.toml", Modified}, {"src/p/new.py", Added}}
	if !reflect.DeepEqual(ch, want) {
		t.Fatalf("Diff = %v, want %v", ch, want)
	}
	if got, w := Describe(ch, 2), "3 files changed: keep.log (removed), pyproject.toml, +1"; got != w {
		t.Errorf("Describe = %q, want %q", got, w)
	}
	if got, w := Describe(ch[1:2], 2), "1 file changed: pyproject.toml"; got != w {
		t.Errorf("Describe = %q, want %q", got, w)
	}
	if Describe(nil, 3) != "" {
		t.Error("Describe(nil) not empty")
	}
}

func TestExecBitAndLinkTarget(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	r1 := fp(t, root, Options{})
	if err := os.Chmod(filepath.Join(root, "src/p/a.py"), 0o755); err != nil {
		t.Fatal(err)
	}
	r2 := fp(t, root, Options{})
	if r1.Digest == r2.Digest {
		t.Fatal("exec bit change not detected")
	}
	if ch := Diff(r1.Listing(), r2.Listing()); !reflect.DeepEqual(ch, []Change{{"src/p/a.py", Modified}}) {
		t.Fatalf("Diff = %v", ch)
	}
	// Group/other bits alone do not count (as in git).
	if err := os.Chmod(filepath.Join(root, "src/p/a.py"), 0o700); err != nil {
		t.Fatal(err)
	}
	if r3 := fp(t, root, Options{}); r3.Digest != r2.Digest {
		t.Fatal("non-exec permission bits changed the digest")
	}
	link := filepath.Join(root, "src/p/link.py")
	os.Remove(link)
	if err := os.Symlink("sub/b.py", link); err != nil {
		t.Fatal(err)
	}
	r4 := fp(t, root, Options{})
	if ch := Diff(r2.Listing(), r4.Listing()); !reflect.DeepEqual(ch, []Change{{"src/p/link.py", Modified}}) {
		t.Fatalf("Diff = %v", ch)
	}
	// A link and a file with the target string as content differ.
	os.Remove(link)
	os.WriteFile(link, []byte("sub/b.py"), 0o644)
	if r5 := fp(t, root, Options{}); r5.Digest == r4.Digest {
		t.Fatal("link and regular file with same bytes give the same digest")
	}
}

func TestSymlinkOutsideNotFollowed(t *testing.T) {
	outside := t.TempDir()
	tree{"big/a.txt": "outside", "f.txt": "outside file"}.write(t, outside)
	root := t.TempDir()
	tree{"x.py": "x", "out": "->" + filepath.Join(outside, "big"), "outf": "->" + filepath.Join(outside, "f.txt")}.write(t, root)
	r1 := fp(t, root, Options{})
	if got := paths(r1); !reflect.DeepEqual(got, []string{"out", "outf", "x.py"}) {
		t.Fatalf("files = %q", got)
	}
	for _, f := range r1.Files[:2] {
		if !f.Link {
			t.Errorf("%s not recorded as a link", f.Path)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "big/a.txt"), []byte("changed outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(outside, "f.txt"), []byte("changed"), 0o644)
	if r2 := fp(t, root, Options{}); r2.Digest != r1.Digest {
		t.Fatal("content behind a symlink changed the digest: link followed")
	}
}

func TestExclude(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	r := fp(t, root, Options{Exclude: []string{"scripts/", "*.toml", "!debug.log"}})
	want := []string{".gitignore", "debug.log", "keep.log", "src/p/__init__.py", "src/p/a.py",
		"src/p/build/__init__.py", "src/p/data/.gitignore", "src/p/data/x.txt", "src/p/link.py", "src/p/sub/b.py"}
	if got := paths(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("files:\n got %q\nwant %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Fingerprint(context.Background(), filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("missing root: no error")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Fingerprint(context.Background(), f, Options{}); err == nil {
		t.Error("file root: no error")
	}
	root := t.TempDir()
	sample.write(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fingerprint(ctx, root, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if os.Getuid() != 0 {
		os.Chmod(filepath.Join(root, "src/p/a.py"), 0)
		if _, err := Fingerprint(context.Background(), root, Options{}); err == nil || !strings.Contains(err.Error(), "a.py") {
			t.Errorf("unreadable file: err = %v", err)
		}
	}
}

// ageTree sets every file's mtime an hour back, so the stat cache may
// trust it (see racyWindow).
func ageTree(t testing.TB, root string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
}

func TestCacheWarmReadsNothing(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	ageTree(t, root)
	cachePath := filepath.Join(t.TempDir(), "sub", "statcache")
	c := LoadStatCache(cachePath)
	r1 := fp(t, root, Options{Cache: c})
	n := len(sampleVisible) - 1 // the link is not a cached file
	if r1.Stats.Hashed != n || r1.Stats.Cached != 0 {
		t.Fatalf("cold stats %+v", r1.Stats)
	}
	// Before any save, the cache vouches for nothing (git's racy rule).
	if r := fp(t, root, Options{Cache: c}); r.Stats.Cached != 0 {
		t.Fatalf("unsaved cache trusted: %+v", r.Stats)
	}
	if err := c.Save(cachePath); err != nil {
		t.Fatal(err)
	}
	c2 := LoadStatCache(cachePath)
	if c2.Len() != n {
		t.Fatalf("loaded %d entries, want %d", c2.Len(), n)
	}
	r2 := fp(t, root, Options{Cache: c2})
	if r2.Stats.Hashed != 0 || r2.Stats.Cached != n || r2.Stats.BytesHashed != 0 {
		t.Fatalf("warm stats %+v", r2.Stats)
	}
	if r2.Digest != r1.Digest || !reflect.DeepEqual(r1.Files, r2.Files) {
		t.Fatal("warm result differs from cold")
	}

	// Touch without changing content: re-read that file only, same digest.
	now := time.Now()
	if err := os.Chtimes(filepath.Join(root, "src/p/a.py"), now, now); err != nil {
		t.Fatal(err)
	}
	r3 := fp(t, root, Options{Cache: c2})
	if r3.Digest != r1.Digest || r3.Stats.Hashed != 1 {
		t.Fatalf("touch: digest equal=%v stats %+v", r3.Digest == r1.Digest, r3.Stats)
	}
	// Edit with the same size and mtime put back: ctime still tells.
	bpath := filepath.Join(root, "src/p/sub/b.py")
	fi, _ := os.Stat(bpath)
	os.WriteFile(bpath, []byte("print('c')\n"), 0o644)
	os.Chtimes(bpath, fi.ModTime(), fi.ModTime())
	r4 := fp(t, root, Options{Cache: c2})
	if r4.Digest == r1.Digest {
		t.Fatal("same-size edit with restored mtime not detected")
	}
}

// poison replaces the cached digest of abs, to observe whether the cache
// is trusted.
func poison(c *StatCache, abs string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entryAt(abs).digest = sha256.Sum256([]byte("poison"))
}

func TestRacyCacheEntries(t *testing.T) {
	root := t.TempDir()
	tree{"a.py": "aaaa", "b.py": "bbbb"}.write(t, root)
	ageTree(t, root)
	older := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, "b.py"), older, older); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(root, "a.py")
	cachePath := filepath.Join(t.TempDir(), "statcache")
	c := NewStatCache()
	truth := fp(t, root, Options{Cache: c})
	if err := c.Save(cachePath); err != nil {
		t.Fatal(err)
	}

	// Control: a file older than the cache is taken from the cache, so a
	// poisoned entry shows through. This proves the cache is used.
	c = LoadStatCache(cachePath)
	poison(c, a)
	if r := fp(t, root, Options{Cache: c}); r.Digest == truth.Digest || r.Stats.Cached != 2 {
		t.Fatalf("control: cache not used: %+v", r.Stats)
	}

	// Racy: the cache file's mtime equals the file's (both written in the
	// same timestamp tick). The entry must not be trusted.
	fi, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(cachePath, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	c = LoadStatCache(cachePath)
	poison(c, a)
	r := fp(t, root, Options{Cache: c})
	if r.Digest != truth.Digest {
		t.Fatal("racy entry trusted: file mtime not older than the cache")
	}
	if r.Stats.Hashed != 1 || r.Stats.Cached != 1 {
		t.Fatalf("racy stats %+v", r.Stats)
	}

	// Racy too: a file modified just before it was read, even if the
	// cache was written later.
	fresh := t.TempDir()
	tree{"f.py": "ffff"}.write(t, fresh)
	fresh = filepath.Join(fresh, "f.py")
	c = NewStatCache()
	truth = fp(t, filepath.Dir(fresh), Options{Cache: c})
	if err := c.Save(cachePath); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(cachePath, future, future)
	c = LoadStatCache(cachePath)
	poison(c, fresh)
	if r := fp(t, filepath.Dir(fresh), Options{Cache: c}); r.Digest != truth.Digest {
		t.Fatal("entry read right after its last modification was trusted")
	}
}

func TestTrustedRule(t *testing.T) {
	st := statInfo{size: 4, mtime: 1000e9, ctime: 1000e9, ino: 7, mode: 0o100644}
	e := &cacheEntry{st: st, hashedAt: 1000e9 + int64(racyWindow)}
	cases := []struct {
		name      string
		st        statInfo
		writtenAt int64
		want      bool
	}{
		{"same", st, 1001e9, true},
		{"cache written in the same tick", st, 1000e9, false},
		{"cache older", st, 999e9, false},
		{"never written", st, 0, false},
		{"size", statInfo{5, st.mtime, st.ctime, st.ino, st.mode}, 2000e9, false},
		{"mtime", statInfo{4, st.mtime + 1, st.ctime, st.ino, st.mode}, 2000e9, false},
		{"ctime", statInfo{4, st.mtime, st.ctime + 1, st.ino, st.mode}, 2000e9, false},
		{"inode", statInfo{4, st.mtime, st.ctime, 8, st.mode}, 2000e9, false},
		{"mode", statInfo{4, st.mtime, st.ctime, st.ino, 0o100755}, 2000e9, false},
	}
	for _, c := range cases {
		if got := trusted(e, c.st, c.writtenAt); got != c.want {
			t.Errorf("%s: trusted = %v, want %v", c.name, got, c.want)
		}
	}
	young := &cacheEntry{st: st, hashedAt: 1000e9 + int64(racyWindow) - 1}
	if trusted(young, st, 2000e9) {
		t.Error("entry hashed within racyWindow of its mtime trusted")
	}
}

func TestCorruptCacheDiscarded(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	ageTree(t, root)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	c := NewStatCache()
	want := fp(t, root, Options{Cache: c})
	if err := c.Save(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 0x40
	for name, content := range map[string][]byte{
		"garbage":   []byte("not a cache at all"),
		"empty":     nil,
		"truncated": data[:len(data)-9],
		"flipped":   flipped,
		"magic":     []byte(cacheMagic),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o644)
		c := LoadStatCache(p)
		if c.Len() != 0 {
			t.Errorf("%s: %d entries survived", name, c.Len())
		}
		if r := fp(t, root, Options{Cache: c}); r.Digest != want.Digest {
			t.Errorf("%s: wrong digest", name)
		}
		if err := c.Save(p); err != nil {
			t.Errorf("%s: save over corrupt file: %v", name, err)
		}
		if LoadStatCache(p).Len() == 0 {
			t.Errorf("%s: re-saved cache empty", name)
		}
	}
	if LoadStatCache(filepath.Join(dir, "missing")).Len() != 0 {
		t.Error("missing cache not empty")
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".statcache-") {
			t.Errorf("leftover %s", e.Name())
		}
	}
}

func TestCachePrunesOnlyItsRoots(t *testing.T) {
	r1, r2 := t.TempDir(), t.TempDir()
	tree{"a": "1", "b": "2"}.write(t, r1)
	tree{"c": "3"}.write(t, r2)
	p := filepath.Join(t.TempDir(), "cache")
	c := NewStatCache()
	fp(t, r1, Options{Cache: c})
	fp(t, r2, Options{Cache: c})
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(r1, "b"))
	c = LoadStatCache(p)
	fp(t, r1, Options{Cache: c}) // r2 not fingerprinted in this "process"
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	c = LoadStatCache(p)
	if c.Len() != 2 {
		t.Fatalf("entries = %d, want 2 (a and c)", c.Len())
	}
	if c.entryAt(filepath.Join(r1, "b")) != nil {
		t.Error("deleted file kept")
	}
	if c.entryAt(filepath.Join(r2, "c")) == nil {
		t.Error("other root's entry dropped")
	}
}

func TestListingStore(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	r1 := fp(t, root, Options{})
	dir := filepath.Join(t.TempDir(), "fingerprints")
	p, err := SaveListing(dir, r1.Listing())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != r1.Digest+".json.gz" {
		t.Errorf("path %s", p)
	}
	m, err := LoadListing(dir, r1.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, r1.Listing()) {
		t.Fatal("round trip differs")
	}
	if m.Files["scripts/run.sh"][0] != 'x' || m.Files["src/p/link.py"][0] != 'l' || m.Files["src/p/a.py"][0] != 'f' {
		t.Errorf("kinds: %v", m.Files)
	}
	os.WriteFile(filepath.Join(root, "src/p/a.py"), []byte("changed"), 0o644)
	r2 := fp(t, root, Options{})
	if _, err := SaveListing(dir, r2.Listing()); err != nil {
		t.Fatal(err)
	}
	m2, _ := LoadListing(dir, r2.Digest)
	if ch := Diff(m, m2); !reflect.DeepEqual(Paths(ch), []string{"src/p/a.py"}) {
		t.Fatalf("Diff of stored listings = %v", ch)
	}
	if _, err := LoadListing(dir, strings.Repeat("0", 64)); !errors.Is(err, ErrNoListing) {
		t.Errorf("missing: %v", err)
	}
	if _, err := LoadListing(dir, "../etc/passwd"); !errors.Is(err, ErrNoListing) {
		t.Errorf("bad digest: %v", err)
	}
	// A listing stored under the wrong name is refused.
	os.Rename(ListingPath(dir, r2.Digest), ListingPath(dir, strings.Repeat("1", 64)))
	if _, err := LoadListing(dir, strings.Repeat("1", 64)); !errors.Is(err, ErrNoListing) {
		t.Errorf("mismatch: %v", err)
	}
	if err := PruneListings(dir, []string{r1.Digest}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != r1.Digest+".json.gz" {
		t.Errorf("after prune: %v", ents)
	}
}

// BenchmarkFingerprint measures a cold run (no cache: every file read)
// and a warm no-op run (saved cache: stat only). The tree is generated
// (ADOPIPE_BENCH_FILES files, default 3000) unless ADOPIPE_BENCH_TREE
// names an existing one, e.g. made by bench/gentree.
func BenchmarkFingerprint(b *testing.B) {
	root := os.Getenv("ADOPIPE_BENCH_TREE")
	if root == "" {
		n := 3000
		if s := os.Getenv("ADOPIPE_BENCH_FILES"); s != "" {
			fmt.Sscan(s, &n)
		}
		root = b.TempDir()
		genTree(b, root, n)
		ageTree(b, root)
	}
	b.Run("cold", func(b *testing.B) {
		var bytes int64
		for i := 0; i < b.N; i++ {
			r, err := Fingerprint(context.Background(), root, Options{})
			if err != nil {
				b.Fatal(err)
			}
			bytes = r.Stats.BytesHashed
		}
		b.SetBytes(bytes)
	})
	b.Run("warm", func(b *testing.B) {
		cachePath := filepath.Join(b.TempDir(), "statcache")
		c := NewStatCache()
		if _, err := Fingerprint(context.Background(), root, Options{Cache: c}); err != nil {
			b.Fatal(err)
		}
		if err := c.Save(cachePath); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := LoadStatCache(cachePath) // part of a real warm run
			r, err := Fingerprint(context.Background(), root, Options{Cache: c})
			if err != nil {
				b.Fatal(err)
			}
			if r.Stats.Hashed != 0 {
				b.Fatalf("warm run hashed %d files (mtimes too recent?)", r.Stats.Hashed)
			}
			if err := c.Save(cachePath); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// genTree writes n files of 1-20 KB in a plugin-like layout.
func genTree(b testing.TB, root string, n int) {
	buf := make([]byte, 20<<10)
	x := uint64(42)
	for i := 0; i < n; i++ {
		p := filepath.Join(root, "src", "pkg", fmt.Sprintf("m%02d", i/100), fmt.Sprintf("s%d", i%7), fmt.Sprintf("f%05d.py", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		size := 1<<10 + i*7919%(19<<10)
		for j := 0; j < size; j++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			buf[j] = 'a' + byte(x%26)
		}
		if err := os.WriteFile(p, buf[:size], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, ".gitignore"), []byte("*.log\n__pycache__/\n"), 0o644)
}

// A source inside a git work tree (a plugin inside the ado checkout)
// honours the .gitignore files above it, as git does; the answer is
// checked against git ls-files.
func TestParentGitignoresAgreeWithGit(t *testing.T) {
	testgate.Tool(t, "git")
	top := t.TempDir()
	tree{
		".gitignore":                  "*.log\n/plugins/p/local/\n/plugins/p/only-here.txt\ngen/\n",
		"plugins/.gitignore":          "*.tmp\n!keep.tmp\n",
		"plugins/p/.gitignore":        "!important.log\n",
		"plugins/p/pyproject.toml":    "[project]\n",
		"plugins/p/src/a.py":          "a",
		"plugins/p/src/x.log":         "log",
		"plugins/p/important.log":     "kept by the plugin's own .gitignore",
		"plugins/p/local/y":           "local",
		"plugins/p/src/local/z":       "not anchored here",
		"plugins/p/only-here.txt":     "ignored",
		"plugins/p/src/only-here.txt": "kept",
		"plugins/p/src/gen/g.py":      "generated",
		"plugins/p/w.tmp":             "tmp",
		"plugins/p/keep.tmp":          "kept",
		"plugins/other/o.py":          "outside the source",
	}.write(t, top)
	cmd := exec.Command("git", "init", "-q")
	cmd.Dir = top
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	src := filepath.Join(top, "plugins", "p")
	cmd = exec.Command("git", "-c", "core.excludesFile=/dev/null", "ls-files", "--others", "--exclude-standard", ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))
	if exp := []string{".gitignore", "important.log", "keep.tmp", "pyproject.toml", "src/a.py", "src/local/z", "src/only-here.txt"}; !reflect.DeepEqual(want, exp) {
		t.Fatalf("git itself lists %q, test expected %q", want, exp)
	}
	got := paths(fp(t, src, Options{}))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("files:\n got %q\ngit %q", got, want)
	}
	// Exclude stays relative to the source root, not the work tree.
	got = paths(fp(t, src, Options{Exclude: []string{"/src/a.py", "/plugins/"}}))
	if strings.Contains(strings.Join(got, " "), "src/a.py") || len(got) != len(want)-1 {
		t.Fatalf("with exclude: %q", got)
	}
}

// Len returns the number of entries.
func (c *StatCache) Len() int {
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, rc := range c.roots {
		n += len(rc.entries)
	}
	return n
}

// entryAt returns the entry of the file at abs, or nil; c.mu is held.
func (c *StatCache) entryAt(abs string) *cacheEntry {
	for root, rc := range c.roots {
		if rel, ok := strings.CutPrefix(abs, root+string(filepath.Separator)); ok {
			if e := rc.entries[filepath.ToSlash(rel)]; e != nil {
				return e
			}
		}
	}
	return nil
}
