// Package termview draws adopipe's terminal output helpers: lines redrawn
// in place while tasks run (Live), and a writer that labels interleaved
// log lines (PrefixWriter). What to show is cmd/adopipe's business.
package termview

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Live draws one line per running task on a terminal (name, elapsed
// time, state) and redraws them in place until the tasks are over.
type Live struct {
	w      io.Writer
	label  string      // before each name, e.g. "wheel "
	mu     *sync.Mutex // the view's lock, held by callers of Update and Finish
	order  []string
	rows   map[string]*liveRow
	drawn  int // lines drawn last time
	ticker *time.Ticker
	stop   chan struct{}
}

type liveRow struct {
	start   time.Time
	elapsed time.Duration
	state   string // e.g. building, built <wheel>, FAILED
	done    bool
}

// NewLive draws on w, each row labelled label (e.g. "wheel "); mu is the
// caller's lock for w, which the redraws between updates take too.
func NewLive(w io.Writer, mu *sync.Mutex, label string) *Live {
	return &Live{w: w, mu: mu, label: label, rows: map[string]*liveRow{}}
}

// Update records a task's state and redraws; the caller holds mu.
func (l *Live) Update(name, state string, done bool) {
	row, ok := l.rows[name]
	if !ok {
		row = &liveRow{start: time.Now()}
		l.rows[name] = row
		l.order = append(l.order, name)
	}
	row.state, row.done = state, done
	if done {
		row.elapsed = time.Since(row.start)
	}
	if l.ticker == nil {
		l.ticker, l.stop = time.NewTicker(250*time.Millisecond), make(chan struct{})
		go l.tick(l.ticker, l.stop)
	}
	l.draw()
}

// tick redraws until stop closes. It takes the ticker and the channel as
// arguments: Finish clears the fields (under mu) while tick may be reading.
func (l *Live) tick(ticker *time.Ticker, stop chan struct{}) {
	for {
		select {
		case <-ticker.C:
			l.mu.Lock()
			l.draw()
			l.mu.Unlock()
		case <-stop:
			return
		}
	}
}

// Finish draws the final state and stops redrawing; the caller holds mu.
// Later output goes below the block.
func (l *Live) Finish() {
	if l.ticker == nil {
		return
	}
	l.ticker.Stop()
	close(l.stop)
	l.ticker = nil
	l.draw()
	l.drawn = 0
	l.order, l.rows = nil, map[string]*liveRow{}
}

func (l *Live) draw() {
	var b strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", l.drawn)
	}
	for _, name := range l.order {
		row := l.rows[name]
		el := row.elapsed
		if !row.done {
			el = time.Since(row.start)
		}
		fmt.Fprintf(&b, "\x1b[2K  %s%-20s %6.1fs  %s\n", l.label, name, el.Seconds(), row.state)
	}
	l.drawn = len(l.order)
	io.WriteString(l.w, b.String())
}

// PrefixWriter labels every line written through it with Prefix, so
// interleaved logs stay readable; writers sharing W share Mu.
type PrefixWriter struct {
	W      io.Writer
	Prefix string
	Mu     *sync.Mutex
	mid    bool
}

func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	if p.Prefix == "" {
		return p.W.Write(b)
	}
	var sb strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			sb.WriteString(p.Prefix)
		}
		sb.WriteString(line)
		p.mid = !strings.HasSuffix(line, "\n")
	}
	if _, err := io.WriteString(p.W, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// IsTerminal reports whether f (a stream such as os.Stdin) is a terminal.
func IsTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// Width is the width of terminal w, 80 when it cannot be read; false when
// w is no terminal.
func Width(w io.Writer) (int, bool) {
	if !IsTerminal(w) {
		return 0, false
	}
	width, _, err := term.GetSize(int(w.(*os.File).Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	return width, true
}

// WriterFunc is an io.Writer that hands each write to a function (log
// output turned into events).
type WriterFunc func(p []byte)

func (f WriterFunc) Write(p []byte) (int, error) {
	f(p)
	return len(p), nil
}
