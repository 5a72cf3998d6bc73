package wheelsync

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/planner"
)

// MapFile is the name of the recorded SyncMap in a wheel cache entry,
// beside the wheel it describes.
const MapFile = "sync.json"

// Record learns which of the checkout's files the wheel built from it
// holds verbatim. files is the fingerprint listing of the sources the
// wheel was built from (path -> kind and digest prefix): a source file
// is matched to a member when its path ends with the member's path and
// its bytes, read now, are the member's bytes. Left out: a member two
// source files could be, and a member whose bytes another member also
// holds (a backend may copy one file twice, as hatch's force-include
// can: a sync would replace one copy only). .dist-info and .data members
// are never matched: the backend writes them.
func Record(wheelPath, sourceDir string, files map[string]string) (planner.SyncMap, error) {
	proj := Check(sourceDir)
	if proj.Refused != "" {
		return planner.SyncMap{Refused: proj.Refused}, nil
	}
	wn, err := wheelbuild.ParseWheelName(filepath.Base(wheelPath))
	if err != nil {
		return planner.SyncMap{}, err
	}
	if wn.ABI != "none" || wn.Platform != "any" {
		return planner.SyncMap{Refused: fmt.Sprintf("the wheel is not pure Python (%s-%s)", wn.ABI, wn.Platform)}, nil
	}
	zr, err := zip.OpenReader(wheelPath)
	if err != nil {
		return planner.SyncMap{}, err
	}
	defer zr.Close()
	byBase := map[string][]string{}
	for p, kd := range files {
		if kd != "" && kd[0] != 'l' && !isMetadataFile(p, proj.MetadataFiles) {
			byBase[path.Base(p)] = append(byBase[path.Base(p)], p)
		}
	}
	found := map[string]string{}  // source -> member
	member := map[string]string{} // member -> its sha256
	copies := map[string]int{}    // sha256 -> members holding those bytes
	for _, f := range zr.File {
		top, _, _ := strings.Cut(f.Name, "/")
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		sum, err := memberSHA256(f)
		if err != nil {
			return planner.SyncMap{}, err
		}
		copies[sum]++
		if strings.HasSuffix(top, ".dist-info") {
			if path.Base(f.Name) == "WHEEL" && !purelib(f) {
				return planner.SyncMap{Refused: "the wheel is not purelib (Root-Is-Purelib is not true)"}, nil
			}
			continue
		}
		if strings.HasSuffix(top, ".data") {
			continue
		}
		var match []string
		for _, p := range byBase[path.Base(f.Name)] {
			if (p == f.Name || strings.HasSuffix(p, "/"+f.Name)) && strings.HasPrefix(sum, files[p][1:]) {
				match = append(match, p)
			}
		}
		if len(match) != 1 {
			continue // absent, or ambiguous
		}
		// The listing says what the sources were when planned; the bytes
		// on disk now must still be the member's.
		got, err := digest.FileSHA256(filepath.Join(sourceDir, filepath.FromSlash(match[0])))
		if err != nil || got != sum {
			continue
		}
		found[match[0]] = f.Name
		member[f.Name] = sum
	}
	m := planner.SyncMap{Files: map[string]string{}}
	for src, name := range found {
		if copies[member[name]] == 1 {
			m.Files[src] = name
		}
	}
	return m, nil
}

// isMetadataFile reports whether p is a file the metadata is read from.
func isMetadataFile(p string, meta []string) bool {
	for _, pat := range meta {
		pat = strings.TrimPrefix(path.Clean(filepath.ToSlash(pat)), "./")
		if ok, _ := path.Match(pat, p); ok || p == pat {
			return true
		}
	}
	return false
}

// purelib reads a WHEEL file's Root-Is-Purelib.
func purelib(f *zip.File) bool {
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Root-Is-Purelib") {
			return strings.EqualFold(strings.TrimSpace(v), "true")
		}
	}
	return false
}

func memberSHA256(f *zip.File) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("read %s: %w", f.Name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SaveMap records m in a wheel cache entry directory, atomically.
func SaveMap(entryDir string, m planner.SyncMap) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(entryDir, MapFile), b, atomicfile.Options{Perm: 0o600})
}

// LoadMap reads the SyncMap of a wheel cache entry; ok is false when there
// is none or it cannot be read (then the wheel is built, never synced).
func LoadMap(entryDir string) (planner.SyncMap, bool) {
	b, err := os.ReadFile(filepath.Join(entryDir, MapFile))
	if err != nil {
		return planner.SyncMap{}, false
	}
	var m planner.SyncMap
	if err := json.Unmarshal(b, &m); err != nil {
		return planner.SyncMap{}, false
	}
	return m, true
}
