package wheelsync

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adopipe/adopipe/planner"
)

func TestPatchReplacesMembersAndRewritesRecord(t *testing.T) {
	dir := t.TempDir()
	prev := quickWheel(t, dir)
	repl := map[string][]byte{"pkg/mod.py": []byte("X = 2  # edited\n"), "pkg/data.txt": []byte("also edited\n")}
	var out bytes.Buffer
	if err := Patch(prev, &out, repl); err != nil {
		t.Fatal(err)
	}
	patched := filepath.Join(dir, "out.whl")
	os.WriteFile(patched, out.Bytes(), 0o644)

	names, content := readWheel(t, patched)
	oldNames, oldContent := readWheel(t, prev)
	if !reflect.DeepEqual(names, oldNames) {
		t.Fatalf("members %v, want the same order as before %v", names, oldNames)
	}
	for name, b := range repl {
		if !bytes.Equal(content[name], b) {
			t.Errorf("%s = %q, want %q", name, content[name], b)
		}
	}
	checkRecord(t, names, content)
	// RECORD differs only in the replaced members' lines.
	rec := "quick-0.1.0.dist-info/RECORD"
	oldLines, newLines := strings.Split(string(oldContent[rec]), "\n"), strings.Split(string(content[rec]), "\n")
	for i := range oldLines {
		name, _, _ := strings.Cut(oldLines[i], ",")
		if _, replaced := repl[name]; !replaced && oldLines[i] != newLines[i] {
			t.Errorf("RECORD line %d changed: %q -> %q", i, oldLines[i], newLines[i])
		}
	}

	// Every other member is byte-identical: header and compressed bytes.
	oldZ, _ := zip.OpenReader(prev)
	defer oldZ.Close()
	newZ, _ := zip.OpenReader(patched)
	defer newZ.Close()
	for i, of := range oldZ.File {
		nf := newZ.File[i]
		if _, replaced := repl[of.Name]; replaced || of.Name == rec {
			if nf.Method != of.Method || !nf.Modified.Equal(of.Modified) || nf.ExternalAttrs != of.ExternalAttrs {
				t.Errorf("%s: header changed beyond its content: %+v, was %+v", of.Name, nf.FileHeader, of.FileHeader)
			}
			continue
		}
		if !reflect.DeepEqual(of.FileHeader, nf.FileHeader) {
			t.Errorf("%s: header %+v, was %+v", of.Name, nf.FileHeader, of.FileHeader)
		}
		if a, b := rawBytes(t, of), rawBytes(t, nf); !bytes.Equal(a, b) {
			t.Errorf("%s: raw bytes differ", of.Name)
		}
	}

	// Deterministic: the same patch gives the same bytes.
	var again bytes.Buffer
	if err := Patch(prev, &again, repl); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("patching twice gave different bytes")
	}
}

func rawBytes(t *testing.T, f *zip.File) []byte {
	t.Helper()
	r, err := f.OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	return b
}

func TestPatchRefuses(t *testing.T) {
	dir := t.TempDir()
	prev := quickWheel(t, dir)
	for _, tc := range []struct {
		repl map[string][]byte
		want string
	}{
		{map[string][]byte{"pkg/absent.py": nil}, "RECORD does not list pkg/absent.py"},
		{map[string][]byte{"quick-0.1.0.dist-info/RECORD": nil}, "RECORD cannot be replaced"},
	} {
		err := Patch(prev, io.Discard, tc.repl)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Patch(%v) = %v, want %q", tc.repl, err, tc.want)
		}
	}
}

func TestApplyRefusesAFileEditedSinceThePlan(t *testing.T) {
	dir := t.TempDir()
	prev := quickWheel(t, dir)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"pkg/mod.py": "X = 3\n"})
	planned := sha256.Sum256([]byte("X = 2\n"))
	_, err := Apply(prev, src, []planner.SyncFile{{Source: "pkg/mod.py", Member: "pkg/mod.py", Digest: hex.EncodeToString(planned[:])}}, dir)
	if err == nil || !strings.Contains(err.Error(), "changed since the plan") {
		t.Fatalf("Apply = %v, want a refusal", err)
	}

	now := sha256.Sum256([]byte("X = 3\n"))
	out, err := Apply(prev, src, []planner.SyncFile{{Source: "pkg/mod.py", Member: "pkg/mod.py", Digest: hex.EncodeToString(now[:])}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(out) != filepath.Base(prev) {
		t.Errorf("synced wheel is named %s, want %s", filepath.Base(out), filepath.Base(prev))
	}
	names, content := readWheel(t, out)
	if string(content["pkg/mod.py"]) != "X = 3\n" {
		t.Errorf("pkg/mod.py = %q", content["pkg/mod.py"])
	}
	checkRecord(t, names, content)
}
