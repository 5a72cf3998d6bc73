package wheelbuild

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseWheelName(t *testing.T) {
	tests := []struct {
		in      string
		want    WheelName
		wantErr bool
	}{
		{in: "ado_core-1.2.0-py3-none-any.whl", want: WheelName{"ado_core", "1.2.0", "", "py3", "none", "any"}},
		{in: "pkg-0.1.dev3+g1a2b3c-1-cp311-cp311-manylinux_2_17_x86_64.whl", want: WheelName{"pkg", "0.1.dev3+g1a2b3c", "1", "cp311", "cp311", "manylinux_2_17_x86_64"}},
		{in: "/some/dir/x-1-py3-none-any.whl", want: WheelName{"x", "1", "", "py3", "none", "any"}},
		{in: "ado_core-1.2.0-py3-none-any.zip", wantErr: true},
		{in: "ado-core-1.2.0-py3-none-any-x-y.whl", wantErr: true},
		{in: "ado_core-1.2.0-py3.whl", wantErr: true},
		{in: "ado_core--py3-none-any.whl", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseWheelName(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseWheelName(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("ParseWheelName(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"ado-core":           "ado-core",
		"ado_core":           "ado-core",
		"Ado.Core":           "ado-core",
		"adopipe_hatch.test": "adopipe-hatch-test",
		"a__-._b":            "a-b",
		"SFTTrainer":         "sfttrainer",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeWheel writes a minimal wheel zip with the given METADATA.
func writeWheel(t *testing.T, dir, file, distInfo, metadata string) string {
	t.Helper()
	p := filepath.Join(dir, file)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("pkg/__init__.py")
	w.Write([]byte("x = 1\n"))
	if distInfo != "" {
		w, _ = zw.Create(distInfo + "/METADATA")
		w.Write([]byte(metadata))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestInspectWheel(t *testing.T) {
	dir := t.TempDir()
	meta := "Metadata-Version: 2.1\r\nName: Ado-Core\r\nVersion: 1.2.0rc1\r\nRequires-Dist: ray[default]>=2.9\r\nRequires-Dist: pandas; extra == \"data\"\r\n\r\nName: not-this\nRequires-Dist: not-this\n"
	good := writeWheel(t, dir, "ado_core-1.2.0rc1-py3-none-any.whl", "ado_core-1.2.0rc1.dist-info", meta)
	info, err := InspectWheel(good)
	if err != nil {
		t.Fatal(err)
	}
	want := WheelInfo{FileName: "ado_core-1.2.0rc1-py3-none-any.whl", Distribution: "ado-core", Version: "1.2.0rc1", MetadataName: "Ado-Core",
		RequiresDist: []string{"ray[default]>=2.9", `pandas; extra == "data"`}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("InspectWheel = %+v, want %+v", info, want)
	}

	bad := []struct {
		file, distInfo, meta, errPart string
	}{
		{"other-1.2.0-py3-none-any.whl", "other-1.2.0.dist-info", "Name: ado-core\nVersion: 1.2.0\n", "distribution"},
		{"ado_core-1.3.0-py3-none-any.whl", "ado_core-1.3.0.dist-info", "Name: ado-core\nVersion: 1.2.0\n", "version"},
		{"ado_core-1.2.0-py3-none-any.whl", "", "", "METADATA"},
		{"ado_core-1.2.1-py3-none-any.whl", "ado_core-1.2.1.dist-info", "Summary: no name\n", "lacks"},
	}
	for _, b := range bad {
		sub := t.TempDir()
		p := writeWheel(t, sub, b.file, b.distInfo, b.meta)
		_, err := InspectWheel(p)
		if err == nil || !strings.Contains(err.Error(), b.errPart) {
			t.Errorf("InspectWheel(%s) error = %v, want one mentioning %q", b.file, err, b.errPart)
		}
	}
}

func TestRemoveStaleBuildDir(t *testing.T) {
	ctx := context.Background()
	var log strings.Builder

	// Not a git repository: build/ is an artefact and goes.
	plain := t.TempDir()
	os.MkdirAll(filepath.Join(plain, "build", "lib"), 0o755)
	os.WriteFile(filepath.Join(plain, "build", "lib", "stale.py"), []byte("old"), 0o644)
	if err := removeStaleBuildDir(ctx, plain, &log); err != nil {
		t.Fatal(err)
	}
	if fileExists(filepath.Join(plain, "build")) {
		t.Error("untracked build/ was not removed")
	}

	// A repository that tracks files in build/: keep it.
	tracked := t.TempDir()
	os.MkdirAll(filepath.Join(tracked, "build"), 0o755)
	os.WriteFile(filepath.Join(tracked, "build", "helper.py"), []byte("keep"), 0o644)
	os.WriteFile(filepath.Join(tracked, "setup.py"), []byte(""), 0o644)
	gitRepo(t, tracked)
	if err := removeStaleBuildDir(ctx, tracked, &log); err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(tracked, "build", "helper.py")) {
		t.Error("git-tracked build/ was removed")
	}

	// A repository where build/ is untracked (ignored): remove it.
	ignored := t.TempDir()
	os.WriteFile(filepath.Join(ignored, ".gitignore"), []byte("build/\n"), 0o644)
	gitRepo(t, ignored)
	os.MkdirAll(filepath.Join(ignored, "build"), 0o755)
	os.WriteFile(filepath.Join(ignored, "build", "x"), []byte("x"), 0o644)
	if err := removeStaleBuildDir(ctx, ignored, &log); err != nil {
		t.Fatal(err)
	}
	if fileExists(filepath.Join(ignored, "build")) {
		t.Error("ignored build/ was not removed")
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	_, err := Build(ctx, Request{Name: "empty", SourceDir: empty})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "neither pyproject.toml nor setup.py") {
		t.Errorf("Build(empty dir) error = %v", err)
	}
	os.WriteFile(filepath.Join(empty, "pyproject.toml"), nil, 0o644)
	_, err = Build(ctx, Request{Name: "x", SourceDir: empty, Frontend: "poetry", LogPath: filepath.Join(t.TempDir(), "x.log")})
	if err == nil || !strings.Contains(err.Error(), `unknown build frontend "poetry"`) {
		t.Errorf("Build(frontend poetry) error = %v", err)
	}
}

func TestTailLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("\n")
	}
	b.WriteString("last\n\n")
	os.WriteFile(p, []byte(b.String()), 0o644)
	got := tailLines(p, 20)
	if len(got) != 20 || got[19] != "last" {
		t.Errorf("tailLines = %d lines ending %q", len(got), got[len(got)-1])
	}
}
