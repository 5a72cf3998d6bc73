package rayjobs

import (
	"archive/zip"
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// MaxPackageSize is the largest package Ray accepts: its dashboard's
// request body limit (ray_constants.DASHBOARD_CLIENT_MAX_SIZE, given to
// aiohttp as client_max_size, which refuses a larger body with 413). Ray's
// own GCS limit (512 MiB) is higher.
const MaxPackageSize int64 = 100 << 20

// OverUploadLimit reports whether a package of size bytes is larger than
// Ray accepts. It is the one place the limit is compared.
func OverUploadLimit(size int64) bool { return size > MaxPackageSize }

// PackagePrefix starts every working_dir package name Ray derives.
const PackagePrefix = "_ray_pkg_"

// defaultExcludes are the paths `ray job submit --working-dir` always skips
// (ray_constants.RAY_RUNTIME_ENV_DEFAULT_EXCLUDES).
const defaultExcludes = ".git,.venv,venv,__pycache__"

// WorkingDirExcludes returns the excludes `ray job submit --working-dir`
// applies: Ray's defaults (.git, .venv, venv, __pycache__, or the list in
// RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES when that is set) followed by the
// caller's runtime_env excludes.
func WorkingDirExcludes(user []string) []string {
	val, ok := os.LookupEnv("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES")
	if !ok {
		val = defaultExcludes
	}
	var out []string
	for _, x := range strings.Split(val, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return append(out, user...)
}

// includeGitignore mirrors the SDK: .gitignore files count unless
// RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1. .rayignore files always count.
func includeGitignore() bool {
	return os.Getenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE") != "1"
}

// pkgEntry is one path Ray's directory walk visits (and does not skip).
type pkgEntry struct {
	rel      string // relative to the root, as Python prints it: "." for the root
	abs      string
	isDir    bool // following symlinks, like pathlib's is_dir()
	regular  bool // a regular file, following symlinks (pathlib's is_file())
	emptyDir bool // a directory with no entries at all (ignored ones count)
	mode     fs.FileMode
	size     int64
	modTime  time.Time
}

// inZip reports whether Ray's _zip_files puts the entry in the archive:
// regular files and empty directories only.
func (e pkgEntry) inZip() bool { return e.regular || (e.isDir && e.emptyDir) }

// zipName is the archive name Python's ZipFile.write gives the entry.
func (e pkgEntry) zipName() string {
	if e.isDir {
		return e.rel + "/"
	}
	return e.rel
}

type excluder struct {
	base string
	spec pathSpec
}

func (x excluder) match(abs string) bool {
	rel, err := filepath.Rel(x.base, abs)
	if err != nil {
		return false
	}
	return x.spec.match(filepath.ToSlash(rel))
}

// ignoreFileSpec reads dir/name when it is a file and compiles it.
func ignoreFileSpec(dir, name string) (*excluder, error) {
	p := filepath.Join(dir, name)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return nil, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	// Python reads text with universal newlines: \n, \r\n and \r end lines.
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	spec, err := compilePathSpec(strings.Split(text, "\n"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &excluder{base: dir, spec: spec}, nil
}

// walkPackage lists the paths of dir that Ray packages, reproducing
// packaging._dir_travel: the root itself is visited first; each directory's
// .gitignore and .rayignore apply to it and everything below it; a skipped
// directory is not entered.
func walkPackage(dir string, excludes []string) ([]pkgEntry, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(root)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("working directory %s must be an existing directory", root)
	}
	userSpec, err := compilePathSpec(excludes)
	if err != nil {
		return nil, fmt.Errorf("excludes: %w", err)
	}
	withGitignore := includeGitignore()
	var out []pkgEntry
	var travel func(abs string, active []excluder) error
	travel = func(abs string, active []excluder) error {
		st, statErr := os.Stat(abs)
		isDir := statErr == nil && st.IsDir()
		if isDir {
			names := []string{".rayignore"}
			if withGitignore {
				names = []string{".gitignore", ".rayignore"}
			}
			for _, n := range names {
				x, err := ignoreFileSpec(abs, n)
				if err != nil {
					return err
				}
				if x != nil {
					active = append(active[:len(active):len(active)], *x)
				}
			}
		}
		for _, x := range active {
			if x.match(abs) {
				return nil
			}
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return err
		}
		e := pkgEntry{rel: filepath.ToSlash(rel), abs: abs, isDir: isDir}
		if statErr == nil {
			e.mode, e.modTime = st.Mode(), st.ModTime()
			e.regular = st.Mode().IsRegular()
			if e.regular {
				e.size = st.Size()
			}
		}
		var children []os.DirEntry
		if isDir {
			children, err = os.ReadDir(abs)
			if err != nil {
				return err
			}
			e.emptyDir = len(children) == 0
		}
		out = append(out, e)
		for _, c := range children {
			if err := travel(filepath.Join(abs, c.Name()), active); err != nil {
				return err
			}
		}
		return nil
	}
	if err := travel(root, []excluder{{base: root, spec: userSpec}}); err != nil {
		return nil, err
	}
	return out, nil
}

// hashEntries computes Ray's 8-byte package hash: starting from ASCII
// "00000000", XOR the first 8 bytes of sha1(relative path [+ file bytes])
// of every visited path. Directories, and files that cannot be opened,
// contribute their path only.
func hashEntries(entries []pkgEntry) (string, error) {
	acc := []byte("00000000")
	buf := make([]byte, 1<<20)
	for _, e := range entries {
		h := sha1.New()
		io.WriteString(h, e.rel)
		if !e.isDir && e.regular {
			f, err := os.Open(e.abs)
			if err == nil {
				_, err = io.CopyBuffer(h, f, buf)
				f.Close()
				if err != nil {
					return "", fmt.Errorf("read %s: %w", e.abs, err)
				}
			}
		}
		sum := h.Sum(nil)
		for i := range acc {
			acc[i] ^= sum[i]
		}
	}
	return hex.EncodeToString(acc), nil
}

func packageNameOf(entries []pkgEntry) (string, error) {
	h, err := hashEntries(entries)
	if err != nil {
		return "", err
	}
	return PackagePrefix + h + ".zip", nil
}

// FileSize names one file and its size, for size errors.
type FileSize struct {
	Path string // relative to the package root, slash-separated
	Size int64
}

// PackageTooLargeError says a working directory would exceed Ray's upload
// limit, and which files weigh most.
type PackageTooLargeError struct {
	Dir     string
	Size    int64 // the zip's size in bytes
	Limit   int64
	Largest []FileSize // the largest files, biggest first (at most 5)
}

func (e *PackageTooLargeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "working directory %s packs to %s, over Ray's upload limit of %s; largest files:",
		e.Dir, mib(e.Size), mib(e.Limit))
	for _, f := range e.Largest {
		fmt.Fprintf(&b, " %s (%s),", f.Path, mib(f.Size))
	}
	s := strings.TrimSuffix(b.String(), ",")
	return s + "; exclude them with .gitignore/.rayignore files or excludes"
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1024*1024)) }

// LargestFiles returns the n largest of files, biggest first (equal sizes
// keep their order), for saying what to exclude from an oversized package.
func LargestFiles(files []FileSize, n int) []FileSize {
	out := append([]FileSize(nil), files...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Size > out[j].Size })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// largestEntries is LargestFiles over a package's regular files.
func largestEntries(entries []pkgEntry, n int) []FileSize {
	var fs []FileSize
	for _, e := range entries {
		if e.regular {
			fs = append(fs, FileSize{Path: e.rel, Size: e.size})
		}
	}
	return LargestFiles(fs, n)
}

// zipEntries writes the archive Ray's _zip_files would write for the entries
// (contents at the archive root, stored uncompressed, Unix modes in the
// external attributes). With content false, every file is written as zeros
// of its recorded size: the archive then has exactly the real archive's size.
func zipEntries(w io.Writer, entries []pkgEntry, content bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	zw := zip.NewWriter(bw)
	buf := make([]byte, 256<<10)
	var order []pkgEntry
	for _, e := range entries {
		if e.inZip() {
			order = append(order, e)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].rel < order[j].rel })
	for _, e := range order {
		fh := &zip.FileHeader{Name: e.zipName(), Method: zip.Store, Modified: dosClamp(e.modTime)}
		fh.SetMode(e.mode)
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if e.isDir {
			continue
		}
		if !content {
			if _, err := io.CopyBuffer(fw, io.LimitReader(zeroReader{}, e.size), buf); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(e.abs)
		if err != nil {
			return fmt.Errorf("open %s: %w", e.abs, err)
		}
		n, err := io.CopyBuffer(fw, io.LimitReader(f, e.size), buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", e.abs, err)
		}
		if n != e.size {
			return fmt.Errorf("%s changed while it was being packaged (%d bytes, expected %d)", e.abs, n, e.size)
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// dosClamp keeps a modification time inside the MS-DOS range, as Python's
// ZipFile(strict_timestamps=False) does.
func dosClamp(t time.Time) time.Time {
	lo := time.Date(1980, 1, 1, 0, 0, 0, 0, time.Local)
	hi := time.Date(2107, 12, 31, 23, 59, 58, 0, time.Local)
	if t.Before(lo) {
		return lo
	}
	if t.After(hi) {
		return hi
	}
	return t
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// zipSize is the exact byte size of the archive for entries.
func zipSize(entries []pkgEntry) (int64, error) {
	var c countWriter
	if err := zipEntries(&c, entries, false); err != nil {
		return 0, err
	}
	return c.n, nil
}
