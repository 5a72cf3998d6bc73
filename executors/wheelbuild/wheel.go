package wheelbuild

import (
	"archive/zip"
	"bufio"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// WheelName is a parsed wheel file name (PEP 427 / binary distribution
// format): {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
type WheelName struct {
	Distribution string // as written in the file name (escaped, e.g. ado_core)
	Version      string // as written in the file name
	Build        string // optional build tag
	Python       string
	ABI          string
	Platform     string
}

// ParseWheelName parses a wheel file name (a base name, not a path).
func ParseWheelName(file string) (WheelName, error) {
	base := filepath.Base(file)
	stem, ok := strings.CutSuffix(base, ".whl")
	if !ok {
		return WheelName{}, fmt.Errorf("wheel file name %q does not end in .whl", base)
	}
	parts := strings.Split(stem, "-")
	var w WheelName
	switch len(parts) {
	case 5:
		w = WheelName{parts[0], parts[1], "", parts[2], parts[3], parts[4]}
	case 6:
		w = WheelName{parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]}
	default:
		return WheelName{}, fmt.Errorf("wheel file name %q: want 5 or 6 dash-separated fields, got %d", base, len(parts))
	}
	for _, p := range parts {
		if p == "" {
			return WheelName{}, fmt.Errorf("wheel file name %q has an empty field", base)
		}
	}
	return w, nil
}

var nameSeps = regexp.MustCompile(`[-_.]+`)

// NormalizeName applies PEP 503 normalisation: lower case, runs of "-", "_"
// and "." become a single "-".
func NormalizeName(name string) string {
	return strings.ToLower(nameSeps.ReplaceAllString(name, "-"))
}

// sameVersion compares a file-name version with a METADATA version: the file
// name replaces "-" with "_" and normalisers may change case.
func sameVersion(fileV, metaV string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "_")) }
	return norm(fileV) == norm(metaV)
}

// WheelInfo is what InspectWheel learns about a wheel.
type WheelInfo struct {
	FileName     string
	Distribution string // PEP 503 normalised
	Version      string // from METADATA
	MetadataName string // Name: as written in METADATA
	// RequiresDist are the wheel's Requires-Dist lines: what pip installs
	// with it.
	RequiresDist []string
}

// InspectWheel parses the wheel's file name and checks it against the Name
// and Version in its *.dist-info/METADATA.
func InspectWheel(path string) (WheelInfo, error) {
	wn, err := ParseWheelName(filepath.Base(path))
	if err != nil {
		return WheelInfo{}, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return WheelInfo{}, fmt.Errorf("open wheel %s: %w", filepath.Base(path), err)
	}
	defer zr.Close()
	var meta []*zip.File
	for _, f := range zr.File {
		dir, rest, ok := strings.Cut(f.Name, "/")
		if ok && rest == "METADATA" && strings.HasSuffix(dir, ".dist-info") {
			meta = append(meta, f)
		}
	}
	if len(meta) != 1 {
		return WheelInfo{}, fmt.Errorf("wheel %s: want exactly one *.dist-info/METADATA, found %d", filepath.Base(path), len(meta))
	}
	name, version, requires, err := readMetadata(meta[0])
	if err != nil {
		return WheelInfo{}, fmt.Errorf("wheel %s: %w", filepath.Base(path), err)
	}
	if NormalizeName(name) != NormalizeName(wn.Distribution) {
		return WheelInfo{}, fmt.Errorf("wheel %s: file name says distribution %q but METADATA says %q", filepath.Base(path), wn.Distribution, name)
	}
	if !sameVersion(wn.Version, version) {
		return WheelInfo{}, fmt.Errorf("wheel %s: file name says version %q but METADATA says %q", filepath.Base(path), wn.Version, version)
	}
	return WheelInfo{
		FileName:     filepath.Base(path),
		Distribution: NormalizeName(name),
		Version:      version,
		MetadataName: name,
		RequiresDist: requires,
	}, nil
}

func readMetadata(f *zip.File) (name, version string, requires []string, err error) {
	rc, err := f.Open()
	if err != nil {
		return "", "", nil, err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // end of headers; the body is the long description
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			if name == "" {
				name = strings.TrimSpace(v)
			}
		case "version":
			if version == "" {
				version = strings.TrimSpace(v)
			}
		case "requires-dist":
			requires = append(requires, strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", nil, fmt.Errorf("read METADATA: %w", err)
	}
	if name == "" || version == "" {
		return "", "", nil, fmt.Errorf("METADATA lacks Name or Version")
	}
	return name, version, requires, nil
}
