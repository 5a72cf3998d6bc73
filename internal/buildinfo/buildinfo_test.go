package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want Info
		text string
	}{{
		name: "git clone with changes",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261128035625-39e4b1fb1a30+dirty"},
			Settings: []debug.BuildSetting{
				{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"},
				{Key: "vcs.revision", Value: "39e4b1fb1a305cbcfe6ac3c75a47bdda97aff367"},
				{Key: "vcs.time", Value: "2026-11-28T03:56:25Z"}, {Key: "vcs.modified", Value: "true"},
			}},
		want: Info{Version: "v0.0.0-20261128035625-39e4b1fb1a30+dirty", Revision: "39e4b1fb1a305cbcfe6ac3c75a47bdda97aff367",
			Time: "2026-11-28T03:56:25Z", Modified: true, GoVersion: "go1.26.8", Platform: "darwin/arm64"},
		text: "adopipe v0.0.0-20261128035625-39e4b1fb1a30+dirty\n" +
			"commit  39e4b1fb1a305cbcfe6ac3c75a47bdda97aff367 (2026-11-28T03:56:25Z, with uncommitted changes)\n" +
			"go      go1.26.8 darwin/arm64\n",
	}, {
		name: "go install of a tagged module version",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
		want: Info{Version: "v0.3.0", GoVersion: "go1.26.8", Platform: "linux/amd64"},
		text: "adopipe v0.3.0\ncommit  unknown (built without version control information)\ngo      go1.26.8 linux/amd64\n",
	}, {
		name: "go install of a pseudo-version after a tag",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.1-0.20261128035625-39e4b1fb1a30"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}}},
		want: Info{Version: "v0.3.1-0.20261128035625-39e4b1fb1a30", Revision: "39e4b1fb1a30", GoVersion: "go1.26.8", Platform: "linux/arm64"},
		text: "adopipe v0.3.1-0.20261128035625-39e4b1fb1a30\ncommit  39e4b1fb1a30\ngo      go1.26.8 linux/arm64\n",
	}, {
		name: "no repository",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "windows"}, {Key: "GOARCH", Value: "amd64"}}},
		want: Info{Version: Devel, GoVersion: "go1.26.8", Platform: "windows/amd64"},
		text: "adopipe (devel)\ncommit  unknown (built without version control information)\ngo      go1.26.8 windows/amd64\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromBuildInfo(&tt.bi)
			if got != tt.want {
				t.Errorf("FromBuildInfo = %+v\nwant %+v", got, tt.want)
			}
			if s := got.String(); s != tt.text {
				t.Errorf("String() =\n%s\nwant\n%s", s, tt.text)
			}
		})
	}
}

func TestReadDescribesThisBinary(t *testing.T) {
	info := Read()
	if !strings.HasPrefix(info.GoVersion, "go") || !strings.Contains(info.Platform, "/") || info.Version == "" {
		t.Errorf("Read() = %+v: want a Go version, a platform and a version", info)
	}
}
