package fingerprint

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/adopipe/adopipe/internal/atomicfile"
)

// Listing is the compact per-file record of a fingerprint, kept so that
// a later plan can say which files changed. Files maps each path to its
// kind ('f' file, 'x' executable, 'l' link) followed by the first 16 hex
// digits of its content digest: enough to tell versions apart, and about
// a third of the size of full digests.
type Listing struct {
	Digest string            `json:"digest"`
	Files  map[string]string `json:"files"`
}

const shortDigest = 16

// Listing returns the compact per-file record of r.
func (r Result) Listing() Listing {
	m := Listing{Digest: r.Digest, Files: make(map[string]string, len(r.Files))}
	for _, f := range r.Files {
		kind := "f"
		switch {
		case f.Link:
			kind = "l"
		case f.Exec:
			kind = "x"
		}
		m.Files[f.Path] = kind + hex.EncodeToString(f.Digest[:shortDigest/2])
	}
	return m
}

// ChangeKind says how a path changed between two fingerprints.
type ChangeKind int

const (
	Modified ChangeKind = iota // content, executable bit or link target changed
	Added
	Removed
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	}
	return "modified"
}

// Change is one changed path.
type Change struct {
	Path string
	Kind ChangeKind
}

// Diff lists the paths added, removed or modified from old to new,
// sorted by path.
func Diff(old, new Listing) []Change {
	var out []Change
	for p, n := range new.Files {
		o, ok := old.Files[p]
		switch {
		case !ok:
			out = append(out, Change{p, Added})
		case o != n:
			out = append(out, Change{p, Modified})
		}
	}
	for p := range old.Files {
		if _, ok := new.Files[p]; !ok {
			out = append(out, Change{p, Removed})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Paths returns the changed paths.
func Paths(changes []Change) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.Path
	}
	return out
}

// Describe summarises changes for a plan line, naming at most max paths:
// "3 files changed: src/a.py, pyproject.toml, +1". Added and removed
// paths are marked: "src/new.py (added)". Empty for no change.
func Describe(changes []Change, max int) string {
	if len(changes) == 0 {
		return ""
	}
	if max <= 0 {
		max = 1
	}
	noun := "files"
	if len(changes) == 1 {
		noun = "file"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s changed: ", len(changes), noun)
	for i, c := range changes {
		if i == max {
			fmt.Fprintf(&b, ", +%d", len(changes)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Path)
		if c.Kind != Modified {
			fmt.Fprintf(&b, " (%s)", c.Kind)
		}
	}
	return b.String()
}

// isHexDigest tells a digest (64 lowercase hex digits) apart from other
// names (a loop, not a regexp every command would compile at start-up).
func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ListingPath is where SaveListing keeps the listing of digest in dir
// (e.g. .adopipe/fingerprints).
func ListingPath(dir, digest string) string {
	return filepath.Join(dir, digest+".json.gz")
}

// SaveListing stores m in dir as <digest>.json.gz, atomically. Listings
// are content-addressed: an existing one is left alone.
func SaveListing(dir string, m Listing) (string, error) {
	if !isHexDigest(m.Digest) {
		return "", fmt.Errorf("save listing: bad digest %q", m.Digest)
	}
	path := ListingPath(dir, m.Digest)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, buf.Bytes(), atomicfile.Options{}); err != nil {
		return "", err
	}
	return path, nil
}

// ErrNoListing is returned by LoadListing when none is stored for the
// digest (e.g. it was pruned): the plan then just cannot name files.
var ErrNoListing = errors.New("no file listing stored for this fingerprint")

// LoadListing reads the listing of digest from dir. A missing, corrupt
// or mismatching file yields ErrNoListing.
func LoadListing(dir, digest string) (Listing, error) {
	if !isHexDigest(digest) {
		return Listing{}, ErrNoListing
	}
	f, err := os.Open(ListingPath(dir, digest))
	if err != nil {
		return Listing{}, ErrNoListing
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Listing{}, ErrNoListing
	}
	var m Listing
	if err := json.NewDecoder(io.LimitReader(zr, 1<<30)).Decode(&m); err != nil || m.Digest != digest {
		return Listing{}, ErrNoListing
	}
	return m, nil
}

// PruneListings removes the listings in dir whose digest is not in
// keep (e.g. the fingerprints the state still refers to).
func PruneListings(dir string, keep []string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	want := map[string]bool{}
	for _, k := range keep {
		want[k] = true
	}
	var first error
	for _, e := range ents {
		name := e.Name()
		d, ok := strings.CutSuffix(name, ".json.gz")
		if !ok || !isHexDigest(d) || want[d] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && first == nil {
			first = err
		}
	}
	return first
}
