// Package buildinfo says what an adopipe binary was built from: the
// version, the commit and the Go toolchain. Everything comes from the build
// information the go command embeds in every binary (runtime/debug), never
// from linker flags, so `make build`, `make dist` (the wheels and archives)
// and `go install` print the same thing for the same source:
//
//   - in a git clone the go command stamps the commit (vcs.revision,
//     vcs.time, vcs.modified) and derives the version from the tags: v0.3.0
//     at a tag, a pseudo-version such as v0.3.1-0.20261128035625-39e4b1fb1a30
//     after it, and v0.0.0-<time>-<commit> before the first tag;
//   - `go install github.com/adopipe/adopipe/cmd/adopipe@v0.3.0` stamps the
//     module version v0.3.0 (and no vcs.* settings: the commit of a
//     pseudo-version is read from the version itself);
//   - where the go command sees no repository (a git worktree, whose .git is
//     a file; a source archive; GOFLAGS=-buildvcs=false) the version is
//     "(devel)" and the commit unknown.
package buildinfo

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// Devel is the version the go command records when it knows none.
const Devel = "(devel)"

// Info is what adopipe --version prints.
type Info struct {
	Version   string // module version: a tag, a pseudo-version or Devel
	Revision  string // commit hash (full from vcs.revision, 12 digits from a pseudo-version), or ""
	Time      string // commit time, RFC 3339, or ""
	Modified  bool   // built from a working tree with uncommitted changes
	GoVersion string // the toolchain, e.g. go1.26.8
	Platform  string // GOOS/GOARCH the binary is for
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: Devel, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from build information, the running
// binary's (debug.ReadBuildInfo) or another's (debug/buildinfo.ReadFile).
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	goos, goarch := runtime.GOOS, runtime.GOARCH
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if info.Version == "" {
		info.Version = Devel
	}
	if info.Revision == "" {
		info.Revision = pseudoRevision(info.Version)
	}
	info.Platform = goos + "/" + goarch
	return info
}

// pseudoVersionRE matches the tail of a Go pseudo-version:
// -[pre.]0.yyyymmddhhmmss-abcdefabcdef or -yyyymmddhhmmss-abcdefabcdef,
// before any +build metadata.
var pseudoVersionRE = regexp.MustCompile(`[-.](\d{14})-([0-9a-f]{12})(?:\+[0-9A-Za-z.-]+)?$`)

// pseudoRevision returns the commit prefix a pseudo-version names, or "".
func pseudoRevision(version string) string {
	if m := pseudoVersionRE.FindStringSubmatch(version); m != nil {
		return m[2]
	}
	return ""
}

// String is the text of adopipe --version and adopipe version.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "adopipe %s\n", i.Version)
	switch {
	case i.Revision == "":
		b.WriteString("commit  unknown (built without version control information)\n")
	default:
		var notes []string
		if i.Time != "" {
			notes = append(notes, i.Time)
		}
		if i.Modified {
			notes = append(notes, "with uncommitted changes")
		}
		fmt.Fprintf(&b, "commit  %s", i.Revision)
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "go      %s %s\n", i.GoVersion, i.Platform)
	return b.String()
}
