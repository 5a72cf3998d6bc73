package main

// When did a job's entrypoint start? Ray's JobInfo has start_time (the
// submission) and end_time, nothing in between. But Ray's job supervisor
// writes "Running entrypoint for job ID: ..." into the session's
// logs/job-driver-ID.log as it starts the entrypoint process (the line
// reaches the file when the `with open(...)` around subprocess.Popen
// closes, just after the child started; the file itself is created at
// submission with "Runtime env is setting up."). entryWatch watches the
// logs directories (one per node: the supervisor runs on the head, but
// every node's is watched) with inotify and notes the moment that line
// appears.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

var entryMarker = []byte("Running entrypoint for job ")

type entryWatch struct {
	w    *fsnotify.Watcher
	mu   sync.Mutex
	seen map[string]time.Time // submission id -> entrypoint start
	done chan struct{}
}

func watchEntrypoints(logsDirs []string) (*entryWatch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	for _, dir := range logsDirs {
		if err := w.Add(dir); err != nil {
			w.Close()
			return nil, fmt.Errorf("watching %s: %w", dir, err)
		}
	}
	e := &entryWatch{w: w, seen: map[string]time.Time{}, done: make(chan struct{})}
	go e.loop()
	return e, nil
}

func (e *entryWatch) loop() {
	defer close(e.done)
	for {
		select {
		case ev, ok := <-e.w.Events:
			if !ok {
				return
			}
			at := time.Now()
			if ev.Op&(fsnotify.Create|fsnotify.Write) != 0 {
				e.note(ev.Name, at)
			}
		case _, ok := <-e.w.Errors:
			if !ok {
				return
			}
		}
	}
}

func (e *entryWatch) note(path string, at time.Time) {
	sid, ok := strings.CutPrefix(filepath.Base(path), "job-driver-")
	if !ok {
		return
	}
	sid, ok = strings.CutSuffix(sid, ".log")
	if !ok {
		return
	}
	e.mu.Lock()
	_, have := e.seen[sid]
	e.mu.Unlock()
	if have || !hasMarker(path) {
		return
	}
	e.mu.Lock()
	if _, have := e.seen[sid]; !have {
		e.seen[sid] = at
	}
	e.mu.Unlock()
}

// hasMarker reads the head of a driver log: the marker is its second line.
func hasMarker(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 8192)
	n, _ := io.ReadFull(f, buf)
	return bytes.Contains(buf[:n], entryMarker)
}

// Started reports when the entrypoint of job sid started.
func (e *entryWatch) Started(sid string) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.seen[sid]
	return t, ok
}

func (e *entryWatch) Close() {
	e.w.Close()
	<-e.done
}
