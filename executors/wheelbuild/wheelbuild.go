// Package wheelbuild builds Python wheels from source checkouts with a real
// PEP 517 frontend (`python -m build` or `uv build`), one process group per
// build, output captured to a log file whose tail is shown on failure.
//
// The build runs IN the checkout (so setuptools_scm sees .git and the files
// git tracks) but writes the wheel into a fresh temporary directory, never
// into the user's dist/.
package wheelbuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/adopipe/adopipe/internal/digest"
)

// Frontends understood by Request.Frontend.
const (
	FrontendBuild = "build" // <python> -m build (pypa/build), the default
	FrontendUV    = "uv"    // uv build
)

// TempPrefix starts the name of the temporary directory each build creates
// in Request.OutDir (hidden, so a cache root can double as OutDir).
const TempPrefix = ".wheelbuild-"

// TailLines is how many trailing log lines a BuildError carries.
const TailLines = 20

// Request describes one wheel build.
type Request struct {
	// Name labels the build in events and errors (e.g. the plugin name).
	Name string
	// SourceDir is the checkout holding pyproject.toml or setup.py. The
	// frontend runs with this as its working directory.
	SourceDir string
	// Python is the interpreter for `-m build` (default "python3"). With the
	// uv frontend it is passed as `--python` when set.
	Python string
	// Frontend is FrontendBuild (default) or FrontendUV.
	Frontend string
	// UV is the uv executable (default "uv" from PATH).
	UV string
	// NoIsolation builds in the current environment instead of an isolated
	// one (`--no-isolation` / `--no-build-isolation`).
	NoIsolation bool
	// LogPath receives the frontend's stdout and stderr (truncated first).
	// Parent directories are created. When empty a temporary log file is
	// created and its path returned in Result.LogPath / BuildError.LogPath.
	LogPath string
	// OutDir is the directory in which a fresh temporary directory for the
	// wheel is created. Put it on the same file system as the wheel cache so
	// the cache can take the wheel with a rename. Default os.TempDir().
	OutDir string
	// Timeout bounds the build (0 = no limit beyond ctx).
	Timeout time.Duration
	// Env is appended to os.Environ() for the frontend ("K=V" entries).
	Env []string
}

// Result describes a built wheel.
type Result struct {
	// WheelPath is the wheel inside a fresh temporary directory owned by the
	// caller: remove it (Cleanup) once the wheel has been moved or copied.
	WheelPath string
	// FileName is the wheel's base name.
	FileName string
	// Distribution is the normalised (PEP 503) project name, e.g. "ado-core".
	Distribution string
	// Version is the version from the wheel's METADATA.
	Version string
	// SHA256 is the hex digest of the wheel file.
	SHA256 string
	// LogPath is where the build output went.
	LogPath string
	// Elapsed is the wall time of the frontend run.
	Elapsed time.Duration
}

// Cleanup removes the temporary directory holding WheelPath (and whatever is
// left in it). It is safe to call after the wheel has been moved away.
func (r Result) Cleanup() error {
	if r.WheelPath == "" {
		return nil
	}
	return os.RemoveAll(filepath.Dir(r.WheelPath))
}

// BuildError is returned when the frontend fails, times out or produces an
// unusable result. Its message names the log file and carries its tail.
type BuildError struct {
	Name    string
	LogPath string
	Tail    []string // last TailLines lines of the log
	Err     error
}

func (e *BuildError) Error() string {
	var b strings.Builder
	name := e.Name
	if name == "" {
		name = "wheel"
	}
	fmt.Fprintf(&b, "build %s: %v", name, e.Err)
	if e.LogPath != "" {
		fmt.Fprintf(&b, "\nlog: %s", e.LogPath)
	}
	if len(e.Tail) > 0 {
		fmt.Fprintf(&b, "\nlast %d lines of the log:", len(e.Tail))
		for _, l := range e.Tail {
			b.WriteString("\n    ")
			b.WriteString(l)
		}
	}
	return b.String()
}

func (e *BuildError) Unwrap() error { return e.Err }

// Build runs one wheel build. See Request for the knobs. Exactly one wheel
// must come out; its name and version are read from the file name and
// cross-checked against the METADATA inside it.
func Build(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	src, err := filepath.Abs(req.SourceDir)
	if err != nil {
		return Result{}, &BuildError{Name: req.Name, Err: err}
	}
	if err := checkSource(src); err != nil {
		return Result{}, &BuildError{Name: req.Name, Err: err}
	}

	logPath := req.LogPath
	var logf *os.File
	if logPath == "" {
		logf, err = os.CreateTemp("", "adopipe-build-*.log")
		if err == nil {
			logPath = logf.Name()
		}
	} else {
		if err = os.MkdirAll(filepath.Dir(logPath), 0o700); err == nil {
			logf, err = os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		}
	}
	if err != nil {
		return Result{}, &BuildError{Name: req.Name, Err: fmt.Errorf("open build log: %w", err)}
	}
	defer logf.Close()

	fail := func(err error) (Result, error) {
		_ = logf.Sync()
		return Result{}, &BuildError{Name: req.Name, LogPath: logPath, Tail: tailLines(logPath, TailLines), Err: err}
	}

	outParent := req.OutDir
	if outParent != "" {
		if err := os.MkdirAll(outParent, 0o700); err != nil {
			return fail(fmt.Errorf("create output directory: %w", err))
		}
	}
	outDir, err := os.MkdirTemp(outParent, TempPrefix)
	if err != nil {
		return fail(fmt.Errorf("create output directory: %w", err))
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(outDir)
		}
	}()

	if err := removeStaleBuildDir(ctx, src, logf); err != nil {
		return fail(err)
	}

	name, args, err := command(req, outDir)
	if err != nil {
		return fail(err)
	}

	runCtx := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, name, args...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), req.Env...)
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)

	fmt.Fprintf(logf, "# adopipe: running %s in %s\n", strings.Join(append([]string{name}, args...), " "), src)
	runStart := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(runStart)
	fmt.Fprintf(logf, "\n# adopipe: frontend finished after %s: %v\n", elapsed.Round(time.Millisecond), exitText(runErr))

	if runErr != nil {
		switch {
		case ctx.Err() != nil:
			return fail(fmt.Errorf("cancelled: %w", ctx.Err()))
		case runCtx.Err() != nil:
			return fail(fmt.Errorf("timed out after %s: %w", req.Timeout, runCtx.Err()))
		default:
			return fail(fmt.Errorf("%s failed: %w", filepath.Base(name), runErr))
		}
	}

	wheel, err := singleWheel(outDir)
	if err != nil {
		return fail(err)
	}
	info, err := InspectWheel(wheel)
	if err != nil {
		return fail(err)
	}
	sum, err := digest.FileSHA256(wheel)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(logf, "# adopipe: built %s (sha256 %s) in %s\n", info.FileName, sum, time.Since(start).Round(time.Millisecond))
	ok = true
	return Result{
		WheelPath:    wheel,
		FileName:     info.FileName,
		Distribution: info.Distribution,
		Version:      info.Version,
		SHA256:       sum,
		LogPath:      logPath,
		Elapsed:      elapsed,
	}, nil
}

func checkSource(src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("source directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("source %s is not a directory", src)
	}
	for _, f := range []string{"pyproject.toml", "setup.py"} {
		if _, err := os.Stat(filepath.Join(src, f)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("source %s has neither pyproject.toml nor setup.py", src)
}

func command(req Request, outDir string) (string, []string, error) {
	switch req.Frontend {
	case "", FrontendBuild:
		py := req.Python
		if py == "" {
			py = "python3"
		}
		args := []string{"-m", "build", "--wheel", "--outdir", outDir}
		if req.NoIsolation {
			args = append(args, "--no-isolation")
		}
		return py, append(args, "."), nil
	case FrontendUV:
		uv := req.UV
		if uv == "" {
			uv = "uv"
		}
		args := []string{"build", "--wheel", "--out-dir", outDir}
		if req.NoIsolation {
			args = append(args, "--no-build-isolation")
		}
		if req.Python != "" {
			args = append(args, "--python", req.Python)
		}
		return uv, append(args, "."), nil
	default:
		return "", nil, fmt.Errorf("unknown build frontend %q (want %q or %q)", req.Frontend, FrontendBuild, FrontendUV)
	}
}

// removeStaleBuildDir removes <src>/build like the manual recipe does
// (`rm -rf build/`): setuptools reuses it and can ship deleted files. It is
// kept when git tracks files in it (then it is source, not an artefact).
func removeStaleBuildDir(ctx context.Context, src string, log io.Writer) error {
	dir := filepath.Join(src, "build")
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return nil // a file or symlink named build: not ours to touch
	}
	if tracked, err := gitTracksFiles(ctx, src, "build"); err != nil {
		return err
	} else if tracked {
		fmt.Fprintf(log, "# adopipe: keeping build/ (git tracks files in it)\n")
		return nil
	}
	fmt.Fprintf(log, "# adopipe: removing stale build/ directory\n")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove stale build directory: %w", err)
	}
	return nil
}

// gitTracksFiles reports whether `git -C src ls-files -- path` lists
// anything. Outside a git work tree (or without git) nothing is tracked.
func gitTracksFiles(ctx context.Context, src, path string) (bool, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return false, nil
	}
	cmd := exec.CommandContext(ctx, git, "-C", src, "ls-files", "-z", "--", path)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return false, nil // not a repository
		}
		return false, err
	}
	return out.Len() > 0, nil
}

func singleWheel(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var wheels, others []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".whl") {
			wheels = append(wheels, e.Name())
		} else {
			others = append(others, e.Name())
		}
	}
	sort.Strings(wheels)
	switch len(wheels) {
	case 1:
		return filepath.Join(dir, wheels[0]), nil
	case 0:
		if len(others) > 0 {
			return "", fmt.Errorf("frontend succeeded but produced no .whl (found: %s)", strings.Join(others, ", "))
		}
		return "", errors.New("frontend succeeded but produced no .whl")
	default:
		return "", fmt.Errorf("frontend produced %d wheels, want exactly one: %s", len(wheels), strings.Join(wheels, ", "))
	}
}

func exitText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// tailLines returns the last n lines of a file (best effort).
func tailLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(st.Size()-window, io.SeekStart)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), window+1)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
		if len(lines) > 4*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
