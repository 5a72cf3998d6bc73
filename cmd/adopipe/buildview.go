package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// liveBuilds draws one line per running build on a terminal (name, elapsed
// time, state) and redraws them in place until the builds are over.
type liveBuilds struct {
	w      io.Writer
	mu     *sync.Mutex // the view's lock, held by callers of update
	order  []string
	rows   map[string]*buildRow
	drawn  int // lines drawn last time
	ticker *time.Ticker
	stop   chan struct{}
}

type buildRow struct {
	start   time.Time
	elapsed time.Duration
	state   string // building, built <wheel>, FAILED (log: ...)
	done    bool
}

func newLiveBuilds(w io.Writer, mu *sync.Mutex) *liveBuilds {
	return &liveBuilds{w: w, mu: mu, rows: map[string]*buildRow{}}
}

// update records a build's state and redraws; the caller holds mu.
func (l *liveBuilds) update(name, state string, done bool) {
	row, ok := l.rows[name]
	if !ok {
		row = &buildRow{start: time.Now()}
		l.rows[name] = row
		l.order = append(l.order, name)
	}
	row.state, row.done = state, done
	if done {
		row.elapsed = time.Since(row.start)
	}
	if l.ticker == nil {
		l.ticker, l.stop = time.NewTicker(250*time.Millisecond), make(chan struct{})
		go l.tick()
	}
	l.draw()
}

func (l *liveBuilds) tick() {
	for {
		select {
		case <-l.ticker.C:
			l.mu.Lock()
			l.draw()
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// finish draws the final state and stops redrawing; the caller holds mu.
// Later output goes below the block.
func (l *liveBuilds) finish() {
	if l.ticker == nil {
		return
	}
	l.ticker.Stop()
	close(l.stop)
	l.ticker = nil
	l.draw()
	l.drawn = 0
	l.order, l.rows = nil, map[string]*buildRow{}
}

func (l *liveBuilds) draw() {
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
		fmt.Fprintf(&b, "\x1b[2K  wheel %-20s %6.1fs  %s\n", name, el.Seconds(), row.state)
	}
	l.drawn = len(l.order)
	io.WriteString(l.w, b.String())
}
