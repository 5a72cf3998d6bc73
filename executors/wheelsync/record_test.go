package wheelsync

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/planner/fingerprint"
)

const staticPyproject = `[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "quick"
version = "0.1.0"
readme = "src/pkg/README.md"
`

func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	r, err := fingerprint.Fingerprint(context.Background(), dir, fingerprint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Listing().Files
}

func TestRecordMatchesVerbatimFilesOnly(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"pyproject.toml":          staticPyproject,
		"src/pkg/__init__.py":     "",
		"src/pkg/mod.py":          "X = 1\n",
		"src/pkg/README.md":       "readme, also shipped as package data\n",
		"src/pkg/gen.py":          "the wheel holds other bytes\n",
		"src/pkg/twin.py":         "T = 1\n",
		"vendored/pkg/twin.py":    "T = 1\n", // the same bytes under the same suffix: ambiguous
		"tests/test_mod.py":       "import pkg\n",
		"src/pkg/sub/__init__.py": "",
		"src/pkg/sub/util.py":     "U = 1\n",
		"src/pkg/x.json":          "{}\n", // copied twice into the wheel
	})
	wheel := filepath.Join(t.TempDir(), "quick-0.1.0-py3-none-any.whl")
	writeWheel(t, wheel, "quick-0.1.0.dist-info", []member{
		{"pkg/__init__.py", "", zip.Deflate},
		{"pkg/mod.py", "X = 1\n", zip.Deflate},
		{"pkg/README.md", "readme, also shipped as package data\n", zip.Deflate},
		{"pkg/gen.py", "generated\n", zip.Deflate},
		{"pkg/twin.py", "T = 1\n", zip.Deflate},
		{"pkg/sub/__init__.py", "", zip.Deflate},
		{"pkg/sub/util.py", "U = 1\n", zip.Store},
		{"pkg/x.json", "{}\n", zip.Deflate},
		{"pkg/assets/x.json", "{}\n", zip.Deflate},
		{"quick-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n", zip.Deflate},
	})
	m, err := Record(wheel, src, listing(t, src))
	if err != nil {
		t.Fatal(err)
	}
	// Left out: README.md (the metadata's readme), gen.py (other bytes),
	// twin.py (two sources could be it), the empty __init__.py files and
	// x.json (two members hold their bytes: a sync would replace one).
	want := map[string]string{
		"src/pkg/mod.py":      "pkg/mod.py",
		"src/pkg/sub/util.py": "pkg/sub/util.py",
	}
	if m.Refused != "" || !reflect.DeepEqual(m.Files, want) {
		t.Errorf("Record = %+v, want files %v", m, want)
	}

	// Round trip through the cache entry.
	entry := t.TempDir()
	if err := SaveMap(entry, m); err != nil {
		t.Fatal(err)
	}
	if got, ok := LoadMap(entry); !ok || !reflect.DeepEqual(got, m) {
		t.Errorf("LoadMap = %+v, %v; want %+v", got, ok, m)
	}

	// A source edited after the build no longer matches.
	os.WriteFile(filepath.Join(src, "src/pkg/mod.py"), []byte("X = 9\n"), 0o644)
	m, _ = Record(wheel, src, listing(t, src))
	if _, ok := m.Files["src/pkg/mod.py"]; ok {
		t.Errorf("an edited source is still mapped: %v", m.Files)
	}
	if _, ok := LoadMap(t.TempDir()); ok {
		t.Error("LoadMap of an entry without a map says ok")
	}
}

func TestRecordRefusesImpureWheels(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"pyproject.toml": staticPyproject, "pkg/mod.py": "X = 1\n"})
	dir := t.TempDir()
	platlib := filepath.Join(dir, "quick-0.1.0-cp311-cp311-linux_x86_64.whl")
	writeWheel(t, platlib, "quick-0.1.0.dist-info", []member{{"pkg/mod.py", "X = 1\n", zip.Deflate}})
	notPure := filepath.Join(dir, "quick-0.1.0-py3-none-any.whl")
	writeWheel(t, notPure, "quick-0.1.0.dist-info", []member{
		{"pkg/mod.py", "X = 1\n", zip.Deflate},
		{"quick-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n", zip.Deflate},
	})
	for wheel, want := range map[string]string{platlib: "not pure Python", notPure: "not purelib"} {
		m, err := Record(wheel, src, listing(t, src))
		if err != nil || !strings.Contains(m.Refused, want) || len(m.Files) != 0 {
			t.Errorf("Record(%s) = %+v, %v; want refused: %s", filepath.Base(wheel), m, err, want)
		}
	}
}

func TestCheck(t *testing.T) {
	const project = "\n[project]\nname = \"q\"\nversion = \"1.0\"\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // "" means syncable
	}{
		{"setuptools", map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=68\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n" + project}, ""},
		{"hatchling", map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n" + project}, ""},
		{"flit", map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"flit_core >=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n" + project}, ""},
		{"no build-system", map[string]string{"pyproject.toml": project}, ""},
		{"setup.py", map[string]string{"pyproject.toml": project, "setup.py": "from setuptools import setup\nsetup()\n"}, "setup.py runs code"},
		{"no pyproject", map[string]string{"setup.cfg": "[metadata]\n"}, "no pyproject.toml"},
		{"bad toml", map[string]string{"pyproject.toml": "[project\n"}, "does not parse"},
		{"no project table", map[string]string{"pyproject.toml": "[tool.poetry]\nversion = \"1\"\n"}, "no [project] table"},
		{"dynamic version", map[string]string{"pyproject.toml": "[project]\nname = \"q\"\ndynamic = [\"version\"]\n"}, "dynamic"},
		{"dynamic readme", map[string]string{"pyproject.toml": "[project]\nname = \"q\"\nversion = \"1\"\ndynamic = [\"readme\"]\n"}, "dynamic"},
		{"no version", map[string]string{"pyproject.toml": "[project]\nname = \"q\"\n"}, "no static version"},
		{"setuptools_scm", map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"setuptools\", \"setuptools_scm>=8\"]\n" + project}, "setuptools_scm>=8"},
		{"hatch-vcs", map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"hatchling\", \"hatch-vcs\"]\nbuild-backend = \"hatchling.build\"\n" + project}, "hatch-vcs"},
		{"tool.setuptools_scm", map[string]string{"pyproject.toml": project + "[tool.setuptools_scm]\n"}, "from git"},
		{"cmdclass", map[string]string{"pyproject.toml": project + "[tool.setuptools.cmdclass]\nbuild_py = \"x.B\"\n"}, "cmdclass"},
		{"hatch hook", map[string]string{"pyproject.toml": project + "[tool.hatch.build.targets.wheel.hooks.custom]\n"}, "hooks"},
		{"unknown backend", map[string]string{"pyproject.toml": "[build-system]\nrequires = [\"pdm-backend\"]\nbuild-backend = \"pdm.backend\"\n" + project}, "not one known"},
		{"in-tree backend", map[string]string{"pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = \"setuptools.build_meta\"\nbackend-path = [\".\"]\n" + project}, "backend-path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			got := Check(dir)
			if tc.want == "" && got.Refused != "" || tc.want != "" && !strings.Contains(got.Refused, tc.want) {
				t.Errorf("Check = %q, want %q", got.Refused, tc.want)
			}
		})
	}
}

func TestCheckNamesMetadataFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"pyproject.toml": `[project]
name = "q"
version = "1"
readme = {file = "docs/README.rst", content-type = "text/x-rst"}
license = {file = "LICENSE.txt"}
license-files = ["LICENSES/*"]
`})
	got := Check(dir)
	if want := []string{"docs/README.rst", "LICENSE.txt", "LICENSES/*"}; got.Refused != "" || !reflect.DeepEqual(got.MetadataFiles, want) {
		t.Errorf("Check = %+v, want metadata files %v", got, want)
	}
}
