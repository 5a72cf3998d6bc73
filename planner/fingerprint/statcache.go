package fingerprint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

// StatCache maps absolute file paths and their stat data (size, mtime,
// ctime, inode, mode) to the content's sha256, so that unchanged files
// are not read again. It is only a cache: a missing or corrupt cache file
// just means files are hashed again.
//
// A cached digest is used only when every stat field matches and the
// file's mtime is strictly older than the cache file's own mtime (git's
// "racy" rule: a file modified in the same timestamp tick as the cache
// was written could otherwise keep its stat while its content changed)
// and more than racyWindow older than the moment the content was read.
//
// A StatCache is safe for concurrent use by several Fingerprint calls.
type StatCache struct {
	mu        sync.Mutex
	entries   map[string]*cacheEntry
	writtenAt int64    // mtime (ns) of the cache file as last loaded or saved; 0 = never
	roots     []string // absolute roots fingerprinted in this process (with trailing separator)
	dirty     bool
}

// NewStatCache returns an empty cache.
func NewStatCache() *StatCache {
	return &StatCache{entries: map[string]*cacheEntry{}}
}

const cacheMagic = "adopipe-statcache/1\n"

// LoadStatCache reads a cache saved by Save. A missing, unreadable or
// corrupt file yields an empty cache: it is only a cache.
func LoadStatCache(path string) *StatCache {
	c := NewStatCache()
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return c
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return c
	}
	entries, ok := decodeCache(data)
	if !ok {
		return c
	}
	c.entries = entries
	c.writtenAt = fi.ModTime().UnixNano()
	return c
}

func decodeCache(data []byte) (map[string]*cacheEntry, bool) {
	if !bytes.HasPrefix(data, []byte(cacheMagic)) || len(data) < len(cacheMagic)+4 {
		return nil, false
	}
	body := data[len(cacheMagic) : len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, false
	}
	n, k := binary.Uvarint(body)
	if k <= 0 || n > uint64(len(body)) {
		return nil, false
	}
	body = body[k:]
	entries := make(map[string]*cacheEntry, n)
	// One allocation for all keys and one for all entries.
	all := string(body)
	keyBase := len(body)
	slab := make([]cacheEntry, n)
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(body)
		if k <= 0 {
			return 0, false
		}
		body = body[k:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, k := binary.Varint(body)
		if k <= 0 {
			return 0, false
		}
		body = body[k:]
		return v, true
	}
	for i := uint64(0); i < n; i++ {
		l, ok := uv()
		if !ok || l > uint64(len(body)) {
			return nil, false
		}
		off := keyBase - len(body)
		p := all[off : off+int(l)]
		body = body[l:]
		e := &slab[i]
		var ok1, ok2, ok3, ok4, ok5, ok6 bool
		var mode uint64
		e.st.size, ok1 = sv()
		e.st.mtime, ok2 = sv()
		e.st.ctime, ok3 = sv()
		e.st.ino, ok4 = uv()
		mode, ok5 = uv()
		e.hashedAt, ok6 = sv()
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || len(body) < 32 {
			return nil, false
		}
		e.st.mode = uint32(mode)
		copy(e.digest[:], body[:32])
		body = body[32:]
		entries[p] = e
	}
	if len(body) != 0 {
		return nil, false
	}
	return entries, true
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Save writes the cache to path atomically (internal/atomicfile),
// creating the directory if needed. Entries under a root fingerprinted in
// this process that were not seen (deleted or now ignored files) are
// dropped; entries of other roots are kept. Save does nothing when
// nothing changed since the cache was loaded.
func (c *StatCache) Save(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, e := range c.entries {
		if e.used {
			continue
		}
		for _, r := range c.roots {
			if strings.HasPrefix(p, r) {
				delete(c.entries, p)
				c.dirty = true
				break
			}
		}
	}
	if !c.dirty {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	var body bytes.Buffer
	var scratch [binary.MaxVarintLen64]byte
	putU := func(v uint64) { body.Write(scratch[:binary.PutUvarint(scratch[:], v)]) }
	putS := func(v int64) { body.Write(scratch[:binary.PutVarint(scratch[:], v)]) }
	putU(uint64(len(c.entries)))
	for p, e := range c.entries {
		putU(uint64(len(p)))
		body.WriteString(p)
		putS(e.st.size)
		putS(e.st.mtime)
		putS(e.st.ctime)
		putU(e.st.ino)
		putU(uint64(e.st.mode))
		putS(e.hashedAt)
		body.Write(e.digest[:])
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc32.Checksum(body.Bytes(), crcTable))
	file := make([]byte, 0, len(cacheMagic)+body.Len()+len(sum))
	file = append(append(append(file, cacheMagic...), body.Bytes()...), sum[:]...)
	if err := atomicfile.Write(path, file, atomicfile.Options{}); err != nil {
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

func (c *StatCache) addRoot(abs string) {
	if !strings.HasSuffix(abs, string(filepath.Separator)) {
		abs += string(filepath.Separator)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.roots {
		if r == abs {
			return
		}
	}
	c.roots = append(c.roots, abs)
}

// lookup returns the cached digest of the file at abs if it can be
// trusted for the stat st.
func (c *StatCache) lookup(abs string, st statInfo) ([32]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[abs]
	if e == nil {
		return [32]byte{}, false
	}
	e.used = true
	if !trusted(e, st, c.writtenAt) {
		return [32]byte{}, false
	}
	return e.digest, true
}

// trusted is the reuse rule: identical stat, and the file was last
// modified strictly before the cache was written and well before it was
// read.
func trusted(e *cacheEntry, st statInfo, writtenAt int64) bool {
	return e.st == st &&
		e.st.mtime < writtenAt &&
		e.st.mtime+int64(racyWindow) <= e.hashedAt
}

func (c *StatCache) store(abs string, st statInfo, hashedAt int64, digest [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[abs]; e != nil && e.st == st && e.hashedAt == hashedAt && e.digest == digest {
		e.used = true
		return
	}
	c.entries[abs] = &cacheEntry{st: st, hashedAt: hashedAt, digest: digest, used: true}
	c.dirty = true
}

var errNotDir = errors.New("not a directory")
