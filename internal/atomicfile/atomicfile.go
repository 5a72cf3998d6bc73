// Package atomicfile replaces files so that a reader, or a crash, sees
// either the old content or the new one, never a mix.
//
// Every write goes the same way: a temp file with a unique name in the
// target's directory (so concurrent writers never share one), written,
// fsynced and closed; optionally the previous content kept as a backup;
// the temp file renamed over the target; the directory fsynced so the
// rename survives a power loss.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Step names a completed step of a write, for Options.AfterStep.
type Step string

const (
	TempWritten Step = "temp-written" // temp file written, fsynced, closed
	BackedUp    Step = "backed-up"    // previous content kept as the backup
	Renamed     Step = "renamed"      // temp file renamed over the target
	DirSynced   Step = "dir-synced"   // directory fsynced
)

// Options adjust a write. The zero value writes a 0600 file, no backup.
type Options struct {
	// Perm is the new file's permission, applied exactly (no umask);
	// 0 means 0600.
	Perm fs.FileMode
	// Backup, if not empty, is where the previous content (if any) is
	// kept: a hard link, or a copy where links are unsupported.
	Backup string
	// NoReplace refuses to replace an existing file: the write fails with
	// an error matching fs.ErrExist, even when the file appears while the
	// temp file is written (it is hard-linked into place, not renamed).
	NoReplace bool
	// AfterStep, if set, is called after each step; an error aborts the
	// write as if that step had failed. Fault-injection tests use it.
	AfterStep func(Step) error
}

// NotDurableError is a failure after the new content replaced the old
// one: the file holds the new content but may not survive a power loss.
type NotDurableError struct{ Err error }

func (e *NotDurableError) Error() string {
	return e.Err.Error() + " (the new content is in place but may not be durable)"
}
func (e *NotDurableError) Unwrap() error { return e.Err }

// Write replaces path with data atomically. The directory is created if
// missing. A failure after the rename is a *NotDurableError.
func Write(path string, data []byte, opts Options) error {
	return WriteFrom(path, bytes.NewReader(data), opts)
}

// Replace rewrites the existing file path with data, keeping its
// permissions (fmt rewriting a manifest).
func Replace(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return Write(path, data, Options{Perm: fi.Mode().Perm()})
}

// WriteFrom is Write with the content read from r (e.g. a file being
// copied, without holding it in memory).
func WriteFrom(path string, r io.Reader, opts Options) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	renamed := false
	defer func() {
		if !renamed {
			_ = os.Remove(tmpName)
		}
	}()
	perm := opts.Perm
	if perm == 0 {
		perm = 0o600
	}
	if err := copySyncClose(tmp, r, perm); err != nil {
		return err
	}
	if err := opts.after(TempWritten); err != nil {
		return err
	}
	if opts.Backup != "" {
		if err := keepBackup(path, opts.Backup); err != nil {
			return fmt.Errorf("keeping backup: %w", err)
		}
		if err := opts.after(BackedUp); err != nil {
			return err
		}
	}
	if opts.NoReplace {
		if err := linkNew(tmpName, path); err != nil {
			return err
		}
	} else {
		if err := os.Rename(tmpName, path); err != nil {
			return err
		}
		renamed = true
	}
	if err := opts.after(Renamed); err != nil {
		return &NotDurableError{err}
	}
	if err := SyncDir(dir); err != nil {
		return &NotDurableError{fmt.Errorf("syncing directory %s: %w", dir, err)}
	}
	if err := opts.after(DirSynced); err != nil {
		return &NotDurableError{err}
	}
	return nil
}

// linkNew puts tmp in place at path only if nothing is there: a hard link
// fails rather than replace a file created meanwhile.
func linkNew(tmp, path string) error {
	exists := &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	if _, err := os.Lstat(path); err == nil {
		return exists
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return exists
		}
		return err
	}
	return nil
}

func (o Options) after(s Step) error {
	if o.AfterStep == nil {
		return nil
	}
	return o.AfterStep(s)
}

// tempPrefix is the name prefix of path's temp files: hidden, and named
// after the target so RemoveStaleTemps finds only this file's.
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp-"
}

func copySyncClose(f *os.File, r io.Reader, perm fs.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		_, err = io.Copy(f, r)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// keepBackup makes backup hold the current content of path, if any. path
// itself is never touched, so a crash here leaves the old content there.
func keepBackup(path, backup string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Remove(backup); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Link(path, backup); err == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return WriteFrom(backup, f, Options{Perm: fi.Mode().Perm()})
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there; rename is durable enough
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// RemoveStaleTemps removes temp files of path left by writers that died
// before renaming, when last modified more than olderThan ago (younger
// ones may belong to a writer still at work). Best effort. (Tested
// through state.Save, its caller.)
func RemoveStaleTemps(path string, olderThan time.Duration) {
	cutoff := time.Now().Add(-olderThan)
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(tempPrefix(path))+"*"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			_ = os.Remove(m)
		}
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
