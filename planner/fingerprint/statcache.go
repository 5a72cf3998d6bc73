package fingerprint

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

// statInfo is what the stat cache compares: if any field differs, the
// file is read again.
type statInfo struct {
	size  int64
	mtime int64 // ns
	ctime int64 // ns (0 where the system has none)
	ino   uint64
	mode  uint32 // raw st_mode where available (type and permissions)
}

type cacheEntry struct {
	key      string // its path relative to the root: walks share it
	st       statInfo
	hashedAt int64 // wall clock (ns) when the content was read
	digest   [32]byte
	used     bool // looked up or stored during this process
}

// racyWindow is how much older than the moment it was read a file's
// mtime must be for its cached digest to be trusted. It covers coarse
// filesystem timestamps (FAT: 2 s) and the kernel's coarse clock: a file
// rewritten in the same timestamp tick just after being read keeps the
// very same stat, so only time can tell the two contents apart.
const racyWindow = 2 * time.Second

// StatCache maps files, by source root and path relative to it, and their
// stat data (size, mtime, ctime, inode, mode) to the content's sha256, so
// that unchanged files are not read again. It is only a cache: a missing,
// corrupt or older-format cache file just means files are hashed again.
//
// A cached digest is used only when every stat field matches and the
// file's mtime is strictly older than the cache file's own mtime (git's
// "racy" rule: a file modified in the same timestamp tick as the cache
// was written could otherwise keep its stat while its content changed)
// and more than racyWindow older than the moment the content was read.
//
// A StatCache is safe for concurrent use by several Fingerprint calls.
type StatCache struct {
	ready     chan struct{} // closed once loaded; every method waits for it
	mu        sync.Mutex
	roots     map[string]*rootCache // by absolute root
	writtenAt int64                 // mtime (ns) of the cache file as last loaded or saved; 0 = never
	dirty     bool
}

// rootCache holds the entries of one source root. Keys are the paths
// relative to the root, as Fingerprint's File.Path: the root is not
// repeated in every key (it was most of each key's bytes).
type rootCache struct {
	entries map[string]*cacheEntry
	walked  bool // fingerprinted in this process: unseen entries are dropped at Save
}

// cacheMagic names the format: "/1" (absolute keys, read in one buffer)
// is an older format, ignored on load and replaced at the next Save.
const cacheMagic = "adopipe-statcache/2\n"

// LoadStatCacheAsync reads a cache saved by Save, streaming (memory holds
// the decoded entries, never the file), in the background: a Fingerprint
// walks its tree meanwhile and waits for the cache only to consult it. A
// missing, unreadable, corrupt or older-format file yields an empty cache:
// it is only a cache.
func LoadStatCacheAsync(path string) *StatCache {
	c := &StatCache{roots: map[string]*rootCache{}, ready: make(chan struct{})}
	go func() {
		defer close(c.ready)
		c.load(path)
	}()
	return c
}

// load fills an empty cache from path, if it holds a valid cache.
func (c *StatCache) load(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < int64(len(cacheMagic))+4 {
		return
	}
	roots, ok := decodeCache(f, fi.Size())
	if !ok {
		return
	}
	c.roots = roots
	c.writtenAt = fi.ModTime().UnixNano()
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// minEntryBytes is the least an entry takes in the file: two key
// lengths, six numbers of at least a byte each, the digest. It bounds
// what a header may ask to allocate before the checksum is known.
const minEntryBytes = 2 + 6 + 32

// The file, after cacheMagic:
//
//	uvarint roots
//	per root: uvarint len, root; uvarint entries
//	  per entry, sorted by key: uvarint shared prefix with the previous
//	  key, uvarint suffix length, suffix, varint size, mtime, ctime,
//	  uvarint ino, mode, varint hashedAt, 32-byte digest
//	crc32c (little endian) of everything before it
//
// decodeCache reads it from r, of size bytes in all.
func decodeCache(r io.Reader, size int64) (map[string]*rootCache, bool) {
	crc := crc32.New(crcTable)
	d := &decoder{r: io.TeeReader(io.LimitReader(r, size-4), crc), left: size - 4, buf: make([]byte, 64<<10)}
	if string(d.bytes(uint64(len(cacheMagic)))) != cacheMagic {
		return nil, false
	}
	nroots := d.uv()
	if d.bad || nroots > uint64(d.left) {
		return nil, false
	}
	roots := make(map[string]*rootCache, nroots)
	var keys arena
	for range nroots {
		root := string(d.bytes(d.uv()))
		n := d.uv()
		if d.bad || n > uint64(d.left)/minEntryBytes {
			return nil, false
		}
		rc := &rootCache{entries: make(map[string]*cacheEntry, n)}
		roots[root] = rc
		slab := make([]cacheEntry, n)
		prev := ""
		for i := range slab {
			shared := d.uv()
			suffix := d.bytes(d.uv())
			if d.bad || shared > uint64(len(prev)) {
				return nil, false
			}
			key := keys.join(prev[:shared], suffix)
			e := &slab[i]
			e.st.size = d.sv()
			e.st.mtime = d.sv()
			e.st.ctime = d.sv()
			e.st.ino = d.uv()
			e.st.mode = uint32(d.uv())
			e.hashedAt = d.sv()
			copy(e.digest[:], d.bytes(32))
			if d.bad {
				return nil, false
			}
			e.key = key
			rc.entries[key] = e
			prev = key
		}
	}
	if d.bad || d.left != 0 {
		return nil, false
	}
	var sum [4]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return nil, false
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(sum[:]) {
		return nil, false
	}
	return roots, true
}

// decoder reads the numbers and byte strings of a cache file through its
// own buffer (varints decoded in place, not a byte at a time through an
// interface); after the first error bad is set and every read returns
// zero values.
type decoder struct {
	r        io.Reader
	left     int64  // bytes of the body not yet consumed
	buf      []byte // buf[pos:end] read, not yet consumed
	pos, end int
	bad      bool
}

// fill makes n bytes available, or as many as the body still holds.
func (d *decoder) fill(n int) {
	if d.end-d.pos >= n || d.bad {
		return
	}
	if int64(n) > d.left {
		n = int(d.left)
	}
	copy(d.buf, d.buf[d.pos:d.end])
	d.end -= d.pos
	d.pos = 0
	if n > len(d.buf) {
		d.buf = append(d.buf[:d.end], make([]byte, n-d.end)...)
	}
	for d.end < n {
		k, err := d.r.Read(d.buf[d.end:])
		d.end += k
		if err != nil && d.end < n {
			d.bad = true
			return
		}
	}
}

func (d *decoder) uv() uint64 {
	d.fill(binary.MaxVarintLen64)
	if d.bad {
		return 0
	}
	v, k := binary.Uvarint(d.buf[d.pos:d.end])
	return d.took(v, k)
}

func (d *decoder) sv() int64 {
	d.fill(binary.MaxVarintLen64)
	if d.bad {
		return 0
	}
	v, k := binary.Varint(d.buf[d.pos:d.end])
	return int64(d.took(uint64(v), k))
}

func (d *decoder) took(v uint64, k int) uint64 {
	if k <= 0 {
		d.bad = true
		return 0
	}
	d.pos += k
	d.left -= int64(k)
	return v
}

// bytes returns the next n bytes, valid until the next call.
func (d *decoder) bytes(n uint64) []byte {
	if d.bad || n > uint64(d.left) {
		d.bad = true
		return nil
	}
	d.fill(int(n))
	if d.bad {
		return nil
	}
	b := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	d.left -= int64(n)
	return b
}

// arena packs many short strings into few allocations: the keys of a
// 100,000-entry cache take a few 64 KiB chunks rather than 100,000
// objects.
type arena struct{ chunk []byte }

const arenaChunk = 64 << 10

func (a *arena) join(prefix string, suffix []byte) string {
	n := len(prefix) + len(suffix)
	if n == 0 {
		return ""
	}
	if cap(a.chunk)-len(a.chunk) < n {
		a.chunk = make([]byte, 0, max(arenaChunk, n))
	}
	start := len(a.chunk)
	a.chunk = append(append(a.chunk, prefix...), suffix...)
	// The chunk is never appended to beyond its capacity, so the bytes
	// stay where they are and are never written again.
	return unsafe.String(&a.chunk[start], n)
}

// Save writes the cache to path atomically (internal/atomicfile),
// streaming, creating the directory if needed. Entries under a root
// fingerprinted in this process that were not seen (deleted or now
// ignored files) are dropped; other roots are kept. Save does nothing
// when nothing changed since the cache was loaded.
func (c *StatCache) Save(path string) error {
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rc := range c.roots {
		if !rc.walked {
			continue
		}
		for p, e := range rc.entries {
			if !e.used {
				delete(rc.entries, p)
				c.dirty = true
			}
		}
	}
	if !c.dirty {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	pr, pw := io.Pipe()
	encoded := make(chan struct{})
	go func() {
		defer close(encoded)
		pw.CloseWithError(c.encode(pw))
	}()
	err := atomicfile.WriteFrom(path, pr, atomicfile.Options{})
	pr.CloseWithError(errSaveDone) // ends encode early if the write failed
	<-encoded                      // encode reads c: done before c.mu is released
	if err != nil {
		return err
	}
	// The racy rule compares file mtimes with the cache file's mtime, as
	// stamped by the filesystem (same clock, same granularity).
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	c.writtenAt = fi.ModTime().UnixNano()
	c.dirty = false
	return nil
}

var errSaveDone = errors.New("stat cache save ended")

// encode writes the cache file (see decodeCache) to w; c.mu is held.
func (c *StatCache) encode(w io.Writer) error {
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	var scratch [binary.MaxVarintLen64]byte
	putU := func(v uint64) { bw.Write(scratch[:binary.PutUvarint(scratch[:], v)]) }
	putS := func(v int64) { bw.Write(scratch[:binary.PutVarint(scratch[:], v)]) }
	bw.WriteString(cacheMagic)
	putU(uint64(len(c.roots)))
	var keys []string
	for root, rc := range c.roots {
		putU(uint64(len(root)))
		bw.WriteString(root)
		putU(uint64(len(rc.entries)))
		keys = keys[:0]
		for k := range rc.entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		prev := ""
		for _, k := range keys {
			e := rc.entries[k]
			shared := commonPrefix(prev, k)
			putU(uint64(shared))
			putU(uint64(len(k) - shared))
			bw.WriteString(k[shared:])
			putS(e.st.size)
			putS(e.st.mtime)
			putS(e.st.ctime)
			putU(e.st.ino)
			putU(uint64(e.st.mode))
			putS(e.hashedAt)
			bw.Write(e.digest[:])
			prev = k
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	_, err := w.Write(sum[:])
	return err
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// root returns the entries of the source root abs, marking it walked.
func (c *StatCache) root(abs string) *rootCache {
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	rc := c.roots[abs]
	if rc == nil {
		rc = &rootCache{entries: map[string]*cacheEntry{}}
		c.roots[abs] = rc
	}
	rc.walked = true
	return rc
}

// lookupAll gives each file of entries (Path its name, parent its
// directory) its path and, for a regular file rc vouches for, its digest.
// c and rc may be nil (no cache).
func (c *StatCache) lookupAll(rc *rootCache, entries []*entry) {
	if c != nil && len(rc.entries) == 0 {
		// A first (cold) walk stores every file: size the map once
		// rather than grow it by doublings (old and new tables coexist
		// while it grows).
		c.mu.Lock()
		if len(rc.entries) == 0 {
			rc.entries = make(map[string]*cacheEntry, len(entries))
		}
		c.mu.Unlock()
	}
	var crel []byte
	for _, e := range entries {
		crel = appendRel(crel[:0], e.parent, e.Path)
		e.parent = ""
		if c != nil && !e.Link {
			key, digest, ok := c.lookup(rc, crel, e.st)
			e.Digest, e.have, e.cached = digest, ok, ok
			if key != "" {
				e.Path = key
				continue
			}
		}
		e.Path = string(crel)
	}
}

// lookup returns the cached digest of the file at rel in rc if it can be
// trusted for the stat st, and the entry's key (rel as a string the
// caller may keep) whenever there is an entry.
func (c *StatCache) lookup(rc *rootCache, rel []byte, st statInfo) (string, [32]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := rc.entries[string(rel)]
	if e == nil {
		return "", [32]byte{}, false
	}
	e.used = true
	if !trusted(e, st, c.writtenAt) {
		return e.key, [32]byte{}, false
	}
	return e.key, e.digest, true
}

// trusted is the reuse rule: identical stat, and the file was last
// modified strictly before the cache was written and well before it was
// read.
func trusted(e *cacheEntry, st statInfo, writtenAt int64) bool {
	return e.st == st &&
		e.st.mtime < writtenAt &&
		e.st.mtime+int64(racyWindow) <= e.hashedAt
}

func (c *StatCache) store(rc *rootCache, rel string, st statInfo, hashedAt int64, digest [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := rc.entries[rel]; e != nil && e.st == st && e.hashedAt == hashedAt && e.digest == digest {
		e.used = true
		return
	}
	rc.entries[rel] = &cacheEntry{key: rel, st: st, hashedAt: hashedAt, digest: digest, used: true}
	c.dirty = true
}

var errNotDir = errors.New("not a directory")
