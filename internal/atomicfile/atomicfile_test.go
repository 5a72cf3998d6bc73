package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/adopipe/adopipe/internal/testfiles"
)

// leftovers lists the temp files of path still in its directory.
func leftovers(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPrefix(path)+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "f.json")
	if err := Write(path, []byte("one"), Options{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("default mode %v, want 0600", fi.Mode().Perm())
	}
	if err := Write(path, []byte("two"), Options{Perm: 0o644}); err != nil {
		t.Fatal(err)
	}
	if got := testfiles.Read(t, path); got != "two" {
		t.Errorf("content %q, want %q", got, "two")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if l := leftovers(t, path); len(l) != 0 {
		t.Errorf("temp files left: %v", l)
	}
}

func TestWriteKeepsBackup(t *testing.T) {
	dir := t.TempDir()
	path, backup := filepath.Join(dir, "f"), filepath.Join(dir, "f.backup")
	if err := Write(path, []byte("first"), Options{Backup: backup}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(backup); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a backup was made of a file that did not exist: %v", err)
	}
	if err := Write(path, []byte("second"), Options{Backup: backup}); err != nil {
		t.Fatal(err)
	}
	if got := testfiles.Read(t, backup); got != "first" {
		t.Errorf("backup holds %q, want %q", got, "first")
	}
	if got := testfiles.Read(t, path); got != "second" {
		t.Errorf("file holds %q, want %q", got, "second")
	}
}

func TestWriteFailureAtEachStep(t *testing.T) {
	injected := errors.New("injected")
	for _, tt := range []struct {
		step       Step
		wantNew    bool
		notDurable bool
	}{
		{TempWritten, false, false},
		{BackedUp, false, false},
		{Renamed, true, true},
		{DirSynced, true, true},
	} {
		t.Run(string(tt.step), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := Write(path, []byte("old"), Options{}); err != nil {
				t.Fatal(err)
			}
			err := Write(path, []byte("new"), Options{
				Backup: filepath.Join(dir, "f.backup"),
				AfterStep: func(s Step) error {
					if s == tt.step {
						return injected
					}
					return nil
				},
			})
			if !errors.Is(err, injected) {
				t.Fatalf("Write = %v, want the injected error", err)
			}
			var nd *NotDurableError
			if errors.As(err, &nd) != tt.notDurable {
				t.Errorf("NotDurableError = %v, want %v", errors.As(err, &nd), tt.notDurable)
			}
			want := "old"
			if tt.wantNew {
				want = "new"
			}
			if got := testfiles.Read(t, path); got != want {
				t.Errorf("file holds %q, want %q", got, want)
			}
			if l := leftovers(t, path); len(l) != 0 {
				t.Errorf("temp files left: %v", l)
			}
		})
	}
}

// TestConcurrentWritersDoNotCollide runs many writers of one path at once
// (as two applies writing the same staged context did, through one fixed
// temp name) while a reader watches: every write succeeds, the reader
// only ever sees a whole content, and no temp file is left.
func TestConcurrentWritersDoNotCollide(t *testing.T) {
	path := filepath.Join(t.TempDir(), "context.yaml")
	const writers, rounds = 8, 25
	content := func(w, r int) []byte {
		// Large enough that a torn write would show.
		return bytes.Repeat([]byte(fmt.Sprintf("writer %d round %d\n", w, r)), 2000)
	}
	valid := map[string]bool{}
	for w := range writers {
		for r := range rounds {
			valid[string(content(w, r))] = true
		}
	}
	if err := Write(path, content(0, 0), Options{}); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		for reads := 0; ; reads++ {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				readerDone <- err
				return
			}
			if !valid[string(b)] {
				readerDone <- fmt.Errorf("read %d saw a torn file (%d bytes)", reads, len(b))
				return
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if err := Write(path, content(w, r), Options{Backup: path + ".backup"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write failed: %v", err)
	}
	if err := <-readerDone; err != nil {
		t.Error(err)
	}
	if !valid[testfiles.Read(t, path)] {
		t.Error("final content is not one whole write")
	}
	if l := leftovers(t, path); len(l) != 0 {
		t.Errorf("temp files left: %v", l)
	}
}

func TestWriteFromReadError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Write(path, []byte("old"), Options{}); err != nil {
		t.Fatal(err)
	}
	err := WriteFrom(path, &failingReader{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "read failed") {
		t.Fatalf("WriteFrom = %v, want the read error", err)
	}
	if got := testfiles.Read(t, path); got != "old" {
		t.Errorf("file holds %q after a failed write, want %q", got, "old")
	}
	if l := leftovers(t, path); len(l) != 0 {
		t.Errorf("temp files left: %v", l)
	}
}

type failingReader struct{ sent bool }

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, "partial"), nil
	}
	return 0, errors.New("read failed")
}

func TestNoReplaceNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := Write(file, []byte("one"), Options{NoReplace: true}); err != nil {
		t.Fatal(err)
	}
	if err := Write(file, []byte("two"), Options{Perm: 0o644, NoReplace: true}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "one" {
		t.Fatalf("content = %q, want the first", b)
	}
	if err := Write(file, []byte("three"), Options{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "three" {
		t.Fatalf("content = %q after a replacing write", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
