package wheelsync

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/internal/digest"
	"github.com/adopipe/adopipe/internal/raytest"
	"github.com/adopipe/adopipe/internal/testgate"
	"github.com/adopipe/adopipe/planner"
)

// TestRealSyncEqualsARebuild builds a plugin with a real backend, edits
// two of its files, syncs them into the wheel, builds the edited sources
// again, and compares the two wheels member by member: same names, same
// bytes, same modes; RECORD the same lines (its order aside).
func TestRealSyncEqualsARebuild(t *testing.T) {
	testgate.Real(t, "Python builds")
	py := raytest.RequirePython(t)
	if out, err := exec.Command(py, "-c", "import build, setuptools, hatchling").CombinedOutput(); err != nil {
		testgate.Missing(t, "%s cannot import build, setuptools and hatchling: %v\n%s", py, err, out)
	}
	uv := filepath.Join(filepath.Dir(py), "uv")
	if _, err := os.Stat(uv); err != nil {
		uv = testgate.Tool(t, "uv")
	}
	for _, tc := range []struct {
		name, frontend string
		files          map[string]string
		edits          map[string]string
	}{
		{"setuptools src layout, python -m build", wheelbuild.FrontendBuild, map[string]string{
			"pyproject.toml": `[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "synctest"
version = "0.3.0"
dependencies = ["pyyaml"]

[project.entry-points."ado.custom_experiments"]
synctest = "synctest.experiments"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
synctest = ["*.json"]
`,
			"src/synctest/__init__.py":     "",
			"src/synctest/experiments.py":  "def f(x):\n    return x + 1\n",
			"src/synctest/sub/__init__.py": "",
			"src/synctest/sub/util.py":     "K = 1\n",
			"src/synctest/model.json":      "{\"k\": 1}\n",
			"tests/test_f.py":              "from synctest.experiments import f\n",
		}, map[string]string{
			"src/synctest/experiments.py": "def f(x):\n    return x * 2  # edited, and longer\n",
			"src/synctest/model.json":     "{\"k\": 2}\n",
		}},
		{"hatchling, uv build", wheelbuild.FrontendUV, map[string]string{
			"pyproject.toml": `[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "synctest"
version = "0.3.0"

[tool.hatch.build.targets.wheel]
packages = ["synctest"]
`,
			"synctest/__init__.py": "VALUE = 1\n",
			"synctest/other.py":    "",
		}, map[string]string{
			"synctest/__init__.py": "VALUE = 2\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writeFiles(t, src, tc.files)
			build := func(label string) string {
				res, err := wheelbuild.Build(context.Background(), wheelbuild.Request{
					Name: label, SourceDir: src, Python: py, Frontend: tc.frontend, UV: uv, NoIsolation: true,
					OutDir: t.TempDir(), LogPath: filepath.Join(t.TempDir(), label+".log"), Timeout: 5 * time.Minute,
					Env: []string{"SOURCE_DATE_EPOCH=315532800"},
				})
				if err != nil {
					t.Fatal(err)
				}
				return res.WheelPath
			}
			first := build("first")
			before := listing(t, src)
			m, err := Record(first, src, before)
			if err != nil || m.Refused != "" {
				t.Fatalf("Record = %+v, %v", m, err)
			}
			var files []planner.SyncFile
			for path, content := range tc.edits {
				member, ok := m.Files[path]
				if !ok {
					t.Fatalf("%s is not in the recorded map %v", path, m.Files)
				}
				writeFiles(t, src, map[string]string{path: content})
				sum, _ := digest.FileSHA256(filepath.Join(src, path))
				files = append(files, planner.SyncFile{Source: path, Member: member, Digest: sum})
			}
			synced, err := Apply(first, src, files, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			rebuilt := build("rebuilt")
			if filepath.Base(synced) != filepath.Base(rebuilt) {
				t.Errorf("synced %s, rebuilt %s", filepath.Base(synced), filepath.Base(rebuilt))
			}
			sameWheel(t, synced, rebuilt)

			// The map recorded from the rebuild is the one the sync kept.
			m2, err := Record(rebuilt, src, listing(t, src))
			if err != nil || !mapsEqual(m.Files, m2.Files) {
				t.Errorf("the rebuilt wheel's map %v differs from the first %v (%v)", m2.Files, m.Files, err)
			}
		})
	}
}

// sameWheel compares two wheels member by member.
func sameWheel(t *testing.T, a, b string) {
	t.Helper()
	za, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer za.Close()
	zb, err := zip.OpenReader(b)
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Close()
	names := func(z *zip.ReadCloser) []string {
		var out []string
		for _, f := range z.File {
			out = append(out, f.Name)
		}
		slices.Sort(out)
		return out
	}
	if na, nb := names(za), names(zb); !slices.Equal(na, nb) {
		t.Fatalf("members differ:\nsynced  %v\nrebuilt %v", na, nb)
	}
	_, ca := readWheel(t, a)
	_, cb := readWheel(t, b)
	modes := map[string]os.FileMode{}
	for _, f := range zb.File {
		modes[f.Name] = f.Mode()
	}
	for _, f := range za.File {
		x, y := ca[f.Name], cb[f.Name]
		if strings.HasSuffix(f.Name, ".dist-info/RECORD") {
			x, y = sortedLines(x), sortedLines(y)
		}
		if string(x) != string(y) {
			t.Errorf("%s differs:\nsynced  %q\nrebuilt %q", f.Name, x, y)
		}
		if f.Mode() != modes[f.Name] {
			t.Errorf("%s: mode %v, rebuilt %v", f.Name, f.Mode(), modes[f.Name])
		}
	}
}

func sortedLines(b []byte) []byte {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n"))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
