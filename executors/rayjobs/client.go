// Package rayjobs is a native client for Ray's Jobs HTTP API (the dashboard's
// /api/jobs/, /api/packages/ and /api/version endpoints). It sends what Ray's
// Python JobSubmissionClient sends, so a laptop needs neither Python nor the
// ray CLI to package a working directory, upload it and submit a job.
package rayjobs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// Config says how to reach a Ray cluster's dashboard.
type Config struct {
	// Address of the dashboard, e.g. "http://127.0.0.1:8265". A missing
	// scheme means http. A path prefix (a proxy route) is kept.
	Address string
	// Headers are sent with every request, websockets included. Their values
	// are secrets: they never appear in errors or logs.
	Headers map[string]string
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// InsecureSkipVerify turns TLS verification off. Off by default.
	InsecureSkipVerify bool
	// Timeout bounds each ordinary request (default 30s).
	Timeout time.Duration
	// UploadTimeout bounds one package upload (default 10m).
	UploadTimeout time.Duration
	// Retries is how many times an idempotent request is retried after a
	// transport error or a 429/502/503/504 answer (default 3; negative: none).
	Retries int
	// RetryBackoff is the first retry delay, doubled each time (default 250ms).
	RetryBackoff time.Duration
	// AgentWait bounds how long Submit keeps retrying while a head that
	// has just started answers "No available agent to submit job" (Ray
	// creates no job then, so a retry cannot submit twice). Default 2m.
	AgentWait time.Duration
	// PollInterval is used by TailLogs when it falls back to polling
	// (default 1s).
	PollInterval time.Duration
	// BeforeRetry, when set, runs before a request is retried after a
	// transport error, with that error; a port-forward keeper uses it to
	// wait until the restarted forward answers again.
	BeforeRetry func(ctx context.Context, err error)
	// OnTailFallback, when set, is told why TailLogs left the websocket for
	// polling (e.g. to print "log stream dropped; polling"). The error never
	// holds header values.
	OnTailFallback func(err error)
	// UserAgent defaults to "adopipe/<module version>". Never a browser's:
	// Ray refuses POST/PUT from browsers.
	UserAgent string
	// Transport replaces the HTTP transport (tests, fault injection). TLS and
	// proxy settings are then the transport's business.
	Transport http.RoundTripper
}

// Client talks to one Ray cluster. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	address string // normalized, without trailing slash
	headers http.Header
	secrets []string
	// authFrom says where the Authorization header comes from, or why
	// none is sent (see credentials).
	authFrom string
	hc       *http.Client
	cfg      Config
}

// New checks the configuration and builds a client. It does not contact the
// cluster: call Version for that.
func New(cfg Config) (*Client, error) {
	addr := strings.TrimSpace(cfg.Address)
	if addr == "" {
		return nil, errors.New("ray address is empty")
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	addr = strings.TrimRight(addr, "/")
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("ray address %q: %v", cfg.Address, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ray address %q: scheme must be http or https (the Jobs API is HTTP; ray:// is Ray Client, not supported)", cfg.Address)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ray address %q has no host", cfg.Address)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.UploadTimeout <= 0 {
		cfg.UploadTimeout = 10 * time.Minute
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 250 * time.Millisecond
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.AgentWait <= 0 {
		cfg.AgentWait = 2 * time.Minute
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "adopipe/" + moduleVersion()
	}
	if strings.HasPrefix(cfg.UserAgent, "Mozilla") {
		return nil, errors.New("a browser User-Agent makes Ray refuse job submission; use another")
	}

	cr, err := loadCredentials(cfg.Headers)
	if err != nil {
		return nil, err
	}
	c := &Client{base: u, address: addr, cfg: cfg, headers: cr.headers, secrets: cr.secrets, authFrom: cr.authFrom}
	c.headers.Set("User-Agent", cfg.UserAgent)

	rt := cfg.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		tlsCfg := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("CA file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s holds no PEM certificate", cfg.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		tr.TLSClientConfig = tlsCfg
		rt = tr
	}
	c.hc = &http.Client{Transport: rt}
	return c, nil
}

// Address is the normalized dashboard address.
func (c *Client) Address() string { return c.address }

func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// UnreachableError means no HTTP exchange happened: the address refused the
// connection, did not resolve, or the dial timed out. Callers may add what
// they know (e.g. the state of a port-forward).
type UnreachableError struct {
	Address string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Ray dashboard at %s: %v (is the cluster running and the address right? a port-forward must be up)", e.Address, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ErrNotFound matches (errors.Is) a 404 answer.
var ErrNotFound = errors.New("not found")

// HTTPError is any other unexpected answer.
type HTTPError struct {
	Method, Path string
	Status       int
	Body         string // trimmed, secrets redacted
}

func (e *HTTPError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

func (e *HTTPError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// redact hides header values and tokens that a server might echo.
func (c *Client) redact(s string) string {
	for _, v := range c.secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// trimBody keeps an error body short: Ray answers with Python tracebacks,
// whose useful part is the end.
func trimBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	const max = 1500
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return s
}

// request describes one API call.
type request struct {
	method string
	path   string // under the address, starting with "/"
	body   func() (io.Reader, int64, error)
	ctype  string
	// retry allows retrying after transport errors and 429/502/503/504.
	retry   bool
	timeout time.Duration
}

type response struct {
	status int
	body   []byte
	// attempts is how many times the request was sent.
	attempts int
}

func (c *Client) url(path string) string { return c.address + path }

// do runs a request with timeouts and, when allowed, retries with backoff.
// It returns the answer whatever its status; transport failures are errors.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	attempts := 1
	if r.retry {
		attempts += c.cfg.Retries
	}
	timeout := r.timeout
	if timeout == 0 {
		timeout = c.cfg.Timeout
	}
	var lastErr error
	var last *response
	for i := 0; i < attempts; i++ {
		if i > 0 {
			d := c.cfg.RetryBackoff << (i - 1)
			d = d/2 + rand.N(d/2+1)
			if d > 5*time.Second {
				d = 5 * time.Second
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				if lastErr != nil {
					return nil, lastErr
				}
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		resp, err := c.once(ctx, r, timeout)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return nil, err
			}
			if c.cfg.BeforeRetry != nil && i+1 < attempts {
				c.cfg.BeforeRetry(ctx, err)
			}
			continue
		}
		resp.attempts = i + 1
		last, lastErr = resp, nil
		switch resp.status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			continue
		}
		return resp, nil
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return last, nil
}

func (c *Client) once(ctx context.Context, r request, timeout time.Duration) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	var length int64 = -1
	if r.body != nil {
		b, n, err := r.body()
		if err != nil {
			return nil, err
		}
		body, length = b, n
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.url(r.path), body)
	if err != nil {
		return nil, err
	}
	if length >= 0 && body != nil {
		req.ContentLength = length
		if length == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range c.headers {
		req.Header[k] = v
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, r, timeout, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, c.transportError(ctx, r, timeout, err)
	}
	return &response{status: res.StatusCode, body: data}, nil
}

// transportError turns a failed exchange into an error that says what to do.
func (c *Client) transportError(ctx context.Context, r request, timeout time.Duration, err error) error {
	if isUnreachable(err) {
		return &UnreachableError{Address: c.address, Err: unwrapURLError(err)}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: no answer from Ray at %s within %s: %w", r.method, r.path, c.address, timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s %s at %s: %v", r.method, r.path, c.address, c.redact(unwrapURLError(err).Error()))
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isUnreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return false
}

// check turns a non-2xx answer into a typed error.
func (c *Client) check(r request, resp *response) error {
	if resp.status >= 200 && resp.status < 300 {
		return nil
	}
	body := c.redact(trimBody(resp.body))
	if resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden {
		return &AuthError{Status: resp.status, Body: body, AuthFrom: c.authFrom}
	}
	return &HTTPError{Method: r.method, Path: r.path, Status: resp.status, Body: body}
}

// call runs a request and checks its status.
func (c *Client) call(ctx context.Context, r request) (*response, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp, c.check(r, resp)
}

func jsonBody(data []byte) func() (io.Reader, int64, error) {
	return func() (io.Reader, int64, error) { return bytes.NewReader(data), int64(len(data)), nil }
}
