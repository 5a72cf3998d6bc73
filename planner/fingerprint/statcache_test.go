package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// writeV1Cache writes a well-formed cache in the first format (absolute
// keys, one buffer), with the digests of want: it must be ignored, not
// misread.
func writeV1Cache(t *testing.T, path, root string, want Result) {
	t.Helper()
	var body bytes.Buffer
	var scratch [binary.MaxVarintLen64]byte
	putU := func(v uint64) { body.Write(scratch[:binary.PutUvarint(scratch[:], v)]) }
	putS := func(v int64) { body.Write(scratch[:binary.PutVarint(scratch[:], v)]) }
	putU(uint64(len(want.Files)))
	for _, f := range want.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		st := lstatInfo(t, p)
		putU(uint64(len(p)))
		body.WriteString(p)
		putS(st.size)
		putS(st.mtime)
		putS(st.ctime)
		putU(st.ino)
		putU(uint64(st.mode))
		putS(st.mtime + int64(racyWindow)*10)
		body.Write(f.Digest[:])
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc32.Checksum(body.Bytes(), crcTable))
	data := append(append([]byte("adopipe-statcache/1\n"), body.Bytes()...), sum[:]...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOldFormatCacheIgnoredAndRewritten(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	ageTree(t, root)
	dir := t.TempDir()
	path := filepath.Join(dir, "statcache")
	want := fp(t, root, Options{})
	writeV1Cache(t, path, root, want)

	c := LoadStatCache(path)
	if c.Len() != 0 {
		t.Fatalf("old-format cache loaded %d entries", c.Len())
	}
	r := fp(t, root, Options{Cache: c})
	if r.Digest != want.Digest || r.Stats.Cached != 0 || r.Stats.Hashed != len(sampleVisible)-1 {
		t.Fatalf("with an old-format cache: digest equal=%v stats %+v", r.Digest == want.Digest, r.Stats)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(cacheMagic)) {
		t.Fatalf("not rewritten in the current format: %q", data[:min(len(data), 24)])
	}
	if bytes.Contains(data, []byte(root)) && strings.Count(string(data), root) > 1 {
		t.Error("the root is repeated in the keys")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files beside the cache after an atomic rewrite: %v", ents)
	}
	c = LoadStatCache(path)
	if r := fp(t, root, Options{Cache: c}); r.Digest != want.Digest || r.Stats.Hashed != 0 || r.Stats.Cached != len(sampleVisible)-1 {
		t.Fatalf("rewritten cache not used: digest equal=%v stats %+v", r.Digest == want.Digest, r.Stats)
	}
}

// A cache cut at any byte, or with any single byte changed, loads empty
// and the fingerprint is still right.
func TestCacheDamagedAnywhereDiscarded(t *testing.T) {
	root := t.TempDir()
	tree{"a.py": "a", "src/p/b.py": "b", "src/p/c.py": "c", "src/q/d.py": "d"}.write(t, root)
	ageTree(t, root)
	other := t.TempDir()
	tree{"x.py": "x"}.write(t, other)
	ageTree(t, other)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	c := NewStatCache()
	want := fp(t, root, Options{Cache: c})
	fp(t, other, Options{Cache: c})
	if err := c.Save(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if n := LoadStatCache(good).Len(); n != 5 {
		t.Fatalf("good cache: %d entries, want 5", n)
	}
	p := filepath.Join(dir, "bad")
	check := func(name string, content []byte) {
		t.Helper()
		os.WriteFile(p, content, 0o600)
		c := LoadStatCache(p)
		if c.Len() != 0 {
			t.Errorf("%s: %d entries survived", name, c.Len())
		}
		if r := fp(t, root, Options{Cache: c}); r.Digest != want.Digest || r.Stats.Cached != 0 {
			t.Errorf("%s: digest equal=%v stats %+v", name, r.Digest == want.Digest, r.Stats)
		}
	}
	for i := 0; i < len(data); i++ {
		check(fmt.Sprintf("cut at %d", i), data[:i])
		flipped := append([]byte(nil), data...)
		flipped[i] ^= 0x01
		check(fmt.Sprintf("byte %d flipped", i), flipped)
	}
	check("trailing byte", append(append([]byte(nil), data...), 0))
}

// A corrupt header asking for a huge number of entries is refused before
// anything that size is allocated.
func TestCacheHugeCountsRefused(t *testing.T) {
	var body bytes.Buffer
	body.WriteString(cacheMagic)
	var scratch [binary.MaxVarintLen64]byte
	body.Write(scratch[:binary.PutUvarint(scratch[:], 1)])
	body.Write(scratch[:binary.PutUvarint(scratch[:], 1)])
	body.WriteString("/")
	body.Write(scratch[:binary.PutUvarint(scratch[:], 1<<40)])
	body.Write(make([]byte, 64))
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc32.Checksum(body.Bytes(), crcTable))
	p := filepath.Join(t.TempDir(), "huge")
	os.WriteFile(p, append(body.Bytes(), sum[:]...), 0o600)
	if n := LoadStatCache(p).Len(); n != 0 {
		t.Fatalf("%d entries from a lying header", n)
	}
}

// Keys sharing long prefixes (the file stores only what differs from the
// previous key) come back whole, across several roots.
func TestCacheKeysRoundTrip(t *testing.T) {
	roots := []string{t.TempDir(), t.TempDir()}
	files := tree{}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("src/pkg/mod_%03d/file_%03d.py", i/10, i)] = fmt.Sprint(i)
	}
	files["a"] = "short"
	files[strings.Repeat("d/", 60)+strings.Repeat("x", 200)+".py"] = "long"
	var want []Result
	c := NewStatCache()
	for _, r := range roots {
		files.write(t, r)
		ageTree(t, r)
		want = append(want, fp(t, r, Options{Cache: c}))
	}
	p := filepath.Join(t.TempDir(), "cache")
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	c = LoadStatCache(p)
	if c.Len() != 2*len(files) {
		t.Fatalf("loaded %d entries, want %d", c.Len(), 2*len(files))
	}
	for i, r := range roots {
		for _, f := range want[i].Files {
			e := c.entryAt(filepath.Join(r, filepath.FromSlash(f.Path)))
			if e == nil || e.digest != f.Digest {
				t.Fatalf("%s: entry %v", f.Path, e)
			}
		}
		got := fp(t, r, Options{Cache: c})
		if got.Digest != want[i].Digest || got.Stats.Cached != len(files) {
			t.Fatalf("root %d: stats %+v", i, got.Stats)
		}
	}
}

// A cache loading in the background is waited for before it is
// consulted: the walk sees every entry, as with LoadStatCache.
func TestAsyncLoadedCacheIsUsed(t *testing.T) {
	root := t.TempDir()
	sample.write(t, root)
	ageTree(t, root)
	p := filepath.Join(t.TempDir(), "statcache")
	c := NewStatCache()
	want := fp(t, root, Options{Cache: c})
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	n := len(sampleVisible) - 1 // the link is not a cached file
	r := fp(t, root, Options{Cache: LoadStatCacheAsync(p)})
	if r.Digest != want.Digest || r.Stats.Cached != n || r.Stats.Hashed != 0 {
		t.Fatalf("async cache: digest equal=%v stats %+v", r.Digest == want.Digest, r.Stats)
	}
	if LoadStatCacheAsync(filepath.Join(t.TempDir(), "missing")).Len() != 0 {
		t.Fatal("missing cache not empty")
	}
}

// Files come sorted by path, byte for byte, although the walk sorts only
// each directory's names: names that sort around "/" (".", "-", "0")
// beside a directory of the same stem are the cases that could differ.
func TestFilesSortedByPath(t *testing.T) {
	root := t.TempDir()
	tree{
		"a.py": "1", "a-b": "2", "a0": "3", "a/x.py": "4", "a/b/c": "5", "a/b.py": "6",
		"a b": "7", "a!": "8", "ab/z": "9", "Z": "10", "a/b-/q": "11",
	}.write(t, root)
	r := fp(t, root, Options{})
	var got []string
	for _, f := range r.Files {
		got = append(got, f.Path)
	}
	want := append([]string(nil), got...)
	sort.Strings(want)
	if len(got) != 11 || !reflect.DeepEqual(got, want) {
		t.Fatalf("files not in path order:\n got %q\nwant %q", got, want)
	}
	// The digest is over the sorted lines: recompute it from the files.
	h := sha256.New()
	io.WriteString(h, "adopipe-fingerprint/1\n")
	for _, f := range r.Files {
		fmt.Fprintf(h, "%s\x00f %x\n", f.Path, f.Digest)
	}
	if d := hex.EncodeToString(h.Sum(nil)); d != r.Digest {
		t.Fatalf("digest %s, recomputed %s", r.Digest, d)
	}
}
