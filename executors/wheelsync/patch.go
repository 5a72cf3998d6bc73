package wheelsync

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/adopipe/adopipe/executors/wheelbuild"
	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/planner"
)

// Patch writes to out the wheel at prev with the content of the members
// in repl replaced and their RECORD lines rewritten (hash and size). Every
// other member is copied raw: same header, same compressed bytes, same
// order. A replaced member keeps its header (name, time, mode, method) and
// gets its new content compressed with Go's flate, which is deterministic:
// the same inputs give the same bytes.
func Patch(prev string, out io.Writer, repl map[string][]byte) error {
	zr, err := zip.OpenReader(prev)
	if err != nil {
		return err
	}
	defer zr.Close()
	record, err := recordMember(zr.File)
	if err != nil {
		return err
	}
	if _, ok := repl[record.Name]; ok {
		return fmt.Errorf("RECORD cannot be replaced")
	}
	seen := map[string]bool{}
	zw := zip.NewWriter(out)
	for _, f := range zr.File {
		data, replace := repl[f.Name]
		if f == record {
			if data, err = rewriteRecord(f, repl); err != nil {
				return err
			}
			replace = true
		}
		if !replace {
			if err := zw.Copy(f); err != nil {
				return fmt.Errorf("copy %s: %w", f.Name, err)
			}
			continue
		}
		seen[f.Name] = true
		if err := writeMember(zw, f.FileHeader, data); err != nil {
			return fmt.Errorf("write %s: %w", f.Name, err)
		}
	}
	for name := range repl {
		if !seen[name] {
			return fmt.Errorf("the wheel has no member %s", name)
		}
	}
	return zw.Close()
}

// recordMember finds the wheel's one .dist-info/RECORD.
func recordMember(files []*zip.File) (*zip.File, error) {
	var found []*zip.File
	for _, f := range files {
		dir, rest, ok := strings.Cut(f.Name, "/")
		if ok && rest == "RECORD" && strings.HasSuffix(dir, ".dist-info") {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("want one .dist-info/RECORD, found %d", len(found))
	}
	return found[0], nil
}

// rewriteRecord returns RECORD with the lines of the replaced members
// carrying their new hash and size; every other line, and each line's
// end, is kept as it was.
func rewriteRecord(f *zip.File, repl map[string][]byte) ([]byte, error) {
	old, err := readMember(f)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	listed := map[string]bool{}
	for line := range strings.Lines(string(old)) {
		body := strings.TrimRight(line, "\r\n")
		end := line[len(body):]
		if body == "" {
			out.WriteString(line)
			continue
		}
		fields, err := csv.NewReader(strings.NewReader(body)).Read()
		if err != nil {
			return nil, fmt.Errorf("RECORD line %q: %w", body, err)
		}
		data, ok := repl[fields[0]]
		if !ok {
			out.WriteString(line)
			continue
		}
		listed[fields[0]] = true
		sum := sha256.Sum256(data)
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{fields[0], "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]), strconv.Itoa(len(data))})
		w.Flush()
		out.WriteString(strings.TrimRight(b.String(), "\n") + end)
	}
	for name := range repl {
		if !listed[name] {
			return nil, fmt.Errorf("RECORD does not list %s", name)
		}
	}
	return out.Bytes(), nil
}

// writeMember writes data under a copy of an existing member's header.
func writeMember(zw *zip.Writer, fh zip.FileHeader, data []byte) error {
	raw := data
	switch fh.Method {
	case zip.Store:
	case zip.Deflate:
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.DefaultCompression)
		fw.Write(data)
		if err := fw.Close(); err != nil {
			return err
		}
		raw = b.Bytes()
	default:
		return fmt.Errorf("compression method %d", fh.Method)
	}
	fh.CRC32 = crc32.ChecksumIEEE(data)
	fh.UncompressedSize64 = uint64(len(data))
	fh.CompressedSize64 = uint64(len(raw))
	w, err := zw.CreateRaw(&fh)
	if err != nil {
		return err
	}
	_, err = w.Write(raw)
	return err
}

func readMember(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Apply makes the synced wheel: it reads each file's content from
// sourceDir, refuses one that is no longer what the plan saw, and patches
// prev into a fresh temporary directory in outDir (named like a build's,
// so the wheel cache's Clean removes what an interrupted sync leaves).
// The new wheel has prev's file name; the caller removes its directory.
func Apply(prev, sourceDir string, files []planner.SyncFile, outDir string) (string, error) {
	repl := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(sourceDir, filepath.FromSlash(f.Source)))
		if err != nil {
			return "", err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.Digest {
			return "", fmt.Errorf("%s changed since the plan", f.Source)
		}
		repl[f.Member] = b
	}
	var buf bytes.Buffer
	if err := Patch(prev, &buf, repl); err != nil {
		return "", fmt.Errorf("patch %s: %w", filepath.Base(prev), err)
	}
	dir, err := os.MkdirTemp(outDir, wheelbuild.TempPrefix)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(prev))
	if err := atomicfile.Write(out, buf.Bytes(), atomicfile.Options{Perm: 0o600}); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return out, nil
}
