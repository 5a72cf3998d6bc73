package rayjobs

import "io"

// Test helpers: PackageName and WriteZip expose, for tests and benchmarks,
// what UploadPackage computes; WriteTree is shared with the external test
// package (real_test.go is package rayjobs_test: its Ray head comes from
// internal/raytest, which imports localcluster, which imports rayjobs).
var WriteTree = writeTree

// PackageName returns the package file name Ray's Python client derives
// for dir, "_ray_pkg_<16 hex>.zip", identical to
// ray._private.runtime_env.packaging.get_uri_for_directory(dir,
// include_gitignore=True, excludes=excludes) without its "gcs://" prefix.
// excludes are gitwildmatch patterns relative to dir. It does not add Ray's
// default excludes: see WorkingDirExcludes.
func PackageName(dir string, excludes []string) (string, error) {
	entries, err := walkPackage(dir, excludes)
	if err != nil {
		return "", err
	}
	return packageNameOf(entries)
}

// WriteZip writes to w the archive Ray would upload for dir with the given
// excludes (use WorkingDirExcludes for `ray job submit` parity). It is what
// UploadPackage streams.
func WriteZip(w io.Writer, dir string, excludes []string) error {
	entries, err := walkPackage(dir, excludes)
	if err != nil {
		return err
	}
	return zipEntries(w, entries, true)
}

// MatchPathSpec compiles lines as Ray compiles one ignore file and returns
// the paths it matches, for the differential test against Ray's pathspec.
func MatchPathSpec(lines, paths []string) ([]string, error) {
	spec, err := compilePathSpec(lines)
	if err != nil {
		return nil, err
	}
	got := []string{}
	for _, p := range paths {
		if spec.match(p) {
			got = append(got, p)
		}
	}
	return got, nil
}
