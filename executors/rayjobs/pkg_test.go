package rayjobs

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// writeTree creates files (path -> content; a trailing "/" makes an empty
// directory) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, mode) // umask-proof
	}
	return root
}

func zipNames(t *testing.T, data []byte) map[string]*zip.File {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*zip.File{}
	for _, f := range zr.File {
		out[f.Name] = f
	}
	return out
}

func keys[M ~map[string]V, V any](m M) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestWalkFollowsRayIgnoreRules(t *testing.T) {
	root := writeTree(t, map[string]string{
		".gitignore":        "*.log\n!important.log\nbuild/\n",
		"main.py":           "print(1)\n",
		"x.log":             "x",
		"important.log":     "i",
		"build/out.bin":     "b",
		"sub/.gitignore":    "secret*\n!secret_ok\n",
		"sub/secret1":       "s",
		"sub/secret_ok":     "s",
		"sub/important.log": "kept: the parent's negation matches at any depth",
		"sub/deep/x.log":    "d",
		"hidden/.rayignore": ".*\n",
		"hidden/file":       "skipped with its directory",
		"empty/":            "",
		"run.sh":            "#!/bin/sh\n",
		".git/HEAD":         "ref",
		"__pycache__/m.pyc": "c",
	})
	entries, err := walkPackage(root, WorkingDirExcludes([]string{"main.py"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.rel)
	}
	sort.Strings(got)
	want := []string{
		".", ".gitignore", "build", "empty", "important.log", "run.sh",
		"sub", "sub/.gitignore", "sub/deep", "sub/important.log", "sub/secret_ok",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("visited:\n got  %q\n want %q", got, want)
	}
}

func TestZipSizeIsExact(t *testing.T) {
	root := writeTree(t, map[string]string{
		"a.txt": strings.Repeat("a", 70000), "d/b.sh": "#!/bin/sh\necho\n", "e/": "", "z": "",
	})
	entries, err := walkPackage(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	size, err := zipSize(entries)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := zipEntries(&buf, entries, true); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != size {
		t.Fatalf("zipSize = %d, real zip %d bytes", size, buf.Len())
	}
}

// fakePackages stores PUT packages like Ray's /api/packages endpoints.
type fakePackages struct {
	mu     sync.Mutex
	stored map[string][]byte
	puts   int
	clen   int64
}

func (f *fakePackages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/api/packages/gcs/")
	switch r.Method {
	case http.MethodGet:
		if _, ok := f.stored[name]; !ok {
			w.WriteHeader(404)
			io.WriteString(w, "Package gcs://"+name+" does not exist")
		}
	case http.MethodPut:
		f.puts++
		f.clen = r.ContentLength
		b, err := io.ReadAll(r.Body)
		if err != nil || OverUploadLimit(int64(len(b))) {
			w.WriteHeader(413)
			return
		}
		f.stored[name] = b
	}
}

func TestUploadPackage(t *testing.T) {
	clearAuthEnv(t)
	root := writeTree(t, map[string]string{
		".gitignore":                             "dist/\n",
		"context.yaml":                           "project: p\n",
		"run.sh":                                 "#!/bin/sh\necho hi\n",
		"dist/x.whl":                             "ignored",
		"wheels/abc/ado_core-1-py3-none-any.whl": "PK-not-really",
		"keep/":                                  "",
	})
	f := &fakePackages{stored: map[string][]byte{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	ctx := context.Background()

	uri, uploaded, err := c.UploadPackage(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := PackageName(root, WorkingDirExcludes(nil))
	if uri != "gcs://"+name || !uploaded {
		t.Fatalf("UploadPackage = %q, %v; name %q", uri, uploaded, name)
	}
	data := f.stored[name]
	if f.clen != int64(len(data)) {
		t.Errorf("Content-Length %d, body %d bytes", f.clen, len(data))
	}
	files := zipNames(t, data)
	want := []string{".gitignore", "context.yaml", "keep/", "run.sh", "wheels/abc/ado_core-1-py3-none-any.whl"}
	if got := keys(files); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("zip holds %q, want %q", got, want)
	}
	for name, zf := range files {
		if zf.Method != zip.Store {
			t.Errorf("%s: method %d, want stored", name, zf.Method)
		}
	}
	if m := files["run.sh"].Mode(); m.Perm() != 0o755 {
		t.Errorf("run.sh mode %v", m)
	}
	if attr := files["run.sh"].ExternalAttrs >> 16; attr != 0o100755 {
		t.Errorf("run.sh unix attrs %o", attr)
	}
	if !files["keep/"].Mode().IsDir() {
		t.Errorf("keep/ is not a directory entry")
	}
	rc, _ := files["run.sh"].Open()
	body, _ := io.ReadAll(rc)
	if string(body) != "#!/bin/sh\necho hi\n" {
		t.Errorf("run.sh content %q", body)
	}

	// Same content again: nothing is uploaded.
	uri2, uploaded, err := c.UploadPackage(ctx, root, nil)
	if err != nil || uploaded || uri2 != uri || f.puts != 1 {
		t.Fatalf("second UploadPackage = %q, %v, %v after %d PUTs", uri2, uploaded, err, f.puts)
	}
}

func TestUploadPackageTooLarge(t *testing.T) {
	clearAuthEnv(t)
	root := writeTree(t, map[string]string{"small.txt": "s", "data/medium.bin": strings.Repeat("m", 1000)})
	big, err := os.Create(filepath.Join(root, "data", "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(MaxPackageSize); err != nil { // sparse: cheap on disk
		t.Fatal(err)
	}
	big.Close()
	f := &fakePackages{stored: map[string][]byte{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	_, _, err = c.UploadPackage(context.Background(), root, nil)
	var tl *PackageTooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v", err)
	}
	if tl.Largest[0].Path != "data/huge.bin" || tl.Largest[1].Path != "data/medium.bin" {
		t.Errorf("largest = %+v", tl.Largest)
	}
	for _, s := range []string{"100.00 MiB", "data/huge.bin", ".gitignore"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if f.puts != 0 {
		t.Errorf("%d PUTs for an oversized package", f.puts)
	}
}

func TestPackageNameErrors(t *testing.T) {
	if _, err := PackageName(filepath.Join(t.TempDir(), "nope"), nil); err == nil {
		t.Error("missing directory accepted")
	}
	root := writeTree(t, map[string]string{"a": "1"})
	n1, err := PackageName(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "a"), []byte("2"), 0o644)
	n2, _ := PackageName(root, nil)
	if n1 == n2 || !strings.HasPrefix(n1, PackagePrefix) || len(n1) != len(PackagePrefix)+16+4 {
		t.Errorf("names %q %q", n1, n2)
	}
}

// TestUploadLimitBoundary pins the comparison to Ray's: aiohttp refuses a
// body larger than client_max_size, so exactly 100 MiB still uploads.
func TestUploadLimitBoundary(t *testing.T) {
	for size, over := range map[int64]bool{MaxPackageSize - 1: false, MaxPackageSize: false, MaxPackageSize + 1: true} {
		if got := OverUploadLimit(size); got != over {
			t.Errorf("OverUploadLimit(%d) = %v, want %v", size, got, over)
		}
	}
}

func TestLargestFiles(t *testing.T) {
	files := []FileSize{{"a", 1}, {"b", 5}, {"c", 3}, {"d", 5}, {"e", 2}}
	got := LargestFiles(files, 3)
	want := []FileSize{{"b", 5}, {"d", 5}, {"c", 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LargestFiles = %v, want %v", got, want)
	}
	if files[0].Path != "a" || files[1].Path != "b" {
		t.Errorf("LargestFiles reordered its input: %v", files)
	}
	if got := LargestFiles(files[:2], 5); len(got) != 2 {
		t.Errorf("LargestFiles of 2 files, n=5 = %v", got)
	}
}
