// Package countproxy is a reverse proxy placed between a client (adopipe
// or the ray CLI) and a Ray head during benchmarks. It counts what reaches
// the cluster: requests, package uploads and their bytes, job submissions,
// and when each submission arrived. It changes nothing on the way.
//
// Its own endpoints live under /__bench/, which Ray never serves:
// GET /__bench/stats returns Stats as JSON, POST /__bench/reset zeroes them.
package countproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is what reached the cluster since the last reset.
type Stats struct {
	Requests      int64 `json:"requests"`
	Uploads       int64 `json:"uploads"`        // PUT /api/packages/...
	UploadedBytes int64 `json:"uploaded_bytes"` // request bytes of those PUTs
	Submits       int64 `json:"submits"`        // POST /api/jobs/
	RequestBytes  int64 `json:"request_bytes"`  // every request body
}

// Proxy forwards to a Ray head and counts.
type Proxy struct {
	target *url.URL
	rp     *httputil.ReverseProxy

	mu      sync.Mutex
	stats   Stats
	submits chan time.Time // arrival of each POST /api/jobs/, for waiters
}

// New returns a proxy to target, e.g. "http://127.0.0.1:8265".
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, submits: make(chan time.Time, 1024)}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		FlushInterval: -1, // log tails stream
	}
	return p, nil
}

// Submits delivers the arrival time of every job submission request, taken
// when its headers reached the proxy (before its body was read).
func (p *Proxy) Submits() <-chan time.Time { return p.submits }

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Reset zeroes the counts.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.stats = Stats{}
	p.mu.Unlock()
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	switch r.URL.Path {
	case "/__bench/stats":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Stats())
		return
	case "/__bench/reset":
		p.Reset()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	upload := r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/packages/")
	submit := r.Method == http.MethodPost && (r.URL.Path == "/api/jobs/" || r.URL.Path == "/api/jobs")
	cr := &countReader{r: r.Body}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = cr
	}
	// Count before the answer reaches the client, so a client that reads
	// Stats right after its request sees it counted. By then the cluster
	// has read the whole body.
	var once sync.Once
	record := func() {
		once.Do(func() { p.record(atomic.LoadInt64(&cr.n), upload, submit, arrived) })
	}
	p.rp.ServeHTTP(&recordingWriter{ResponseWriter: w, before: record}, r)
	record()
}

func (p *Proxy) record(n int64, upload, submit bool, arrived time.Time) {
	p.mu.Lock()
	p.stats.Requests++
	p.stats.RequestBytes += n
	if upload {
		p.stats.Uploads++
		p.stats.UploadedBytes += n
	}
	if submit {
		p.stats.Submits++
	}
	p.mu.Unlock()
	if submit {
		select {
		case p.submits <- arrived:
		default:
		}
	}
}

// recordingWriter calls before ahead of the first byte of the answer.
type recordingWriter struct {
	http.ResponseWriter
	before func()
}

func (w *recordingWriter) WriteHeader(code int) {
	w.before()
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.before()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController, which the reverse proxy uses, flush
// streamed answers and hijack websocket upgrades (log tails).
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type countReader struct {
	r io.ReadCloser
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	atomic.AddInt64(&c.n, int64(n))
	return n, err
}

func (c *countReader) Close() error { return c.r.Close() }
