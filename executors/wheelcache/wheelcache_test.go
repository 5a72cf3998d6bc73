package wheelcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/adopipe/adopipe/internal/testgate"
)

func writeWheel(t *testing.T, dir, name, content string) (string, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256([]byte(content))
	return p, hex.EncodeToString(s[:])
}

func TestPutGet(t *testing.T) {
	root := t.TempDir()
	c := New(filepath.Join(root, "cache"))
	if _, _, ok, err := c.Get("abc"); ok || err != nil {
		t.Fatalf("Get on empty cache: ok=%v err=%v", ok, err)
	}
	src, sum := writeWheel(t, root, "pkg-1.0-py3-none-any.whl", "wheel v1")
	path, got, err := c.Put("abc", src)
	if err != nil {
		t.Fatal(err)
	}
	if got != sum || path != filepath.Join(root, "cache", "abc", "pkg-1.0-py3-none-any.whl") {
		t.Errorf("Put = %s, %s", path, got)
	}
	if fileExists(src) {
		t.Error("Put left the source wheel behind (want a move)")
	}
	p, s, ok, err := c.Get("abc")
	if !ok || err != nil || p != path || s != sum {
		t.Errorf("Get = %s %s %v %v", p, s, ok, err)
	}
	digest, _ := os.ReadFile(path + ".sha256")
	if string(digest) != sum+"  pkg-1.0-py3-none-any.whl\n" {
		t.Errorf("digest file = %q", digest)
	}

	// Replacing the entry with a differently named wheel leaves exactly one.
	src2, sum2 := writeWheel(t, root, "pkg-1.1-py3-none-any.whl", "wheel v2")
	path2, _, err := c.Put("abc", src2)
	if err != nil {
		t.Fatal(err)
	}
	p, s, ok, err = c.Get("abc")
	if !ok || err != nil || p != path2 || s != sum2 {
		t.Errorf("Get after replace = %s %s %v %v", p, s, ok, err)
	}
	if fileExists(path) {
		t.Error("old wheel still present after replace")
	}
	// No temp or old directories are left in the root.
	ents, _ := os.ReadDir(c.Root)
	if len(ents) != 1 || ents[0].Name() != "abc" {
		t.Errorf("cache root holds %v", names(ents))
	}
}

func TestGetCorruptIsMiss(t *testing.T) {
	root := t.TempDir()
	c := New(filepath.Join(root, "cache"))
	src, _ := writeWheel(t, root, "pkg-1.0-py3-none-any.whl", "wheel v1")
	path, _, err := c.Put("fp", src)
	if err != nil {
		t.Fatal(err)
	}

	os.WriteFile(path, []byte("tampered"), 0o644)
	_, _, ok, err := c.Get("fp")
	if ok || !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "recorded") {
		t.Errorf("tampered wheel: ok=%v err=%v", ok, err)
	}

	os.Remove(path + ".sha256")
	_, _, ok, err = c.Get("fp")
	if ok || !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("missing digest: ok=%v err=%v", ok, err)
	}

	// A later Put repairs the entry.
	src, sum := writeWheel(t, root, "pkg-1.0-py3-none-any.whl", "wheel v1")
	if _, _, err := c.Put("fp", src); err != nil {
		t.Fatal(err)
	}
	if _, s, ok, err := c.Get("fp"); !ok || err != nil || s != sum {
		t.Errorf("after repair: ok=%v err=%v", ok, err)
	}
}

func TestInvalidFingerprint(t *testing.T) {
	c := New(t.TempDir())
	for _, fp := range []string{"", ".", "..", "a/b", `a\b`, ".tmp-x"} {
		if _, _, err := c.Put(fp, "x.whl"); err == nil {
			t.Errorf("Put(%q) accepted", fp)
		}
		if _, _, _, err := c.Get(fp); err == nil {
			t.Errorf("Get(%q) accepted", fp)
		}
	}
}

func TestPutRejectsNonWheel(t *testing.T) {
	root := t.TempDir()
	src, _ := writeWheel(t, root, "pkg.tar.gz", "x")
	if _, _, err := New(filepath.Join(root, "c")).Put("fp", src); err == nil {
		t.Error("Put accepted a non-wheel")
	}
}

// TestPutAcrossFileSystems exercises the copy path when the source lives on
// another file system (e.g. /dev/shm vs the test's temp dir).
func TestPutAcrossFileSystems(t *testing.T) {
	root := t.TempDir()
	other, err := os.MkdirTemp("/dev/shm", "wheelcache-test-")
	if err != nil {
		testgate.Missing(t, "no writable /dev/shm: %v", err)
	}
	defer os.RemoveAll(other)
	var a, b syscall.Stat_t
	if syscall.Stat(root, &a) != nil || syscall.Stat(other, &b) != nil || a.Dev == b.Dev {
		testgate.Missing(t, "/dev/shm is on the same file system as the temp dir %s", root)
	}
	src, sum := writeWheel(t, other, "pkg-1.0-py3-none-any.whl", "cross device")
	c := New(filepath.Join(root, "cache"))
	_, got, err := c.Put("fp", src)
	if err != nil || got != sum {
		t.Fatalf("Put = %s, %v", got, err)
	}
	if fileExists(src) {
		t.Error("source not removed after copy")
	}
	if _, _, ok, err := c.Get("fp"); !ok || err != nil {
		t.Errorf("Get: ok=%v err=%v", ok, err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func names(ents []os.DirEntry) []string {
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

func TestClean(t *testing.T) {
	root := t.TempDir()
	c := New(root)
	src, _ := writeWheel(t, t.TempDir(), "pkg-1.0-py3-none-any.whl", "w")
	if _, _, err := c.Put("fp", src); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".tmp-fp-1", ".old-fp-2", ".wheelbuild-3"} {
		os.MkdirAll(filepath.Join(root, d, "sub"), 0o755)
	}
	removed, err := c.Clean()
	if err != nil || len(removed) != 3 {
		t.Errorf("Clean = %v, %v", removed, err)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 || ents[0].Name() != "fp" {
		t.Errorf("root holds %v", names(ents))
	}
	if _, _, ok, _ := c.Get("fp"); !ok {
		t.Error("Clean removed a real entry")
	}
}

// Peek finds an entry without reading the wheel; Get still refuses it
// when its content no longer matches.
func TestPeekDoesNotVerifyGetDoes(t *testing.T) {
	c := New(t.TempDir())
	src := filepath.Join(t.TempDir(), "p-1.0-py3-none-any.whl")
	os.WriteFile(src, []byte("wheel"), 0o644)
	path, sha, err := c.Put("fp1", src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("tampered"), 0o644)
	if p, s, ok, err := c.Peek("fp1"); !ok || err != nil || p != path || s != sha {
		t.Fatalf("Peek = %q %q %v %v", p, s, ok, err)
	}
	if _, _, ok, err := c.Get("fp1"); ok || !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Get of a tampered wheel = ok %v, err %v", ok, err)
	}
}
