// Package wheelcache is a content-addressed store of built wheels:
//
//	<root>/<fingerprint>/<wheel file>
//	<root>/<fingerprint>/<wheel file>.sha256   ("<hex>  <wheel file>\n")
//
// The fingerprint is the planner's digest of the sources, so switching a
// branch back finds the earlier wheel. Entries are replaced atomically: a
// reader sees the old entry, no entry, or the new entry, never a mix, and a
// failed build (which never calls Put) leaves the previous entry untouched.
// Get verifies the wheel against its recorded digest before handing it out.
package wheelcache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/internal/digest"
)

// fileSHA256 is the digest the cache verifies wheels by (a package-level
// name because "fingerprint" is this package's word for the entry key).
var fileSHA256 = digest.FileSHA256

// ErrDigestMismatch marks a cache entry whose wheel does not match its
// recorded digest (or whose digest file is missing/garbled). Get reports it
// together with ok=false: the entry is treated as a miss.
var ErrDigestMismatch = errors.New("cached wheel does not match its recorded sha256")

// Cache is a wheel cache rooted at Root.
type Cache struct {
	Root string
}

// New returns a cache rooted at root (created on first Put).
func New(root string) *Cache { return &Cache{Root: root} }

func validFingerprint(fp string) error {
	if fp == "" || fp == "." || fp == ".." || strings.ContainsAny(fp, `/\`) || strings.HasPrefix(fp, ".") {
		return fmt.Errorf("wheelcache: invalid fingerprint %q", fp)
	}
	return nil
}

// Dir is the entry directory for a fingerprint.
func (c *Cache) Dir(fingerprint string) string { return filepath.Join(c.Root, fingerprint) }

// Put moves the wheel at srcWheelPath into the entry for fingerprint,
// replacing any previous entry, and returns the cached path and the wheel's
// sha256. The move is a rename when source and cache share a file system,
// otherwise a copy (temp file + fsync + rename) after which the source is
// removed.
func (c *Cache) Put(fingerprint, srcWheelPath string) (string, string, error) {
	if err := validFingerprint(fingerprint); err != nil {
		return "", "", err
	}
	name := filepath.Base(srcWheelPath)
	if !strings.HasSuffix(name, ".whl") {
		return "", "", fmt.Errorf("wheelcache: %s is not a .whl file", srcWheelPath)
	}
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		return "", "", fmt.Errorf("wheelcache: %w", err)
	}
	sum, err := fileSHA256(srcWheelPath)
	if err != nil {
		return "", "", fmt.Errorf("wheelcache: %w", err)
	}

	// Build the new entry beside the final one, then swap directories.
	tmp, err := os.MkdirTemp(c.Root, ".tmp-"+fingerprint+"-")
	if err != nil {
		return "", "", fmt.Errorf("wheelcache: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op once renamed into place
	if err := moveFile(srcWheelPath, filepath.Join(tmp, name)); err != nil {
		return "", "", fmt.Errorf("wheelcache: store %s: %w", name, err)
	}
	// Re-check after the move (a copy could in principle differ).
	if got, err := fileSHA256(filepath.Join(tmp, name)); err != nil || got != sum {
		return "", "", fmt.Errorf("wheelcache: %s changed while being stored", name)
	}
	if err := atomicfile.Write(filepath.Join(tmp, name+".sha256"), []byte(sum+"  "+name+"\n"), atomicfile.Options{Perm: 0o600}); err != nil {
		return "", "", fmt.Errorf("wheelcache: %w", err)
	}

	final := c.Dir(fingerprint)
	for attempt := 0; ; attempt++ {
		var old string
		if _, err := os.Lstat(final); err == nil {
			old = filepath.Join(c.Root, ".old-"+fingerprint+"-"+randHex())
			if err := os.Rename(final, old); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", "", fmt.Errorf("wheelcache: replace entry: %w", err)
			}
		}
		err := os.Rename(tmp, final)
		if old != "" {
			os.RemoveAll(old)
		}
		if err == nil {
			break
		}
		// Another Put of the same fingerprint won the race; try again.
		if attempt >= 3 || !(errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)) {
			return "", "", fmt.Errorf("wheelcache: install entry: %w", err)
		}
	}
	_ = atomicfile.SyncDir(c.Root) // best effort: the entry is in place either way
	return filepath.Join(final, name), sum, nil
}

// Peek finds the entry for fingerprint and reads its recorded digest
// without hashing the wheel: cheap enough for every plan, where Get would
// re-read every cached wheel. What Peek finds is verified by Get before
// it is used.
func (c *Cache) Peek(fingerprint string) (path, sha string, ok bool, err error) {
	if err := validFingerprint(fingerprint); err != nil {
		return "", "", false, err
	}
	dir := c.Dir(fingerprint)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("wheelcache: %w", err)
	}
	var wheels []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".whl") && e.Type().IsRegular() {
			wheels = append(wheels, e.Name())
		}
	}
	if len(wheels) != 1 {
		return "", "", false, fmt.Errorf("wheelcache: entry %s holds %d wheels, want 1: %w", fingerprint, len(wheels), ErrDigestMismatch)
	}
	path = filepath.Join(dir, wheels[0])
	sha, err = readDigest(path + ".sha256")
	if err != nil {
		return "", "", false, fmt.Errorf("wheelcache: entry %s: %v: %w", fingerprint, err, ErrDigestMismatch)
	}
	return path, sha, true, nil
}

// Get returns the cached wheel for fingerprint after checking it against
// its recorded digest. ok=false with err=nil is a plain miss. ok=false with
// an error wrapping ErrDigestMismatch is a corrupt entry to be treated as a
// miss (the error says what is wrong, for a warning); a later Put replaces
// it. Other errors are I/O problems.
func (c *Cache) Get(fingerprint string) (path, sha string, ok bool, err error) {
	path, want, ok, err := c.Peek(fingerprint)
	if !ok {
		return "", "", false, err
	}
	name := filepath.Base(path)
	got, err := fileSHA256(path)
	if err != nil {
		return "", "", false, fmt.Errorf("wheelcache: %w", err)
	}
	if got != want {
		return "", "", false, fmt.Errorf("wheelcache: entry %s: %s has sha256 %s, recorded %s: %w", fingerprint, name, got[:12], want[:12], ErrDigestMismatch)
	}
	return path, got, true, nil
}

// Clean removes what interrupted Puts and builds leave in the root:
// .tmp-*, .old-* and .wheelbuild-* (wheelbuild's temporary output dirs,
// when the root doubles as its OutDir). Call it only while no Put or build
// uses the cache (e.g. under the state lock). It returns what it removed.
func (c *Cache) Clean() ([]string, error) {
	ents, err := os.ReadDir(c.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wheelcache: %w", err)
	}
	var removed []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".old-") || strings.HasPrefix(n, ".wheelbuild-") {
			if err := os.RemoveAll(filepath.Join(c.Root, n)); err != nil {
				return removed, fmt.Errorf("wheelcache: %w", err)
			}
			removed = append(removed, n)
		}
	}
	return removed, nil
}

func readDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("digest file: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f[0]) != 64 {
		return "", errors.New("digest file is garbled")
	}
	if _, err := hex.DecodeString(f[0]); err != nil {
		return "", errors.New("digest file is garbled")
	}
	return strings.ToLower(f[0]), nil
}

func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	return os.Remove(src)
}

// copyFile copies src to dst atomically and durably (dst's temp file has
// a unique name, so concurrent copies never share one).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.WriteFrom(dst, in, atomicfile.Options{Perm: 0o600})
}

func randHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
