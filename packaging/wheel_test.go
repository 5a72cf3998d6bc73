package packaging_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	adopipebuild "github.com/adopipe/adopipe/internal/buildinfo"
	"github.com/adopipe/adopipe/internal/buildinfo/pep440"
	"github.com/adopipe/adopipe/internal/disttest"
	"github.com/adopipe/adopipe/internal/raytest"
)

// project reads packaging/project.mk, the metadata every wheel must carry.
func project(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("project.mk")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	line := regexp.MustCompile(`^(PROJECT_\w+)\s*=\s*(.*?)\s*$`)
	for _, l := range strings.Split(string(data), "\n") {
		if s := line.FindStringSubmatch(l); s != nil {
			m[s[1]] = s[2]
		}
	}
	for _, k := range []string{"PROJECT_NAME", "PROJECT_SUMMARY", "PROJECT_LICENSE", "PROJECT_URL", "PROJECT_README", "PROJECT_LICENSE_FILE"} {
		if m[k] == "" {
			t.Fatalf("project.mk sets no %s", k)
		}
	}
	return m
}

// goPlatform maps a wheel platform tag to the GOOS/GOARCH its binary must
// be built for.
func goPlatform(tag string) string {
	goos := map[string]string{"manylinux": "linux", "musllinux": "linux", "macosx": "darwin", "win": "windows"}
	osPart, _, _ := strings.Cut(tag, "_")
	for suffix, goarch := range map[string]string{"_x86_64": "amd64", "_aarch64": "arm64", "_arm64": "arm64", "_amd64": "amd64"} {
		if goos[osPart] != "" && strings.HasSuffix(tag, suffix) {
			return goos[osPart] + "/" + goarch
		}
	}
	return ""
}

// TestWheels checks every wheel as an installer would (the filename's tags
// against WHEEL, each file against RECORD's hash and size), then what it
// carries: METADATA from project.mk with the README as long description,
// the license, the adopipe console script, and a static binary for the
// tag's platform stamped with the wheel's version.
func TestWheels(t *testing.T) {
	if testing.Short() {
		t.Skip("packaging: needs the wheels of make dist-test")
	}
	meta := project(t)
	root := raytest.RepoRoot()
	readme, err := os.ReadFile(filepath.Join(root, meta["PROJECT_README"]))
	if err != nil {
		t.Fatal(err)
	}
	license, err := os.ReadFile(filepath.Join(root, meta["PROJECT_LICENSE_FILE"]))
	if err != nil {
		t.Fatal(err)
	}
	dir := disttest.Dir(t)
	wheels, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	platforms := map[string]bool{}
	for _, w := range wheels {
		t.Run(filepath.Base(w), func(t *testing.T) {
			platforms[checkWheel(t, w, meta, readme, license)] = true
		})
	}
	// make dist-test builds linux/amd64; make dist every platform.
	if !platforms["linux/amd64"] {
		t.Errorf("no linux x86_64 wheel in %s", dir)
	}
	checkSHA256SUMS(t, dir)
}

// checkWheel checks one wheel and returns the GOOS/GOARCH of its binary.
func checkWheel(t *testing.T, path string, meta map[string]string, readme, license []byte) string {
	name := strings.TrimSuffix(filepath.Base(path), ".whl")
	parts := strings.Split(name, "-")
	if len(parts) != 5 {
		t.Fatalf("wheel name %q is not NAME-VERSION-PY-ABI-PLATFORM", name)
	}
	dist, version, pyTag, abiTag, platTag := parts[0], parts[1], parts[2], parts[3], parts[4]
	if dist != meta["PROJECT_NAME"] {
		t.Errorf("distribution %q, want %q", dist, meta["PROJECT_NAME"])
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	modes := map[string]os.FileMode{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = data
		modes[f.Name] = f.Mode()
	}
	distInfo := dist + "-" + version + ".dist-info/"

	// WHEEL: the tags the filename expands to. gowheels writes the
	// manylinux pair as one compressed Tag line (the spec wants one line
	// per expanded tag; pip, uv and twine accept either), so both sides
	// are expanded before comparing.
	wheelMeta := headers(t, files[distInfo+"WHEEL"])
	wantTags := expandTags(pyTag + "-" + abiTag + "-" + platTag)
	var gotTags []string
	for _, tag := range wheelMeta["Tag"] {
		gotTags = append(gotTags, expandTags(tag)...)
	}
	slices.Sort(gotTags)
	if !slices.Equal(gotTags, wantTags) {
		t.Errorf("WHEEL tags %v, the filename says %v", gotTags, wantTags)
	}
	if got := wheelMeta.Get("Root-Is-Purelib"); got != "false" {
		t.Errorf("WHEEL Root-Is-Purelib: %q, want false (a platform wheel)", got)
	}

	checkRecord(t, files, distInfo+"RECORD")

	// METADATA, from project.mk; the README is the long description.
	msg, err := mail.ReadMessage(bytes.NewReader(files[distInfo+"METADATA"]))
	if err != nil {
		t.Fatalf("METADATA: %v", err)
	}
	h := msg.Header
	for field, want := range map[string]string{
		"Name": meta["PROJECT_NAME"], "Version": version, "Summary": meta["PROJECT_SUMMARY"],
		"License-Expression": meta["PROJECT_LICENSE"], "Description-Content-Type": "text/markdown",
	} {
		if got := h.Get(field); got != want {
			t.Errorf("METADATA %s: %q, want %q", field, got, want)
		}
	}
	if urls := h["Project-Url"]; !slices.Contains(urls, "Repository, "+meta["PROJECT_URL"]) {
		t.Errorf("METADATA Project-URL: %q, want Repository, %s among them", urls, meta["PROJECT_URL"])
	}
	body, _ := io.ReadAll(msg.Body)
	if strings.TrimSpace(string(body)) != strings.TrimSpace(string(readme)) {
		t.Errorf("METADATA's description is not %s (%d bytes, README %d)", meta["PROJECT_README"], len(body), len(readme))
	}
	licenseFiles := h["License-File"]
	if len(licenseFiles) != 1 || !bytes.Equal(files[distInfo+licenseFiles[0]], license) {
		t.Errorf("METADATA License-File %v: want one, holding %s", licenseFiles, meta["PROJECT_LICENSE_FILE"])
	}

	// The console script that puts adopipe on PATH.
	if !regexp.MustCompile(`(?m)^\[console_scripts\]\s*\n\s*adopipe\s*=\s*\S+`).Match(files[distInfo+"entry_points.txt"]) {
		t.Errorf("entry_points.txt declares no adopipe console script:\n%s", files[distInfo+"entry_points.txt"])
	}

	// The binary: for the tag's platform, static, stamped with this version.
	goos := goPlatform(strings.Split(platTag, ".")[0])
	if goos == "" {
		t.Fatalf("platform tag %q: not one adopipe ships", platTag)
	}
	binName := "adopipe/bin/adopipe"
	if strings.HasPrefix(goos, "windows/") {
		binName += ".exe"
	}
	bin, ok := files[binName]
	if !ok {
		t.Fatalf("no %s in the wheel", binName)
	}
	if !strings.HasPrefix(goos, "windows/") && modes[binName]&0o111 == 0 {
		t.Errorf("%s is not executable (mode %v)", binName, modes[binName])
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: no Go build info: %v", binName, err)
	}
	info := adopipebuild.FromBuildInfo(bi)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if bi.Path != "github.com/adopipe/adopipe/cmd/adopipe" || info.Platform != goos || settings["CGO_ENABLED"] != "0" {
		t.Errorf("%s: %s for %s with CGO_ENABLED=%q, want cmd/adopipe for %s with CGO_ENABLED=0",
			binName, bi.Path, info.Platform, settings["CGO_ENABLED"], goos)
	}
	if pv, err := pep440.PythonVersion(info.Version); err != nil || pv != version {
		t.Errorf("%s is stamped %s (PEP 440 %q, %v): the wheel says %s", binName, info.Version, pv, err, version)
	}
	return goos
}

// expandTags expands a compressed tag set (py3-none-a.b) into sorted
// single tags (py3-none-a, py3-none-b).
func expandTags(set string) []string {
	parts := strings.Split(set, "-")
	if len(parts) != 3 {
		return []string{"malformed:" + set}
	}
	var tags []string
	for _, py := range strings.Split(parts[0], ".") {
		for _, abi := range strings.Split(parts[1], ".") {
			for _, plat := range strings.Split(parts[2], ".") {
				tags = append(tags, py+"-"+abi+"-"+plat)
			}
		}
	}
	slices.Sort(tags)
	return tags
}

// headers parses RFC 822-style key: value lines (WHEEL).
func headers(t *testing.T, data []byte) mail.Header {
	t.Helper()
	if len(data) == 0 {
		t.Fatal("empty or missing WHEEL")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(append(bytes.TrimRight(data, "\n"), "\n\n"...)))
	if err != nil {
		t.Fatalf("WHEEL: %v", err)
	}
	return msg.Header
}

// checkRecord checks that RECORD lists every file of the wheel but itself
// with its sha256 (urlsafe base64, unpadded) and size, and nothing else.
func checkRecord(t *testing.T, files map[string][]byte, record string) {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(files[record])).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("RECORD: %v", err)
	}
	listed := map[string]bool{}
	for _, r := range rows {
		if len(r) != 3 {
			t.Errorf("RECORD row %q: want path,hash,size", r)
			continue
		}
		listed[r[0]] = true
		if r[0] == record {
			continue
		}
		data, ok := files[r[0]]
		if !ok {
			t.Errorf("RECORD lists %s, which the wheel lacks", r[0])
			continue
		}
		sum := sha256.Sum256(data)
		if want := "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]); r[1] != want {
			t.Errorf("RECORD %s: hash %s, the file's is %s", r[0], r[1], want)
		}
		if r[2] != strconv.Itoa(len(data)) {
			t.Errorf("RECORD %s: size %s, the file has %d bytes", r[0], r[2], len(data))
		}
	}
	for name := range files {
		if !listed[name] {
			t.Errorf("%s is in the wheel but not in RECORD", name)
		}
	}
}

// checkSHA256SUMS checks the release archives' checksums, when the
// directory is make dist's (dist-test makes none).
func checkSHA256SUMS(t *testing.T, dir string) {
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Errorf("SHA256SUMS line %q: want SUM  NAME", sc.Text())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("SHA256SUMS: %v", err)
			continue
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
		listed[name] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "SHA256SUMS" && !listed[e.Name()] {
			t.Errorf("%s is not in SHA256SUMS", e.Name())
		}
	}
}
